//! Durations as people write them in flags and `slipway.toml`: `500ms`,
//! `2s`, `15m`, `1h`, `1h30m`, or a bare number of seconds.

use std::time::Duration;

/// The longest duration accepted: a week is already longer than any bake.
const MAX: Duration = Duration::from_secs(7 * 24 * 3600);

/// Parses `500ms`, `10s`, `15m`, `2h`, `1d`, `1h30m`, `1.5s`, or a bare
/// number of seconds. The error says what was wrong, for the caller to
/// prefix with the flag or key at fault.
pub fn parse(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    let bad = || format!("`{text}` is not a duration: write e.g. 500ms, 10s, 15m, 2h or 1h30m");
    if s.is_empty() {
        return Err(bad());
    }
    if let Ok(secs) = s.parse::<f64>() {
        return from_secs(secs, text).ok_or_else(bad);
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        if number_end == 0 {
            return Err(bad());
        }
        let n: f64 = rest[..number_end].parse().map_err(|_| bad())?;
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86400.0,
            _ => return Err(bad()),
        };
        rest = &rest[unit_end..];
        total += n * scale;
    }
    from_secs(total, text).ok_or_else(bad)
}

fn from_secs(secs: f64, _text: &str) -> Option<Duration> {
    if !secs.is_finite() || secs < 0.0 || secs > MAX.as_secs_f64() {
        return None;
    }
    Some(Duration::from_secs_f64(secs))
}

/// `1h30m`, `15m`, `2s`, `500ms`: the shortest way to write it back.
pub fn format(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    if !ms.is_multiple_of(1000) {
        return if ms < 1000 {
            format!("{ms}ms")
        } else {
            format!("{:.1}s", d.as_secs_f64())
        };
    }
    let mut secs = d.as_secs();
    let mut out = String::new();
    for (unit, size) in [("d", 86400), ("h", 3600), ("m", 60), ("s", 1)] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_people_write() {
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse(" 3600 "), Ok(Duration::from_secs(3600)));
    }

    #[test]
    fn refuses_the_rest() {
        for bad in [
            "", "s", "5x", "-1s", "1h-5m", "1..5s", "8d", "nan", "inf", "m5",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse("5x").unwrap_err(),
            "`5x` is not a duration: write e.g. 500ms, 10s, 15m, 2h or 1h30m"
        );
    }

    #[test]
    fn writes_back_short() {
        assert_eq!(format(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format(Duration::from_secs(900)), "15m");
        assert_eq!(format(Duration::from_millis(500)), "500ms");
        assert_eq!(format(Duration::from_millis(2500)), "2.5s");
        assert_eq!(format(Duration::ZERO), "0s");
    }
}
