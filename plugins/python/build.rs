//! Links the plugin against the interpreter named by `PYO3_PYTHON` (or `python3` on PATH)
//! and records where that interpreter lives, which Python it is, and the plugin's name.
//!
//! The RUNPATH makes the loader pick that interpreter's `libpython` rather than another one
//! with the same soname on the default search path. The recorded executable becomes
//! `PyConfig.executable` when no virtualenv is given, so the standard library is taken from
//! the same installation as the library instead of from whatever `python3` is on `PATH`.
//!
//! Recorded for the code (`env!`):
//! - `RSGI_PYTHON_EXECUTABLE`: the interpreter's path;
//! - `RSGI_PYTHON_BUILD`: `3.13` or `3.13t` (free-threaded, built with `--disable-gil`);
//! - `RSGI_PYTHON_FREE_THREADED`: `1` for a free-threaded interpreter, else `0`;
//! - `RSGI_PYTHON_PLUGIN_NAME`: the name the plugin reports to the host: `python`, unless
//!   the build sets `RSGI_PYTHON_PLUGIN_NAME` (scripts/build-python-plugins.sh sets
//!   `python3.13`, `python3.13t`, ..., matching the file name `librsgi_python3.13t.so`).

fn main() {
    pyo3_build_config::add_libpython_rpath_link_args();
    let config = pyo3_build_config::get();
    // The fields rather than the getters pyo3-build-config 0.29 added: this script also
    // builds plugins/python-pyo3-0.28 (the free-threaded 3.13t plugin).
    #[allow(deprecated)]
    let (executable, version) = (
        config.executable.as_deref().unwrap_or("python3"),
        config.version,
    );
    let free_threaded = config.is_free_threaded();
    let build = format!(
        "{}.{}{}",
        version.major,
        version.minor,
        if free_threaded { "t" } else { "" }
    );
    let name = std::env::var("RSGI_PYTHON_PLUGIN_NAME").unwrap_or_else(|_| "python".into());
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
    {
        panic!("RSGI_PYTHON_PLUGIN_NAME={name:?}: use letters, digits, '.', '_' or '-'");
    }
    println!("cargo:rustc-env=RSGI_PYTHON_EXECUTABLE={executable}");
    println!("cargo:rustc-env=RSGI_PYTHON_BUILD={build}");
    println!(
        "cargo:rustc-env=RSGI_PYTHON_FREE_THREADED={}",
        u8::from(free_threaded)
    );
    println!("cargo:rustc-env=RSGI_PYTHON_PLUGIN_NAME={name}");
    // `cfg(pyo3_028)`: this source is being built by plugins/python-pyo3-0.28, whose few
    // API differences from the workspace's pyo3 are kept behind it.
    println!("cargo::rustc-check-cfg=cfg(pyo3_028)");
    if std::env::var("CARGO_PKG_NAME").as_deref() == Ok("rsgi-plugin-python-pyo3-028") {
        println!("cargo:rustc-cfg=pyo3_028");
    }
    println!("cargo:rerun-if-env-changed=PYO3_PYTHON");
    println!("cargo:rerun-if-env-changed=RSGI_PYTHON_PLUGIN_NAME");
    println!("cargo:rerun-if-changed=build.rs");
}
