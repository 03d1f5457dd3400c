//! The accept queues of the TCP sockets, read by the master once a second: a full queue
//! means the kernel drops new connections (clients see timeouts or resets), so it is
//! logged — at most once per [`LOG_EVERY`] per socket — and counted for the stats.

use std::time::{Duration, Instant};

use crate::listen::Listener;

/// How often the queues are read.
const SAMPLE_EVERY: Duration = Duration::from_secs(1);
/// Shortest interval between two "full" lines about the same socket.
const LOG_EVERY: Duration = Duration::from_secs(10);

/// The watcher's state.
#[derive(Debug)]
pub struct ListenQueueWatch {
    last_sample: Option<Instant>,
    /// Per socket: when it was last reported full, and full readings not reported since.
    reported: Vec<(Option<Instant>, u64)>,
    /// Readings that found a queue full (uWSGI's `listen_queue_errors`).
    pub full_count: u64,
}

/// True when `len` connections wait in a queue of `max`.
fn is_full(len: u32, max: u32) -> bool {
    max > 0 && len >= max
}

impl ListenQueueWatch {
    /// Watches `sockets` listeners.
    pub fn new(sockets: usize) -> Self {
        ListenQueueWatch {
            last_sample: None,
            reported: vec![(None, 0); sockets],
            full_count: 0,
        }
    }

    /// Reads the queues if a second has passed since the last reading.
    pub fn sample(&mut self, listeners: &[Listener]) {
        let now = Instant::now();
        if self
            .last_sample
            .is_some_and(|t| now.duration_since(t) < SAMPLE_EVERY)
        {
            return;
        }
        self.last_sample = Some(now);
        for (l, (last_log, unreported)) in listeners.iter().zip(self.reported.iter_mut()) {
            let Some((len, max)) = l.queue() else {
                continue;
            };
            if !is_full(len, max) {
                continue;
            }
            self.full_count += 1;
            if last_log.is_some_and(|t| now.duration_since(t) < LOG_EVERY) {
                *unreported += 1;
                continue;
            }
            let also = match *unreported {
                0 => String::new(),
                n => format!("; {n} more full reading(s) since the last report"),
            };
            tracing::warn!(
                "listen queue of {} full ({len}/{max}): new connections are being dropped; \
                 add workers or raise --listen{also}",
                l.describe()
            );
            *last_log = Some(now);
            *unreported = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_is_full_at_its_backlog() {
        assert!(is_full(10, 10));
        assert!(is_full(11, 10));
        assert!(!is_full(9, 10));
        assert!(!is_full(0, 0), "an unknown maximum is never full");
    }
}
