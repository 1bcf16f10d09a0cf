//! Checking `on.schedule` crons: GitHub's five-field POSIX syntax.

const FIELDS: [(&str, u32, u32); 5] = [
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 6),
];
const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// Ok when the cron is valid; else what is wrong, in words.
pub fn check(cron: &str) -> Result<(), String> {
    let fields: Vec<&str> = cron.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!("it has {} fields, not 5", fields.len()));
    }
    for (i, field) in fields.iter().enumerate() {
        let (name, min, max) = FIELDS[i];
        let names: &[&str] = match i {
            3 => &MONTHS,
            4 => &DAYS,
            _ => &[],
        };
        for part in field.split(',') {
            check_part(part, min, max, names).map_err(|e| format!("{name} `{part}`: {e}"))?;
        }
    }
    Ok(())
}

fn check_part(part: &str, min: u32, max: u32, names: &[&str]) -> Result<(), String> {
    let (range, step) = match part.split_once('/') {
        Some((r, s)) => (r, Some(s)),
        None => (part, None),
    };
    if let Some(step) = step {
        let n: u32 = step
            .parse()
            .map_err(|_| format!("step `{step}` is not a number"))?;
        if n == 0 {
            return Err("a step of 0 never fires".into());
        }
    }
    if range == "*" {
        return Ok(());
    }
    let value = |s: &str| -> Result<u32, String> {
        if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(s)) {
            return Ok(i as u32 + min);
        }
        let n: u32 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
        // Day of week 7 means Sunday too.
        let max = if names.len() == 7 { 7 } else { max };
        if n < min || n > max {
            return Err(format!("{n} is outside {min}-{max}"));
        }
        Ok(n)
    };
    match range.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (value(a)?, value(b)?);
            if a > b {
                return Err(format!("range {a}-{b} runs backwards"));
            }
            Ok(())
        }
        None => value(range).map(|_| ()),
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn accepts_githubs_examples() {
        for ok in [
            "*/15 * * * *",
            "30 5,17 * * *",
            "0 0 * * MON-FRI",
            "0 12 1 jan,jul *",
            "5 4 * * 7",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn rejects_with_reasons() {
        assert_eq!(check("* * * *").unwrap_err(), "it has 4 fields, not 5");
        assert_eq!(
            check("61 * * * *").unwrap_err(),
            "minute `61`: 61 is outside 0-59"
        );
        assert_eq!(
            check("* * * * */0").unwrap_err(),
            "day of week `*/0`: a step of 0 never fires"
        );
    }
}
