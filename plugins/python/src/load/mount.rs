//! Several apps in one process (`--mount PREFIX=APP`), and which one serves a request.
//!
//! The rules are uWSGI's, with one fix:
//! - with `--manage-script-name`, the app is the one with the longest prefix that matches
//!   `PATH_INFO` on a segment boundary: `/api` matches `/api` and `/api/users`, not
//!   `/apis` (uWSGI compares plain prefixes and would serve `/apis` from `/api` with
//!   `PATH_INFO` `s`). The prefix becomes `SCRIPT_NAME`, the rest stays `PATH_INFO`
//!   (`""` for the prefix itself, which PEP 3333 allows);
//! - without it, a front server has already split the path: the app is the one mounted at
//!   exactly the `SCRIPT_NAME` it sent (uwsgi protocol), else the app at the root, and
//!   `SCRIPT_NAME`/`PATH_INFO` are left as they arrived;
//! - no app for the request: `404 Not Found`.
//!
//! `PATH_INFO` is the front server's when it sent one, else the decoded request path. With
//! one app at the root (`--module` alone) none of this runs: that app serves everything.

use rsgi_plugin_api::{Header, Request};

use crate::path_info;

/// How a mounted app's request differs from the plain one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split<'a> {
    /// The mount prefix, the new `SCRIPT_NAME`.
    pub script_name: &'a [u8],
    /// What follows it, the new `PATH_INFO` (decoded).
    pub path_info: Vec<u8>,
}

/// The app chosen for a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Route<'a, T> {
    /// Serve with `app`, moving the prefix to `SCRIPT_NAME` when `split` says so.
    Serve {
        /// The app.
        app: &'a T,
        /// `Some` under `--manage-script-name` with a non-root prefix.
        split: Option<Split<'a>>,
    },
    /// No app is mounted where the request points.
    NotFound,
}

/// The mounted apps, longest prefix first.
pub struct Mounts<T> {
    routes: Vec<(Box<[u8]>, T)>,
    manage_script_name: bool,
}

impl<T> Mounts<T> {
    /// A table of `(prefix, app)`; prefixes are normalised (no trailing `/`, root = `""`).
    pub fn new(apps: Vec<(String, T)>, manage_script_name: bool) -> Mounts<T> {
        let mut routes: Vec<(Box<[u8]>, T)> = apps
            .into_iter()
            .map(|(prefix, app)| (prefix.trim_end_matches('/').as_bytes().into(), app))
            .collect();
        routes.sort_by_key(|(prefix, _)| std::cmp::Reverse(prefix.len()));
        Mounts {
            routes,
            manage_script_name,
        }
    }

    /// The apps, longest prefix first.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &T)> {
        self.routes.iter().map(|(prefix, app)| (&prefix[..], app))
    }

    /// The app for `request`.
    pub fn route(&self, request: &Request<'_>) -> Route<'_, T> {
        if let [(prefix, app)] = &self.routes[..] {
            if prefix.is_empty() {
                return Route::Serve { app, split: None };
            }
        }
        let vars = request.vars.as_slice();
        if self.manage_script_name {
            let path = match var(vars, b"PATH_INFO") {
                Some(path) => path.into(),
                None => path_info::decode(request.path.as_slice()),
            };
            return match self.by_path(&path) {
                Some((&[], app)) => Route::Serve { app, split: None },
                Some((prefix, app)) => Route::Serve {
                    app,
                    split: Some(Split {
                        script_name: prefix,
                        path_info: path[prefix.len()..].to_vec(),
                    }),
                },
                None => Route::NotFound,
            };
        }
        let script_name = var(vars, b"SCRIPT_NAME").unwrap_or_default();
        let wanted = trim_trailing_slashes(script_name);
        let exact = self.routes.iter().find(|(p, _)| &p[..] == wanted);
        match exact.or_else(|| self.routes.iter().find(|(p, _)| p.is_empty())) {
            Some((_, app)) => Route::Serve { app, split: None },
            None => Route::NotFound,
        }
    }

    /// The app with the longest prefix of `path` that ends on a segment boundary.
    fn by_path(&self, path: &[u8]) -> Option<(&[u8], &T)> {
        self.routes
            .iter()
            .find(|(prefix, _)| {
                path.starts_with(prefix)
                    && (path.len() == prefix.len() || path[prefix.len()] == b'/')
            })
            .map(|(prefix, app)| (&prefix[..], app))
    }
}

fn var<'r>(vars: &[Header<'r>], name: &[u8]) -> Option<&'r [u8]> {
    vars.iter()
        .find(|v| v.name.as_slice() == name)
        .map(|v| v.value.as_slice())
}

fn trim_trailing_slashes(mut s: &[u8]) -> &[u8] {
    while let [rest @ .., b'/'] = s {
        s = rest;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::RequestSpec;
    use rsgi_plugin_api::NameStyle;

    fn mounts(manage: bool) -> Mounts<&'static str> {
        Mounts::new(
            vec![
                ("".into(), "root"),
                ("/api".into(), "api"),
                ("/api/v2/".into(), "v2"),
            ],
            manage,
        )
    }

    fn route(m: &Mounts<&'static str>, spec: RequestSpec) -> (String, Option<(String, String)>) {
        spec.with_request(|r| match m.route(r) {
            Route::Serve { app, split } => (
                app.to_string(),
                split.map(|s| {
                    (
                        String::from_utf8(s.script_name.to_vec()).unwrap(),
                        String::from_utf8(s.path_info).unwrap(),
                    )
                }),
            ),
            Route::NotFound => ("404".into(), None),
        })
    }

    fn split(script: &str, path: &str) -> Option<(String, String)> {
        Some((script.into(), path.into()))
    }

    #[test]
    fn the_longest_prefix_on_a_segment_boundary_wins() {
        let m = mounts(true);
        let cases = [
            ("/api/v2/users?x=1", "v2", split("/api/v2", "/users")),
            ("/api/v2", "v2", split("/api/v2", "")),
            ("/api/v1/users", "api", split("/api", "/v1/users")),
            ("/api", "api", split("/api", "")),
            ("/apis", "root", None),
            ("/", "root", None),
        ];
        for (uri, app, expected) in cases {
            assert_eq!(
                route(&m, RequestSpec::get(uri)),
                (app.into(), expected),
                "{uri}"
            );
        }
    }

    #[test]
    fn prefixes_match_the_decoded_path() {
        let m = mounts(true);
        assert_eq!(
            route(&m, RequestSpec::get("/%61pi/a%20b")),
            ("api".into(), split("/api", "/a b"))
        );
    }

    #[test]
    fn a_front_servers_path_info_is_what_is_split() {
        let m = mounts(true);
        let spec = RequestSpec::get("/ignored")
            .names(NameStyle::Cgi)
            .var("PATH_INFO", "/api/v2/x");
        assert_eq!(route(&m, spec), ("v2".into(), split("/api/v2", "/x")));
    }

    #[test]
    fn without_a_match_or_a_root_app_it_is_not_found() {
        let m = Mounts::new(vec![("/a".into(), "a")], true);
        assert_eq!(route(&m, RequestSpec::get("/b")).0, "404");
        let m = Mounts::new(vec![("/a".into(), "a")], false);
        assert_eq!(route(&m, RequestSpec::get("/a/x")).0, "404");
    }

    #[test]
    fn without_manage_script_name_the_front_servers_script_name_picks() {
        let m = mounts(false);
        assert_eq!(route(&m, RequestSpec::get("/api/x")), ("root".into(), None));
        let spec = RequestSpec::get("/x").var("SCRIPT_NAME", "/api/");
        assert_eq!(route(&m, spec), ("api".into(), None));
        let spec = RequestSpec::get("/x").var("SCRIPT_NAME", "/other");
        assert_eq!(route(&m, spec), ("root".into(), None));
    }

    #[test]
    fn one_root_app_serves_everything_unsplit() {
        let m = Mounts::new(vec![("".into(), "only")], true);
        assert_eq!(
            route(&m, RequestSpec::get("/any/path")),
            ("only".into(), None)
        );
    }
}
