//! Everything that can be wrong with a request or a response, and the status it earns.

use rsgi_plugin_api::protocol::ProtocolError;

/// One thing that is wrong with the bytes a client sent or the head an app produced.
///
/// Each variant knows the status it is answered with ([`HttpError::status`]); the message
/// ([`HttpError::reason`]) is a fixed string, so it can cross the plugin boundary as the
/// `'static` reason of a [`ProtocolError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// The request line is not `method SP target SP version`.
    #[error("malformed request line")]
    BadRequestLine,
    /// A header name is empty, has a non-token byte, or whitespace before the colon
    /// (this also catches obs-fold continuation lines).
    #[error("invalid header name")]
    BadHeaderName,
    /// A header value holds NUL, a bare CR or another control character.
    #[error("invalid header value")]
    BadHeaderValue,
    /// A line does not end in CRLF (or LF).
    #[error("invalid line ending")]
    BadNewLine,
    /// The version is well-formed but not HTTP/1.0 or HTTP/1.1.
    #[error("HTTP version not supported")]
    VersionNotSupported,
    /// More header lines than `http-max-headers` (or the host's array) allows.
    #[error("too many request headers")]
    TooManyHeaders,
    /// The head is larger than `http-max-header-size`.
    #[error("request head too large")]
    HeadTooLarge,
    /// The request line or a header line is longer than the per-line limit.
    #[error("request line or header line too long")]
    LineTooLong,
    /// The request target is longer than `http-max-uri-size`.
    #[error("request URI too long")]
    UriTooLong,
    /// A second `Host` header.
    #[error("more than one Host header")]
    DuplicateHost,
    /// An HTTP/1.1 request without a `Host` header (RFC 9112 §3.2).
    #[error("HTTP/1.1 request without a Host header")]
    MissingHost,
    /// `Content-Length` is not a plain run of digits, or does not fit in 64 bits.
    #[error("invalid Content-Length")]
    BadContentLength,
    /// Two `Content-Length` headers with different values.
    #[error("conflicting Content-Length values")]
    ConflictingContentLength,
    /// Both `Content-Length` and `Transfer-Encoding`: the classic smuggling vector.
    #[error("Content-Length together with Transfer-Encoding")]
    LengthWithTransferEncoding,
    /// `Transfer-Encoding` in an HTTP/1.0 request.
    #[error("Transfer-Encoding in an HTTP/1.0 request")]
    TransferEncodingInHttp10,
    /// `Transfer-Encoding` whose last coding is not `chunked`, or `chunked` twice.
    #[error("chunked is not the final transfer coding, or is applied twice")]
    ChunkedNotLast,
    /// `Transfer-Encoding` with an empty list element or an empty value.
    #[error("malformed Transfer-Encoding")]
    BadTransferEncoding,
    /// A transfer coding other than `chunked` (gzip, deflate, unknown ones).
    #[error("unsupported transfer coding")]
    UnsupportedTransferCoding,
    /// A chunk-size line that is not hex digits.
    #[error("invalid chunk size")]
    BadChunkSize,
    /// A chunk size that does not fit in 64 bits.
    #[error("chunk size overflows")]
    ChunkSizeOverflow,
    /// A chunk extension holding a bare LF or a control character.
    #[error("invalid chunk extension")]
    BadChunkExtension,
    /// Chunk extensions longer than the decoder's bound.
    #[error("chunk extensions too long")]
    ChunkExtensionTooLong,
    /// Chunk data not followed by CRLF, or a chunk-size line not ended by CRLF.
    #[error("missing CRLF in chunked body")]
    MissingChunkCrlf,
    /// A trailer line holding a bare LF or a control character.
    #[error("invalid trailer")]
    BadTrailer,
    /// Trailers longer than the decoder's bound.
    #[error("trailers too large")]
    TrailersTooLarge,
    /// The host handed back a decoder state this plugin never produced.
    #[error("corrupt chunked decoder state")]
    CorruptDecoderState,
    /// A response status outside 100..=999.
    #[error("invalid response status code")]
    BadStatus,
    /// A reason phrase with CR, LF, NUL or another control character.
    #[error("invalid response reason phrase")]
    BadReason,
    /// A response header name that is empty or has a non-token byte.
    #[error("invalid response header name")]
    BadResponseHeaderName,
    /// A response header value with CR, LF, NUL or another control character.
    #[error("response header value contains CR, LF, NUL or a control character")]
    BadResponseHeaderValue,
    /// A response `Content-Length` that is not a plain run of digits.
    #[error("invalid response Content-Length")]
    BadResponseContentLength,
    /// Two response `Content-Length` headers with different values.
    #[error("conflicting response Content-Length values")]
    ConflictingResponseContentLength,
}

impl HttpError {
    /// The status this error is answered with.
    pub fn status(self) -> u16 {
        use HttpError::*;
        match self {
            TooManyHeaders | HeadTooLarge | LineTooLong => 431,
            UriTooLong => 414,
            VersionNotSupported => 505,
            UnsupportedTransferCoding => 501,
            BadStatus
            | BadReason
            | BadResponseHeaderName
            | BadResponseHeaderValue
            | BadResponseContentLength
            | ConflictingResponseContentLength => 500,
            _ => 400,
        }
    }

    /// The message, as a `'static` string.
    pub fn reason(self) -> &'static str {
        use HttpError::*;
        match self {
            BadRequestLine => "malformed request line",
            BadHeaderName => "invalid header name",
            BadHeaderValue => "invalid header value",
            BadNewLine => "invalid line ending",
            VersionNotSupported => "HTTP version not supported",
            TooManyHeaders => "too many request headers",
            HeadTooLarge => "request head too large",
            LineTooLong => "request line or header line too long",
            UriTooLong => "request URI too long",
            DuplicateHost => "more than one Host header",
            MissingHost => "HTTP/1.1 request without a Host header",
            BadContentLength => "invalid Content-Length",
            ConflictingContentLength => "conflicting Content-Length values",
            LengthWithTransferEncoding => "Content-Length together with Transfer-Encoding",
            TransferEncodingInHttp10 => "Transfer-Encoding in an HTTP/1.0 request",
            ChunkedNotLast => "chunked is not the final transfer coding, or is applied twice",
            BadTransferEncoding => "malformed Transfer-Encoding",
            UnsupportedTransferCoding => "unsupported transfer coding",
            BadChunkSize => "invalid chunk size",
            ChunkSizeOverflow => "chunk size overflows",
            BadChunkExtension => "invalid chunk extension",
            ChunkExtensionTooLong => "chunk extensions too long",
            MissingChunkCrlf => "missing CRLF in chunked body",
            BadTrailer => "invalid trailer",
            TrailersTooLarge => "trailers too large",
            CorruptDecoderState => "corrupt chunked decoder state",
            BadStatus => "invalid response status code",
            BadReason => "invalid response reason phrase",
            BadResponseHeaderName => "invalid response header name",
            BadResponseHeaderValue => {
                "response header value contains CR, LF, NUL or a control character"
            }
            BadResponseContentLength => "invalid response Content-Length",
            ConflictingResponseContentLength => "conflicting response Content-Length values",
        }
    }
}

impl From<HttpError> for ProtocolError {
    fn from(e: HttpError) -> Self {
        ProtocolError::new(e.status(), e.reason())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [HttpError; 32] = {
        use HttpError::*;
        [
            BadRequestLine,
            BadHeaderName,
            BadHeaderValue,
            BadNewLine,
            VersionNotSupported,
            TooManyHeaders,
            HeadTooLarge,
            LineTooLong,
            UriTooLong,
            DuplicateHost,
            MissingHost,
            BadContentLength,
            ConflictingContentLength,
            LengthWithTransferEncoding,
            TransferEncodingInHttp10,
            ChunkedNotLast,
            BadTransferEncoding,
            UnsupportedTransferCoding,
            BadChunkSize,
            ChunkSizeOverflow,
            BadChunkExtension,
            ChunkExtensionTooLong,
            MissingChunkCrlf,
            BadTrailer,
            TrailersTooLarge,
            CorruptDecoderState,
            BadStatus,
            BadReason,
            BadResponseHeaderName,
            BadResponseHeaderValue,
            BadResponseContentLength,
            ConflictingResponseContentLength,
        ]
    };

    #[test]
    fn reason_matches_display_for_every_variant() {
        for e in ALL {
            assert_eq!(e.reason(), e.to_string());
        }
    }

    #[test]
    fn protocol_error_carries_status_and_reason() {
        let p: ProtocolError = HttpError::LengthWithTransferEncoding.into();
        assert_eq!(p.status, 400);
        assert_eq!(
            p.reason.as_str(),
            "Content-Length together with Transfer-Encoding"
        );
        assert_eq!(
            ProtocolError::from(HttpError::UnsupportedTransferCoding).status,
            501
        );
        assert_eq!(ProtocolError::from(HttpError::UriTooLong).status, 414);
        assert_eq!(ProtocolError::from(HttpError::HeadTooLarge).status, 431);
    }
}
