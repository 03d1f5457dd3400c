//! Links the plugin against the interpreter named by `PYO3_PYTHON` (or `python3` on PATH)
//! and records where that interpreter lives.
//!
//! The RUNPATH makes the loader pick that interpreter's `libpython` rather than another one
//! with the same soname on the default search path. The recorded executable becomes
//! `PyConfig.executable` when no virtualenv is given, so the standard library is taken from
//! the same installation as the library instead of from whatever `python3` is on `PATH`.

fn main() {
    pyo3_build_config::add_libpython_rpath_link_args();
    let config = pyo3_build_config::get();
    let executable = config.executable().unwrap_or("python3");
    println!("cargo:rustc-env=RSGI_PYTHON_EXECUTABLE={executable}");
    println!("cargo:rerun-if-env-changed=PYO3_PYTHON");
    println!("cargo:rerun-if-changed=build.rs");
}
