//! `format()` strings: `{N}` placeholders, `{{` and `}}` for braces.

pub(crate) enum Piece<'s> {
    Text(&'s str),
    Arg(usize),
}

pub(crate) enum FormatError {
    /// Unbalanced braces or a placeholder that is not `{digits}`.
    Invalid,
    /// `{0:x}`: GitHub accepts no format specifiers for these values.
    Specifiers(String),
}

/// Splits a format string into text and argument pieces, in order.
pub(crate) fn scan<'s, E>(
    fmt: &'s str,
    mut piece: impl FnMut(Piece<'s>) -> Result<(), E>,
) -> Result<Result<(), FormatError>, E> {
    let b = fmt.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let lbrace = find(b, i, b'{');
        let rbrace = find(b, i, b'}');
        match (lbrace, rbrace) {
            (Some(l), r) if r.is_none_or(|r| r > l) => {
                if b.get(l + 1) == Some(&b'{') {
                    piece(Piece::Text(&fmt[i..=l]))?;
                    i = l + 2;
                    continue;
                }
                let digits_end = (l + 1..b.len())
                    .find(|&j| !b[j].is_ascii_digit())
                    .unwrap_or(b.len());
                if digits_end == l + 1 {
                    return Ok(Err(FormatError::Invalid));
                }
                match b.get(digits_end) {
                    Some(b'}') => {}
                    Some(b':') => {
                        return Ok(Err(match find(b, digits_end, b'}') {
                            Some(end) => {
                                FormatError::Specifiers(fmt[digits_end + 1..end].to_string())
                            }
                            None => FormatError::Invalid,
                        }))
                    }
                    _ => return Ok(Err(FormatError::Invalid)),
                }
                // More digits than any argument count: an index no call has.
                let index = fmt[l + 1..digits_end]
                    .parse::<usize>()
                    .unwrap_or(usize::MAX);
                if l > i {
                    piece(Piece::Text(&fmt[i..l]))?;
                }
                piece(Piece::Arg(index))?;
                i = digits_end + 1;
            }
            (_, Some(r)) => {
                if b.get(r + 1) == Some(&b'}') {
                    piece(Piece::Text(&fmt[i..=r]))?;
                    i = r + 2;
                } else {
                    return Ok(Err(FormatError::Invalid));
                }
            }
            _ => {
                piece(Piece::Text(&fmt[i..]))?;
                break;
            }
        }
    }
    Ok(Ok(()))
}

fn find(b: &[u8], from: usize, c: u8) -> Option<usize> {
    b.get(from..)?
        .iter()
        .position(|&x| x == c)
        .map(|p| p + from)
}

/// For a literal format string at parse time: `None` when it is invalid,
/// else the highest placeholder index (`None` inside when there is none).
pub(crate) fn validate_format_string(fmt: &str) -> Option<Option<usize>> {
    let mut max: Option<usize> = None;
    let scanned: Result<_, ()> = scan(fmt, |p| {
        if let Piece::Arg(n) = p {
            max = Some(max.map_or(n, |m| m.max(n)));
        }
        Ok(())
    });
    match scanned {
        Ok(Ok(())) => Some(max),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(fmt: &str, args: &[&str]) -> Option<String> {
        let mut out = String::new();
        let r: Result<_, ()> = scan(fmt, |p| {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Arg(n) => out.push_str(args.get(n).ok_or(())?),
            }
            Ok(())
        });
        match r {
            Ok(Ok(())) => Some(out),
            _ => None,
        }
    }

    #[test]
    fn renders_placeholders_and_escapes() {
        assert_eq!(
            render("123{0}456{1}789", &["abc", "def"]).unwrap(),
            "123abc456def789"
        );
        assert_eq!(render("{{0}}", &["abc"]).unwrap(), "{0}");
        assert_eq!(render("{{{{0}}}}", &["abc"]).unwrap(), "{{0}}");
        assert_eq!(render("}}{{}}", &[]).unwrap(), "}{}");
        assert_eq!(render("{{{0}}}", &["x"]).unwrap(), "{x}");
        assert_eq!(render("", &[]).unwrap(), "");
    }

    #[test]
    fn refuses_malformed_strings() {
        for bad in [
            "{0", "{0}}", "{0}}}}", "0}", "{{0}", "{{{{0}", "}0{", "}{0}", "{0}{", "{}", "{a}",
            "{0{1}",
        ] {
            assert_eq!(validate_format_string(bad), None, "{bad}");
        }
        assert_eq!(validate_format_string("a{1}b{0}"), Some(Some(1)));
        assert_eq!(validate_format_string("plain"), Some(None));
        assert!(matches!(
            scan("{0:yyyy}", |_| Ok::<(), ()>(())),
            Ok(Err(FormatError::Specifiers(s))) if s == "yyyy"
        ));
    }
}
