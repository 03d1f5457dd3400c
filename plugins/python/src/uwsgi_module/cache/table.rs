//! One cache's table in shared memory: fixed-size slots (a key of up to `keysize` bytes,
//! a value of up to `blocksize`, an expiry time) found by open addressing, under one
//! process-shared robust lock. Made by the master before the first fork, so every worker
//! sees the same items. No Python here: the module's functions call these with the
//! interpreter released while they wait for the lock.
//!
//! Slot states: empty (ends a probe), used, deleted (a probe goes on past it; insertion may
//! reuse it). An expired item reads as missing and is deleted when met. If a process dies
//! while holding the lock (mid-write), the next locker empties the table: a cache may
//! always lose items, never return torn ones.

use std::io;
use std::time::{SystemTime, UNIX_EPOCH};

use rsgi_process_lock::ProcessLocks;

const EMPTY: u8 = 0;
const USED: u8 = 1;
const DELETED: u8 = 2;
/// state (1), padding (3), key length (4), value length (4), padding (4), expiry (8).
const SLOT_HEAD: usize = 24;

/// The shape of a cache (`--cache2 name=...,items=...,blocksize=...,keysize=...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Most items.
    pub items: usize,
    /// Largest value, in bytes.
    pub blocksize: usize,
    /// Longest key, in bytes.
    pub keysize: usize,
}

/// Why an item was not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// `set` (not `update`) of a key that is there.
    Exists,
    /// Every slot holds a live item.
    Full,
    /// The key is longer than `keysize`.
    KeyTooLong,
    /// The value is longer than `blocksize`.
    ValueTooBig,
}

/// A cache table in a shared mapping.
pub struct Table {
    base: *mut u8,
    shape: Shape,
    slot_size: usize,
    lock: ProcessLocks,
}

// SAFETY: the mapping lives for the rest of the process, and every access to it happens
// with the process-shared lock held.
unsafe impl Send for Table {}
// SAFETY: as above.
unsafe impl Sync for Table {}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// FNV-1a: the same in every process (no per-process seed).
fn hash(key: &[u8]) -> u64 {
    key.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The table, locked: slot access by index.
struct Locked<'a> {
    table: &'a Table,
}

impl Locked<'_> {
    fn slot(&self, i: usize) -> *mut u8 {
        // SAFETY: `i < items`, so the slot lies inside the mapping.
        unsafe { self.table.base.add(i * self.table.slot_size) }
    }

    fn state(&self, i: usize) -> u8 {
        // SAFETY: the slot is in the mapping; the lock is held.
        unsafe { *self.slot(i) }
    }

    fn set_state(&self, i: usize, state: u8) {
        // SAFETY: as in `state`.
        unsafe { *self.slot(i) = state }
    }

    fn field(&self, i: usize, offset: usize) -> u64 {
        let mut bytes = [0u8; 8];
        // SAFETY: header fields lie in the slot's first SLOT_HEAD bytes.
        unsafe { std::ptr::copy_nonoverlapping(self.slot(i).add(offset), bytes.as_mut_ptr(), 8) };
        u64::from_ne_bytes(bytes)
    }

    fn set_field(&self, i: usize, offset: usize, value: u64) {
        // SAFETY: as in `field`.
        unsafe {
            std::ptr::copy_nonoverlapping(value.to_ne_bytes().as_ptr(), self.slot(i).add(offset), 8)
        };
    }

    fn lengths(&self, i: usize) -> (usize, usize) {
        let both = self.field(i, 4);
        ((both & 0xffff_ffff) as usize, (both >> 32) as usize)
    }

    fn key(&self, i: usize) -> &[u8] {
        let (key_len, _) = self.lengths(i);
        // SAFETY: the key area holds `keysize` bytes and `key_len <= keysize` was checked
        // when it was written.
        unsafe { std::slice::from_raw_parts(self.slot(i).add(SLOT_HEAD), key_len) }
    }

    fn value(&self, i: usize) -> &[u8] {
        let (_, value_len) = self.lengths(i);
        // SAFETY: as in `key`, for the value area after it.
        unsafe {
            std::slice::from_raw_parts(
                self.slot(i).add(SLOT_HEAD + self.table.shape.keysize),
                value_len,
            )
        }
    }

    fn live(&self, i: usize, now: u64) -> bool {
        let expires = self.field(i, 16);
        expires == 0 || expires > now
    }

    /// The slot holding `key`, and the first reusable slot met on the way.
    fn find(&self, key: &[u8]) -> (Option<usize>, Option<usize>) {
        let n = self.table.shape.items;
        let start = (hash(key) % n as u64) as usize;
        let now = now();
        let mut free = None;
        for step in 0..n {
            let i = (start + step) % n;
            match self.state(i) {
                EMPTY => return (None, free.or(Some(i))),
                USED if self.key(i) == key => {
                    if self.live(i, now) {
                        return (Some(i), free);
                    }
                    self.set_state(i, DELETED);
                    free = free.or(Some(i));
                }
                USED => {}
                _ => free = free.or(Some(i)),
            }
        }
        (None, free)
    }

    fn write(&self, i: usize, key: &[u8], value: &[u8], expires: u64) {
        let lengths = key.len() as u64 | ((value.len() as u64) << 32);
        self.set_field(i, 4, lengths);
        self.set_field(i, 16, expires);
        // SAFETY: lengths were checked against keysize and blocksize by the caller.
        unsafe {
            std::ptr::copy_nonoverlapping(key.as_ptr(), self.slot(i).add(SLOT_HEAD), key.len());
            std::ptr::copy_nonoverlapping(
                value.as_ptr(),
                self.slot(i).add(SLOT_HEAD + self.table.shape.keysize),
                value.len(),
            );
        }
        self.set_state(i, USED);
    }

    fn clear(&self) {
        for i in 0..self.table.shape.items {
            self.set_state(i, EMPTY);
        }
    }
}

impl Table {
    /// Maps a table of `shape` (master, before forking).
    pub fn new(shape: Shape) -> io::Result<Table> {
        let slot_size = (SLOT_HEAD + shape.keysize + shape.blocksize).next_multiple_of(8);
        let bytes = slot_size
            .checked_mul(shape.items.max(1))
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "cache too large"))?;
        // Zero-filled: every slot starts empty.
        let base = rsgi_process_lock::shared_mapping(bytes)?.as_ptr();
        Ok(Table {
            base,
            shape,
            slot_size,
            lock: ProcessLocks::new(1)?,
        })
    }

    /// The table's shape.
    pub fn shape(&self) -> Shape {
        self.shape
    }

    /// Runs `f` with the lock held; a table left by a holder that died is emptied first.
    fn locked<R>(&self, f: impl FnOnce(&Locked<'_>) -> R) -> io::Result<R> {
        let held = self.lock.hold(0)?;
        let locked = Locked { table: self };
        if held.recovered {
            tracing::warn!("uwsgi cache: a worker died while changing it; emptied");
            locked.clear();
        }
        Ok(f(&locked))
    }

    /// The value of `key`, if it is there and not expired.
    pub fn get(&self, key: &[u8]) -> io::Result<Option<Vec<u8>>> {
        self.locked(|t| t.find(key).0.map(|i| t.value(i).to_vec()))
    }

    /// Whether `key` is there and not expired.
    pub fn exists(&self, key: &[u8]) -> io::Result<bool> {
        self.locked(|t| t.find(key).0.is_some())
    }

    /// Stores `value` under `key` for `ttl` seconds (0: until removed); `overwrite`
    /// decides what happens when the key is there (uWSGI's `cache_update` vs `cache_set`).
    pub fn store(
        &self,
        key: &[u8],
        value: &[u8],
        ttl: u64,
        overwrite: bool,
    ) -> io::Result<Result<(), Refused>> {
        if key.len() > self.shape.keysize {
            return Ok(Err(Refused::KeyTooLong));
        }
        if value.len() > self.shape.blocksize {
            return Ok(Err(Refused::ValueTooBig));
        }
        let expires = if ttl == 0 { 0 } else { now() + ttl };
        self.locked(|t| match t.find(key) {
            (Some(_), _) if !overwrite => Err(Refused::Exists),
            (Some(i), _) | (None, Some(i)) => {
                t.write(i, key, value, expires);
                Ok(())
            }
            (None, None) => Err(Refused::Full),
        })
    }

    /// Removes `key`; false when it was not there.
    pub fn delete(&self, key: &[u8]) -> io::Result<bool> {
        self.locked(|t| match t.find(key).0 {
            Some(i) => {
                t.set_state(i, DELETED);
                true
            }
            None => false,
        })
    }

    /// Removes every item.
    pub fn clear(&self) -> io::Result<()> {
        self.locked(|t| t.clear())
    }

    /// The keys of the live items.
    pub fn keys(&self) -> io::Result<Vec<Vec<u8>>> {
        self.locked(|t| {
            let now = now();
            (0..self.shape.items)
                .filter(|&i| t.state(i) == USED && t.live(i, now))
                .map(|i| t.key(i).to_vec())
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(items: usize) -> Table {
        Table::new(Shape {
            items,
            blocksize: 16,
            keysize: 8,
        })
        .unwrap()
    }

    #[test]
    fn set_refuses_an_existing_key_and_update_overwrites() {
        let t = table(4);
        assert_eq!(t.store(b"a", b"1", 0, false).unwrap(), Ok(()));
        assert_eq!(t.store(b"a", b"2", 0, false).unwrap(), Err(Refused::Exists));
        assert_eq!(t.get(b"a").unwrap().as_deref(), Some(&b"1"[..]));
        assert_eq!(t.store(b"a", b"22", 0, true).unwrap(), Ok(()));
        assert_eq!(t.get(b"a").unwrap().as_deref(), Some(&b"22"[..]));
        assert!(t.exists(b"a").unwrap() && !t.exists(b"b").unwrap());
    }

    #[test]
    fn a_full_table_refuses_and_deleted_slots_are_reused() {
        let t = table(3);
        for k in [b"a", b"b", b"c"] {
            assert_eq!(t.store(k, b"v", 0, false).unwrap(), Ok(()));
        }
        assert_eq!(t.store(b"d", b"v", 0, false).unwrap(), Err(Refused::Full));
        assert!(t.delete(b"b").unwrap());
        assert!(!t.delete(b"b").unwrap());
        assert_eq!(t.store(b"d", b"v", 0, false).unwrap(), Ok(()));
        let mut keys = t.keys().unwrap();
        keys.sort();
        assert_eq!(keys, [b"a".to_vec(), b"c".to_vec(), b"d".to_vec()]);
        // Keys past a deleted slot are still found.
        for k in [b"a", b"c", b"d"] {
            assert!(t.exists(k).unwrap());
        }
        t.clear().unwrap();
        assert!(t.keys().unwrap().is_empty());
    }

    #[test]
    fn sizes_are_checked_and_expired_items_read_as_missing() {
        let t = table(4);
        assert_eq!(
            t.store(b"123456789", b"v", 0, false).unwrap(),
            Err(Refused::KeyTooLong)
        );
        assert_eq!(
            t.store(b"k", &[0; 17], 0, false).unwrap(),
            Err(Refused::ValueTooBig)
        );
        assert_eq!(t.store(b"k", &[7; 16], 0, false).unwrap(), Ok(()));
        assert_eq!(t.get(b"k").unwrap(), Some(vec![7; 16]));
        t.locked(|l| {
            let (i, _) = l.find(b"k");
            l.set_field(i.unwrap(), 16, 1); // expired long ago
        })
        .unwrap();
        assert_eq!(t.get(b"k").unwrap(), None);
        assert_eq!(
            t.store(b"k", b"new", 0, false).unwrap(),
            Ok(()),
            "an expired key is free"
        );
    }

    #[test]
    fn another_process_sees_the_same_items() {
        let t = table(8);
        // SAFETY: the child only uses the shared table and exits.
        match unsafe { libc::fork() } {
            0 => {
                let ok = t.store(b"from", b"child", 0, false).is_ok();
                unsafe { libc::_exit(if ok { 0 } else { 1 }) };
            }
            pid => {
                let mut status = 0;
                // SAFETY: waiting for our own child.
                unsafe { libc::waitpid(pid, &mut status, 0) };
                assert_eq!(libc::WEXITSTATUS(status), 0);
                assert_eq!(t.get(b"from").unwrap().as_deref(), Some(&b"child"[..]));
            }
        }
    }
}
