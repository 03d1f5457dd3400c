//! `Range: bytes=...` for static files (RFC 9110 §14): one range is answered with 206 and
//! that part of the file; a range that starts past the end with 416; anything else
//! (several ranges, another unit, a malformed value) is ignored and the whole file sent,
//! as the RFC allows.

/// What to send for a `Range` value and a file of `size` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The whole file (no range, or one to ignore).
    Whole,
    /// `len` bytes from `start` (206).
    Part {
        /// First byte.
        start: u64,
        /// How many bytes.
        len: u64,
    },
    /// No byte of the file is in the range (416).
    Unsatisfiable,
}

/// The answer to `Range: value` for a file of `size` bytes.
pub fn answer(value: &[u8], size: u64) -> Answer {
    let Some(spec) = std::str::from_utf8(value)
        .ok()
        .and_then(|v| v.trim().strip_prefix("bytes="))
    else {
        return Answer::Whole;
    };
    if spec.contains(',') {
        return Answer::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Answer::Whole;
    };
    let number = |s: &str| -> Option<u64> {
        let s = s.trim();
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    match (number(first), number(last), last.trim().is_empty()) {
        // bytes=-N: the last N bytes.
        (None, Some(n), _) if first.trim().is_empty() => {
            if n == 0 || size == 0 {
                Answer::Unsatisfiable
            } else {
                let len = n.min(size);
                Answer::Part {
                    start: size - len,
                    len,
                }
            }
        }
        // bytes=A- and bytes=A-B.
        (Some(start), end, open) if open || end.is_some() => {
            if end.is_some_and(|end| end < start) {
                return Answer::Whole;
            }
            if start >= size {
                return Answer::Unsatisfiable;
            }
            let end = end.map_or(size - 1, |end| end.min(size - 1));
            Answer::Part {
                start,
                len: end - start + 1,
            }
        }
        _ => Answer::Whole,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_range_is_a_part_of_the_file() {
        assert_eq!(
            answer(b"bytes=0-9", 100),
            Answer::Part { start: 0, len: 10 }
        );
        assert_eq!(
            answer(b"bytes=90-", 100),
            Answer::Part { start: 90, len: 10 }
        );
        assert_eq!(
            answer(b"bytes=95-200", 100),
            Answer::Part { start: 95, len: 5 }
        );
        assert_eq!(answer(b"bytes=-5", 100), Answer::Part { start: 95, len: 5 });
        assert_eq!(
            answer(b"bytes=-500", 100),
            Answer::Part { start: 0, len: 100 }
        );
        assert_eq!(
            answer(b" bytes= 3 - 3 ", 100),
            Answer::Part { start: 3, len: 1 }
        );
    }

    #[test]
    fn a_range_past_the_end_is_unsatisfiable() {
        assert_eq!(answer(b"bytes=100-", 100), Answer::Unsatisfiable);
        assert_eq!(answer(b"bytes=100-200", 100), Answer::Unsatisfiable);
        assert_eq!(answer(b"bytes=-0", 100), Answer::Unsatisfiable);
        assert_eq!(answer(b"bytes=0-", 0), Answer::Unsatisfiable);
    }

    #[test]
    fn anything_else_gets_the_whole_file() {
        for value in [
            &b"bytes=0-1,5-6"[..],
            b"items=0-1",
            b"bytes=5-2",
            b"bytes=a-b",
            b"bytes=-",
            b"bytes=1",
            b"bytes=+1-2",
            b"\xff",
            b"",
        ] {
            assert_eq!(answer(value, 100), Answer::Whole, "{value:?}");
        }
    }
}
