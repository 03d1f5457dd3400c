//! The built `librsgi_python.so`, loaded the way the host loads it (abi_stable, which opens
//! it `RTLD_LOCAL`), driven through its root module: init, a request before any app, load,
//! requests, and the fork protocol with a request served in the child.

use std::ffi::c_void;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use abi_stable::library::lib_header_from_path;
use abi_stable::std_types::{RErr, ROk, ROption, RResult, RSlice, RSliceMut, RStr, RString};
use rsgi_plugin_api::{
    AppContext, AppModRef, BodyReader, Header, NameStyle, OptionValue, PluginKind, PluginModRef,
    Request, Responder, SendResult,
};

const APP: &str = r#"
import math, _ssl, _sqlite3, _ctypes, _decimal, _json, hashlib
import os

def application(environ, start_response):
    body = environ['wsgi.input'].read()
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'pid=%d sqrt=%d body=' % (os.getpid(), math.isqrt(49)), body]
"#;

/// The cdylib cargo built for this test run, next to the test binary in `deps/`.
fn plugin_path() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().join("librsgi_python.so")
}

fn option(name: &str, value: &str) -> OptionValue {
    OptionValue {
        name: RString::from(name),
        values: vec![RString::from(value)].into(),
    }
}

/// A body reader over a byte slice and a responder that collects everything in a `Vec`.
struct Exchange {
    body: Vec<u8>,
    read: usize,
    out: Vec<u8>,
    status: u16,
}

extern "C" fn read(ctx: *mut c_void, mut buf: RSliceMut<'_, u8>) -> RResult<usize, RStr<'static>> {
    let ex = unsafe { &mut *ctx.cast::<Exchange>() };
    let n = (ex.body.len() - ex.read).min(buf.len());
    buf.as_mut_slice()[..n].copy_from_slice(&ex.body[ex.read..ex.read + n]);
    ex.read += n;
    ROk(n)
}

extern "C" fn start(
    ctx: *mut c_void,
    status: u16,
    _r: RStr<'_>,
    _h: RSlice<'_, Header<'_>>,
) -> SendResult {
    unsafe { &mut *ctx.cast::<Exchange>() }.status = status;
    ROk(())
}

extern "C" fn write(ctx: *mut c_void, data: RSlice<'_, u8>) -> SendResult {
    unsafe { &mut *ctx.cast::<Exchange>() }
        .out
        .extend_from_slice(&data);
    ROk(())
}

extern "C" fn flush(_ctx: *mut c_void) -> SendResult {
    ROk(())
}

extern "C" fn sendfile(_ctx: *mut c_void, _fd: i32, _offset: u64, _len: u64) -> SendResult {
    RErr(rsgi_plugin_api::SendError::Misuse)
}

/// Sends `POST /` with `body`; returns the plugin's result, the status and the body.
fn post(app: AppModRef, body: &[u8]) -> (Result<(), String>, u16, Vec<u8>) {
    let mut ex = Exchange {
        body: body.to_vec(),
        read: 0,
        out: Vec::new(),
        status: 0,
    };
    let ctx: *mut c_void = (&mut ex as *mut Exchange).cast();
    let request = Request {
        method: RSlice::from_slice(b"POST"),
        uri: RSlice::from_slice(b"/"),
        path: RSlice::from_slice(b"/"),
        query: RSlice::from_slice(b""),
        protocol: RStr::from_str("HTTP/1.1"),
        scheme: RStr::from_str("http"),
        headers: RSlice::from_slice(&[]),
        names: NameStyle::Http,
        vars: RSlice::from_slice(&[]),
        remote_addr: RStr::from_str("127.0.0.1"),
        remote_port: 1,
        server_name: RStr::from_str("127.0.0.1"),
        server_port: 8000,
        content_length: ROption::RSome(body.len() as u64),
        worker_id: 1,
    };
    let mut reader = BodyReader {
        ctx,
        read,
        _marker: std::marker::PhantomData,
    };
    let mut responder = Responder {
        ctx,
        start,
        write,
        flush,
        sendfile,
        _marker: std::marker::PhantomData,
    };
    let result = (app.handle())(&request, &mut reader, &mut responder).into_result();
    (result.map_err(|e| e.message.to_string()), ex.status, ex.out)
}

fn wait_with_deadline(pid: libc::pid_t, deadline: Duration) -> Option<i32> {
    let until = Instant::now() + deadline;
    loop {
        let mut status = 0;
        let done = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if done == pid {
            return libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
        }
        if Instant::now() > until {
            unsafe { libc::kill(pid, libc::SIGKILL) };
            unsafe { libc::waitpid(pid, &mut status, 0) };
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn plugin_serves_through_the_abi_imports_c_extensions_and_survives_fork() {
    let global = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"PyExc_ValueError".as_ptr()) };
    assert!(
        global.is_null(),
        "this test binary must not have libpython in its global scope"
    );

    let dir = std::env::temp_dir().join(format!("rsgi-py-abi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("abi_app.py"), APP).unwrap();

    let module = lib_header_from_path(&plugin_path())
        .and_then(|header| header.init_root_module::<PluginModRef>())
        .unwrap_or_else(|e| panic!("loading {}: {e}", plugin_path().display()));
    // `python`, or the versioned name of a build per interpreter (`python3.13`, see build.rs).
    assert_eq!(module.name().as_str(), env!("RSGI_PYTHON_PLUGIN_NAME"));
    assert_eq!(module.kind(), PluginKind::App);
    let names: Vec<String> = (module.options())()
        .iter()
        .map(|s| s.name.to_string())
        .collect();
    assert_eq!(
        names,
        [
            "module",
            "wsgi-file",
            "factory",
            "callable",
            "pythonpath",
            "virtualenv",
            "mount",
            "manage-script-name",
            "enable-threads",
            "single-interpreter",
            "disable-write-exception",
            "ignore-write-errors",
            "py-autoreload",
            "py-call-osafterfork",
            "py-call-uwsgi-fork-hooks",
            "locks",
            "cache2",
            "no-uwsgi-module",
            "catch-exceptions",
            "reload-on-exception",
            "gc-freeze",
            "wsgi-disable-file-wrapper",
            "asgi",
            "asgi-file",
            "asgi-loop",
            "lifespan"
        ]
    );

    let host = rsgi_plugin_api::testing::host();
    let options = [
        option("module", "abi_app"),
        option("pythonpath", dir.to_str().unwrap()),
    ];
    (module.init())(host, RSlice::from_slice(&options))
        .into_result()
        .unwrap();
    let app = module
        .app()
        .into_option()
        .expect("an app plugin has app entry points");

    let (result, _, _) = post(app, b"");
    assert!(result.unwrap_err().contains("no WSGI app is loaded"));

    let master = AppContext {
        processes: 2,
        threads: 1,
        lazy: false,
        worker_id: 0,
    };
    let description = (app.load_app())(&master)
        .into_result()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        description.starts_with("abi_app:application ("),
        "{description}"
    );

    for round in 0..3 {
        (app.pre_fork())();
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            (app.post_fork_child())(&AppContext {
                worker_id: 1,
                ..master
            });
            let (result, status, body) = post(app, b"from the child");
            let expected = format!("pid={} sqrt=7 body=from the child", std::process::id());
            let ok = result.is_ok() && status == 200 && body == expected.as_bytes();
            unsafe { libc::_exit(if ok { 0 } else { 1 }) };
        }
        (app.post_fork_parent())();
        assert_eq!(
            wait_with_deadline(pid, Duration::from_secs(20)),
            Some(0),
            "child of round {round}"
        );
    }

    let (result, status, body) = post(app, b"from the master");
    result.unwrap();
    assert_eq!(status, 200);
    assert!(body.ends_with(b"sqrt=7 body=from the master"));
    (app.shutdown())();
    std::fs::remove_dir_all(&dir).unwrap();
}
