//! What can be wrong with the frames a client sends, and what a caller can do wrong when
//! sending: each protocol error knows the close code it earns (RFC 6455 §7.4.1).

/// A protocol violation by the peer. The session answers it with a close frame carrying
/// [`ProtocolError::close_code`] and stops reading.
///
/// The message ([`std::fmt::Display`]) is a short fixed string; it is also the reason in
/// that close frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// A client frame without a masking key (RFC 6455 §5.1).
    #[error("client frame not masked")]
    Unmasked,
    /// RSV1, RSV2 or RSV3 set where no negotiated extension gives it a meaning (RFC 6455
    /// §5.2; RSV1 only on the first frame of a compressed data message, RFC 7692 §6).
    #[error("reserved bit set")]
    ReservedBits,
    /// An opcode RFC 6455 does not define (3–7, 0xB–0xF).
    #[error("unknown opcode")]
    UnknownOpcode(u8),
    /// The 64-bit payload length has its most significant bit set (RFC 6455 §5.2).
    #[error("payload length out of range")]
    LengthOutOfRange,
    /// A control frame with more than 125 bytes of payload (RFC 6455 §5.5).
    #[error("control frame too long")]
    ControlTooLong,
    /// A control frame without FIN (RFC 6455 §5.5: control frames are not fragmented).
    #[error("fragmented control frame")]
    FragmentedControl,
    /// A continuation frame with no message in progress.
    #[error("continuation frame without a message")]
    UnexpectedContinuation,
    /// A new text or binary frame while a fragmented message is still in progress.
    #[error("new message before the last one ended")]
    ExpectedContinuation,
    /// A close frame with a one-byte payload (a code is two bytes).
    #[error("close frame payload of one byte")]
    CloseTooShort,
    /// A close code a peer may not send (RFC 6455 §7.4, the IANA registry).
    #[error("invalid close code")]
    InvalidCloseCode(u16),
    /// A close reason that is not UTF-8.
    #[error("close reason not UTF-8")]
    CloseReasonNotUtf8,
    /// A text message that is not UTF-8, found as soon as the bad byte arrives.
    #[error("text message not UTF-8")]
    TextNotUtf8,
    /// A message (after decompression) larger than the configured maximum.
    #[error("message too big")]
    MessageTooBig,
    /// A compressed message that does not inflate: the peer's compressor and ours disagree,
    /// and the connection is failed (RFC 7692 §7.2.2).
    #[error("compressed message does not inflate")]
    BadCompression,
}

impl ProtocolError {
    /// The close code this error is answered with: 1002 (protocol error), 1007 (data not
    /// consistent with the message type) or 1009 (message too big).
    pub fn close_code(self) -> u16 {
        match self {
            ProtocolError::TextNotUtf8 | ProtocolError::CloseReasonNotUtf8 => 1007,
            ProtocolError::MessageTooBig => 1009,
            _ => 1002,
        }
    }
}

/// Why a message, ping or close could not be sent; nothing was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// A close frame was already sent or received: no data may follow (RFC 6455 §5.5.1).
    #[error("the connection is closing")]
    Closing,
    /// A text message that is not UTF-8.
    #[error("text message not UTF-8")]
    TextNotUtf8,
    /// A ping payload longer than 125 bytes.
    #[error("ping payload over 125 bytes")]
    PingTooLong,
    /// A close reason longer than 123 bytes (the frame's 125 less the code).
    #[error("close reason over 123 bytes")]
    CloseReasonTooLong,
    /// A close code an endpoint may not send (1005, 1006, 1015, unassigned ones).
    #[error("close code {0} may not be sent")]
    InvalidCloseCode(u16),
}
