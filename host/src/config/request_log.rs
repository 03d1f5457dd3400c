//! Which requests get a line in the request log, and whose address it shows: rsgi's
//! `--log-requests` and uWSGI's selectors, which (as with uWSGI's `disable-logging`) each
//! add the requests they name: `--log-4xx`, `--log-5xx`, `--log-slow MS`, `--log-big
//! BYTES`, `--log-zero`; and `--log-x-forwarded-for`.

use super::sources::Values;
use super::{flag, number};
use crate::error::HostError;

/// The request-log options.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestLogging {
    /// Every request (`--log-requests`).
    pub all: bool,
    /// Requests answered 400-499 (`--log-4xx`).
    pub client_errors: bool,
    /// Requests answered 500-599 (`--log-5xx`).
    pub server_errors: bool,
    /// Requests that took longer than this many milliseconds (`--log-slow`).
    pub slower_than_ms: Option<u64>,
    /// Responses with a body bigger than this many bytes (`--log-big`).
    pub bigger_than: Option<u64>,
    /// Responses without a body (`--log-zero`).
    pub empty: bool,
    /// Show the first address of `X-Forwarded-For` as the client, when the request has
    /// one (`--log-x-forwarded-for`).
    pub forwarded_for: bool,
}

/// What the selection looks at in a finished request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The status sent.
    pub status: u16,
    /// Body bytes sent.
    pub bytes: u64,
    /// How long it took, in microseconds.
    pub micros: u64,
}

impl RequestLogging {
    /// Reads the options. `--log-format` alone (`formatted`) turns request logging on for
    /// every request; with a selector (`--log-4xx`, `--log-slow`...) it formats just those.
    pub fn from_values(values: &Values, formatted: bool) -> Result<Self, HostError> {
        let positive = |name: &str| -> Result<Option<u64>, HostError> {
            Ok(Some(number::<u64>(values, name, 0)?).filter(|&n| n > 0))
        };
        let mut logging = RequestLogging {
            all: flag(values, "log-requests"),
            client_errors: flag(values, "log-4xx"),
            server_errors: flag(values, "log-5xx"),
            slower_than_ms: positive("log-slow")?,
            bigger_than: positive("log-big")?,
            empty: flag(values, "log-zero"),
            forwarded_for: flag(values, "log-x-forwarded-for"),
        };
        if formatted && !logging.selects() {
            logging.all = true;
        }
        Ok(logging)
    }

    /// Whether a selector narrower than "every request" is on.
    fn selects(self) -> bool {
        self.client_errors
            || self.server_errors
            || self.slower_than_ms.is_some()
            || self.bigger_than.is_some()
            || self.empty
    }

    /// Whether any request can get a line.
    pub fn any(self) -> bool {
        self.all || self.selects()
    }

    /// Whether a request with this outcome gets a line.
    pub fn wants(self, o: Outcome) -> bool {
        self.all
            || (self.client_errors && (400..500).contains(&o.status))
            || (self.server_errors && (500..600).contains(&o.status))
            || self.slower_than_ms.is_some_and(|ms| o.micros > ms * 1000)
            || self.bigger_than.is_some_and(|n| o.bytes > n)
            || (self.empty && o.bytes == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::super::values;
    use super::*;

    fn outcome(status: u16, bytes: u64, micros: u64) -> Outcome {
        Outcome {
            status,
            bytes,
            micros,
        }
    }

    #[test]
    fn selects_by_status_class() {
        let only_4xx = RequestLogging {
            client_errors: true,
            ..Default::default()
        };
        assert!(!RequestLogging::default().any());
        assert!(only_4xx.any());
        assert_eq!(
            [200, 399, 400, 499, 500].map(|s| only_4xx.wants(outcome(s, 1, 1))),
            [false, false, true, true, false]
        );
        let only_5xx = RequestLogging {
            server_errors: true,
            ..Default::default()
        };
        assert_eq!(
            [499, 500, 599, 600].map(|s| only_5xx.wants(outcome(s, 1, 1))),
            [false, true, true, false]
        );
        let all = RequestLogging {
            all: true,
            ..Default::default()
        };
        assert!([101, 200, 404, 503]
            .iter()
            .all(|&s| all.wants(outcome(s, 0, 0))));
    }

    #[test]
    fn selects_slow_big_and_empty_answers() {
        let slow = RequestLogging {
            slower_than_ms: Some(100),
            ..Default::default()
        };
        assert!(slow.any());
        assert!(!slow.wants(outcome(200, 5, 100_000)));
        assert!(slow.wants(outcome(200, 5, 100_001)));
        let big = RequestLogging {
            bigger_than: Some(1000),
            ..Default::default()
        };
        assert!(!big.wants(outcome(200, 1000, 5)));
        assert!(big.wants(outcome(200, 1001, 5)));
        let empty = RequestLogging {
            empty: true,
            ..Default::default()
        };
        assert!(empty.wants(outcome(204, 0, 5)));
        assert!(!empty.wants(outcome(200, 1, 5)));
    }

    #[test]
    fn a_log_format_alone_logs_every_request_and_a_selector_narrows_it() {
        let alone = RequestLogging::from_values(&values(&[]), true).unwrap();
        assert!(alone.all);
        let narrowed = RequestLogging::from_values(&values(&[("log-slow", "250")]), true).unwrap();
        assert!(!narrowed.all);
        assert_eq!(narrowed.slower_than_ms, Some(250));
        let off = RequestLogging::from_values(&values(&[("log-big", "0")]), false).unwrap();
        assert!(!off.any(), "0 is off");
        assert!(RequestLogging::from_values(&values(&[("log-slow", "soon")]), false).is_err());
    }
}
