//! Loads the built `librsgi_http.so` the way the host does (`lib_header_from_path` +
//! `init_root_module`), initialises it and drives one request through the loaded entry
//! points.

use std::path::PathBuf;

use rsgi_plugin_api::abi_stable::library::lib_header_from_path;
use rsgi_plugin_api::abi_stable::std_types::{RSlice, RSliceMut, RVec};
use rsgi_plugin_api::protocol::{HeaderSpan, ParseStatus, Version};
use rsgi_plugin_api::{PluginKind, PluginModRef};

/// `target/<profile>/librsgi_http.so`: cargo builds the cdylib next to the test's `deps/`.
fn library_path() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    profile_dir.join(format!(
        "{}rsgi_http{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ))
}

#[test]
fn the_cdylib_loads_and_parses_a_request() {
    let path = library_path();
    let header = lib_header_from_path(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let module = header.init_root_module::<PluginModRef>().unwrap();
    assert_eq!(module.name().as_str(), "http");
    assert_eq!(module.kind(), PluginKind::Protocol);
    (module.init())(rsgi_plugin_api::testing::host(), RSlice::from_slice(&[])).unwrap();
    let protocol = module.protocol().unwrap();

    let buf = b"GET /hello?x=1 HTTP/1.1\r\nHost: a\r\n\r\n";
    let mut headers = vec![HeaderSpan::default(); 256];
    let mut vars = vec![HeaderSpan::default(); 256];
    let outcome = (protocol.parse())(
        RSlice::from_slice(buf),
        RSliceMut::from_mut_slice(&mut headers),
        RSliceMut::from_mut_slice(&mut vars),
    );
    assert_eq!(outcome.status, ParseStatus::Complete);
    assert_eq!(outcome.head.path.get(buf), b"/hello");

    let mut out = RVec::new();
    assert!((protocol.encode_error())(Version::Http11, 400, &mut out));
    assert!(out.as_slice().starts_with(b"HTTP/1.1 400 Bad Request\r\n"));
}
