//! Hidden build-time outputs of the command line: `rsgi --generate-man DIR` writes the man
//! page `DIR/rsgi.1` (clap_mangen), `rsgi --generate-completions SHELL DIR` the completion
//! script for `bash`, `zsh`, `fish` (or `all` three) into DIR (clap_complete).
//!
//! Both are made from the same clap command as `--help` ([`cli::command`]): the host's
//! options, plus those of the plugins in the `--plugin-dir` directories given (and only
//! those, not the rest of the search path, so the output depends on what the build puts
//! there and not on what happens to be installed). `make install` and
//! scripts/build-debs.sh run the staged binary with `--plugin-dir` on the staged plugins.
//! Neither option is in the catalog (`--help` does not show them); they are read here,
//! before the command line is parsed.

use std::path::{Path, PathBuf};

use clap_complete::Shell;

use super::catalog::Catalog;
use super::cli;
use crate::error::HostError;
use crate::exit::ExitCode;
use crate::plugin::{find, Plugins};

/// What was asked for.
#[derive(Debug, PartialEq)]
pub enum Output {
    /// The man page, into this directory.
    Man(PathBuf),
    /// Completion scripts for these shells, into this directory.
    Completions(Vec<Shell>, PathBuf),
}

/// `--generate-man DIR` or `--generate-completions SHELL DIR` in `args` (without the
/// program name), if there.
pub fn requested(args: &[String]) -> Result<Option<Output>, HostError> {
    let usage = |what: &str| HostError::Usage(format!("{what} (hidden build option)"));
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--generate-man" => {
                let dir = iter
                    .next()
                    .ok_or_else(|| usage("--generate-man needs a directory"))?;
                return Ok(Some(Output::Man(PathBuf::from(dir))));
            }
            "--generate-completions" => {
                let (Some(shell), Some(dir)) = (iter.next(), iter.next()) else {
                    return Err(usage(
                        "--generate-completions needs a shell (bash, zsh, fish or all) and a directory",
                    ));
                };
                let shells = match shell.as_str() {
                    "bash" => vec![Shell::Bash],
                    "zsh" => vec![Shell::Zsh],
                    "fish" => vec![Shell::Fish],
                    "all" => vec![Shell::Bash, Shell::Zsh, Shell::Fish],
                    other => {
                        return Err(usage(&format!(
                            "--generate-completions: unknown shell '{other}': expected bash, zsh, fish or all"
                        )))
                    }
                };
                return Ok(Some(Output::Completions(shells, PathBuf::from(dir))));
            }
            _ => {}
        }
    }
    Ok(None)
}

/// Writes what was asked for; each file written is named on stdout.
pub fn write(output: &Output, plugin_dirs: &[PathBuf]) -> Result<ExitCode, HostError> {
    let mut command = cli::command(&catalog_with_plugins(plugin_dirs)).bin_name("rsgi");
    let failed = |path: &Path, e: std::io::Error| {
        HostError::Runtime(format!("cannot write {}: {e}", path.display()))
    };
    match output {
        Output::Man(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| failed(dir, e))?;
            let path = dir.join("rsgi.1");
            let page = man_page(command).map_err(|e| failed(&path, e))?;
            std::fs::write(&path, page).map_err(|e| failed(&path, e))?;
            println!("{}", path.display());
        }
        Output::Completions(shells, dir) => {
            std::fs::create_dir_all(dir).map_err(|e| failed(dir, e))?;
            for shell in shells {
                let path = clap_complete::generate_to(*shell, &mut command, "rsgi", dir)
                    .map_err(|e| failed(dir, e))?;
                println!("{}", path.display());
            }
        }
    }
    Ok(ExitCode::Clean)
}

/// rsgi.1: clap_mangen's title and option sections (one per `--help` heading: the host's,
/// then each plugin's), around sections of our own: a short synopsis instead of every
/// option in brackets, and the environment, files, exit status and signals.
fn man_page(command: clap::Command) -> std::io::Result<Vec<u8>> {
    use clap_mangen::roff::{bold, italic, roman, Roff};
    let man = clap_mangen::Man::new(command).manual("rsgi manual");
    let mut page = Vec::new();
    man.render_title(&mut page)?;
    let mut head = Roff::new();
    head.control("SH", ["NAME"])
        .text([roman("rsgi - an application server in the uWSGI tradition")])
        .control("SH", ["SYNOPSIS"])
        .text([
            bold("rsgi"),
            roman(" "),
            roman("["),
            italic("OPTIONS"),
            roman("]"),
        ])
        .control("SH", ["DESCRIPTION"])
        .text([roman(
            "rsgi serves web apps: a master process binds the sockets, loads the app and \
             forks the workers, respawns and reloads them; the languages (python: WSGI and \
             ASGI) and protocols (http, uwsgi) are plugins loaded at run time. \
             Option names follow uWSGI's where one exists. Every option is also a key of the \
             TOML file given with --config (or a uWSGI .ini file's [uwsgi] section) and an \
             RSGI_<NAME> environment variable; the command line wins over the environment, \
             which wins over the file.",
        )]);
    page.extend(without_preamble(&head.render()));
    let mut options = Vec::new();
    man.render_options_section(&mut options)?;
    page.extend(without_preamble(&String::from_utf8_lossy(&options)));
    let mut tail = Roff::new();
    tail.control("SH", ["ENVIRONMENT"])
        .control("TP", [])
        .text([bold("RSGI_<NAME>")])
        .text([roman(
            "the option --name (dashes become underscores: RSGI_MAX_REQUESTS)",
        )])
        .control("TP", [])
        .text([bold("RSGI_PLUGIN_DIR")])
        .text([roman(
            "directories searched for plugins first, as --plugin-dir",
        )])
        .control("SH", ["FILES"])
        .control("TP", [])
        .text([italic(format!("{}/librsgi_NAME.so", find::DEFAULT_DIR))])
        .text([roman(
            "the plugins: looked for in --plugin-dir, then ../lib/rsgi/plugins beside the \
             rsgi binary, the binary's own directory, then this directory. \
             librsgi_python.so is the default python plugin, librsgi_pythonX.Y.so the one \
             for Python X.Y (--plugin pythonX.Y).",
        )])
        .control("TP", [])
        .text([italic("/etc/rsgi/NAME.toml")])
        .text([roman(
            "the config of the systemd template unit's instance rsgi@NAME.service \
             (and rsgi@NAME.socket)",
        )])
        .control("SH", ["SIGNALS"])
        .text([roman(
            "SIGHUP: graceful reload. SIGTERM: graceful shutdown. SIGINT, SIGQUIT: \
             immediate shutdown. SIGUSR1: stats to the log. SIGTTIN, SIGTTOU: one worker \
             more, one less.",
        )])
        .control("SH", ["EXIT STATUS"])
        .text([roman(
            "0: clean shutdown. 1: runtime failure. 2: usage or configuration error \
             (a missing plugin too). 22: the app could not be loaded under --need-app.",
        )])
        .control("SH", ["SEE ALSO"])
        .text([roman(
            "rsgi --plugin NAME --help lists the options of the plugins given; \
             rsgi --list-plugins the plugins found. /usr/share/doc/rsgi/examples/.",
        )]);
    page.extend(without_preamble(&tail.render()));
    Ok(page)
}

/// A rendered roff piece without the two lines of apostrophe set-up every render starts with
/// (the page keeps the title's).
fn without_preamble(rendered: &str) -> Vec<u8> {
    let mut lines = rendered.splitn(3, '\n');
    match (lines.next(), lines.next(), lines.next()) {
        (Some(a), Some(b), Some(rest)) if a.starts_with(".ie ") && b.starts_with(".el ") => {
            rest.as_bytes().to_vec()
        }
        _ => rendered.as_bytes().to_vec(),
    }
}

/// The host's options and those of each plugin file in `dirs` (a symlink to a file already
/// seen counts once; a plugin that does not load, or whose options clash with one already
/// taken, is left out with a warning).
fn catalog_with_plugins(dirs: &[PathBuf]) -> Catalog {
    let mut catalog = Catalog::host();
    let mut seen: Vec<PathBuf> = Vec::new();
    for path in find::all(dirs) {
        let real = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        if seen.contains(&real) {
            continue;
        }
        seen.push(real);
        let mut with = catalog.clone();
        match Plugins::load(&[path.display().to_string()], &[])
            .and_then(|p| p.declare_options(&mut with))
        {
            Ok(()) => catalog = with,
            Err(e) => tracing::warn!("options of {} left out: {e}", path.display()),
        }
    }
    catalog
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_hidden_options_are_read() {
        assert_eq!(requested(&args(&["--processes", "2"])).unwrap(), None);
        assert_eq!(
            requested(&args(&["--plugin-dir", "p", "--generate-man", "out"])).unwrap(),
            Some(Output::Man(PathBuf::from("out")))
        );
        assert_eq!(
            requested(&args(&["--generate-completions", "all", "c"])).unwrap(),
            Some(Output::Completions(
                vec![Shell::Bash, Shell::Zsh, Shell::Fish],
                PathBuf::from("c")
            ))
        );
        assert!(requested(&args(&["--generate-completions", "tcsh", "c"])).is_err());
        assert!(requested(&args(&["--generate-man"])).is_err());
    }

    #[test]
    fn man_page_and_completions_name_the_host_options() {
        let scratch = crate::scratch::Scratch::new("docs-out");
        let dir = scratch.path().to_path_buf();
        write(&Output::Man(dir.clone()), &[]).unwrap();
        let page = std::fs::read_to_string(dir.join("rsgi.1")).unwrap();
        assert!(page.starts_with(".ie \\n(.g .ds Aq"), "{}", &page[..80]);
        assert!(page.contains("processes"), "no --processes in the man page");
        assert_eq!(page.matches(".ie \\n(.g").count(), 1, "one preamble");
        for section in [
            "NAME",
            "SYNOPSIS",
            "\"HOST OPTIONS\"",
            "FILES",
            "\"EXIT STATUS\"",
        ] {
            assert!(page.contains(&format!(".SH {section}\n")), "no {section}");
        }
        let shells = vec![Shell::Bash, Shell::Zsh, Shell::Fish];
        write(&Output::Completions(shells, dir.clone()), &[]).unwrap();
        for file in ["rsgi.bash", "_rsgi", "rsgi.fish"] {
            let text = std::fs::read_to_string(dir.join(file)).unwrap();
            assert!(text.contains("max-requests"), "{file}");
        }
    }
}
