//! Everything that can go wrong in this crate, as one enum.
//!
//! Request errors close the connection without an answer (status 0): the peer is a
//! front-end server (nginx), not a browser, and a malformed packet means the two disagree
//! about the protocol, so there is nothing useful to say on the same stream. Response
//! errors (a head the app asked for that cannot be encoded safely) become a 500.

use rsgi_plugin_api::protocol::ProtocolError;

/// A malformed request packet, an unencodable response head, or a packet too big to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UwsgiError {
    /// The vars block announced by the header is bigger than `buffer-size`.
    #[error(
        "uwsgi packet of {size} bytes exceeds buffer-size {limit}; raise the buffer-size option"
    )]
    TooLarge {
        /// The datasize field of the header.
        size: u16,
        /// The configured `buffer-size`.
        limit: usize,
    },
    /// A key or value length runs past the end of the vars block.
    #[error("uwsgi var length runs past the end of the packet")]
    TruncatedVar,
    /// A var with an empty key.
    #[error("uwsgi var with an empty key")]
    EmptyKey,
    /// More vars than `max-vars`.
    #[error("uwsgi packet has more than {limit} vars; raise the max-vars option")]
    TooManyVars {
        /// The configured `max-vars`.
        limit: usize,
    },
    /// More vars of one kind than the host's arrays hold.
    #[error("uwsgi packet has more vars than the host's tables hold ({limit})")]
    HostTableFull {
        /// The length of the host array that ran out.
        limit: usize,
    },
    /// `REQUEST_METHOD` is absent or empty.
    #[error("uwsgi packet without REQUEST_METHOD")]
    MissingMethod,
    /// `CONTENT_LENGTH` is not a decimal number that fits in 64 bits.
    #[error("uwsgi packet with an invalid CONTENT_LENGTH")]
    InvalidContentLength,
    /// Two `CONTENT_LENGTH` vars with different values.
    #[error("uwsgi packet with conflicting CONTENT_LENGTH vars")]
    ConflictingContentLength,
    /// A response status outside 100..=999.
    #[error("response status is not a three-digit number")]
    InvalidStatus,
    /// A reason phrase containing CR, LF or NUL.
    #[error("response reason phrase contains CR, LF or NUL")]
    InvalidReason,
    /// A response header name that is empty or not an HTTP token.
    #[error("response header name is empty or not an HTTP token")]
    InvalidHeaderName,
    /// A response header value containing CR, LF or NUL.
    #[error("response header value contains CR, LF or NUL")]
    InvalidHeaderValue,
    /// A key or value longer than the 65535 bytes a u16 length can describe.
    #[error("uwsgi var key or value longer than 65535 bytes")]
    VarTooLong,
    /// A vars block longer than the 65535 bytes the header's datasize can describe.
    #[error("uwsgi vars block of {size} bytes is longer than 65535 bytes")]
    PacketTooLarge {
        /// The size the vars block would have.
        size: usize,
    },
}

impl UwsgiError {
    /// The status to answer with: 0 (close without answering) for a bad request packet,
    /// 500 for a response head that cannot be encoded.
    pub fn status(self) -> u16 {
        match self {
            UwsgiError::InvalidStatus
            | UwsgiError::InvalidReason
            | UwsgiError::InvalidHeaderName
            | UwsgiError::InvalidHeaderValue => 500,
            _ => 0,
        }
    }

    /// A fixed description for the host's log line (no numbers: it must be `'static`;
    /// the numbers are in [`std::fmt::Display`]).
    pub fn reason(self) -> &'static str {
        match self {
            UwsgiError::TooLarge { .. } => {
                "uwsgi packet larger than buffer-size; raise the buffer-size option (max 65535)"
            }
            UwsgiError::TruncatedVar => "uwsgi var length runs past the end of the packet",
            UwsgiError::EmptyKey => "uwsgi var with an empty key",
            UwsgiError::TooManyVars { .. } => {
                "uwsgi packet has more vars than max-vars; raise the max-vars option"
            }
            UwsgiError::HostTableFull { .. } => {
                "uwsgi packet has more vars than the host's tables hold"
            }
            UwsgiError::MissingMethod => "uwsgi packet without REQUEST_METHOD",
            UwsgiError::InvalidContentLength => "uwsgi packet with an invalid CONTENT_LENGTH",
            UwsgiError::ConflictingContentLength => {
                "uwsgi packet with conflicting CONTENT_LENGTH vars"
            }
            UwsgiError::InvalidStatus => "response status is not a three-digit number",
            UwsgiError::InvalidReason => "response reason phrase contains CR, LF or NUL",
            UwsgiError::InvalidHeaderName => "response header name is empty or not an HTTP token",
            UwsgiError::InvalidHeaderValue => "response header value contains CR, LF or NUL",
            UwsgiError::VarTooLong => "uwsgi var key or value longer than 65535 bytes",
            UwsgiError::PacketTooLarge { .. } => "uwsgi vars block longer than 65535 bytes",
        }
    }

    /// The error as it crosses the plugin boundary.
    pub fn to_protocol_error(self) -> ProtocolError {
        ProtocolError::new(self.status(), self.reason())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_errors_close_without_answering() {
        for e in [
            UwsgiError::TooLarge {
                size: 9000,
                limit: 4096,
            },
            UwsgiError::TruncatedVar,
            UwsgiError::EmptyKey,
            UwsgiError::TooManyVars { limit: 128 },
            UwsgiError::HostTableFull { limit: 256 },
            UwsgiError::MissingMethod,
            UwsgiError::InvalidContentLength,
            UwsgiError::ConflictingContentLength,
        ] {
            assert_eq!(e.to_protocol_error().status, 0, "{e}");
        }
    }

    #[test]
    fn response_errors_answer_500() {
        for e in [
            UwsgiError::InvalidStatus,
            UwsgiError::InvalidReason,
            UwsgiError::InvalidHeaderName,
            UwsgiError::InvalidHeaderValue,
        ] {
            assert_eq!(e.to_protocol_error().status, 500, "{e}");
        }
    }

    #[test]
    fn too_large_names_the_size_and_the_option_to_raise() {
        let e = UwsgiError::TooLarge {
            size: 9000,
            limit: 4096,
        };
        let line = e.to_string();
        assert!(
            line.contains("9000") && line.contains("4096") && line.contains("buffer-size"),
            "{line}"
        );
        assert!(e.reason().contains("buffer-size"));
    }
}
