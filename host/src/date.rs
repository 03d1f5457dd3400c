//! The `Date` header value, formatted at most once a second.

use std::time::{SystemTime, UNIX_EPOCH};

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
        cache.refresh();
        cache
    }

    /// The current date string, reformatted when the second changed.
    pub fn now(&mut self) -> &str {
        self.refresh();
        &self.text
    }

    fn refresh(&mut self) {
        let now = SystemTime::now();
        let second = now
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        if second != self.second || self.text.is_empty() {
            self.second = second;
            self.text = httpdate::fmt_http_date(now);
        }
    }
}

impl Default for DateCache {
    fn default() -> Self {
        Self::new()
    }
}
