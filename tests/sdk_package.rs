//! The plugin SDK as a third party gets it: `examples/plugin-template`, copied out of the
//! repository, builds with the one command its README gives (`cargo build --release`)
//! against `rsgi-plugin-abi` and `rsgi-plugin-api` as `cargo package` makes them
//! (`scripts/sdk-packages.sh`: no path into the workspace), and the plugin it builds loads
//! and serves in this rsgi.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use rsgi_e2e::{free_addr, repo_root, rsgi_command, target_dir, Server, TempDir};

const T: Duration = Duration::from_secs(30);

/// Runs `cmd`, failing the test with its output when it fails.
fn run(what: &str, cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Input: the template copied to a temporary directory with only a cargo configuration that
/// points the SDK crates at their packages; `cargo build --release` there; the library it
/// builds given to rsgi by path, with the plugin's own option. Answer: the plugin's
/// description of a POST, first line the greeting given.
#[test]
fn the_plugin_template_builds_outside_the_repository_against_the_packaged_sdk() {
    let scratch = TempDir::new("sdk-package");
    let sdk = scratch.path().join("sdk");
    let plugin = scratch.path().join("echo");
    let target = target_dir().join("../sdk-template");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run(
        "scripts/sdk-packages.sh",
        Command::new("bash")
            .arg(repo_root().join("scripts/sdk-packages.sh"))
            .arg(&sdk)
            .env("CARGO", &cargo)
            .env("CARGO_TARGET_DIR", target_dir().join("../sdk-package")),
    );
    run(
        "copying the template",
        Command::new("cp")
            .arg("-r")
            .arg(repo_root().join("examples/plugin-template"))
            .arg(&plugin),
    );
    std::fs::create_dir_all(plugin.join(".cargo")).unwrap();
    std::fs::copy(sdk.join("config.toml"), plugin.join(".cargo/config.toml")).unwrap();
    run(
        "cargo build --release in the copied template",
        Command::new(&cargo)
            .args(["build", "--release", "--quiet"])
            .current_dir(&plugin)
            .env("CARGO_TARGET_DIR", &target),
    );
    let library = target.join("release/librsgi_echo.so");
    assert!(library.is_file(), "{} was not built", library.display());
    serves(&library);
}

fn serves(library: &Path) {
    let addr = free_addr();
    let mut cmd = rsgi_command();
    cmd.args(["--plugin", library.to_str().unwrap()]).args([
        "--http",
        &addr.to_string(),
        "--echo-greeting",
        "packaged",
    ]);
    let s = Server::spawn(&mut cmd, addr);
    s.wait_ready();
    let r = rsgi_e2e::try_request(s.addr, "POST", "/p?q=1", &[], b"xyz").unwrap();
    assert_eq!(r.status, 200, "{}", s.log());
    let text = r.text();
    assert!(
        text.starts_with("packaged\nPOST /p HTTP/1.1\nquery: q=1\n"),
        "{text}"
    );
    assert!(text.ends_with("body: 3 bytes\n"), "{text}");
    s.wait_log("plugin echo 0.1.0 (app)", T);
}
