//! Sends a `--static-map` file through the same responder the app uses, so the protocol
//! frames it, the request log and the scoreboard count it, and HEAD gets the head alone:
//! `Content-Type` from the extension, `Content-Length`, `Last-Modified`, and 304 for an
//! `If-Modified-Since` at or after the file's time. The body goes out with `sendfile`.
//! `--static-expires*` rules add `Expires`. With `--static-gzip-all`, a client whose
//! `Accept-Encoding` allows gzip gets `FILE.gz` instead when it sits beside FILE (same
//! directory once symlinks are resolved), with `Content-Encoding: gzip` and FILE's type;
//! every answer then says `Vary: Accept-Encoding`. A `Range` of one span gets 206 and
//! that span ([`byte_range`]; `If-Range` with the file's date), one past the end 416.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use abi_stable::std_types::RSlice;
use rsgi_plugin_api::{ErrorKind, Header, NameStyle, PluginError, Request, Responder};

use super::byte_range::{self, Answer};
use crate::static_expires::Served;
use crate::static_map::StaticMap;

/// Answers `request` with the regular file at `path` (found by `StaticMap::route`), or
/// its `.gz` beside it when `gzip_all` and the client accepts gzip.
pub fn serve(
    path: &Path,
    map: &StaticMap,
    request: &Request<'_>,
    responder: &mut Responder<'_>,
) -> Result<(), PluginError> {
    let gzip_all = map.gzip_all();
    let fail = |what: String| PluginError::new(ErrorKind::Request, what);
    let gzipped = (gzip_all && accepts_gzip(request))
        .then(|| gzipped_beside(path))
        .flatten();
    let sent = gzipped.as_deref().unwrap_or(path);
    let file = match File::open(sent) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            let why = format!("{} is not readable by the worker", sent.display());
            return refuse(request, &why, responder);
        }
        Err(e) => return Err(fail(format!("static file {}: {e}", sent.display()))),
    };
    let meta = file
        .metadata()
        .map_err(|e| fail(format!("static file {}: {e}", sent.display())))?;
    // HTTP dates have whole seconds: compare and send the time at that precision.
    let modified = meta.modified().ok().map(whole_seconds);
    let last_modified = modified.map(httpdate::fmt_http_date);
    let unchanged = match (modified, if_modified_since(request)) {
        (Some(modified), Some(since)) => modified <= since,
        _ => false,
    };
    let content_type = mime_guess::from_path(path)
        .first_raw()
        .unwrap_or("application/octet-stream");
    let expires = map
        .expires()
        .expires(&Served {
            file: path.as_os_str().as_bytes(),
            content_type,
            uri: request.uri.as_slice(),
            path: request.path.as_slice(),
            modified,
        })
        .map(httpdate::fmt_http_date);
    let mut headers: Vec<Header<'_>> = Vec::with_capacity(6);
    if let Some(date) = &last_modified {
        headers.push(header(b"Last-Modified", date.as_bytes()));
    }
    if let Some(date) = &expires {
        headers.push(header(b"Expires", date.as_bytes()));
    }
    if gzip_all {
        headers.push(header(b"Vary", b"Accept-Encoding"));
    }
    if unchanged {
        return responder
            .start(304, "", &headers)
            .map_err(|e| fail(format!("static file {}: {e:?}", path.display())));
    }
    headers.push(header(b"Content-Type", content_type.as_bytes()));
    if gzipped.is_some() {
        headers.push(header(b"Content-Encoding", b"gzip"));
    }
    headers.push(header(b"Accept-Ranges", b"bytes"));
    let size = meta.len();
    let range = request_header(request, b"range", b"HTTP_RANGE")
        .filter(|_| if_range_holds(request, modified))
        .map_or(Answer::Whole, |value| byte_range::answer(value, size));
    let (status, start, len, content_range) = match range {
        Answer::Whole => (200, 0, size, None),
        Answer::Part { start, len } => (
            206,
            start,
            len,
            Some(format!("bytes {start}-{}/{size}", start + len - 1)),
        ),
        Answer::Unsatisfiable => (416, 0, 0, Some(format!("bytes */{size}"))),
    };
    let length = len.to_string();
    if let Some(value) = &content_range {
        headers.push(header(b"Content-Range", value.as_bytes()));
    }
    headers.push(header(b"Content-Length", length.as_bytes()));
    responder
        .start(status, "", &headers)
        .and_then(|()| match len {
            0 => Ok(()),
            _ => responder.sendfile(file.as_raw_fd(), start, len),
        })
        .map_err(|e| fail(format!("static file {}: {e:?}", path.display())))
}

/// Whether a `Range` may be answered: without `If-Range`, or when it is the file's
/// `Last-Modified` date (an entity tag never matches: static files have none).
fn if_range_holds(request: &Request<'_>, modified: Option<SystemTime>) -> bool {
    match request_header(request, b"if-range", b"HTTP_IF_RANGE") {
        None => true,
        Some(value) => std::str::from_utf8(value)
            .ok()
            .and_then(|v| httpdate::parse_http_date(v.trim()).ok())
            .is_some_and(|date| Some(date) == modified),
    }
}

/// The value of the first request header named `http` (case-insensitively), or `cgi`
/// when the protocol spells names as CGI variables.
fn request_header<'r>(request: &'r Request<'_>, http: &[u8], cgi: &[u8]) -> Option<&'r [u8]> {
    let wanted = match request.names {
        NameStyle::Cgi => cgi,
        _ => http,
    };
    request
        .headers
        .iter()
        .find(|h| h.name.as_slice().eq_ignore_ascii_case(wanted))
        .map(|h| h.value.as_slice())
}

/// `FILE.gz` when it is a regular file in FILE's own directory (symlinks resolved).
fn gzipped_beside(path: &Path) -> Option<PathBuf> {
    let mut name = path.as_os_str().to_owned();
    name.push(".gz");
    let real = PathBuf::from(name).canonicalize().ok()?;
    (real.parent() == path.parent() && real.is_file()).then_some(real)
}

/// Whether `Accept-Encoding` allows gzip: a `gzip` (or `*`) entry whose `q` is not 0.
fn accepts_gzip(request: &Request<'_>) -> bool {
    let wanted: &[u8] = match request.names {
        NameStyle::Cgi => b"HTTP_ACCEPT_ENCODING",
        _ => b"accept-encoding",
    };
    request
        .headers
        .iter()
        .filter(|h| h.name.as_slice().eq_ignore_ascii_case(wanted))
        .filter_map(|h| std::str::from_utf8(h.value.as_slice()).ok())
        .flat_map(|v| v.split(','))
        .any(|entry| {
            let mut parts = entry.split(';').map(str::trim);
            let coding = parts.next().unwrap_or("");
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .is_some_and(|q| q.parse::<f32>().is_ok_and(|q| q == 0.0))
            });
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
        })
}

/// Answers 403 to a path the static map refused, and logs why. The connection stays
/// usable: nothing of the file was read.
pub fn refuse(
    request: &Request<'_>,
    why: &str,
    responder: &mut Responder<'_>,
) -> Result<(), PluginError> {
    let label = format!(
        "{} {}",
        String::from_utf8_lossy(request.method.as_slice()),
        String::from_utf8_lossy(request.uri.as_slice())
    );
    tracing::warn!("{label}: refused (403), {why}");
    let body = b"Forbidden\n";
    let length = body.len().to_string();
    let headers = [
        header(b"Content-Type", b"text/plain"),
        header(b"Content-Length", length.as_bytes()),
    ];
    responder
        .start(403, "", &headers)
        .and_then(|()| responder.write(body))
        .map_err(|e| PluginError::new(ErrorKind::Request, format!("{label}: {e:?}")))
}

fn header<'a>(name: &'a [u8], value: &'a [u8]) -> Header<'a> {
    Header {
        name: RSlice::from_slice(name),
        value: RSlice::from_slice(value),
    }
}

fn whole_seconds(t: SystemTime) -> SystemTime {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    UNIX_EPOCH + std::time::Duration::from_secs(secs)
}

/// The request's `If-Modified-Since`, when present and a valid HTTP date.
fn if_modified_since(request: &Request<'_>) -> Option<SystemTime> {
    let value = request_header(request, b"if-modified-since", b"HTTP_IF_MODIFIED_SINCE")?;
    httpdate::parse_http_date(std::str::from_utf8(value).ok()?).ok()
}
