//! How long a request body is (RFC 9112 §6), with the request-smuggling rules.
//!
//! Two servers that disagree about where a body ends can be made to see two different
//! requests in one byte stream. So every ambiguity is refused rather than resolved:
//!
//! * `Content-Length` is digits only: no sign, no spaces inside, no list (`5, 5`), no
//!   overflow. Repeated `Content-Length` lines with the *same* value are accepted as one
//!   (RFC 9110 §8.6 allows it and nothing can be smuggled through identical values);
//!   different values are 400.
//! * `Content-Length` and `Transfer-Encoding` together are 400, whatever their values.
//! * `Transfer-Encoding` in an HTTP/1.0 request is 400 (1.0 has no chunked coding, so a
//!   1.0 peer may frame the message differently).
//! * The codings of all `Transfer-Encoding` lines form one list. An empty element or an
//!   empty value is 400; `chunked` applied twice or not last is 400; any other coding
//!   (`gzip`, `deflate`, unknown ones) is 501 — this server decodes none of them.
//! * Neither header: no body, whatever the method.

use rsgi_plugin_api::protocol::{BodyFraming, BodyKind, Version};

use crate::error::HttpError;
use crate::field;

/// The framing headers of one request, gathered one header at a time.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BodyHeaders {
    content_length: Option<u64>,
    transfer_encoding: bool,
    chunked: bool,
    chunked_last: bool,
    other_coding: bool,
}

impl BodyHeaders {
    /// Looks at one header. Returns `Ok(true)` when it was `Content-Length` or
    /// `Transfer-Encoding`, and an error as soon as a value is malformed.
    pub fn header(&mut self, name: &[u8], value: &[u8]) -> Result<bool, HttpError> {
        if name.eq_ignore_ascii_case(b"content-length") {
            let n = field::parse_length(value).ok_or(HttpError::BadContentLength)?;
            match self.content_length {
                Some(seen) if seen != n => return Err(HttpError::ConflictingContentLength),
                _ => self.content_length = Some(n),
            }
            Ok(true)
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            self.transfer_encoding = true;
            for coding in field::list(value) {
                self.coding(coding)?;
            }
            Ok(true)
        } else {
            Ok(false)
        }
    }

    fn coding(&mut self, coding: &[u8]) -> Result<(), HttpError> {
        if coding.is_empty() {
            return Err(HttpError::BadTransferEncoding);
        }
        if coding.eq_ignore_ascii_case(b"chunked") {
            if self.chunked {
                return Err(HttpError::ChunkedNotLast);
            }
            self.chunked = true;
            self.chunked_last = true;
        } else {
            self.other_coding = true;
            self.chunked_last = false;
        }
        Ok(())
    }

    /// Decides the framing once every header has been seen.
    pub fn finish(&self, version: Version) -> Result<BodyFraming, HttpError> {
        if self.transfer_encoding {
            if version == Version::Http10 {
                return Err(HttpError::TransferEncodingInHttp10);
            }
            if self.content_length.is_some() {
                return Err(HttpError::LengthWithTransferEncoding);
            }
            if self.chunked && !self.chunked_last {
                return Err(HttpError::ChunkedNotLast);
            }
            if self.other_coding {
                return Err(HttpError::UnsupportedTransferCoding);
            }
            return Ok(BodyFraming {
                kind: BodyKind::Chunked,
                length: 0,
            });
        }
        Ok(match self.content_length {
            Some(length) => BodyFraming {
                kind: BodyKind::Length,
                length,
            },
            None => BodyFraming {
                kind: BodyKind::Empty,
                length: 0,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framing(version: Version, headers: &[(&[u8], &[u8])]) -> Result<BodyFraming, HttpError> {
        let mut b = BodyHeaders::default();
        for (n, v) in headers {
            b.header(n, v)?;
        }
        b.finish(version)
    }

    fn kind(headers: &[(&[u8], &[u8])]) -> Result<BodyKind, HttpError> {
        framing(Version::Http11, headers).map(|f| f.kind)
    }

    #[test]
    fn no_framing_headers_means_no_body() {
        assert_eq!(
            framing(Version::Http11, &[]),
            Ok(BodyFraming {
                kind: BodyKind::Empty,
                length: 0
            })
        );
    }

    #[test]
    fn content_length_gives_a_length_body() {
        assert_eq!(
            framing(Version::Http10, &[(b"content-LENGTH", b"0042")]),
            Ok(BodyFraming {
                kind: BodyKind::Length,
                length: 42
            })
        );
        assert_eq!(
            framing(Version::Http11, &[(b"Content-Length", b"0")])
                .unwrap()
                .length,
            0
        );
    }

    #[test]
    fn rejects_content_length_that_is_not_plain_digits() {
        for bad in [
            &b"+5"[..],
            b"-1",
            b"5 5",
            b"5,5",
            b"5, 5",
            b"0x5",
            b"",
            b"99999999999999999999",
        ] {
            assert_eq!(
                kind(&[(b"Content-Length", bad)]),
                Err(HttpError::BadContentLength),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn accepts_repeated_identical_content_length() {
        assert_eq!(
            framing(
                Version::Http11,
                &[(b"Content-Length", b"7"), (b"content-length", b"7")]
            ),
            Ok(BodyFraming {
                kind: BodyKind::Length,
                length: 7
            })
        );
    }

    #[test]
    fn rejects_two_different_content_lengths() {
        assert_eq!(
            kind(&[(b"Content-Length", b"7"), (b"Content-Length", b"8")]),
            Err(HttpError::ConflictingContentLength)
        );
    }

    #[test]
    fn chunked_gives_a_chunked_body() {
        assert_eq!(
            kind(&[(b"Transfer-Encoding", b"chunked")]),
            Ok(BodyKind::Chunked)
        );
        assert_eq!(
            kind(&[(b"transfer-encoding", b"  CHUNKED ")]),
            Ok(BodyKind::Chunked)
        );
    }

    #[test]
    fn rejects_content_length_with_transfer_encoding() {
        for order in [
            [
                (&b"Content-Length"[..], &b"5"[..]),
                (b"Transfer-Encoding", b"chunked"),
            ],
            [
                (b"Transfer-Encoding", b"chunked"),
                (b"Content-Length", b"5"),
            ],
        ] {
            assert_eq!(kind(&order), Err(HttpError::LengthWithTransferEncoding));
        }
        assert_eq!(
            kind(&[(b"Transfer-Encoding", b"gzip"), (b"Content-Length", b"5")]),
            Err(HttpError::LengthWithTransferEncoding)
        );
    }

    #[test]
    fn rejects_transfer_encoding_in_http10() {
        assert_eq!(
            framing(Version::Http10, &[(b"Transfer-Encoding", b"chunked")]),
            Err(HttpError::TransferEncodingInHttp10)
        );
    }

    #[test]
    fn rejects_chunked_that_is_not_last_or_repeated() {
        assert_eq!(
            kind(&[(b"Transfer-Encoding", b"chunked, gzip")]),
            Err(HttpError::ChunkedNotLast)
        );
        assert_eq!(
            kind(&[(b"Transfer-Encoding", b"chunked, chunked")]),
            Err(HttpError::ChunkedNotLast)
        );
        assert_eq!(
            kind(&[
                (b"Transfer-Encoding", b"chunked"),
                (b"Transfer-Encoding", b"chunked")
            ]),
            Err(HttpError::ChunkedNotLast)
        );
        assert_eq!(
            kind(&[
                (b"Transfer-Encoding", b"chunked"),
                (b"Transfer-Encoding", b"identity")
            ]),
            Err(HttpError::ChunkedNotLast)
        );
    }

    #[test]
    fn answers_501_to_codings_other_than_chunked() {
        for te in [
            &b"gzip"[..],
            b"gzip, chunked",
            b"identity",
            b"x-custom",
            b"chunked;q=1",
        ] {
            assert_eq!(
                kind(&[(b"Transfer-Encoding", te)]),
                Err(HttpError::UnsupportedTransferCoding),
                "{te:?}"
            );
        }
        assert_eq!(
            kind(&[
                (b"Transfer-Encoding", b"deflate"),
                (b"Transfer-Encoding", b"chunked")
            ]),
            Err(HttpError::UnsupportedTransferCoding)
        );
    }

    #[test]
    fn rejects_empty_transfer_coding_elements() {
        for te in [&b""[..], b",chunked", b"chunked,", b"gzip,,chunked"] {
            assert_eq!(
                kind(&[(b"Transfer-Encoding", te)]),
                Err(HttpError::BadTransferEncoding),
                "{te:?}"
            );
        }
    }

    #[test]
    fn ignores_other_headers() {
        let mut b = BodyHeaders::default();
        assert_eq!(b.header(b"Content-Type", b"chunked"), Ok(false));
        assert_eq!(b.header(b"Content-Length-X", b"oops"), Ok(false));
    }
}
