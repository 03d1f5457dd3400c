//! Connection buffers, reused from one connection to the next.
//!
//! Behind nginx every request comes on a connection of its own (the uwsgi protocol has no
//! keep-alive), so a worker would otherwise allocate, zero and free a read buffer and a
//! response buffer per request; freshly allocated pages also fault in. A worker keeps the
//! buffers of closed connections instead, up to a bound, and only small ones: a buffer
//! grown by one large request goes back to the allocator.

use abi_stable::std_types::RVec;

use super::readbuf::ReadBuf;

/// Buffers kept, of each kind.
const KEEP: usize = 256;

/// Buffers larger than this are not kept.
const KEEP_CAPACITY: usize = 64 * 1024;

/// Spare read and write buffers of one event loop.
#[derive(Default)]
pub struct Buffers {
    read: Vec<ReadBuf>,
    write: Vec<RVec<u8>>,
}

impl Buffers {
    /// A read buffer and a write buffer for a new connection, both empty.
    pub fn take(&mut self) -> (ReadBuf, RVec<u8>) {
        (
            self.read.pop().unwrap_or_default(),
            self.write.pop().unwrap_or_default(),
        )
    }

    /// Keeps a closed connection's buffers for the next one.
    pub fn give(&mut self, (mut read, mut write): (ReadBuf, RVec<u8>)) {
        if self.read.len() < KEEP && read.capacity() <= KEEP_CAPACITY {
            read.clear();
            self.read.push(read);
        }
        if self.write.len() < KEEP && write.capacity() <= KEEP_CAPACITY {
            write.clear();
            self.write.push(write);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_buffer_comes_back_empty_with_its_memory() {
        let mut b = Buffers::default();
        let (mut read, mut write) = b.take();
        read.spare(1024)[..3].copy_from_slice(b"abc");
        read.filled(3);
        write.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
        let (read_cap, write_ptr) = (read.capacity(), write.as_ptr());
        b.give((read, write));
        let (read, write) = b.take();
        assert!(read.is_empty());
        assert_eq!(read.capacity(), read_cap);
        assert!(write.is_empty());
        assert_eq!(write.as_ptr(), write_ptr);
    }

    #[test]
    fn large_buffers_go_back_to_the_allocator() {
        let mut b = Buffers::default();
        let (mut read, mut write) = b.take();
        let n = read.spare(1 << 20).len();
        read.filled(n);
        while read.capacity() <= KEEP_CAPACITY {
            let n = read.spare(1 << 20).len();
            read.filled(n);
        }
        write.resize(KEEP_CAPACITY + 1, 0);
        b.give((read, write));
        assert!(b.read.is_empty() && b.write.is_empty());
    }
}
