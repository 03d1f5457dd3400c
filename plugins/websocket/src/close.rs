//! Close frames (RFC 6455 §5.5.1, §7.4): which codes may be sent and received, reading a
//! close payload and writing one.

use crate::error::{ProtocolError, SendError};

/// Normal closure.
pub const NORMAL: u16 = 1000;
/// The endpoint is going away (server shutdown, browser navigating away).
pub const GOING_AWAY: u16 = 1001;
/// A protocol error.
pub const PROTOCOL_ERROR: u16 = 1002;
/// A message type the endpoint cannot accept.
pub const UNSUPPORTED_DATA: u16 = 1003;
/// A message's data is inconsistent with its type (a text message that is not UTF-8).
pub const INVALID_PAYLOAD: u16 = 1007;
/// A message violates the endpoint's policy.
pub const POLICY_VIOLATION: u16 = 1008;
/// A message too big to process.
pub const MESSAGE_TOO_BIG: u16 = 1009;
/// The server met an unexpected condition (the app failed).
pub const INTERNAL_ERROR: u16 = 1011;

/// The longest close reason: a control frame holds 125 bytes, two of them the code.
pub const MAX_REASON: usize = 123;

/// True if a peer may put `code` in a close frame: 1000–1003 and 1007–1014 (RFC 6455
/// §7.4.1 and the IANA registry: 1012 service restart, 1013 try again later, 1014 bad
/// gateway), and 3000–4999 (libraries, frameworks and applications). Never 1004
/// (reserved), 1005, 1006 and 1015 (only reported locally), other unassigned codes under
/// 3000, or anything from 5000 on.
pub fn is_valid_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// The code and reason of a received close frame: `(None, "")` for an empty payload.
pub fn parse_payload(payload: &[u8]) -> Result<(Option<u16>, String), ProtocolError> {
    match payload {
        [] => Ok((None, String::new())),
        [_] => Err(ProtocolError::CloseTooShort),
        [hi, lo, reason @ ..] => {
            let code = u16::from_be_bytes([*hi, *lo]);
            if !is_valid_code(code) {
                return Err(ProtocolError::InvalidCloseCode(code));
            }
            let reason =
                std::str::from_utf8(reason).map_err(|_| ProtocolError::CloseReasonNotUtf8)?;
            Ok((Some(code), reason.to_owned()))
        }
    }
}

/// Checks a close code and reason this side wants to send.
pub fn check_outgoing(code: u16, reason: &str) -> Result<(), SendError> {
    if !is_valid_code(code) {
        return Err(SendError::InvalidCloseCode(code));
    }
    if reason.len() > MAX_REASON {
        return Err(SendError::CloseReasonTooLong);
    }
    Ok(())
}

/// Appends a close payload: the code in network byte order, then the reason; nothing for
/// `None` (a close without a code).
pub fn write_payload(code: Option<u16>, reason: &str, out: &mut Vec<u8>) {
    if let Some(code) = code {
        out.extend_from_slice(&code.to_be_bytes());
        out.extend_from_slice(reason.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_registered_and_private_codes() {
        for code in [
            1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
        ] {
            assert!(is_valid_code(code), "{code}");
        }
        for code in [3000, 3999, 4000, 4999] {
            assert!(is_valid_code(code), "{code}");
        }
    }

    #[test]
    fn refuses_reserved_local_and_out_of_range_codes() {
        for code in [
            0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
        ] {
            assert!(!is_valid_code(code), "{code}");
        }
    }

    #[test]
    fn parses_code_and_reason() {
        assert_eq!(parse_payload(b""), Ok((None, String::new())));
        assert_eq!(parse_payload(b"\x03\xe8"), Ok((Some(1000), String::new())));
        assert_eq!(
            parse_payload(b"\x03\xe9bye"),
            Ok((Some(1001), "bye".into()))
        );
        assert_eq!(parse_payload(b"\x03"), Err(ProtocolError::CloseTooShort));
        assert_eq!(
            parse_payload(b"\x03\xed"),
            Err(ProtocolError::InvalidCloseCode(1005))
        );
        assert_eq!(
            parse_payload(b"\x03\xe8\xff"),
            Err(ProtocolError::CloseReasonNotUtf8)
        );
    }

    #[test]
    fn checks_what_this_side_sends() {
        assert_eq!(check_outgoing(1000, "ok"), Ok(()));
        assert_eq!(
            check_outgoing(1006, ""),
            Err(SendError::InvalidCloseCode(1006))
        );
        let long = "x".repeat(MAX_REASON + 1);
        assert_eq!(
            check_outgoing(1000, &long),
            Err(SendError::CloseReasonTooLong)
        );
    }
}
