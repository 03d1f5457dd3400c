//! Test support: an interpreter started in-process, requests built from owned data, and
//! host-side fakes of the body reader and the responder that record what they were asked.

use std::ffi::c_void;
use std::sync::{Once, OnceLock};

use abi_stable::std_types::{RErr, ROk, ROption, RResult, RSlice, RSliceMut, RStr};
use pyo3::prelude::*;
use rsgi_plugin_api::{BodyReader, Header, NameStyle, Request, Responder, SendError, SendResult};

use crate::interp;
use crate::options::Settings;
use crate::thread_state;

static START: Once = Once::new();

/// The dispositions of [`PYTHON_SIGNALS`] right before the interpreter started.
static BEFORE_START: OnceLock<Vec<(i32, libc::sighandler_t)>> = OnceLock::new();

/// The signals CPython takes over when it installs its handlers (`install_signal_handlers`):
/// SIGINT (KeyboardInterrupt, only when its disposition is the default one), SIGPIPE and
/// SIGXFSZ (ignored).
pub const PYTHON_SIGNALS: [i32; 3] = [libc::SIGINT, libc::SIGPIPE, libc::SIGXFSZ];

/// Runs `f` attached to an interpreter started once for the whole test binary.
pub fn python<R>(f: impl for<'py> FnOnce(Python<'py>) -> R) -> R {
    START.call_once(|| {
        let _ = BEFORE_START.set(signal_dispositions());
        interp::initialize(&Settings::default()).expect("Python starts")
    });
    thread_state::attach(f)
}

/// The current disposition (handler, `SIG_DFL` or `SIG_IGN`) of each of [`PYTHON_SIGNALS`].
pub fn signal_dispositions() -> Vec<(i32, libc::sighandler_t)> {
    PYTHON_SIGNALS
        .iter()
        .map(|&signal| {
            // SAFETY: reads the disposition without changing it (no new action given).
            let handler = unsafe {
                let mut old: libc::sigaction = std::mem::zeroed();
                assert_eq!(libc::sigaction(signal, std::ptr::null(), &mut old), 0);
                old.sa_sigaction
            };
            (signal, handler)
        })
        .collect()
}

/// [`signal_dispositions`] as they were right before [`python`] started the interpreter:
/// what the test process inherited (SIGINT is ignored when the tests run in the background
/// or under `nohup`; Rust ignores SIGPIPE), which Python must leave as it found it.
pub fn signal_dispositions_before_start() -> &'static [(i32, libc::sighandler_t)] {
    python(|_| ());
    BEFORE_START.get().expect("recorded at the start")
}

/// An option value as the host hands it over: `opt("pythonpath", &["a", "b"])`.
pub fn opt(name: &str, values: &[&str]) -> rsgi_plugin_api::OptionValue {
    rsgi_plugin_api::OptionValue {
        name: abi_stable::std_types::RString::from(name),
        values: values
            .iter()
            .map(|v| abi_stable::std_types::RString::from(*v))
            .collect(),
    }
}

/// Runs Python `code` in a fresh namespace (with `FileWrapper` defined) and returns the
/// object bound to `name` there.
pub fn define<'py>(py: Python<'py>, code: &str, name: &str) -> Bound<'py, PyAny> {
    let globals = pyo3::types::PyDict::new(py);
    globals
        .set_item(
            "FileWrapper",
            py.get_type::<crate::file_wrapper::FileWrapper>(),
        )
        .unwrap();
    let code = std::ffi::CString::new(code).unwrap();
    py.run(&code, Some(&globals), None).unwrap();
    globals.get_item(name).unwrap().unwrap()
}

/// A request made of owned parts.
pub struct RequestSpec {
    method: String,
    uri: String,
    scheme: String,
    headers: Vec<(Vec<u8>, Vec<u8>)>,
    vars: Vec<(Vec<u8>, Vec<u8>)>,
    names: NameStyle,
    /// The body the fake reader serves.
    pub body: Vec<u8>,
}

impl RequestSpec {
    /// `GET uri`.
    pub fn get(uri: &str) -> RequestSpec {
        RequestSpec {
            method: "GET".into(),
            uri: uri.into(),
            scheme: "http".into(),
            headers: Vec::new(),
            vars: Vec::new(),
            names: NameStyle::Http,
            body: Vec::new(),
        }
    }

    /// `POST uri` with a body of known length.
    pub fn post(uri: &str, body: &[u8]) -> RequestSpec {
        RequestSpec {
            method: "POST".into(),
            body: body.to_vec(),
            ..RequestSpec::get(uri)
        }
    }

    /// Another method.
    pub fn method(mut self, method: &str) -> RequestSpec {
        self.method = method.into();
        self
    }

    /// Adds a header.
    pub fn header(self, name: &str, value: &str) -> RequestSpec {
        self.header_bytes(name.as_bytes(), value.as_bytes())
    }

    /// Adds a header with raw bytes.
    pub fn header_bytes(mut self, name: &[u8], value: &[u8]) -> RequestSpec {
        self.headers.push((name.to_vec(), value.to_vec()));
        self
    }

    /// Adds a protocol variable.
    pub fn var(mut self, name: &str, value: &str) -> RequestSpec {
        self.vars
            .push((name.as_bytes().to_vec(), value.as_bytes().to_vec()));
        self
    }

    /// Sets how header names are spelled.
    pub fn names(mut self, names: NameStyle) -> RequestSpec {
        self.names = names;
        self
    }

    /// Sets the connection's scheme.
    pub fn scheme(mut self, scheme: &str) -> RequestSpec {
        self.scheme = scheme.into();
        self
    }

    /// Calls `f` with a [`Request`] borrowing from this spec.
    pub fn with_request<R>(&self, f: impl FnOnce(&Request<'_>) -> R) -> R {
        let headers = pairs(&self.headers);
        let vars = pairs(&self.vars);
        let (path, query) = match self.uri.split_once('?') {
            Some((p, q)) => (p, q),
            None => (self.uri.as_str(), ""),
        };
        let request = Request {
            method: RSlice::from_slice(self.method.as_bytes()),
            uri: RSlice::from_slice(self.uri.as_bytes()),
            path: RSlice::from_slice(path.as_bytes()),
            query: RSlice::from_slice(query.as_bytes()),
            protocol: RStr::from_str("HTTP/1.1"),
            scheme: RStr::from_str(&self.scheme),
            headers: RSlice::from_slice(&headers),
            names: self.names,
            vars: RSlice::from_slice(&vars),
            remote_addr: RStr::from_str("127.0.0.1"),
            remote_port: 54321,
            server_name: RStr::from_str("127.0.0.1"),
            server_port: 8000,
            content_length: if self.body.is_empty() {
                ROption::RNone
            } else {
                ROption::RSome(self.body.len() as u64)
            },
            worker_id: 1,
        };
        f(&request)
    }
}

fn pairs(list: &[(Vec<u8>, Vec<u8>)]) -> Vec<Header<'_>> {
    list.iter()
        .map(|(n, v)| Header {
            name: RSlice::from_slice(n),
            value: RSlice::from_slice(v),
        })
        .collect()
}

/// The host side of a request body: serves `data` in pieces of at most `piece` bytes.
pub struct FakeBody {
    data: Vec<u8>,
    pos: usize,
    piece: usize,
    /// How many times the plugin called `read`.
    pub reads: usize,
    /// Fail every read with this message.
    pub fail: Option<&'static str>,
}

impl FakeBody {
    /// A body served `piece` bytes at a time.
    pub fn new(data: &[u8], piece: usize) -> FakeBody {
        FakeBody {
            data: data.to_vec(),
            pos: 0,
            piece,
            reads: 0,
            fail: None,
        }
    }

    /// A [`BodyReader`] over this body.
    pub fn reader(&mut self) -> BodyReader<'_> {
        BodyReader {
            ctx: (self as *mut FakeBody).cast(),
            read: fake_read,
            _marker: std::marker::PhantomData,
        }
    }
}

extern "C" fn fake_read(
    ctx: *mut c_void,
    mut buf: RSliceMut<'_, u8>,
) -> RResult<usize, RStr<'static>> {
    // SAFETY: `ctx` is the `FakeBody` that made this reader and outlives it.
    let body = unsafe { &mut *ctx.cast::<FakeBody>() };
    body.reads += 1;
    if let Some(msg) = body.fail {
        return RErr(RStr::from_str(msg));
    }
    let n = (body.data.len() - body.pos).min(body.piece).min(buf.len());
    buf.as_mut_slice()[..n].copy_from_slice(&body.data[body.pos..body.pos + n]);
    body.pos += n;
    ROk(n)
}

/// One thing the plugin asked the fake responder to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// `start(status, reason, headers)`.
    Start(u16, String, Vec<(String, String)>),
    /// `write(bytes)`.
    Write(Vec<u8>),
    /// `flush()`.
    Flush,
    /// `sendfile(fd, offset, len)`, with the bytes it would send.
    Sendfile(u64, u64, Vec<u8>),
}

/// The host side of a response: records every call.
#[derive(Default)]
pub struct FakeResponse {
    /// The calls, in order.
    pub sent: Vec<Sent>,
    /// Answer every call with this error.
    pub fail: Option<SendError>,
}

impl FakeResponse {
    /// A [`Responder`] recording into this.
    pub fn responder(&mut self) -> Responder<'_> {
        Responder {
            ctx: (self as *mut FakeResponse).cast(),
            start: fake_start,
            write: fake_write,
            flush: fake_flush,
            sendfile: fake_sendfile,
            _marker: std::marker::PhantomData,
        }
    }

    /// The status and headers, if started.
    pub fn head(&self) -> Option<(u16, Vec<(String, String)>)> {
        self.sent.iter().find_map(|s| match s {
            Sent::Start(status, _, headers) => Some((*status, headers.clone())),
            _ => None,
        })
    }

    /// The value of the first header named `name`.
    pub fn header(&self, name: &str) -> Option<String> {
        let (_, headers) = self.head()?;
        headers
            .into_iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Every body byte written or sent from a file.
    pub fn body(&self) -> Vec<u8> {
        let mut body = Vec::new();
        for s in &self.sent {
            match s {
                Sent::Write(data) | Sent::Sendfile(_, _, data) => body.extend_from_slice(data),
                _ => {}
            }
        }
        body
    }

    fn record(ctx: *mut c_void, sent: Sent) -> SendResult {
        // SAFETY: `ctx` is the `FakeResponse` that made this responder and outlives it.
        let this = unsafe { &mut *ctx.cast::<FakeResponse>() };
        if let Some(err) = this.fail {
            return RErr(err);
        }
        this.sent.push(sent);
        ROk(())
    }
}

fn text(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| b as char).collect()
}

extern "C" fn fake_start(
    ctx: *mut c_void,
    status: u16,
    reason: RStr<'_>,
    headers: RSlice<'_, Header<'_>>,
) -> SendResult {
    let headers = headers
        .iter()
        .map(|h| (text(h.name.as_slice()), text(h.value.as_slice())))
        .collect();
    FakeResponse::record(
        ctx,
        Sent::Start(status, reason.as_str().to_owned(), headers),
    )
}

extern "C" fn fake_write(ctx: *mut c_void, data: RSlice<'_, u8>) -> SendResult {
    FakeResponse::record(ctx, Sent::Write(data.to_vec()))
}

extern "C" fn fake_flush(ctx: *mut c_void) -> SendResult {
    FakeResponse::record(ctx, Sent::Flush)
}

extern "C" fn fake_sendfile(ctx: *mut c_void, fd: i32, offset: u64, len: u64) -> SendResult {
    let mut data = vec![0u8; len as usize];
    // SAFETY: reads into a buffer of exactly `len` bytes from a descriptor the plugin owns.
    let n = unsafe {
        libc::pread(
            fd,
            data.as_mut_ptr().cast(),
            data.len(),
            offset as libc::off_t,
        )
    };
    data.truncate(n.max(0) as usize);
    FakeResponse::record(ctx, Sent::Sendfile(offset, len, data))
}
