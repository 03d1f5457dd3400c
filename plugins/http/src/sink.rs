//! Where encoded bytes go: the host's `RVec<u8>`, or a `Vec<u8>` in tests and benchmarks.

use abi_stable::std_types::RVec;

/// An append-only byte buffer.
pub trait Sink {
    /// Appends `bytes`.
    fn put(&mut self, bytes: &[u8]);
    /// Bytes written so far.
    fn written(&self) -> usize;
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
    fn written(&self) -> usize {
        self.len()
    }
}

impl Sink for RVec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        // One copy: `RVec::extend_from_slice` pushes element by element.
        self.extend_from_copy_slice(bytes);
    }
    fn written(&self) -> usize {
        self.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_buffers_append() {
        let mut a = Vec::new();
        let mut b = RVec::new();
        for s in [&mut a as &mut dyn Sink, &mut b] {
            s.put(b"ab");
            s.put(b"c");
            assert_eq!(s.written(), 3);
        }
        assert_eq!(a, b.as_slice());
    }
}
