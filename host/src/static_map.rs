//! `--static-map PREFIX=DIR`, as in uWSGI: a GET or HEAD whose path starts with PREFIX
//! names a file under DIR, which the worker sends itself (`worker::static_files`) without
//! calling the app. This module decides which file a path names, if any; it does no I/O
//! beyond looking the file up.
//!
//! What an operator coming from uWSGI gets:
//! - the longest matching PREFIX wins; PREFIX matches whole path segments (`/static`
//!   covers `/static/app.css`, not `/statics`);
//! - the rest of the path is percent-decoded and appended to DIR;
//! - a path that is not a regular file under DIR (missing, a directory) goes to the app,
//!   as uWSGI does, so an app can still answer under the same prefix;
//! - a `..` segment, a NUL byte, or a file whose real path (symlinks resolved) lies outside
//!   DIR is refused with 403 and a log line, never served;
//! - `--static-index NAME` (repeatable): a path naming a directory serves the first NAME
//!   found in it (`index.html`);
//! - `--static-gzip-all`: a client that accepts gzip gets `FILE.gz` when it is there (with
//!   `Content-Encoding: gzip`; see `worker::static_files`);
//! - `--static-expires*`: an `Expires` header by type, file, URI or path (`static_expires`).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use percent_encoding::percent_decode;

use crate::error::HostError;
use crate::static_expires::StaticExpires;

/// One `PREFIX=DIR`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Mount {
    /// The path prefix, without a trailing `/` (empty for `/`).
    prefix: Vec<u8>,
    /// DIR, with symlinks resolved.
    root: PathBuf,
}

/// All `--static-map` entries, longest prefix first, and how they are served.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StaticMap {
    mounts: Vec<Mount>,
    /// `--static-index` names, in the order given.
    index: Vec<String>,
    /// `--static-gzip-all`.
    gzip_all: bool,
    /// `--static-expires*`.
    expires: StaticExpires,
    /// `--static-skip-ext`: names ending so go to the app.
    skip_ext: Vec<String>,
    /// `--static-safe`: directories symlinks may lead into (symlinks resolved).
    safe: Vec<PathBuf>,
}

/// What a request path means to the static map.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    /// No prefix covers it, or no regular file is there: the app answers.
    App,
    /// This file, under its mount's directory.
    File(PathBuf),
    /// A path that tries to leave its directory: 403, with why.
    Refused(&'static str),
}

impl StaticMap {
    /// Parses the `PREFIX=DIR` entries; each DIR must be an existing directory. A relative
    /// DIR is taken from `chdir` (`--chdir`) when given, as it is resolved after the change.
    pub fn parse(entries: &[String], chdir: Option<&Path>) -> Result<StaticMap, HostError> {
        let mut mounts = Vec::with_capacity(entries.len());
        for entry in entries {
            let bad = |why: &str| HostError::Usage(format!("--static-map {entry:?}: {why}"));
            let (prefix, dir) = entry
                .split_once('=')
                .ok_or_else(|| bad("expected PREFIX=DIR, e.g. /static=/srv/app/static"))?;
            if !prefix.starts_with('/') {
                return Err(bad("the prefix must start with '/'"));
            }
            let root = chdir
                .unwrap_or(Path::new(""))
                .join(dir)
                .canonicalize()
                .map_err(|e| bad(&format!("directory {dir}: {e}")))?;
            if !root.is_dir() {
                return Err(bad(&format!("{dir} is not a directory")));
            }
            mounts.push(Mount {
                prefix: prefix.trim_end_matches('/').as_bytes().to_vec(),
                root,
            });
        }
        // Stable: mounts of one prefix keep the order they were given in.
        mounts.sort_by_key(|m| std::cmp::Reverse(m.prefix.len()));
        Ok(StaticMap {
            mounts,
            index: Vec::new(),
            gzip_all: false,
            expires: StaticExpires::default(),
            skip_ext: Vec::new(),
            safe: Vec::new(),
        })
    }

    /// The same map, serving the first of `names` found in a directory a path names.
    pub fn with_index(mut self, names: Vec<String>) -> Self {
        self.index = names;
        self
    }

    /// The same map, sending `FILE.gz` to clients that accept gzip when it exists.
    pub fn with_gzip_all(mut self, on: bool) -> Self {
        self.gzip_all = on;
        self
    }

    /// The same map, with `Expires` rules; refused when there is no `--static-map` to
    /// apply them to.
    pub fn with_expires(mut self, expires: StaticExpires) -> Result<Self, String> {
        if !expires.is_empty() && self.mounts.is_empty() {
            return Err(
                "the --static-expires* options apply to files --static-map serves: add --static-map"
                    .into(),
            );
        }
        self.expires = expires;
        Ok(self)
    }

    /// The same map, with `--static-skip-ext` endings and `--static-safe` directories (a
    /// relative one starts at `chdir`); each safe directory must exist.
    pub fn with_skip_and_safe(
        mut self,
        skip_ext: Vec<String>,
        safe: &[String],
        chdir: Option<&Path>,
    ) -> Result<Self, HostError> {
        self.skip_ext = skip_ext;
        for dir in safe {
            let real = chdir
                .unwrap_or(Path::new(""))
                .join(dir)
                .canonicalize()
                .map_err(|e| HostError::Usage(format!("--static-safe {dir}: {e}")))?;
            self.safe.push(real);
        }
        Ok(self)
    }

    /// The `--static-expires*` rules.
    pub fn expires(&self) -> &StaticExpires {
        &self.expires
    }

    /// Whether `--static-gzip-all` is on.
    pub fn gzip_all(&self) -> bool {
        self.gzip_all
    }

    /// Where a request goes: only GET and HEAD are served from files; anything else,
    /// and everything when the map is empty, goes to the app.
    pub fn route(&self, method: &[u8], path: &[u8]) -> Lookup {
        if self.mounts.is_empty() || !(method == b"GET" || method == b"HEAD") {
            return Lookup::App;
        }
        self.lookup(path)
    }

    /// Where a request for `path` (percent-encoded, without the query) goes: the mounts
    /// whose prefix covers it, longest prefix first and in the order given, until one has
    /// the file (as uWSGI tries repeated `static-map`s and `check-static`s in turn).
    fn lookup(&self, path: &[u8]) -> Lookup {
        let covering = self.mounts.iter().filter_map(|m| {
            let rest = path.strip_prefix(m.prefix.as_slice())?;
            rest.starts_with(b"/").then_some((m, rest))
        });
        for (mount, rest) in covering {
            match self.lookup_in(mount, rest) {
                Lookup::App => continue,
                found => return found,
            }
        }
        Lookup::App
    }

    /// Where `rest` (what follows the prefix) goes under one mount.
    fn lookup_in(&self, mount: &Mount, rest: &[u8]) -> Lookup {
        let decoded: Vec<u8> = percent_decode(rest).collect();
        if decoded.contains(&0) {
            return Lookup::Refused("a NUL byte in the path");
        }
        let mut file = mount.root.clone();
        for segment in decoded.split(|&b| b == b'/') {
            match segment {
                b"" | b"." => {}
                b".." => return Lookup::Refused("a '..' segment in the path"),
                name => file.push(OsStr::from_bytes(name)),
            }
        }
        if self.skipped(&file) {
            return Lookup::App;
        }
        match file.canonicalize() {
            Ok(real) if !self.inside(&real, &mount.root) => {
                Lookup::Refused("a symlink that leads out of the --static-map directory")
            }
            Ok(real) if real.is_file() => Lookup::File(real),
            Ok(real) if real.is_dir() => self.index_in(&real, &mount.root),
            _ => Lookup::App,
        }
    }

    /// Whether `real` may be served for a mount at `root`: under it, or under a
    /// `--static-safe` directory.
    fn inside(&self, real: &Path, root: &Path) -> bool {
        real.starts_with(root) || self.safe.iter().any(|dir| real.starts_with(dir))
    }

    /// `--static-skip-ext`: the file name ends with one of these (the app serves it).
    fn skipped(&self, file: &Path) -> bool {
        let name = file.as_os_str().as_bytes();
        self.skip_ext
            .iter()
            .any(|ext| name.ends_with(ext.as_bytes()))
    }

    /// The first `--static-index` file in `dir` (under `root`), else the app.
    fn index_in(&self, dir: &Path, root: &Path) -> Lookup {
        for name in &self.index {
            match dir.join(name).canonicalize() {
                Ok(real) if self.inside(&real, root) && real.is_file() => {
                    return Lookup::File(real)
                }
                _ => {}
            }
        }
        Lookup::App
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch tree: ROOT/static/{app.css, a b.txt, sub/x.js}, ROOT/secret.txt,
    /// ROOT/static/out -> ROOT/secret.txt, ROOT/media/m.png.
    fn tree() -> PathBuf {
        let root = std::env::temp_dir().join(format!(
            "rsgi-static-map-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("static/sub")).unwrap();
        std::fs::create_dir_all(root.join("media")).unwrap();
        for f in [
            "static/app.css",
            "static/a b.txt",
            "static/sub/x.js",
            "secret.txt",
        ] {
            std::fs::write(root.join(f), f).unwrap();
        }
        std::fs::write(root.join("media/m.png"), "png").unwrap();
        std::os::unix::fs::symlink(root.join("secret.txt"), root.join("static/out")).unwrap();
        root.canonicalize().unwrap()
    }

    fn map(root: &Path) -> StaticMap {
        StaticMap::parse(
            &[
                format!("/static={}", root.join("static").display()),
                format!("/static/media/={}", root.join("media").display()),
            ],
            None,
        )
        .unwrap()
    }

    #[test]
    fn files_under_a_prefix_are_found_and_decoded() {
        let root = tree();
        let m = map(&root);
        let s = root.join("static");
        assert_eq!(
            m.lookup(b"/static/app.css"),
            Lookup::File(s.join("app.css"))
        );
        assert_eq!(
            m.lookup(b"/static/a%20b.txt"),
            Lookup::File(s.join("a b.txt"))
        );
        assert_eq!(
            m.lookup(b"/static//sub/./x.js"),
            Lookup::File(s.join("sub/x.js"))
        );
        // The longest prefix wins.
        assert_eq!(
            m.lookup(b"/static/media/m.png"),
            Lookup::File(root.join("media/m.png"))
        );
        assert_eq!(
            m.route(b"HEAD", b"/static/app.css"),
            Lookup::File(s.join("app.css"))
        );
        assert_eq!(m.route(b"POST", b"/static/app.css"), Lookup::App);
        assert_eq!(
            StaticMap::default().route(b"GET", b"/static/app.css"),
            Lookup::App
        );
    }

    #[test]
    fn mounts_of_one_prefix_are_tried_in_turn_and_skip_and_safe_apply() {
        let root = tree();
        // Two directories at `/`, as repeated --static-map or --check-static give.
        let m = StaticMap::parse(
            &[
                format!("/={}", root.join("static").display()),
                format!("/={}", root.join("media").display()),
            ],
            None,
        )
        .unwrap();
        let css = Lookup::File(root.join("static/app.css"));
        assert_eq!(m.lookup(b"/app.css"), css);
        assert_eq!(
            m.lookup(b"/m.png"),
            Lookup::File(root.join("media/m.png")),
            "found in the second directory"
        );
        assert_eq!(m.lookup(b"/nowhere.css"), Lookup::App);
        let skip = m.clone().with_skip_and_safe(vec![".css".into()], &[], None);
        assert_eq!(skip.unwrap().lookup(b"/app.css"), Lookup::App);
        // static/out -> ROOT/secret.txt: refused, unless ROOT is a --static-safe directory.
        assert!(matches!(m.lookup(b"/out"), Lookup::Refused(_)));
        let safe = m.with_skip_and_safe(Vec::new(), &[root.display().to_string()], None);
        assert_eq!(
            safe.unwrap().lookup(b"/out"),
            Lookup::File(root.join("secret.txt"))
        );
    }

    #[test]
    fn a_directory_serves_its_first_index_file() {
        let root = tree();
        std::fs::write(root.join("static/sub/index.htm"), "i").unwrap();
        let m = map(&root).with_index(vec!["index.html".into(), "index.htm".into()]);
        let index = Lookup::File(root.join("static/sub/index.htm"));
        assert_eq!(m.lookup(b"/static/sub"), index);
        assert_eq!(m.lookup(b"/static/sub/"), index);
        // No index file there: the app.
        assert_eq!(m.lookup(b"/static/"), Lookup::App);
        assert_eq!(map(&root).lookup(b"/static/sub/"), Lookup::App);
    }

    #[test]
    fn what_is_not_a_file_under_a_prefix_goes_to_the_app() {
        let root = tree();
        let m = map(&root);
        for path in [
            &b"/"[..],
            b"/statics/app.css",
            b"/static",
            b"/static/",
            b"/static/sub",
            b"/static/missing.css",
            b"/other/app.css",
        ] {
            assert_eq!(
                m.lookup(path),
                Lookup::App,
                "{}",
                String::from_utf8_lossy(path)
            );
        }
    }

    #[test]
    fn paths_that_leave_the_directory_are_refused() {
        let root = tree();
        let m = map(&root);
        for path in [
            &b"/static/../secret.txt"[..],
            b"/static/%2e%2e/secret.txt",
            b"/static/sub/..%2F..%2Fsecret.txt",
            b"/static/app.css%00.png",
            b"/static/out",
        ] {
            assert!(
                matches!(m.lookup(path), Lookup::Refused(_)),
                "{}",
                String::from_utf8_lossy(path)
            );
        }
    }

    #[test]
    fn bad_entries_are_usage_errors_naming_the_entry() {
        for entry in ["static", "static=/tmp", "/s=/nonexistent-rsgi-dir"] {
            let err = StaticMap::parse(&[entry.to_string()], None)
                .unwrap_err()
                .to_string();
            assert!(err.contains(entry), "{err}");
        }
        let file = std::env::temp_dir().join(format!("rsgi-static-file-{}", std::process::id()));
        std::fs::write(&file, "x").unwrap();
        let entry = format!("/s={}", file.display());
        assert!(StaticMap::parse(&[entry], None).is_err());
        // A relative DIR starts at --chdir.
        let root = tree();
        let m = StaticMap::parse(&["/s=static".to_string()], Some(&root)).unwrap();
        assert_eq!(
            m.route(b"GET", b"/s/app.css"),
            Lookup::File(root.join("static/app.css"))
        );
    }
}
