//! The times in request log lines: rsgi's own (`2026-11-24T01:44:18.413589Z`, as the rest
//! of the log has it) and Apache's (`24/Nov/2026:01:44:18 +0000`, uWSGI's `%(ltime)`), both
//! UTC, written straight into the line's buffer without a time library.

use std::io::Write;

/// A moment in UTC, broken down.
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u64,
    minute: u64,
    second: u64,
    micros: u64,
}

impl Civil {
    fn at(unix_us: u64) -> Civil {
        let secs = unix_us / 1_000_000;
        let (year, month, day) = civil_from_days((secs / 86_400) as i64);
        let in_day = secs % 86_400;
        Civil {
            year,
            month,
            day,
            hour: in_day / 3600,
            minute: in_day / 60 % 60,
            second: in_day % 60,
            micros: unix_us % 1_000_000,
        }
    }
}

/// Appends `2026-11-24T01:44:18.413589Z`.
pub fn rfc3339(unix_us: u64, out: &mut Vec<u8>) {
    let c = Civil::at(unix_us);
    // Writing to a Vec cannot fail.
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second, c.micros
    );
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Appends `Tue Nov 24 01:44:18 2026` (`ctime(3)`'s shape, UTC: uWSGI's `%(ctime)`).
pub fn ctime(unix_us: u64, out: &mut Vec<u8>) {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    let c = Civil::at(unix_us);
    let weekday = DAYS[(unix_us / 1_000_000 / 86_400 % 7) as usize];
    let _ = write!(
        out,
        "{weekday} {} {:>2} {:02}:{:02}:{:02} {:04}",
        MONTHS[c.month as usize - 1],
        c.day,
        c.hour,
        c.minute,
        c.second,
        c.year
    );
}

/// Appends `24/Nov/2026:01:44:18 +0000`.
pub fn apache(unix_us: u64, out: &mut Vec<u8>) {
    let c = Civil::at(unix_us);
    let _ = write!(
        out,
        "{:02}/{}/{:04}:{:02}:{:02}:{:02} +0000",
        c.day,
        MONTHS[c.month as usize - 1],
        c.year,
        c.hour,
        c.minute,
        c.second
    );
}

/// Year, month, day of a count of days since 1970-01-01 (proleptic Gregorian; Howard
/// Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: fn(u64, &mut Vec<u8>), unix_us: u64) -> String {
        let mut out = Vec::new();
        f(unix_us, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn timestamps_match_the_calendar() {
        assert_eq!(text(rfc3339, 0), "1970-01-01T00:00:00.000000Z");
        // 2000-02-29 (a leap day of a century leap year), 23:59:59.5
        assert_eq!(
            text(rfc3339, 951_868_799_500_000),
            "2000-02-29T23:59:59.500000Z"
        );
        assert_eq!(
            text(rfc3339, 1_795_484_658_413_589),
            "2026-11-24T01:44:18.413589Z"
        );
        assert_eq!(
            text(rfc3339, 4_107_542_400_000_001),
            "2100-03-01T00:00:00.000001Z"
        );
    }

    #[test]
    fn ctime_names_the_weekday_and_pads_the_day() {
        assert_eq!(text(ctime, 0), "Thu Jan  1 00:00:00 1970");
        assert_eq!(
            text(ctime, 1_795_484_658_413_589),
            "Tue Nov 24 01:44:18 2026"
        );
        assert_eq!(text(ctime, 951_868_799_500_000), "Tue Feb 29 23:59:59 2000");
    }

    #[test]
    fn apache_times_name_the_month() {
        assert_eq!(text(apache, 0), "01/Jan/1970:00:00:00 +0000");
        assert_eq!(
            text(apache, 951_868_799_500_000),
            "29/Feb/2000:23:59:59 +0000"
        );
        assert_eq!(
            text(apache, 1_795_484_658_413_589),
            "24/Nov/2026:01:44:18 +0000"
        );
    }
}
