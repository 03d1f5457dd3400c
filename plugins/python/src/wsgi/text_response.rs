//! Answers the plugin makes itself (a 404 outside every mount, the page of an app error
//! with `--catch-exceptions`): a status, a content type, a body.

use abi_stable::std_types::RSlice;
use rsgi_plugin_api::{Header, Responder, SendError};

/// Sends a whole response made by the plugin itself: `status`, its type and length, `body`.
pub fn send_text(
    responder: &mut Responder<'_>,
    status: u16,
    reason: &str,
    content_type: &str,
    body: &[u8],
) -> Result<(), SendError> {
    let length = body.len().to_string();
    let headers = [
        Header {
            name: RSlice::from_slice(b"Content-Type"),
            value: RSlice::from_slice(content_type.as_bytes()),
        },
        Header {
            name: RSlice::from_slice(b"Content-Length"),
            value: RSlice::from_slice(length.as_bytes()),
        },
    ];
    responder
        .start(status, reason, &headers)
        .and_then(|()| responder.write(body))
}
