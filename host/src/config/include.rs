//! A config file and the files it includes, read into one ordered list of settings.
//!
//! In a uWSGI ini file, `ini = FILE`, `include = FILE` and `config = FILE` read FILE in
//! place of their line, as uWSGI does ("top to bottom, expand as soon as possible");
//! `inherit = FILE` names a template, read before the file's first line. In a TOML file,
//! `include`, `config`, `ini` and `inherit` (a name or a list of names) are read before
//! the file's own keys. FILE is TOML, or ini for a name ending in `.ini` (`FILE.ini:NAME`
//! reads section `[NAME]`, `:NAME` that section of the same file); a relative name is taken from the including file's directory;
//! `%d`, `%n` in a value stand for the file the value is written in.
//!
//! Which value counts: a list option takes every value in reading order. For a
//! single-valued option, a file's own value beats the values of the files it includes,
//! wherever the include line is, and of two included files the later one wins. (uWSGI
//! takes the value read last, which is the same for the usual `ini = base.ini` on the
//! first line; but it reads `inherit` after everything else, so there a template's values
//! beat the file's own, the opposite of what a template is for.) A file that includes
//! itself, directly or not, is refused with the chain of files.

use std::path::{Path, PathBuf};

use super::ini::{self, FileVars};
use crate::error::HostError;

/// The keys that name another file to read.
pub const INCLUDE_KEYS: [&str; 4] = ["inherit", "include", "ini", "config"];

/// One key of a config file with its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The key as written (`_` turned into `-` in an ini file).
    pub key: String,
    /// Its values (a TOML array gives several).
    pub values: Vec<String>,
    /// The file it is written in.
    pub file: PathBuf,
    /// Its line in that file (1-based).
    pub line: usize,
    /// Where its file sits among the files read; the greater rank wins for a
    /// single-valued option.
    pub rank: Rank,
}

impl Setting {
    /// `line N` for messages.
    pub fn at(&self) -> String {
        format!("line {}", self.line)
    }
}

/// The path from the first file to the one a setting is written in (the index of each
/// include among its file's includes), then `OWN`: a file's own settings rank above those
/// of every file it includes, and a later include above an earlier one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rank(Vec<u32>);

const OWN: u32 = u32::MAX;

/// Reads `files` (the `--config` files, in order, each as if the one before included it)
/// and every file they include.
pub fn read(
    files: &[PathBuf],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<Setting>, HostError> {
    let mut reader = Reader {
        env,
        settings: Vec::new(),
        chain: Vec::new(),
    };
    for (index, file) in files.iter().enumerate() {
        let (path, section) = split_section(&file.to_string_lossy());
        reader.file(&path, &section, vec![index as u32], None)?;
    }
    Ok(reader.settings)
}

/// `site.ini:prod` → (`site.ini`, `prod`); any other name reads `[uwsgi]`.
fn split_section(spec: &str) -> (PathBuf, String) {
    match spec.rsplit_once(':') {
        Some((file, section)) if file.ends_with(".ini") && !section.contains('/') => {
            let section = if section.is_empty() { "uwsgi" } else { section };
            (PathBuf::from(file), section.to_string())
        }
        _ => (PathBuf::from(spec), "uwsgi".to_string()),
    }
}

/// Where an include was asked for: the including file and the line.
struct IncludedFrom<'a> {
    file: &'a Path,
    line: usize,
}

struct Reader<'e> {
    env: &'e dyn Fn(&str) -> Option<String>,
    settings: Vec<Setting>,
    /// The files being read, outermost first: (as shown, (canonical, section)).
    chain: Vec<(String, (PathBuf, String))>,
}

impl Reader<'_> {
    /// Reads one file (section `section` of an ini file) at `rank`.
    fn file(
        &mut self,
        path: &Path,
        section: &str,
        rank: Vec<u32>,
        from: Option<IncludedFrom>,
    ) -> Result<(), HostError> {
        let refuse = |message: String| match &from {
            Some(f) => HostError::ConfigFile {
                path: f.file.to_path_buf(),
                message: format!("line {}: {message}", f.line),
            },
            None => HostError::ConfigFile {
                path: path.to_path_buf(),
                message,
            },
        };
        let text = std::fs::read_to_string(path).map_err(|e| match &from {
            Some(_) => refuse(format!("cannot read {}: {e}", path.display())),
            None => refuse(e.to_string()),
        })?;
        let canonical = (
            path.canonicalize().unwrap_or_else(|_| path.to_path_buf()),
            section.to_string(),
        );
        let shown = match section {
            "uwsgi" => path.display().to_string(),
            other => format!("{}:{other}", path.display()),
        };
        if self.chain.iter().any(|(_, c)| *c == canonical) {
            let names: Vec<&str> = self
                .chain
                .iter()
                .map(|(shown, _)| shown.as_str())
                .chain(std::iter::once(shown.as_str()))
                .collect();
            return Err(refuse(format!("include loop: {}", names.join(" -> "))));
        }
        self.chain.push((shown, canonical));
        let read = if path.extension().is_some_and(|e| e == "ini") {
            self.ini(path, section, &text, &rank)
        } else {
            self.toml(path, &text, &rank)
        };
        self.chain.pop();
        read
    }

    /// Another file named at `line` of `file`: relative to `file`'s directory.
    fn include(
        &mut self,
        spec: &str,
        file: &Path,
        line: usize,
        rank: Vec<u32>,
    ) -> Result<(), HostError> {
        // `:NAME`: another section of the same file, as in uWSGI.
        if let Some(section) = spec.strip_prefix(':').filter(|s| !s.is_empty()) {
            let from = Some(IncludedFrom { file, line });
            return self.file(file, section, rank, from);
        }
        let (named, section) = split_section(spec);
        let path = match file.parent() {
            Some(dir) if named.is_relative() => dir.join(&named),
            _ => named,
        };
        self.file(&path, &section, rank, Some(IncludedFrom { file, line }))
    }

    /// The last value of `key` read so far (`%(key)`).
    fn last_value(&self, key: &str) -> Option<String> {
        self.settings
            .iter()
            .rev()
            .find(|s| s.key == key)
            .and_then(|s| s.values.last().cloned())
    }

    fn ini(
        &mut self,
        path: &Path,
        section: &str,
        text: &str,
        rank: &[u32],
    ) -> Result<(), HostError> {
        let bad = |message: String| HostError::ConfigFile {
            path: path.to_path_buf(),
            message,
        };
        let lines = ini::section_lines(text, section).map_err(bad)?;
        let vars = FileVars::of(path);
        let (templates, rest): (Vec<_>, Vec<_>) =
            lines.into_iter().partition(|l| l.key == "inherit");
        let mut includes = 0;
        for line in templates.into_iter().chain(rest) {
            let value = ini::expand(&line.value, &vars, &|k| self.last_value(k), self.env)
                .map_err(|e| bad(format!("line {}: {e}", line.number)))?;
            if INCLUDE_KEYS.contains(&line.key.as_str()) {
                self.include(&value, path, line.number, child(rank, &mut includes))?;
            } else {
                self.settings.push(Setting {
                    key: line.key,
                    values: vec![value],
                    file: path.to_path_buf(),
                    line: line.number,
                    rank: own(rank),
                });
            }
        }
        Ok(())
    }

    fn toml(&mut self, path: &Path, text: &str, rank: &[u32]) -> Result<(), HostError> {
        let bad = |message: String| HostError::ConfigFile {
            path: path.to_path_buf(),
            message,
        };
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| bad(e.message().to_string()))?;
        let line_of = key_lines(text);
        let line = |key: &str| {
            line_of
                .iter()
                .find(|(k, _)| k == key)
                .map_or(0, |(_, l)| *l)
        };
        let mut includes = 0;
        for key in INCLUDE_KEYS {
            let Some(value) = table.get(key) else {
                continue;
            };
            let names = strings(value).ok_or_else(|| {
                bad(format!(
                    "line {}: '{key}' names files to read first: a name or a list of names",
                    line(key)
                ))
            })?;
            for name in names {
                self.include(&name, path, line(key), child(rank, &mut includes))?;
            }
        }
        for (key, value) in table {
            if INCLUDE_KEYS.contains(&key.as_str()) {
                continue;
            }
            let values = strings(&value).ok_or_else(|| {
                bad(format!(
                    "line {}: option '{key}': unsupported value {value}",
                    line(&key)
                ))
            })?;
            self.settings.push(Setting {
                line: line(&key),
                key,
                values,
                file: path.to_path_buf(),
                rank: own(rank),
            });
        }
        Ok(())
    }
}

fn own(rank: &[u32]) -> Rank {
    let mut path = rank.to_vec();
    path.push(OWN);
    Rank(path)
}

/// The rank of the next file a file includes.
fn child(rank: &[u32], includes: &mut u32) -> Vec<u32> {
    let mut path = rank.to_vec();
    path.push(*includes);
    *includes += 1;
    path
}

/// The line of each top-level key of a TOML text.
fn key_lines(text: &str) -> Vec<(String, usize)> {
    let Ok(table) = toml::de::DeTable::parse(text) else {
        return Vec::new();
    };
    table
        .get_ref()
        .iter()
        .map(|(key, _)| {
            let line = text[..key.span().start].matches('\n').count() + 1;
            (key.get_ref().to_string(), line)
        })
        .collect()
}

/// A TOML value as option strings (flags are `"true"`/`"false"`); `None` for a table.
pub fn strings(value: &toml::Value) -> Option<Vec<String>> {
    Some(match value {
        toml::Value::String(s) => vec![s.clone()],
        toml::Value::Integer(i) => vec![i.to_string()],
        toml::Value::Float(f) => vec![f.to_string()],
        toml::Value::Boolean(b) => vec![b.to_string()],
        toml::Value::Array(items) => {
            let mut out = Vec::new();
            for item in items {
                out.extend(strings(item)?);
            }
            out
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory of its own for one test, removed when dropped.
    struct Dir(PathBuf);

    impl Dir {
        fn new(name: &str) -> Dir {
            let dir =
                std::env::temp_dir().join(format!("rsgi-include-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Dir(dir)
        }

        fn write(&self, name: &str, text: &str) -> PathBuf {
            let path = self.0.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, text).unwrap();
            path
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn read_one(path: &Path) -> Result<Vec<Setting>, HostError> {
        read(&[path.to_path_buf()], &|_| None)
    }

    fn pairs(settings: &[Setting]) -> Vec<(String, String)> {
        settings
            .iter()
            .flat_map(|s| s.values.iter().map(|v| (s.key.clone(), v.clone())))
            .collect()
    }

    #[test]
    fn an_ini_include_is_read_in_place_of_its_line_with_its_own_placeholders() {
        let dir = Dir::new("inplace");
        dir.write(
            "common/base.ini",
            "[uwsgi]\nchdir = %d\nsocket = %n.sock\nenv = FROM=base\n",
        );
        let site = dir.write(
            "site.ini",
            "[uwsgi]\nenv = FIRST=1\nini = common/base.ini\nenv = HERE=%n\nwsgi-file = %(chdir)app.py\n",
        );
        let settings = read_one(&site).unwrap();
        let common = format!("{}/common/", dir.0.display());
        assert_eq!(
            pairs(&settings),
            [
                ("env".to_string(), "FIRST=1".to_string()),
                ("chdir".into(), common.clone()),
                ("socket".into(), "base.sock".into()),
                ("env".into(), "FROM=base".into()),
                ("env".into(), "HERE=site".into()),
                ("wsgi-file".into(), format!("{common}app.py")),
            ]
        );
        assert_eq!(
            settings[1].file,
            dir.0
                .join("site.ini")
                .parent()
                .unwrap()
                .join("common/base.ini")
        );
        assert_eq!(settings[1].line, 2);
    }

    #[test]
    fn own_values_outrank_included_ones_and_later_includes_earlier_ones() {
        let dir = Dir::new("rank");
        dir.write("a.ini", "[uwsgi]\nprocesses = 1\nini = c.ini\n");
        dir.write("b.ini", "[uwsgi]\nprocesses = 2\n");
        dir.write("c.ini", "[uwsgi]\nprocesses = 3\nthreads = 3\n");
        let site = dir.write(
            "site.ini",
            "[uwsgi]\nprocesses = 9\nini = a.ini\ninclude = b.ini\n",
        );
        let settings = read_one(&site).unwrap();
        let best = |key: &str| {
            settings
                .iter()
                .filter(|s| s.key == key)
                .max_by(|x, y| x.rank.cmp(&y.rank))
                .map(|s| s.values[0].clone())
                .unwrap()
        };
        // The site's own line beats both includes, though it comes first.
        assert_eq!(best("processes"), "9");
        // c.ini (under a.ini) is the only one with threads.
        assert_eq!(best("threads"), "3");
        let ranks: Vec<&Rank> = settings.iter().map(|s| &s.rank).collect();
        // a.ini's own value beats c.ini's, which a.ini includes; b.ini's beats both.
        let rank_of = |file: &str| {
            settings
                .iter()
                .find(|s| s.key == "processes" && s.file.ends_with(file))
                .unwrap()
                .rank
                .clone()
        };
        assert!(rank_of("a.ini") > rank_of("c.ini"));
        assert!(rank_of("b.ini") > rank_of("a.ini"));
        assert_eq!(ranks.len(), 5);
    }

    #[test]
    fn inherit_is_read_before_the_file_wherever_it_is_written() {
        let dir = Dir::new("inherit");
        dir.write("tpl.ini", "[uwsgi]\nenv = T=1\nbase = /srv\n");
        let site = dir.write(
            "site.ini",
            "[uwsgi]\nenv = S=1\nchdir = %(base)/app\ninherit = tpl.ini\n",
        );
        assert_eq!(
            pairs(&read_one(&site).unwrap()),
            [
                ("env".to_string(), "T=1".to_string()),
                ("base".into(), "/srv".into()),
                ("env".into(), "S=1".into()),
                ("chdir".into(), "/srv/app".into()),
            ]
        );
    }

    #[test]
    fn a_section_can_be_named_after_the_file() {
        let dir = Dir::new("section");
        dir.write("all.ini", "[uwsgi]\nprocesses = 1\n[prod]\nprocesses = 8\n");
        let site = dir.write("site.ini", "[uwsgi]\nini = all.ini:prod\n");
        assert_eq!(
            pairs(&read_one(&site).unwrap()),
            [("processes".to_string(), "8".to_string())]
        );
        // `:NAME` is a section of the same file; not a loop.
        let own = dir.write(
            "own.ini",
            "[uwsgi]\nini = :common\nprocesses = 2\n[common]\nthreads = 4\n",
        );
        assert_eq!(
            pairs(&read_one(&own).unwrap()),
            [
                ("threads".to_string(), "4".to_string()),
                ("processes".into(), "2".into())
            ]
        );
    }

    #[test]
    fn an_include_loop_is_refused_naming_the_files() {
        let dir = Dir::new("loop");
        let a = dir.write("a.ini", "[uwsgi]\nini = b.ini\n");
        dir.write("b.ini", "[uwsgi]\nprocesses = 2\nini = a.ini\n");
        let err = read_one(&a).unwrap_err().to_string();
        let d = dir.0.display();
        assert_eq!(
            err,
            format!(
                "config file {d}/b.ini: line 3: include loop: {d}/a.ini -> {d}/b.ini -> {d}/a.ini"
            )
        );
        let me = dir.write("me.ini", "[uwsgi]\nini = %d%n.ini\n");
        let err = read_one(&me).unwrap_err().to_string();
        assert!(
            err.ends_with(&format!("include loop: {d}/me.ini -> {d}/me.ini")),
            "{err}"
        );
    }

    #[test]
    fn a_missing_include_names_the_including_file_and_line() {
        let dir = Dir::new("missing");
        let site = dir.write("site.ini", "[uwsgi]\n\nini = nope.ini\n");
        let err = read_one(&site).unwrap_err().to_string();
        let d = dir.0.display();
        assert!(
            err.starts_with(&format!(
                "config file {d}/site.ini: line 3: cannot read {d}/nope.ini: "
            )),
            "{err}"
        );
    }

    #[test]
    fn a_toml_file_reads_its_includes_first_with_lines() {
        let dir = Dir::new("toml");
        dir.write("base.toml", "processes = 2\nhttp = [\"a:1\"]\n");
        dir.write("extra.ini", "[uwsgi]\nenv = X=1\n");
        let site = dir.write(
            "site.toml",
            "# site\nhttp = [\"b:2\"]\ninclude = [\"base.toml\", \"extra.ini\"]\n",
        );
        let settings = read_one(&site).unwrap();
        assert_eq!(
            pairs(&settings),
            [
                ("http".to_string(), "a:1".to_string()),
                ("processes".into(), "2".into()),
                ("env".into(), "X=1".into()),
                ("http".into(), "b:2".into()),
            ]
        );
        assert_eq!(settings[3].line, 2);
        let bad = dir.write("bad.toml", "include = { a = 1 }\n");
        assert_eq!(
            read_one(&bad).unwrap_err().to_string(),
            format!(
                "config file {}: line 1: 'include' names files to read first: a name or a list of names",
                bad.display()
            )
        );
    }

    #[test]
    fn several_top_level_files_rank_in_order() {
        let dir = Dir::new("several");
        let a = dir.write("a.toml", "processes = 1\n");
        let b = dir.write("b.ini", "[uwsgi]\nprocesses = 2\n");
        let settings = read(&[a, b], &|_| None).unwrap();
        assert!(settings[1].rank > settings[0].rank);
    }
}
