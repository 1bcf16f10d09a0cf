//! Numbers as GitHub reads and writes them: JavaScript's `Number(string)`
//! for parsing, and JavaScript's number-to-string layout for printing, with
//! GitHub's limit of 15 significant digits when a number becomes a string.

/// Whitespace as JavaScript's `String.prototype.trim` and `Number()` see it.
pub(crate) fn is_js_whitespace(c: char) -> bool {
    (c.is_whitespace() && c != '\u{85}') || c == '\u{feff}'
}

pub(crate) fn js_trim(s: &str) -> &str {
    s.trim_matches(is_js_whitespace)
}

/// JavaScript's `Number(s)`: surrounding whitespace ignored, empty is 0,
/// `0x`/`0o`/`0b` prefixes (unsigned), `Infinity` with an optional sign,
/// decimal literals with an optional sign and exponent; anything else NaN.
pub(crate) fn parse_number(s: &str) -> f64 {
    let s = js_trim(s);
    if s.is_empty() {
        return 0.0;
    }
    let bytes = s.as_bytes();
    if bytes.len() > 2 && bytes[0] == b'0' {
        let radix = match bytes[1] {
            b'x' | b'X' => Some(16),
            b'o' | b'O' => Some(8),
            b'b' | b'B' => Some(2),
            _ => None,
        };
        if let Some(radix) = radix {
            return parse_radix(&s[2..], radix);
        }
    }
    let (sign, unsigned) = match bytes[0] {
        b'-' => (-1.0, &s[1..]),
        b'+' => (1.0, &s[1..]),
        _ => (1.0, s),
    };
    if unsigned == "Infinity" {
        return sign * f64::INFINITY;
    }
    if !is_decimal_literal(unsigned) {
        return f64::NAN;
    }
    match unsigned.parse::<f64>() {
        Ok(v) => sign * v,
        Err(_) => f64::NAN,
    }
}

fn parse_radix(digits: &str, radix: u32) -> f64 {
    if digits.is_empty() {
        return f64::NAN;
    }
    let mut value = 0.0f64;
    for c in digits.chars() {
        match c.to_digit(radix) {
            Some(d) => value = value * f64::from(radix) + f64::from(d),
            None => return f64::NAN,
        }
    }
    value
}

/// `digits [. digits] [e|E [+|-] digits]` or `. digits [...]`, at least one
/// mantissa digit.
fn is_decimal_literal(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let mut mantissa_digits = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
        mantissa_digits += 1;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
            mantissa_digits += 1;
        }
    }
    if mantissa_digits == 0 {
        return false;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    i == b.len()
}

/// A number as GitHub turns it into a string (`format`, `join`, templates,
/// comparisons with strings are the other way round): at most 15
/// significant digits, laid out as JavaScript does, `-0` as `0`.
pub fn format_number(n: f64) -> String {
    if n == 0.0 {
        return "0".to_string();
    }
    if !n.is_finite() {
        return js_number_to_string(n);
    }
    let rounded: f64 = format!("{n:.14e}").parse().unwrap_or(n);
    js_number_to_string(rounded)
}

/// JavaScript's `Number.prototype.toString()`: the shortest digits that
/// read back as the same number, in plain notation from 1e-7 up to 1e21
/// and in exponent notation (`1e+21`, `1.5e-7`) outside.
pub(crate) fn js_number_to_string(n: f64) -> String {
    if n.is_nan() {
        return "NaN".to_string();
    }
    if n.is_infinite() {
        return if n > 0.0 { "Infinity" } else { "-Infinity" }.to_string();
    }
    if n == 0.0 {
        return "0".to_string();
    }
    let sci = format!("{:e}", n.abs());
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let k = digits.len() as i32;
    let n_exp = exponent + 1;
    let mut out = String::new();
    if n < 0.0 {
        out.push('-');
    }
    if k <= n_exp && n_exp <= 21 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (n_exp - k) as usize));
    } else if 0 < n_exp && n_exp <= 21 {
        out.push_str(&digits[..n_exp as usize]);
        out.push('.');
        out.push_str(&digits[n_exp as usize..]);
    } else if -6 < n_exp && n_exp <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-n_exp) as usize));
        out.push_str(&digits);
    } else {
        out.push_str(&digits[..1]);
        if k > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if n_exp > 0 { '+' } else { '-' });
        out.push_str(&(n_exp - 1).abs().to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_javascript_number() {
        assert_eq!(parse_number(""), 0.0);
        assert_eq!(parse_number("   "), 0.0);
        assert_eq!(parse_number(" 123456.789 "), 123456.789);
        assert_eq!(parse_number(" +1.2e2 "), 120.0);
        assert_eq!(parse_number(" -1.2E+2 "), -120.0);
        assert_eq!(parse_number(".5"), 0.5);
        assert_eq!(parse_number("5."), 5.0);
        assert_eq!(parse_number("-.5"), -0.5);
        assert_eq!(parse_number(" 0xff "), 255.0);
        assert_eq!(parse_number("0XFF"), 255.0);
        assert_eq!(parse_number("0o10"), 8.0);
        assert_eq!(parse_number("0b101"), 5.0);
        assert_eq!(parse_number(" -Infinity "), f64::NEG_INFINITY);
        assert_eq!(parse_number("+Infinity"), f64::INFINITY);
        assert!(parse_number("-0").is_sign_negative());
        for nan in [
            "abc", "NaN", "-0xFF", "0x", "0x01p2", "1e", ".", "-", "Inf", "infinity", "1_0", "1 2",
            "--1",
        ] {
            assert!(parse_number(nan).is_nan(), "{nan}");
        }
    }

    #[test]
    fn formats_with_fifteen_significant_digits() {
        assert_eq!(format_number(0.0), "0");
        assert_eq!(format_number(-0.0), "0");
        assert_eq!(format_number(1.0), "1");
        assert_eq!(format_number(-2.0), "-2");
        assert_eq!(format_number(0.5), "0.5");
        assert_eq!(format_number(123456.789), "123456.789");
        assert_eq!(format_number(0.845_512_408_225_570_1), "0.84551240822557");
        assert_eq!(format_number(123_456_789.123_456_79), "123456789.123457");
        assert_eq!(format_number(0.1 + 0.2), "0.3");
        assert_eq!(format_number(1.2e-2), "0.012");
        assert_eq!(format_number(1e21), "1e+21");
        assert_eq!(format_number(1e-7), "1e-7");
        assert_eq!(format_number(1.5e-7), "1.5e-7");
        assert_eq!(format_number(123e18), "123000000000000000000");
        assert_eq!(format_number(f64::NAN), "NaN");
        assert_eq!(format_number(f64::INFINITY), "Infinity");
        assert_eq!(format_number(f64::NEG_INFINITY), "-Infinity");
    }

    #[test]
    fn javascript_layout_keeps_every_digit() {
        assert_eq!(
            js_number_to_string(123_456_789_012_345_680.0),
            "123456789012345680"
        );
        assert_eq!(js_number_to_string(0.000001), "0.000001");
        assert_eq!(js_number_to_string(-1234.5), "-1234.5");
        assert_eq!(js_number_to_string(2e-7), "2e-7");
    }
}
