use std::path::{Path, PathBuf};
use std::time::Duration;

use rsgi_e2e::{free_port, get, rsgi_command, run_to_exit, Server};

const T: Duration = Duration::from_secs(20);

/// Answers with its working directory and the variables the config files set.
const ENV_APP: &str = r#"
import os

def application(environ, start_response):
    names = ["GREETING", "BASE_NAME", "SITE", "FROM"]
    body = "\n".join([os.getcwd()] + [os.environ.get(n, "-") for n in names]).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
"#;

/// A directory of the test's own (removed when dropped), with files written into it.
struct Dir(rsgi_e2e::TempDir);

impl Dir {
    fn new(name: &str) -> Dir {
        Dir(rsgi_e2e::TempDir::new(name))
    }

    fn path(&self) -> &Path {
        self.0.path()
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }
}

/// Starts `rsgi --ini FILE` (the file names its HTTP port) and waits until it answers.
fn serve(ini: &Path, port: u16) -> Server {
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    let s = Server::spawn(rsgi_command().args(["--ini", ini.to_str().unwrap()]), addr);
    s.wait_ready();
    s
}

/// Input: a shared `common/base.ini` (the plugin, `chdir = %d../app`, the module, two
/// processes, `env` lines with `%n`) and two site files in `sites/`: one includes it with
/// `ini = ../common/base.ini` on its first line, the other with `inherit =` on its last
/// line and its own `processes = 1` and `GREETING`.
/// Answer: both serve the app from `app/` (the base's `%d`, not the site's); `%n` is
/// `base` in the base and the site's name in the site; the first site runs the base's two
/// workers, the second its own one; the second site's GREETING follows the base's, so the
/// app sees the site's.
#[test]
fn two_sites_share_a_base_ini_and_override_it() {
    let dir = Dir::new("ini-inherit");
    dir.write("app/env_app.py", ENV_APP);
    dir.write(
        "common/base.ini",
        "[uwsgi]\nplugins = python3\nchdir = %d../app\nmodule = env_app:application\n\
         processes = 2\nenv = GREETING=hello from %n\nenv = BASE_NAME=%n\n",
    );
    let (port1, port2) = (free_port(), free_port());
    let site1 = dir.write(
        "sites/one.ini",
        &format!(
            "[uwsgi]\nini = ../common/base.ini\nhttp-socket = 127.0.0.1:{port1}\nenv = SITE=%n\n"
        ),
    );
    let site2 = dir.write(
        "sites/two.ini",
        &format!(
            "[uwsgi]\nprocesses = 1\nhttp-socket = 127.0.0.1:{port2}\nenv = SITE=%n\n\
             env = GREETING=hello from %n\ninherit = ../common/base.ini\n"
        ),
    );
    let app_dir = dir.path().join("app").canonicalize().unwrap();

    let one = serve(&site1, port1);
    let two = serve(&site2, port2);
    let r = get(one.addr, "/");
    assert_eq!(
        r.text(),
        format!("{}\nhello from base\nbase\none\n-", app_dir.display()),
        "{}",
        one.log()
    );
    one.wait_log("2 worker process(es)", T);
    let r = get(two.addr, "/");
    assert_eq!(
        r.text(),
        format!("{}\nhello from two\nbase\ntwo\n-", app_dir.display()),
        "{}",
        two.log()
    );
    two.wait_log("1 worker process(es)", T);
}

/// Input: a TOML config file that includes a TOML base (the module and an `env`) and a
/// uWSGI ini (another `env`), and sets its own HTTP address and `processes`.
/// Answer: it serves with the base's module and both variables, and its own processes.
#[test]
fn a_toml_file_includes_others() {
    let dir = Dir::new("toml-include");
    dir.write("env_app.py", ENV_APP);
    dir.write(
        "base.toml",
        "plugin = \"python\"\nmodule = \"env_app:application\"\nprocesses = 2\nenv = [\"GREETING=hi\"]\n",
    );
    dir.write("extra.ini", "[uwsgi]\nenv = FROM=%n\n");
    let port = free_port();
    let site = dir.write(
        "site.toml",
        &format!(
            "include = [\"base.toml\", \"extra.ini\"]\nhttp = \"127.0.0.1:{port}\"\nprocesses = 1\nchdir = \"{}\"\n",
            dir.path().display()
        ),
    );
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    let s = Server::spawn(
        rsgi_command().args(["--config", site.to_str().unwrap()]),
        addr,
    );
    s.wait_ready();
    let cwd = dir.path().canonicalize().unwrap();
    assert_eq!(
        get(s.addr, "/").text(),
        format!("{}\nhi\n-\n-\nextra", cwd.display()),
        "{}",
        s.log()
    );
    s.wait_log("1 worker process(es)", T);
}

/// Input: `a.ini` includes `b.ini`, which includes `a.ini` again; a file that includes
/// one that does not exist.
/// Answer: exit 2 and one line naming the chain of files (the missing file, with the
/// including file's line).
#[test]
fn an_include_loop_or_a_missing_include_is_refused_in_one_line() {
    let dir = Dir::new("ini-loop");
    let a = dir.write("a.ini", "[uwsgi]\nplugins = python3\nini = b.ini\n");
    dir.write("b.ini", "[uwsgi]\nmodule = app\ninclude = %da.ini\n");
    let (code, out) = run_to_exit(&["--ini", a.to_str().unwrap()], T);
    assert_eq!(code, 2, "{out}");
    assert_eq!(out.trim().lines().count(), 1, "{out}");
    let d = dir.path().display();
    assert!(
        out.contains(&format!(
            "config file {d}/b.ini: line 3: include loop: {d}/a.ini -> {d}/b.ini -> {d}/a.ini"
        )),
        "{out}"
    );

    let c = dir.write("c.ini", "[uwsgi]\nini = missing.ini\n");
    let (code, out) = run_to_exit(&["--ini", c.to_str().unwrap()], T);
    assert_eq!(code, 2, "{out}");
    assert_eq!(out.trim().lines().count(), 1, "{out}");
    assert!(
        out.contains(&format!(
            "config file {d}/c.ini: line 2: cannot read {d}/missing.ini"
        )),
        "{out}"
    );
}
