//! uWSGI's ini files: `rsgi --config uwsgi.ini` reads the `[uwsgi]` section as options, so
//! an existing setup starts as it is, and each option rsgi lacks is named by the usual
//! "unknown option" error instead of being dropped.
//!
//! What is read, as uWSGI reads it: `key = value` lines of the `[uwsgi]` section (or of
//! the section a `FILE:SECTION` name asks for; other sections are skipped); `#` and `;`
//! start comment lines; `_` in a key means `-`; a key given again adds a value (a list
//! option takes them all; a single-valued one refuses the repeat); a bare `key` is the
//! flag `true`. In values: `%d` (the file's directory, with a trailing `/`), `%n` (its name
//! without `.ini`), `%%`, `%(key)` (the last value of a key read so far) and `$(NAME)` (an
//! environment variable, empty when unset). Any other `%` placeholder is an error naming
//! it. This file reads one file; `include.rs` follows `ini =` / `inherit =` to others.

use std::path::Path;

/// One `key = value` line of the section, the value as written (placeholders not expanded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// 1-based line number in the file.
    pub number: usize,
    /// The key, `_` turned into `-`.
    pub key: String,
    /// The value, trimmed; `true` for a bare key.
    pub value: String,
}

/// The `key = value` lines of section `section` of `text`. Errors name the line.
pub fn section_lines(text: &str, section: &str) -> Result<Vec<Line>, String> {
    let mut lines = Vec::new();
    let mut in_section = false;
    let mut seen_section = false;
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let at = || format!("line {}", index + 1);
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[') {
            let name = name
                .strip_suffix(']')
                .ok_or_else(|| format!("{}: unclosed section header {line}", at()))?;
            in_section = name.trim() == section;
            seen_section |= in_section;
            continue;
        }
        if !in_section {
            continue;
        }
        let (key, value) = match line.split_once('=') {
            Some((k, v)) => (k.trim(), v.trim()),
            None => (line, "true"),
        };
        if key.is_empty() {
            return Err(format!("{}: a value without a key", at()));
        }
        lines.push(Line {
            number: index + 1,
            key: key.replace('_', "-"),
            value: value.to_string(),
        });
    }
    if !seen_section {
        return Err(format!("no [{section}] section"));
    }
    Ok(lines)
}

/// What `%d` and `%n` stand for in one file.
#[derive(Debug, Clone)]
pub struct FileVars {
    /// `%d`: the file's directory, absolute, with a trailing `/`.
    pub dir: String,
    /// `%n`: the file's name without its extension.
    pub name: String,
}

impl FileVars {
    /// The placeholders of the file at `path`. `%d` is absolute so that it keeps its
    /// meaning after `--chdir`.
    pub fn of(path: &Path) -> FileVars {
        let dir = match std::path::absolute(path).map(|p| p.parent().map(Path::to_path_buf)) {
            Ok(Some(dir)) => format!("{}/", dir.display()).replace("//", "/"),
            _ => "./".to_string(),
        };
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        FileVars { dir, name }
    }
}

/// Replaces the placeholders of one value: `earlier` gives the last value of a key read
/// so far (`%(key)`), `env` an environment variable (`$(NAME)`).
pub fn expand(
    value: &str,
    vars: &FileVars,
    earlier: &dyn Fn(&str) -> Option<String>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(pos) = rest.find(['%', '$']) {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        if let Some(inner) = tail.strip_prefix("$(") {
            let (var, after) = inner
                .split_once(')')
                .ok_or_else(|| format!("unclosed $( in {value:?}"))?;
            out.push_str(&env(var).unwrap_or_default());
            rest = after;
        } else if let Some(inner) = tail.strip_prefix("%(") {
            let (key, after) = inner
                .split_once(')')
                .ok_or_else(|| format!("unclosed %( in {value:?}"))?;
            let key = key.replace('_', "-");
            let earlier =
                earlier(&key).ok_or_else(|| format!("%({key}) names no key set above it"))?;
            out.push_str(&earlier);
            rest = after;
        } else if let Some(after) = tail.strip_prefix('$') {
            out.push('$');
            rest = after;
        } else {
            let mut chars = tail[1..].chars();
            match chars.next() {
                Some('d') => out.push_str(&vars.dir),
                Some('n') => out.push_str(&vars.name),
                Some('%') => out.push('%'),
                Some(other) => {
                    return Err(format!(
                        "unsupported placeholder %{other} in {value:?} (rsgi knows %d, %n, %%, %(key) and $(NAME))"
                    ))
                }
                None => return Err(format!("a lone % at the end of {value:?}")),
            }
            rest = chars.as_str();
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The section's values with placeholders expanded in order, as `include.rs` does.
    fn table(text: &str) -> Result<Vec<(String, String)>, String> {
        let env = |k: &str| (k == "HOME").then(|| "/home/app".to_string());
        let vars = FileVars::of(Path::new("/srv/site/uwsgi.ini"));
        let mut out: Vec<(String, String)> = Vec::new();
        for line in section_lines(text, "uwsgi")? {
            let earlier = |k: &str| {
                out.iter()
                    .rev()
                    .find(|(key, _)| key == k)
                    .map(|(_, v)| v.clone())
            };
            let value = expand(&line.value, &vars, &earlier, &env)
                .map_err(|e| format!("line {}: {e}", line.number))?;
            out.push((line.key, value));
        }
        Ok(out)
    }

    fn get<'a>(t: &'a [(String, String)], key: &str) -> Vec<&'a str> {
        t.iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    #[test]
    fn reads_the_uwsgi_section_only_with_comments_and_underscores() {
        let t = table(
            "[other]\nprocesses = 9\n\n[uwsgi]\n# comment\n; another\nmodule = site.wsgi:application\nchmod_socket = 660\nmaster\n",
        )
        .unwrap();
        assert_eq!(get(&t, "module"), ["site.wsgi:application"]);
        assert_eq!(get(&t, "chmod-socket"), ["660"]);
        assert_eq!(get(&t, "master"), ["true"]);
        assert!(get(&t, "processes").is_empty());
    }

    #[test]
    fn another_section_is_read_when_asked_for() {
        let lines = section_lines("[uwsgi]\na = 1\n[prod]\nb = 2\n", "prod").unwrap();
        assert_eq!(
            lines,
            [Line {
                number: 4,
                key: "b".into(),
                value: "2".into()
            }]
        );
    }

    #[test]
    fn d_is_absolute_for_a_relative_file_name() {
        let vars = FileVars::of(Path::new("site.ini"));
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(vars.dir, format!("{}/", cwd.display()).replace("//", "/"));
        assert_eq!(vars.name, "site");
    }

    #[test]
    fn a_repeated_key_gives_each_value_in_order() {
        let t = table("[uwsgi]\nenv = A=1\nenv = B=2\nenv = C=3\n").unwrap();
        assert_eq!(get(&t, "env"), ["A=1", "B=2", "C=3"]);
    }

    #[test]
    fn placeholders_expand_and_unknown_ones_are_named() {
        let t = table(
            "[uwsgi]\nchdir = %d\nsocket = /run/%n.sock\nhome = $(HOME)/venv\nwsgi-file = %(chdir)app.py\nx = 100%%\nmissing = [$(NOPE)]\n",
        )
        .unwrap();
        assert_eq!(get(&t, "chdir"), ["/srv/site/"]);
        assert_eq!(get(&t, "socket"), ["/run/uwsgi.sock"]);
        assert_eq!(get(&t, "home"), ["/home/app/venv"]);
        assert_eq!(get(&t, "wsgi-file"), ["/srv/site/app.py"]);
        assert_eq!(get(&t, "x"), ["100%"]);
        assert_eq!(get(&t, "missing"), ["[]"]);
        assert_eq!(
            table("[uwsgi]\nprocesses = %k\n").unwrap_err(),
            "line 2: unsupported placeholder %k in \"%k\" (rsgi knows %d, %n, %%, %(key) and $(NAME))"
        );
        assert_eq!(
            table("[uwsgi]\nwsgi-file = %(chdir)/a.py\n").unwrap_err(),
            "line 2: %(chdir) names no key set above it"
        );
    }

    #[test]
    fn a_file_without_the_section_or_with_a_broken_header_is_refused() {
        assert_eq!(
            table("[app]\nmodule = x\n").unwrap_err(),
            "no [uwsgi] section"
        );
        assert_eq!(
            table("[uwsgi\n").unwrap_err(),
            "line 1: unclosed section header [uwsgi"
        );
        assert_eq!(
            table("[uwsgi]\n= 3\n").unwrap_err(),
            "line 2: a value without a key"
        );
    }
}
