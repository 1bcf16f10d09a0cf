//! Which format a report is, from its first bytes (never from its name).
//! XML is told apart (Cobertura or JUnit) by its root element, which the
//! XML reader finds; JSON (Istanbul final or summary) by its entries.

use std::io::{self, BufRead, Read};

/// What the first bytes say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    Xml,
    Json,
    GoProfile,
    Lcov,
    /// Nothing but whitespace.
    Empty,
    Unknown,
}

const UTF8_BOM: &[u8] = b"\xef\xbb\xbf";

/// Look at the start of `input` (what its buffer holds) without consuming
/// it, other than a UTF-8 byte order mark. Returns the format and how many
/// bytes were skipped, so positions can still count from the file's start.
pub fn sniff<R: BufRead>(input: &mut R) -> io::Result<(Sniffed, u64)> {
    let mut skipped = 0;
    if input.fill_buf()?.starts_with(UTF8_BOM) {
        input.consume(UTF8_BOM.len());
        skipped = UTF8_BOM.len() as u64;
    }
    let head = input.fill_buf()?;
    Ok((sniff_bytes(head), skipped))
}

pub fn sniff_bytes(head: &[u8]) -> Sniffed {
    let head = head.strip_prefix(UTF8_BOM).unwrap_or(head);
    let start = match head.iter().position(|b| !b.is_ascii_whitespace()) {
        Some(i) => i,
        None => return Sniffed::Empty,
    };
    let rest = &head[start..];
    match rest[0] {
        b'<' => return Sniffed::Xml,
        b'{' | b'[' => return Sniffed::Json,
        _ => {}
    }
    if rest.starts_with(b"mode:") {
        return Sniffed::GoProfile;
    }
    let first_line = rest.split(|&b| b == b'\n').next().unwrap_or(rest);
    if [&b"TN:"[..], b"SF:", b"VER:"]
        .iter()
        .any(|p| first_line.starts_with(p))
    {
        return Sniffed::Lcov;
    }
    Sniffed::Unknown
}

/// A reader that is not buffered enough to sniff is wrapped in one that is.
pub fn buffered<R: Read>(input: R) -> io::BufReader<R> {
    io::BufReader::with_capacity(64 * 1024, input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_from_content() {
        assert_eq!(
            sniff_bytes(b"<?xml version=\"1.0\" ?>\n<coverage>"),
            Sniffed::Xml
        );
        assert_eq!(sniff_bytes(b"\xef\xbb\xbf  <testsuites>"), Sniffed::Xml);
        assert_eq!(sniff_bytes(b"{\"total\": {}}"), Sniffed::Json);
        assert_eq!(
            sniff_bytes(b"mode: set\na.go:1.1,2.2 1 1\n"),
            Sniffed::GoProfile
        );
        assert_eq!(sniff_bytes(b"TN:\nSF:a.js\n"), Sniffed::Lcov);
        assert_eq!(sniff_bytes(b"SF:/abs/a.c\n"), Sniffed::Lcov);
        assert_eq!(sniff_bytes(b"  \n\t"), Sniffed::Empty);
        assert_eq!(sniff_bytes(b""), Sniffed::Empty);
        assert_eq!(sniff_bytes(b"Name  Stmts  Miss  Cover\n"), Sniffed::Unknown);
        assert_eq!(sniff_bytes(b"\x00\x01\x02"), Sniffed::Unknown);
    }

    #[test]
    fn sniffing_consumes_only_the_bom() {
        let mut r = buffered(&b"\xef\xbb\xbfmode: set\n"[..]);
        assert_eq!(sniff(&mut r).unwrap(), (Sniffed::GoProfile, 3));
        let mut rest = String::new();
        r.read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "mode: set\n");
    }
}
