//! The plugin ABI keeps its promise across releases of a series: plugins built against the
//! first release of series 0.2 (a frozen copy of `rsgi-plugin-abi`/`rsgi-plugin-api` 0.2.0
//! under `tests/abi-0.2.0`, and a plugin of a third party's kind under
//! `tests/fixtures/plugin-0.2.0` with its own lock file) load and serve in this host, which
//! offers extensions and root-module fields 0.2.0 did not know; what a plugin needs that the
//! host lacks stops the start with one line (or is done without, when optional); a plugin of
//! series 0.1 is refused with one line naming both series.
//!
//! The fixture plugins are built here with cargo, as their authors would build them
//! (`--locked`, a target directory of their own beside this build's).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use rsgi_e2e::{free_addr, get, repo_root, rsgi_command, run_to_exit, target_dir, Server};

const T: Duration = Duration::from_secs(30);

/// Builds the fixture crate in `tests/fixtures/<dir>` and returns its library `file`.
fn build_fixture(dir: &str, file: &str) -> PathBuf {
    let manifest = repo_root()
        .join("tests/fixtures")
        .join(dir)
        .join("Cargo.toml");
    let target = target_dir().join("../abi-fixtures");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["build", "--locked", "--quiet", "--manifest-path"])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target)
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "building {} failed:\n{}",
        manifest.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let lib = target.join("debug").join(file);
    assert!(lib.is_file(), "{} was not built", lib.display());
    lib
}

/// The 0.2.0 plugin (built once per test run).
fn frozen_0_2_0() -> &'static Path {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    LIB.get_or_init(|| build_fixture("plugin-0.2.0", "librsgi_frozen.so"))
}

/// The 0.1.0 plugin (built once per test run).
fn series_0_1() -> &'static Path {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    LIB.get_or_init(|| build_fixture("plugin-0.1.0", "librsgi_series01.so"))
}

/// Starts rsgi serving the 0.2.0 plugin over HTTP, with `needs` in the plugin's
/// `RSGI_FROZEN_NEEDS` (none when empty).
fn start_frozen(needs: &str) -> Server {
    let addr = free_addr();
    let mut cmd = rsgi_command();
    cmd.args(["--plugin", frozen_0_2_0().to_str().unwrap()])
        .args(["--http", &addr.to_string()]);
    if !needs.is_empty() {
        cmd.env("RSGI_FROZEN_NEEDS", needs);
    }
    let server = Server::spawn(&mut cmd, addr);
    server.wait_ready();
    server
}

/// Input: a GET to a plugin built against ABI 0.2.0 (its source and lock file frozen) in
/// this host. Answer: 200 from the plugin, which saw a host of a later 0.2 release
/// offering `rsgi.scoreboard` v1, an extension 0.2.0 did not define; `--list-plugins`
/// shows it as ABI 0.2.0 with no description (a root-module field appended in 0.2.1, read
/// as absent).
#[test]
fn a_plugin_of_the_first_0_2_release_loads_and_serves() {
    let s = start_frozen("");
    let r = get(s.addr, "/compat");
    assert_eq!(r.status, 200, "{}", s.log());
    let host = rsgi_plugin_api::ABI_VERSION;
    assert_ne!(
        host, "0.2.0",
        "the host must be of a later release than the plugin"
    );
    assert_eq!(
        r.text(),
        format!(
            "frozen plugin 0.2.0 on a host of {host}: /compat; host offers: rsgi.scoreboard v1, rsgi.exchange v1, rsgi.exchange v2, rsgi.exchange v3, rsgi.handle_upgrade v1"
        )
    );
    let dir = frozen_0_2_0().parent().unwrap();
    let out = rsgi_command()
        .args(["--plugin-dir", dir.to_str().unwrap(), "--list-plugins"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("frozen"))
        .unwrap_or_else(|| panic!("frozen not listed:\n{text}"));
    assert!(
        line.contains("abi 0.2.0   -; offers: -; needs: -;"),
        "{line}"
    );
}

/// Input: the 0.2.0 plugin needing `rsgi.absent` v1, which no host offers. Answer: exit 2
/// before anything starts, one line naming the plugin, its file and the extension.
#[test]
fn a_required_extension_the_host_lacks_stops_the_start_naming_it() {
    let plugin = frozen_0_2_0().to_str().unwrap().to_string();
    let mut cmd = rsgi_command();
    cmd.env("RSGI_FROZEN_NEEDS", "rsgi.absent:1").args([
        "--plugin",
        &plugin,
        "--http",
        &free_addr().to_string(),
    ]);
    let out = cmd.output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert_eq!(text.trim().lines().count(), 1, "{text}");
    assert!(
        text.contains(&format!(
            "plugin frozen ({plugin}) needs extension rsgi.absent v1, which this rsgi (plugin ABI {}) does not offer",
            rsgi_plugin_api::ABI_VERSION
        )),
        "{text}"
    );
}

/// Input: the 0.2.0 plugin needing `rsgi.absent` v1 as optional and `rsgi.scoreboard` v1.
/// Answer: it serves; it does without the absent one (its answer says so) and the log says
/// the host lacks it.
#[test]
fn an_optional_extension_the_host_lacks_is_done_without() {
    let s = start_frozen("rsgi.absent:1:optional,rsgi.scoreboard:1");
    let r = get(s.addr, "/");
    assert_eq!(r.status, 200, "{}", s.log());
    assert!(r.text().ends_with(" without rsgi.absent"), "{}", r.text());
    s.wait_log(
        "plugin frozen can use extension rsgi.absent v1, which this rsgi does not offer: it does without",
        T,
    );
}

/// Input: a plugin built against ABI series 0.1 (the frozen 0.1.0 copy). Answer: exit 2,
/// one line naming the file and both series.
#[test]
fn a_plugin_of_series_0_1_is_refused_naming_both_series() {
    let plugin = series_0_1().to_str().unwrap();
    let (code, out) = run_to_exit(&["--plugin", plugin, "--module", "app"], T);
    assert_eq!(code, 2, "{out}");
    assert_eq!(out.trim().lines().count(), 1, "{out}");
    let want = format!(
        "plugin {plugin} speaks plugin ABI 0.1 (0.1.0), but this rsgi speaks plugin ABI 0.2 ({})",
        rsgi_plugin_api::ABI_VERSION
    );
    assert!(out.contains(&want), "{out}");
}
