//! uWSGI's ini files: `rsgi --config uwsgi.ini` reads the `[uwsgi]` section as a config
//! table, so an existing setup starts as it is, and each option rsgi lacks is named by the
//! usual "unknown option" error instead of being dropped.
//!
//! What is read, as uWSGI reads it: `key = value` lines of the `[uwsgi]` section (other
//! sections are skipped); `#` and `;` start comment lines; `_` in a key means `-`; a key
//! given again adds a value (a list option takes them all; a single-valued one refuses
//! the repeat); a bare `key` is the flag `true`. In values: `%d` (the file's directory,
//! with a trailing `/`), `%n` (its name without `.ini`), `%%`, `%(key)` (the last value of
//! a key read so far) and `$(NAME)` (an environment variable, empty when unset). Any other
//! `%` placeholder is an error naming it.

use std::path::Path;

/// The `[uwsgi]` section of `text` (the file at `path`) as a table of strings and arrays
/// of strings; `env` looks up `$(NAME)`. Errors name the line.
pub fn to_table(
    text: &str,
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<toml::Table, String> {
    // The file's directory as an absolute path: `%d` must not change meaning after --chdir.
    let dir = match std::path::absolute(path).map(|p| p.parent().map(Path::to_path_buf)) {
        Ok(Some(dir)) => format!("{}/", dir.display()).replace("//", "/"),
        _ => "./".to_string(),
    };
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut table = toml::Table::new();
    let mut in_section = false;
    let mut seen_section = false;
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let at = || format!("line {}", index + 1);
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(section) = line.strip_prefix('[') {
            let section = section
                .strip_suffix(']')
                .ok_or_else(|| format!("{}: unclosed section header {line}", at()))?;
            in_section = section.trim() == "uwsgi";
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
        let key = key.replace('_', "-");
        let value =
            expand(value, &table, &dir, &name, env).map_err(|e| format!("{}: {e}", at()))?;
        match table.get_mut(&key) {
            None => {
                table.insert(key, toml::Value::String(value));
            }
            Some(toml::Value::Array(list)) => list.push(toml::Value::String(value)),
            Some(first) => {
                let earlier = std::mem::replace(first, toml::Value::Boolean(false));
                *first = toml::Value::Array(vec![earlier, toml::Value::String(value)]);
            }
        }
    }
    if !seen_section {
        return Err("no [uwsgi] section".to_string());
    }
    Ok(table)
}

/// Replaces the placeholders of one value.
fn expand(
    value: &str,
    table: &toml::Table,
    dir: &str,
    name: &str,
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
            let earlier = match table.get(&key) {
                Some(toml::Value::String(s)) => s.as_str(),
                Some(toml::Value::Array(list)) => {
                    list.last().and_then(|v| v.as_str()).unwrap_or("")
                }
                _ => return Err(format!("%({key}) names no key set above it")),
            };
            out.push_str(earlier);
            rest = after;
        } else if let Some(after) = tail.strip_prefix('$') {
            out.push('$');
            rest = after;
        } else {
            let mut chars = tail[1..].chars();
            match chars.next() {
                Some('d') => out.push_str(dir),
                Some('n') => out.push_str(name),
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

    fn table(text: &str) -> Result<toml::Table, String> {
        let env = |k: &str| (k == "HOME").then(|| "/home/app".to_string());
        to_table(text, Path::new("/srv/site/uwsgi.ini"), &env)
    }

    #[test]
    fn reads_the_uwsgi_section_only_with_comments_and_underscores() {
        let t = table(
            "[other]\nprocesses = 9\n\n[uwsgi]\n# comment\n; another\nmodule = site.wsgi:application\nchmod_socket = 660\nmaster\n",
        )
        .unwrap();
        assert_eq!(t["module"].as_str(), Some("site.wsgi:application"));
        assert_eq!(t["chmod-socket"].as_str(), Some("660"));
        assert_eq!(t["master"].as_str(), Some("true"));
        assert!(!t.contains_key("processes"));
    }

    #[test]
    fn d_is_absolute_for_a_relative_file_name() {
        let t = to_table("[uwsgi]\nchdir = %d\n", Path::new("site.ini"), &|_| None).unwrap();
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(
            t["chdir"].as_str().unwrap(),
            format!("{}/", cwd.display()).replace("//", "/")
        );
    }

    #[test]
    fn a_repeated_key_becomes_a_list_in_order() {
        let t = table("[uwsgi]\nenv = A=1\nenv = B=2\nenv = C=3\n").unwrap();
        let list: Vec<&str> = t["env"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(list, ["A=1", "B=2", "C=3"]);
    }

    #[test]
    fn placeholders_expand_and_unknown_ones_are_named() {
        let t = table(
            "[uwsgi]\nchdir = %d\nsocket = /run/%n.sock\nhome = $(HOME)/venv\nwsgi-file = %(chdir)app.py\nx = 100%%\nmissing = [$(NOPE)]\n",
        )
        .unwrap();
        assert_eq!(t["chdir"].as_str(), Some("/srv/site/"));
        assert_eq!(t["socket"].as_str(), Some("/run/uwsgi.sock"));
        assert_eq!(t["home"].as_str(), Some("/home/app/venv"));
        assert_eq!(t["wsgi-file"].as_str(), Some("/srv/site/app.py"));
        assert_eq!(t["x"].as_str(), Some("100%"));
        assert_eq!(t["missing"].as_str(), Some("[]"));
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
