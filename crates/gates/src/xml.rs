//! What the XML readers (Cobertura, JUnit) share: a streaming reader set up
//! the same way, errors with byte offsets, attribute and text helpers.

use std::borrow::Cow;
use std::io::BufRead;

use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::Reader;

use crate::error::{At, ErrorKind, ParseError};

pub(crate) fn reader<R: BufRead>(input: R) -> Reader<R> {
    let mut reader = Reader::from_reader(input);
    let config = reader.config_mut();
    config.trim_text(true);
    config.check_end_names = true;
    reader
}

pub(crate) fn error<R>(reader: &Reader<R>, err: quick_xml::Error) -> ParseError {
    let offset = reader.error_position();
    match err {
        quick_xml::Error::Io(e) => ParseError::new(ErrorKind::Io, format!("cannot read: {e}")),
        // Every syntax error is something left open at the end of input.
        quick_xml::Error::Syntax(e) => ParseError::new(
            ErrorKind::Truncated,
            format!("unexpected end of file: {e} (is the report truncated?)"),
        )
        .at(At::Offset(offset)),
        other => ParseError::syntax(format!("malformed XML: {other}"), At::Offset(offset)),
    }
}

/// Byte offset of the `<` that opened the element just read.
pub(crate) fn start_offset<R>(reader: &Reader<R>, e: &BytesStart<'_>, empty: bool) -> u64 {
    let raw = e.len() as u64 + if empty { 3 } else { 2 };
    reader.buffer_position().saturating_sub(raw)
}

/// The value of an attribute, unescaped; None when absent.
pub(crate) fn attr<'a>(e: &'a BytesStart<'_>, name: &str) -> Result<Option<Cow<'a, str>>, String> {
    for a in e.attributes().with_checks(false) {
        let a = a.map_err(|err| format!("malformed attribute: {err}"))?;
        if a.key.as_ref() == name {
            let value = match a.value {
                Cow::Borrowed(s) => {
                    quick_xml::escape::unescape(s).map_err(|err| err.to_string())?
                }
                Cow::Owned(s) => Cow::Owned(
                    quick_xml::escape::unescape(&s)
                        .map_err(|err| err.to_string())?
                        .into_owned(),
                ),
            };
            return Ok(Some(value));
        }
    }
    Ok(None)
}

/// The text an entity or character reference stands for.
pub(crate) fn resolve_ref(r: &BytesRef<'_>) -> String {
    if let Ok(Some(c)) = r.resolve_char_ref() {
        return c.to_string();
    }
    match quick_xml::escape::resolve_predefined_entity(r) {
        Some(s) => s.to_string(),
        None => format!("&{};", &**r),
    }
}

/// The local name of an element (namespace prefix dropped).
pub(crate) fn local_name<'a>(e: &'a BytesStart<'_>) -> &'a str {
    let name = e.name().0;
    name.rsplit_once(':').map_or(name, |(_, local)| local)
}

/// Read events up to the root element; None when the document has none.
pub(crate) fn root<R: BufRead>(
    reader: &mut Reader<R>,
    buf: &mut Vec<u8>,
) -> Result<Option<(Event<'static>, u64)>, ParseError> {
    loop {
        buf.clear();
        match reader.read_event_into(buf) {
            Err(e) => return Err(error(reader, e)),
            Ok(Event::Eof) => return Ok(None),
            Ok(Event::Start(e)) => {
                let at = start_offset(reader, &e, false);
                return Ok(Some((Event::Start(e.into_owned()), at)));
            }
            Ok(Event::Empty(e)) => {
                let at = start_offset(reader, &e, true);
                return Ok(Some((Event::Empty(e.into_owned()), at)));
            }
            Ok(Event::Text(t)) if !t.trim().is_empty() => {
                return Err(ParseError::syntax(
                    "malformed XML: text before the root element",
                    At::Offset(reader.buffer_position() - t.len() as u64),
                ));
            }
            Ok(_) => {}
        }
    }
}
