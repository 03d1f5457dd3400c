//! uWSGI's cron entries: which minutes one runs in, with uWSGI's field rules. The python
//! plugin's `uwsgi.add_cron(signum, minute, hour, day, month, weekday)` and the master's
//! `--cron 'MIN HOUR DAY MONTH WEEKDAY COMMAND'` both use them.
//!
//! Each field is a number (`30`: at minute 30), `-1` (any), or `-N` for N > 1 (every N:
//! `-15` in the minute field is minutes 0, 15, 30, 45), as in uWSGI. Weekdays count from
//! Sunday = 0. When both the day of the month and the weekday are restricted, either one
//! matching is enough (as in cron(8)).

/// One field of a cron entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Any,
    At(u32),
    Every(u32),
}

impl Field {
    fn parse(
        value: i64,
        name: &str,
        range: std::ops::RangeInclusive<u32>,
    ) -> Result<Field, String> {
        match value {
            -1 => Ok(Field::Any),
            v if v < -1 => Ok(Field::Every(
                v.unsigned_abs().min(u64::from(u32::MAX)) as u32
            )),
            v if range.contains(&(v.min(i64::from(u32::MAX)) as u32)) => Ok(Field::At(v as u32)),
            v => Err(format!(
                "{name} {v} is out of range: want {}..={}, -1 (any) or -N (every N)",
                range.start(),
                range.end()
            )),
        }
    }

    fn matches(self, value: u32) -> bool {
        match self {
            Field::Any => true,
            Field::At(at) => at == value,
            Field::Every(n) => value.is_multiple_of(n),
        }
    }
}

/// A parsed cron entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cron {
    minute: Field,
    hour: Field,
    day: Field,
    month: Field,
    weekday: Field,
}

/// A moment in local time, as the fields of `struct tm` give it (month 1-12, weekday
/// 0-6 from Sunday).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    /// 0-59.
    pub minute: u32,
    /// 0-23.
    pub hour: u32,
    /// Day of the month, 1-31.
    pub day: u32,
    /// 1-12.
    pub month: u32,
    /// 0-6, Sunday = 0.
    pub weekday: u32,
}

impl Cron {
    /// Checks the five fields; the error names the bad one.
    pub fn new(minute: i64, hour: i64, day: i64, month: i64, weekday: i64) -> Result<Cron, String> {
        Ok(Cron {
            minute: Field::parse(minute, "minute", 0..=59)?,
            hour: Field::parse(hour, "hour", 0..=23)?,
            day: Field::parse(day, "day", 1..=31)?,
            month: Field::parse(month, "month", 1..=12)?,
            weekday: Field::parse(weekday, "weekday", 0..=6)?,
        })
    }

    /// True when the entry runs in the minute `at`.
    pub fn matches(&self, at: LocalTime) -> bool {
        let day = match (self.day, self.weekday) {
            (Field::Any, weekday) => weekday.matches(at.weekday),
            (day, Field::Any) => day.matches(at.day),
            (day, weekday) => day.matches(at.day) || weekday.matches(at.weekday),
        };
        day && self.minute.matches(at.minute)
            && self.hour.matches(at.hour)
            && self.month.matches(at.month)
    }
}

/// Reads `MIN HOUR DAY MONTH WEEKDAY COMMAND` (uWSGI's `cron` option): the entry and the
/// command (the rest of the line, trimmed); the error says what is wrong.
pub fn parse_line(line: &str) -> Result<(Cron, &str), String> {
    let mut rest = line.trim_start();
    let mut fields = [0i64; 5];
    for (i, field) in fields.iter_mut().enumerate() {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let word = &rest[..end];
        *field = word.parse().map_err(|_| {
            format!("'{line}': field {} is {word:?}, want a number (-1 any, -N every N) and then the command", i + 1)
        })?;
        rest = rest[end..].trim_start();
    }
    let command = rest.trim_end();
    if command.is_empty() {
        return Err(format!("'{line}': no command after the five fields"));
    }
    let [minute, hour, day, month, weekday] = fields;
    let cron =
        Cron::new(minute, hour, day, month, weekday).map_err(|e| format!("'{line}': {e}"))?;
    Ok((cron, command))
}

/// The local time now (`localtime_r`).
pub fn local_now() -> LocalTime {
    // SAFETY: `time(NULL)` has no memory effects; `localtime_r` writes only into `tm`,
    // which lives on this stack.
    let tm = unsafe {
        let now = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&now, &mut tm);
        tm
    };
    LocalTime {
        minute: tm.tm_min as u32,
        hour: tm.tm_hour as u32,
        day: tm.tm_mday as u32,
        month: tm.tm_mon as u32 + 1,
        weekday: tm.tm_wday as u32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: u32, hour: u32, day: u32, month: u32, weekday: u32) -> LocalTime {
        LocalTime {
            minute,
            hour,
            day,
            month,
            weekday,
        }
    }

    #[test]
    fn a_line_is_five_fields_and_a_command() {
        let (cron, command) = parse_line(" -5 -1 -1 -1 -1  /usr/bin/backup --all ").unwrap();
        assert_eq!(command, "/usr/bin/backup --all");
        assert_eq!(cron, Cron::new(-5, -1, -1, -1, -1).unwrap());
        assert!(parse_line("-1 -1 -1 -1").unwrap_err().contains("field 5"));
        assert!(parse_line("-1 -1 x -1 -1 cmd")
            .unwrap_err()
            .contains("field 3 is \"x\""));
        assert!(parse_line("-1 -1 -1 -1 -1")
            .unwrap_err()
            .contains("no command"));
        assert!(parse_line("60 -1 -1 -1 -1 cmd")
            .unwrap_err()
            .contains("minute 60"));
    }

    #[test]
    fn minus_one_is_any_and_minus_n_is_every_n() {
        let every_15 = Cron::new(-15, -1, -1, -1, -1).unwrap();
        let hits: Vec<u32> = (0..60)
            .filter(|m| every_15.matches(at(*m, 3, 1, 1, 0)))
            .collect();
        assert_eq!(hits, [0, 15, 30, 45]);
        let every_minute = Cron::new(-1, -1, -1, -1, -1).unwrap();
        assert!((0..60).all(|m| every_minute.matches(at(m, 23, 31, 12, 6))));
    }

    #[test]
    fn fixed_fields_must_all_match() {
        let nightly = Cron::new(30, 2, -1, -1, -1).unwrap();
        assert!(nightly.matches(at(30, 2, 5, 6, 3)));
        assert!(!nightly.matches(at(30, 3, 5, 6, 3)));
        assert!(!nightly.matches(at(31, 2, 5, 6, 3)));
        let new_year = Cron::new(0, 0, 1, 1, -1).unwrap();
        assert!(new_year.matches(at(0, 0, 1, 1, 4)));
        assert!(!new_year.matches(at(0, 0, 1, 2, 0)));
    }

    #[test]
    fn day_and_weekday_both_restricted_match_either_as_in_cron() {
        // The 13th, and every Friday.
        let entry = Cron::new(0, 12, 13, -1, 5).unwrap();
        assert!(entry.matches(at(0, 12, 13, 4, 2)), "the 13th, a Tuesday");
        assert!(entry.matches(at(0, 12, 3, 4, 5)), "a Friday, the 3rd");
        assert!(!entry.matches(at(0, 12, 3, 4, 4)), "a Thursday, the 3rd");
        let mondays = Cron::new(0, 9, -1, -1, 1).unwrap();
        assert!(mondays.matches(at(0, 9, 20, 4, 1)));
        assert!(!mondays.matches(at(0, 9, 21, 4, 2)));
    }

    #[test]
    fn out_of_range_fields_are_refused_by_name() {
        assert!(Cron::new(60, -1, -1, -1, -1)
            .unwrap_err()
            .starts_with("minute 60"));
        assert!(Cron::new(0, 24, -1, -1, -1)
            .unwrap_err()
            .starts_with("hour 24"));
        assert!(Cron::new(0, 0, 0, -1, -1).unwrap_err().starts_with("day 0"));
        assert!(Cron::new(0, 0, 1, 13, -1)
            .unwrap_err()
            .starts_with("month 13"));
        assert!(Cron::new(0, 0, 1, 1, 7)
            .unwrap_err()
            .starts_with("weekday 7"));
    }

    #[test]
    fn local_now_is_a_valid_moment() {
        let now = local_now();
        assert!(now.minute < 60 && now.hour < 24 && (1..=31).contains(&now.day));
        assert!((1..=12).contains(&now.month) && now.weekday < 7);
    }
}
