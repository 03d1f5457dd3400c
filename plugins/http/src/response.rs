//! The response head: status line and headers, and the body framing that goes with them.
//!
//! Nothing the app hands over reaches the wire unchecked: the status must have three
//! digits, the reason phrase and every header value must be free of CR, LF, NUL and other
//! control characters, header names must be tokens. A head that fails is refused as a
//! whole (nothing is written) so the host can answer 500 instead — never a split response.
//!
//! Decisions (PEP 3333 forbids hop-by-hop headers from apps; gunicorn drops them):
//! * `Connection`, `Keep-Alive`, `Proxy-Connection`, `TE`, `Trailer`, `Transfer-Encoding`
//!   and `Upgrade` set by the app are dropped; this module writes its own `Connection` and
//!   `Transfer-Encoding`. An app's `Connection: close` is honoured (the connection closes).
//!   A `101 Switching Protocols` is the exception: it carries the `Upgrade` and
//!   `Connection` it was given (the host sends one when it hands a connection to an
//!   upgrade codec, such as WebSocket's) and no `Connection` of this module's; its framing
//!   says the connection does not go on as HTTP.
//! * `Date` and `Server` are added from the host's values unless the app set them.
//! * Framing: HEAD and 1xx/204/304 have no body (a HEAD keeps the app's `Content-Length`;
//!   1xx and 204 drop it, as RFC 9110 §8.6 requires); otherwise the app's
//!   `Content-Length` (digits only, repeated identical values sent once) gives a
//!   fixed-length body; otherwise HTTP/1.1 gets chunked and HTTP/1.0 a body delimited by
//!   closing the connection.
//! * The status line always says `HTTP/1.1` (a server sends its own version; the framing
//!   follows the client's version). `Connection: close` is sent whenever the connection
//!   will close, `Connection: keep-alive` to an HTTP/1.0 client whose connection stays open.

use rsgi_plugin_api::protocol::{ResponseBody, ResponseContext, ResponseFraming, Version};
use rsgi_plugin_api::Header;

use crate::error::HttpError;
use crate::field;
use crate::sink::Sink;

/// What the app's headers say, gathered before anything is written.
#[derive(Debug, Default)]
struct AppHeaders {
    content_length: Option<u64>,
    date: bool,
    server: bool,
    close: bool,
}

/// Validates the app's response and writes its head into `out`; returns the framing the
/// body must use. On error nothing has been written.
pub fn encode_head(
    ctx: &ResponseContext<'_>,
    status: u16,
    reason: &str,
    headers: &[Header<'_>],
    out: &mut impl Sink,
) -> Result<ResponseFraming, HttpError> {
    if !(100..=999).contains(&status) {
        return Err(HttpError::BadStatus);
    }
    if !field::is_value(reason.as_bytes()) {
        return Err(HttpError::BadReason);
    }
    let app = inspect(headers)?;
    let switching = status == 101;
    let mut framing = choose_framing(ctx, status, &app);
    if switching {
        framing.keep_alive = false;
    }
    let bodiless_status = status < 200 || status == 204;

    out.put(b"HTTP/1.1 ");
    out.put(&status_digits(status));
    out.put(b" ");
    out.put(
        if reason.is_empty() {
            rsgi_plugin_api::status::reason_phrase(status)
        } else {
            reason
        }
        .as_bytes(),
    );
    out.put(b"\r\n");
    if !app.server {
        host_header(out, b"Server", ctx.server.as_str());
    }
    if !app.date {
        host_header(out, b"Date", ctx.date.as_str());
    }
    let mut length_sent = false;
    for h in headers {
        let (name, value) = (h.name.as_slice(), h.value.as_slice());
        if is_hop_by_hop(name) && !(switching && is_upgrade_header(name)) {
            tracing::debug!(
                "dropped hop-by-hop response header {}",
                String::from_utf8_lossy(name)
            );
            continue;
        }
        if name.eq_ignore_ascii_case(b"content-length") {
            if bodiless_status || length_sent {
                continue;
            }
            length_sent = true;
        }
        out.put(name);
        out.put(b": ");
        out.put(value);
        out.put(b"\r\n");
    }
    if framing.body == ResponseBody::Chunked {
        out.put(b"Transfer-Encoding: chunked\r\n");
    }
    if switching {
        // The app's (the host's) Upgrade and Connection went out above.
    } else if !framing.keep_alive {
        out.put(b"Connection: close\r\n");
    } else if ctx.version == Version::Http10 {
        out.put(b"Connection: keep-alive\r\n");
    }
    out.put(b"\r\n");
    Ok(framing)
}

/// Validates every app header and notes the ones that shape the head.
fn inspect(headers: &[Header<'_>]) -> Result<AppHeaders, HttpError> {
    let mut app = AppHeaders::default();
    for h in headers {
        let (name, value) = (h.name.as_slice(), h.value.as_slice());
        if !field::is_token(name) {
            log_refused("name", name);
            return Err(HttpError::BadResponseHeaderName);
        }
        if !field::is_value(value) {
            log_refused("value", name);
            return Err(HttpError::BadResponseHeaderValue);
        }
        if name.eq_ignore_ascii_case(b"content-length") {
            let n = field::parse_length(value).ok_or_else(|| {
                log_refused("value", name);
                HttpError::BadResponseContentLength
            })?;
            if app.content_length.is_some_and(|seen| seen != n) {
                return Err(HttpError::ConflictingResponseContentLength);
            }
            app.content_length = Some(n);
        } else if name.eq_ignore_ascii_case(b"date") {
            app.date = true;
        } else if name.eq_ignore_ascii_case(b"server") {
            app.server = true;
        } else if name.eq_ignore_ascii_case(b"connection") {
            app.close |= field::list_has(value, b"close");
        }
    }
    Ok(app)
}

/// The reason crossing the boundary is a fixed string, so the header is named here.
fn log_refused(part: &str, name: &[u8]) {
    let shown = &name[..name.len().min(64)];
    tracing::warn!(
        "refused response header {:?}: invalid {part}",
        String::from_utf8_lossy(shown)
    );
}

fn choose_framing(ctx: &ResponseContext<'_>, status: u16, app: &AppHeaders) -> ResponseFraming {
    let bodiless_status = status < 200 || status == 204 || status == 304;
    let (body, length) = if bodiless_status || ctx.head_request {
        let length = if status < 200 || status == 204 {
            0
        } else {
            app.content_length.unwrap_or(0)
        };
        (ResponseBody::None, length)
    } else if let Some(n) = app.content_length {
        (ResponseBody::Length, n)
    } else if ctx.version == Version::Http11 {
        (ResponseBody::Chunked, 0)
    } else {
        (ResponseBody::Close, 0)
    };
    ResponseFraming {
        body,
        length,
        keep_alive: ctx.keep_alive && !app.close && body != ResponseBody::Close,
    }
}

/// `Server` / `Date` from the host, skipped when empty or unsafe.
fn host_header(out: &mut impl Sink, name: &[u8], value: &str) {
    if !value.is_empty() && field::is_value(value.as_bytes()) {
        out.put(name);
        out.put(b": ");
        out.put(value.as_bytes());
        out.put(b"\r\n");
    }
}

fn is_hop_by_hop(name: &[u8]) -> bool {
    const HOP_BY_HOP: [&[u8]; 7] = [
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    ];
    HOP_BY_HOP.iter().any(|h| name.eq_ignore_ascii_case(h))
}

/// `Upgrade` and `Connection`, which a `101` carries.
fn is_upgrade_header(name: &[u8]) -> bool {
    name.eq_ignore_ascii_case(b"upgrade") || name.eq_ignore_ascii_case(b"connection")
}

/// The three digits of a status in 100..=999.
pub fn status_digits(status: u16) -> [u8; 3] {
    [
        b'0' + (status / 100 % 10) as u8,
        b'0' + (status / 10 % 10) as u8,
        b'0' + (status % 10) as u8,
    ]
}

/// Writes `HTTP/1.1 100 Continue` for an HTTP/1.1 client; returns false for HTTP/1.0,
/// which has no interim responses.
pub fn encode_continue(version: Version, out: &mut impl Sink) -> bool {
    if version == Version::Http10 {
        return false;
    }
    out.put(b"HTTP/1.1 100 Continue\r\n\r\n");
    true
}

#[cfg(test)]
mod tests;
