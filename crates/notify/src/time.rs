//! UTC timestamps for outbox entries and file names, without a date
//! library: days since the epoch to a civil date (Howard Hinnant's
//! algorithm).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Year, month, day, hour, minute, second, microsecond.
fn parts(t: SystemTime) -> (i64, u32, u32, u32, u32, u32, u32) {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let secs = since.as_secs() as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400) as u32;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        month,
        day,
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        since.subsec_micros(),
    )
}

/// `2026-11-23T12:19:59Z`.
pub fn rfc3339(t: SystemTime) -> String {
    let (y, mo, d, h, mi, s, _) = parts(t);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// `20261123T121959.123456Z`: sorts as time does.
pub fn compact(t: SystemTime) -> String {
    let (y, mo, d, h, mi, s, us) = parts(t);
    format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}.{us:06}Z")
}

/// `12:19:59 GMT+0000 (Coordinated Universal Time)`, as JavaScript's
/// `Date.toTimeString()` prints it on a runner in UTC.
pub fn js_time_string(t: SystemTime) -> String {
    let (_, _, _, h, mi, s, _) = parts(t);
    format!("{h:02}:{mi:02}:{s:02} GMT+0000 (Coordinated Universal Time)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        let t = UNIX_EPOCH + Duration::from_micros(1_795_436_399_123_456);
        assert_eq!(rfc3339(t), "2026-11-23T12:19:59Z");
        assert_eq!(compact(t), "20261123T121959.123456Z");
        assert_eq!(
            js_time_string(t),
            "12:19:59 GMT+0000 (Coordinated Universal Time)"
        );
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        // A leap day.
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00Z");
    }
}
