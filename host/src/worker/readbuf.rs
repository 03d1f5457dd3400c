//! A connection's read buffer: bytes from `start` to `end` are unconsumed.

/// First allocation for a new connection.
const INITIAL: usize = 8 * 1024;

/// A growable byte buffer read from a socket and consumed from the front.
pub struct ReadBuf {
    data: Vec<u8>,
    start: usize,
    end: usize,
}

impl ReadBuf {
    /// An empty buffer (allocated on first use).
    pub fn new() -> Self {
        ReadBuf {
            data: Vec::new(),
            start: 0,
            end: 0,
        }
    }

    /// The unconsumed bytes.
    pub fn pending(&self) -> &[u8] {
        &self.data[self.start..self.end]
    }

    /// True when nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Drops `n` bytes from the front (`usize::MAX`: everything).
    pub fn consume(&mut self, n: usize) {
        self.start = self.start.saturating_add(n).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Room to read into: compacts, then grows (doubling) up to `limit` bytes in total.
    /// Empty when the pending bytes already fill `limit`.
    pub fn spare(&mut self, limit: usize) -> &mut [u8] {
        if self.data.is_empty() {
            self.data.resize(INITIAL.min(limit.max(1)), 0);
        }
        if self.end == self.data.len() && self.start > 0 {
            self.data.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.data.len() && self.data.len() < limit {
            let grown = (self.data.len() * 2).min(limit);
            self.data.resize(grown, 0);
        }
        &mut self.data[self.end..]
    }

    /// Marks `n` bytes of [`ReadBuf::spare`] as filled.
    pub fn filled(&mut self, n: usize) {
        self.end += n;
    }

    /// Bytes allocated (initialized: a reused buffer is not zeroed again).
    pub fn capacity(&self) -> usize {
        self.data.len()
    }

    /// Forgets the contents, keeping the memory.
    pub fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
    }

    /// Appends bytes (the start of a next request read by a body decoder).
    pub fn push(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        self.data.truncate(self.end);
        self.data.extend_from_slice(bytes);
        self.end = self.data.len();
    }
}

impl Default for ReadBuf {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consumes_from_the_front_and_resets_when_empty() {
        let mut b = ReadBuf::new();
        let spare = b.spare(64);
        spare[..5].copy_from_slice(b"hello");
        b.filled(5);
        b.consume(2);
        assert_eq!(b.pending(), b"llo");
        b.consume(3);
        assert!(b.is_empty());
    }

    #[test]
    fn consuming_everything_after_a_partial_consume_empties_the_buffer() {
        let mut b = ReadBuf::new();
        b.spare(64)[..6].copy_from_slice(b"abcdef");
        b.filled(6);
        b.consume(2);
        b.consume(usize::MAX);
        assert!(b.is_empty());
    }

    #[test]
    fn grows_up_to_the_limit_only() {
        let mut b = ReadBuf::new();
        let n = b.spare(10).len();
        b.filled(n);
        assert_eq!(b.spare(10).len(), 0);
        assert_eq!(b.pending().len(), 10);
    }

    #[test]
    fn push_appends_after_pending() {
        let mut b = ReadBuf::new();
        b.spare(16)[..2].copy_from_slice(b"ab");
        b.filled(2);
        b.push(b"cd");
        assert_eq!(b.pending(), b"abcd");
    }
}
