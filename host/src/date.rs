//! The `Date` header value, formatted at most once a second.

use std::time::{Duration, UNIX_EPOCH};

/// A cached IMF-fixdate string (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub struct DateCache {
    second: u64,
    text: String,
}

impl DateCache {
    /// A cache holding the current time.
    pub fn new() -> Self {
        let mut cache = DateCache {
            second: 0,
            text: String::new(),
        };
        cache.at(crate::scoreboard::now_us());
        cache
    }

    /// The date string for `unix_us` (microseconds since the Unix epoch, a clock reading
    /// the caller has anyway), reformatted when the second changed.
    pub fn at(&mut self, unix_us: u64) -> &str {
        let second = unix_us / 1_000_000;
        if second != self.second || self.text.is_empty() {
            self.second = second;
            self.text = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(second));
        }
        &self.text
    }
}

impl Default for DateCache {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_the_given_second_and_keeps_it_within_that_second() {
        let mut cache = DateCache::new();
        // 1994-11-06 08:49:37 UTC, RFC 9110's example.
        let t = 784_111_777_000_000;
        assert_eq!(cache.at(t), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(cache.at(t + 999_999), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(cache.at(t + 1_000_000), "Sun, 06 Nov 1994 08:49:38 GMT");
    }
}
