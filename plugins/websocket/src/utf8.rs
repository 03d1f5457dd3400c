//! Incremental UTF-8 validation: a text message is checked as its bytes arrive, across
//! fragment and read boundaries, so a bad byte fails the connection at once (RFC 6455
//! §8.1) instead of after the whole message was buffered.
//!
//! `std::str::from_utf8` does the work: its error tells an invalid sequence
//! (`error_len() == Some(_)`) from one merely cut short at the end of the input
//! (`error_len() == None`); the cut-off tail, at most three bytes, is carried to the next
//! call.

/// The state of a validation in progress: the bytes of a character not yet complete.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Utf8Validator {
    tail: [u8; 4],
    tail_len: u8,
}

/// The input is not UTF-8 (or not a prefix of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invalid;

impl Utf8Validator {
    /// A validator at the start of a message.
    pub fn new() -> Utf8Validator {
        Utf8Validator::default()
    }

    /// Checks the next bytes of the message: `Err` as soon as they cannot continue valid
    /// UTF-8, `Ok` if everything so far is UTF-8 or a prefix of it.
    pub fn push(&mut self, mut input: &[u8]) -> Result<(), Invalid> {
        if self.tail_len > 0 {
            let have = usize::from(self.tail_len);
            let want = char_width(self.tail[0]);
            let take = (want - have).min(input.len());
            let mut buf = self.tail;
            buf[have..have + take].copy_from_slice(&input[..take]);
            match std::str::from_utf8(&buf[..have + take]) {
                Ok(_) => self.tail_len = 0,
                Err(e) if e.error_len().is_some() => return Err(Invalid),
                Err(_) => {
                    // Still incomplete: `take` was all of the input.
                    self.tail = buf;
                    self.tail_len = (have + take) as u8;
                    return Ok(());
                }
            }
            input = &input[take..];
        }
        match std::str::from_utf8(input) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_some() => Err(Invalid),
            Err(e) => {
                let rest = &input[e.valid_up_to()..];
                self.tail[..rest.len()].copy_from_slice(rest);
                self.tail_len = rest.len() as u8;
                Ok(())
            }
        }
    }

    /// Ends the message: `Err` if it stops in the middle of a character.
    pub fn finish(&mut self) -> Result<(), Invalid> {
        let complete = self.tail_len == 0;
        *self = Utf8Validator::new();
        if complete {
            Ok(())
        } else {
            Err(Invalid)
        }
    }
}

/// The length of the sequence a lead byte starts. Only called on the first byte of a tail
/// that `from_utf8` reported as a valid, cut-short prefix, so the byte is a lead byte.
fn char_width(lead: u8) -> usize {
    match lead {
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_split(bytes: &[u8], at: usize) -> Result<(), Invalid> {
        let mut v = Utf8Validator::new();
        v.push(&bytes[..at])?;
        v.push(&bytes[at..])?;
        v.finish()
    }

    #[test]
    fn accepts_valid_text_split_anywhere() {
        let text = "aé€😀z".as_bytes();
        for at in 0..=text.len() {
            assert_eq!(check_split(text, at), Ok(()), "split at {at}");
        }
        let mut v = Utf8Validator::new();
        for b in text {
            v.push(std::slice::from_ref(b)).unwrap();
        }
        assert_eq!(v.finish(), Ok(()));
    }

    #[test]
    fn fails_on_the_first_bad_byte_not_at_the_end() {
        let mut v = Utf8Validator::new();
        v.push(b"ok ").unwrap();
        // 0xce 0xba is κ; 0xe1 0xbd then a non-continuation byte is invalid right away.
        v.push(b"\xce").unwrap();
        v.push(b"\xba\xe1\xbd").unwrap();
        assert_eq!(v.push(b"\x41"), Err(Invalid));
        // An impossible lead byte or an overlong start fails with no byte after it.
        assert_eq!(Utf8Validator::new().push(b"\xf5"), Err(Invalid));
        assert_eq!(Utf8Validator::new().push(b"\xe0\x80"), Err(Invalid));
        assert_eq!(Utf8Validator::new().push(b"\xed\xa0"), Err(Invalid)); // a surrogate
        assert_eq!(Utf8Validator::new().push(b"\xf4\x90"), Err(Invalid)); // over U+10FFFF
    }

    #[test]
    fn a_prefix_that_may_still_complete_is_accepted_until_the_end() {
        let mut v = Utf8Validator::new();
        v.push(b"\xf0\x9f").unwrap();
        v.push(b"\x98").unwrap();
        assert_eq!(v.finish(), Err(Invalid));
    }

    #[test]
    fn bad_byte_completing_a_carried_tail_fails() {
        let mut v = Utf8Validator::new();
        v.push(b"\xe2\x82").unwrap();
        assert_eq!(v.push(b"\xffmore"), Err(Invalid));
    }
}
