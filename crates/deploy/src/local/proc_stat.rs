//! `/proc/PID/stat`: whether a recorded instance process still runs, and
//! is still the one that was recorded (pids are reused; a process's start
//! time, field 22, is not).

/// The fields of `/proc/PID/stat` used here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProcStat {
    /// Field 3: `R`, `S`, `D`, `Z` (exited, not yet reaped), ...
    pub state: char,
    /// Field 22: clock ticks after boot at which the process started.
    pub start_time: i64,
}

pub(crate) fn read(pid: u32) -> Option<ProcStat> {
    parse(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// The process `pid` runs and started at `start_time`.
pub(crate) fn is_running(pid: u32, start_time: i64) -> bool {
    read(pid).is_some_and(|s| s.start_time == start_time && !matches!(s.state, 'Z' | 'X' | 'x'))
}

fn parse(stat: &str) -> Option<ProcStat> {
    // Field 2 is the command name in parentheses, which may itself hold
    // spaces and parentheses: the fields after it start past the last `)`.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(ProcStat {
        state: fields.first()?.chars().next()?,
        start_time: fields.get(22 - 3)?.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_state_and_start_time_past_odd_names() {
        let line = "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 150 0 0 0 1 2 0 0 20 0 1 0 987654 4096 100 18446744073709551615";
        assert_eq!(
            parse(line),
            Some(ProcStat {
                state: 'S',
                start_time: 987654
            })
        );
        assert_eq!(parse("1 (x) S 1"), None);
    }

    #[test]
    fn this_process_runs_and_a_wrong_start_time_is_not_it() {
        let me = std::process::id();
        let stat = read(me).unwrap();
        assert!(is_running(me, stat.start_time));
        assert!(!is_running(me, stat.start_time + 1));
    }
}
