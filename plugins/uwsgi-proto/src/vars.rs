//! The vars block: `(key, value)` pairs borrowed from the packet.
//!
//! Each var is `key-length (u16 LE) | key | value-length (u16 LE) | value`, back to back
//! until the block ends. Keys are CGI names (`REQUEST_METHOD`, `HTTP_HOST`); values are raw
//! bytes, not necessarily UTF-8.

use crate::error::UwsgiError;

/// Iterates over the vars of a block, borrowing keys and values from it.
///
/// Yields `Err` once on the first malformed var (a length running past the block, an
/// empty key) and then stops.
#[derive(Debug, Clone)]
pub struct Vars<'a> {
    rest: &'a [u8],
    failed: bool,
}

impl<'a> Vars<'a> {
    /// Iterates over `block`, the `datasize` bytes after the packet header.
    pub fn new(block: &'a [u8]) -> Vars<'a> {
        Vars {
            rest: block,
            failed: false,
        }
    }

    /// Splits one length-prefixed string off the front of `self.rest`.
    fn take_string(&mut self) -> Result<&'a [u8], UwsgiError> {
        let [lo, hi, rest @ ..] = self.rest else {
            return Err(UwsgiError::TruncatedVar);
        };
        let len = usize::from(u16::from_le_bytes([*lo, *hi]));
        if len > rest.len() {
            return Err(UwsgiError::TruncatedVar);
        }
        let (string, rest) = rest.split_at(len);
        self.rest = rest;
        Ok(string)
    }

    fn next_pair(&mut self) -> Result<(&'a [u8], &'a [u8]), UwsgiError> {
        let key = self.take_string()?;
        if key.is_empty() {
            return Err(UwsgiError::EmptyKey);
        }
        let value = self.take_string()?;
        Ok((key, value))
    }
}

impl<'a> Iterator for Vars<'a> {
    type Item = Result<(&'a [u8], &'a [u8]), UwsgiError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.is_empty() {
            return None;
        }
        let pair = self.next_pair();
        self.failed = pair.is_err();
        Some(pair)
    }
}

impl std::iter::FusedIterator for Vars<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    type Pair<'a> = (&'a [u8], &'a [u8]);

    fn collect(block: &[u8]) -> Vec<Result<Pair<'_>, UwsgiError>> {
        Vars::new(block).collect()
    }

    #[test]
    fn yields_pairs_in_order() {
        let block = b"\x0e\x00REQUEST_METHOD\x03\x00GET\x09\x00HTTP_HOST\x00\x00";
        assert_eq!(
            collect(block),
            vec![
                Ok((&b"REQUEST_METHOD"[..], &b"GET"[..])),
                Ok((&b"HTTP_HOST"[..], &b""[..]))
            ]
        );
    }

    #[test]
    fn empty_block_has_no_vars() {
        assert!(collect(b"").is_empty());
    }

    #[test]
    fn values_may_be_any_bytes() {
        let block = b"\x01\x00K\x04\x00\xff\x00\xe9\n";
        assert_eq!(
            collect(block),
            vec![Ok((&b"K"[..], &b"\xff\x00\xe9\n"[..]))]
        );
    }

    #[test]
    fn rejects_every_truncation_of_a_var() {
        let block = b"\x03\x00KEY\x05\x00value";
        for n in 1..block.len() {
            assert_eq!(
                collect(&block[..n]).last(),
                Some(&Err(UwsgiError::TruncatedVar)),
                "block cut at {n}"
            );
        }
    }

    #[test]
    fn rejects_key_length_past_the_block() {
        assert_eq!(collect(b"\xff\x00KEY"), vec![Err(UwsgiError::TruncatedVar)]);
    }

    #[test]
    fn rejects_value_length_past_the_block() {
        assert_eq!(
            collect(b"\x01\x00K\x00\x01v"),
            vec![Err(UwsgiError::TruncatedVar)]
        );
    }

    #[test]
    fn rejects_empty_key() {
        assert_eq!(
            collect(b"\x00\x00\x01\x00v"),
            vec![Err(UwsgiError::EmptyKey)]
        );
    }

    #[test]
    fn stops_after_the_first_error() {
        let mut vars = Vars::new(b"\x00\x00\x00\x00\x01\x00K\x00\x00");
        assert_eq!(vars.next(), Some(Err(UwsgiError::EmptyKey)));
        assert_eq!(vars.next(), None);
    }
}
