use std::time::Duration;

use rsgi_e2e::{free_port, get, rsgi_command, run_to_exit, Server};

const T: Duration = Duration::from_secs(20);

#[test]
fn help_lists_host_options_and_each_plugin_option() {
    let (code, out) = run_to_exit(&["--plugin", "python", "--help"], T);
    assert_eq!(code, 0, "{out}");
    for needle in [
        "--processes",
        "--http",
        "--socket",
        "--lazy-apps",
        "Options of plugin 'python'",
        "--module",
        "--virtualenv",
        "Options of plugin 'http'",
    ] {
        assert!(out.contains(needle), "{needle} missing from --help:\n{out}");
    }
}

#[test]
fn an_unknown_option_is_one_line_naming_it_and_exit_2() {
    let (code, out) = run_to_exit(
        &["--plugin", "python", "--module", "app", "--bogus-option"],
        T,
    );
    assert_eq!(code, 2, "{out}");
    assert_eq!(out.trim().lines().count(), 1, "{out}");
    assert!(out.contains("--bogus-option"), "{out}");
}

#[test]
fn a_missing_value_is_one_line_naming_the_option() {
    let (code, out) = run_to_exit(&["--plugin", "python", "--module"], T);
    assert_eq!(code, 2, "{out}");
    assert_eq!(out.trim().lines().count(), 1, "{out}");
    assert!(out.contains("--module"), "{out}");
}

#[test]
fn a_bad_value_names_the_option() {
    let (code, out) = run_to_exit(
        &[
            "--plugin",
            "python",
            "--module",
            "app",
            "--processes",
            "lots",
        ],
        T,
    );
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("invalid value 'lots' for --processes"),
        "{out}"
    );
}

fn write_config(text: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!(
        "rsgi-cfg-{}-{}.toml",
        std::process::id(),
        free_port()
    ));
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn config_file_unknown_key_is_named_and_exit_2() {
    let cfg = write_config("plugin = \"python\"\nmodule = \"app\"\nfrobnicate = 3\n");
    let (code, out) = run_to_exit(&["--config", cfg.to_str().unwrap()], T);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("unknown option 'frobnicate'"), "{out}");
}

#[test]
fn command_line_beats_environment_beats_config_file() {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    // The file names a module that does not exist and 3 workers; the environment fixes the
    // module; the command line fixes the worker count.
    let cfg = write_config(&format!(
        "plugin = \"python\"\nhttp = \"127.0.0.1:{port}\"\nmodule = \"missing_module\"\nprocesses = 3\n"
    ));
    let s = Server::spawn(
        rsgi_command()
            .args(["--config", cfg.to_str().unwrap(), "--processes", "1"])
            .env("RSGI_MODULE", "other")
            .env("RSGI_PROCESSES", "2"),
        addr,
    );
    s.wait_ready();
    assert_eq!(get(addr, "/").text(), "callable app");
    let log = s.log();
    assert!(log.contains("1 worker process(es)"), "{log}");
}
