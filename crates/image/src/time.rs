//! UTC timestamps as image tags write them (`%Y%m%d%H%M%S`), and the forms
//! `--time` accepts. Civil-date arithmetic from Howard Hinnant's
//! `days_from_civil`, so no date crate is needed for two conversions.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct UnixTime(pub i64);

impl UnixTime {
    pub fn now() -> UnixTime {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        UnixTime(secs)
    }

    /// `20260128103045`
    pub fn compact(self) -> String {
        let (y, mo, d, h, mi, s) = self.civil();
        format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}")
    }

    /// `2026-01-28T10:30:45Z`
    pub fn rfc3339(self) -> String {
        let (y, mo, d, h, mi, s) = self.civil();
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
    }

    fn civil(self) -> (i64, u32, u32, u32, u32, u32) {
        let days = self.0.div_euclid(86_400);
        let secs = self.0.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        (
            y,
            m,
            d,
            (secs / 3600) as u32,
            (secs % 3600 / 60) as u32,
            (secs % 60) as u32,
        )
    }

    /// Reads `--time`: RFC 3339 (`2026-01-28T10:30:45Z`, `+09:00` offsets,
    /// a space for `T`, fractions ignored), the tag's own
    /// `20260128103045` (UTC), or `@1769596245` (Unix seconds).
    pub fn parse(text: &str) -> Option<UnixTime> {
        let t = text.trim();
        if let Some(secs) = t.strip_prefix('@') {
            return secs.parse().ok().map(UnixTime);
        }
        if t.len() == 14 && t.bytes().all(|b| b.is_ascii_digit()) {
            let n = |r: std::ops::Range<usize>| t[r].parse::<i64>().ok();
            return from_parts(
                n(0..4)?,
                n(4..6)?,
                n(6..8)?,
                n(8..10)?,
                n(10..12)?,
                n(12..14)?,
                0,
            );
        }
        rfc3339(t)
    }
}

fn rfc3339(t: &str) -> Option<UnixTime> {
    let b = t.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let n = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = &t[r];
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let (y, mo, d) = (n(0..4)?, n(5..7)?, n(8..10)?);
    let (h, mi, s) = (n(11..13)?, n(14..16)?, n(17..19)?);
    let mut rest = &t[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let r = &rest[1..];
            if r.len() != 5 || r.as_bytes()[2] != b':' {
                return None;
            }
            let oh: i64 = r[0..2].parse().ok()?;
            let om: i64 = r[3..5].parse().ok()?;
            if oh > 23 || om > 59 {
                return None;
            }
            sign * (oh * 3600 + om * 60)
        }
    };
    from_parts(y, mo, d, h, mi, s, offset)
}

fn from_parts(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64, offset: i64) -> Option<UnixTime> {
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) {
        return None;
    }
    if h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let days = days_from_civil(y, mo as u32, d as u32);
    Some(UnixTime(
        days * 86_400 + h * 3600 + mi * 60 + s.min(59) - offset,
    ))
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc() {
        assert_eq!(UnixTime(0).compact(), "19700101000000");
        assert_eq!(UnixTime(1_769_596_245).compact(), "20260128103045");
        assert_eq!(UnixTime(1_769_596_245).rfc3339(), "2026-01-28T10:30:45Z");
        // A leap day and the last second of a year.
        assert_eq!(UnixTime(951_782_400).compact(), "20000229000000");
        assert_eq!(UnixTime(1_767_225_599).compact(), "20251231235959");
    }

    #[test]
    fn parses_every_form() {
        let t = Some(UnixTime(1_769_596_245));
        assert_eq!(UnixTime::parse("2026-01-28T10:30:45Z"), t);
        assert_eq!(UnixTime::parse("2026-01-28 10:30:45.123Z"), t);
        assert_eq!(UnixTime::parse("2026-01-28T19:30:45+09:00"), t);
        assert_eq!(UnixTime::parse("2026-01-28T05:30:45-05:00"), t);
        assert_eq!(UnixTime::parse("20260128103045"), t);
        assert_eq!(UnixTime::parse("@1769596245"), t);
        for bad in [
            "",
            "yesterday",
            "2026-02-30T00:00:00Z",
            "2026-01-28T10:30:45",
            "2026-01-28T25:00:00Z",
            "20261328103045",
            "2026-01-28T10:30:45+9",
            "@x",
        ] {
            assert_eq!(UnixTime::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn round_trips_through_the_calendar() {
        for secs in (-86_400 * 800..86_400 * 365 * 120).step_by(86_400 * 37 + 3_601) {
            let t = UnixTime(secs);
            assert_eq!(UnixTime::parse(&t.compact()), Some(t));
            assert_eq!(UnixTime::parse(&t.rfc3339()), Some(t));
        }
    }
}
