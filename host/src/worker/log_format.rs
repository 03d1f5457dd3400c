//! `--log-format FORMAT`: the request log line spelled with uWSGI's `log-format`
//! placeholders, for log pipelines that expect a given shape (Apache's combined format,
//! one JSON object per line, ...). FORMAT is parsed once, at start; an unknown placeholder
//! is a usage error naming it. The line is FORMAT with each placeholder replaced, and
//! nothing else (no time or level in front).
//!
//! | placeholder | value |
//! |---|---|
//! | `%(addr)` | the client: nginx's `REMOTE_ADDR` behind the uwsgi protocol, else the peer |
//! | `%(user)` | `REMOTE_USER` (`-` when absent) |
//! | `%(method)`, `%(uri)`, `%(proto)` | the request line's parts |
//! | `%(status)`, `%(size)` | the status sent, the body bytes sent |
//! | `%(msecs)`, `%(micros)` | how long the request took |
//! | `%(ltime)` | its end, `24/Nov/2026:04:02:32 +0000` (UTC) |
//! | `%(time)`, `%(epoch)` | its end, seconds since 1970 |
//! | `%(iso)` | its end, `2026-11-24T04:02:32.123456Z` (rsgi's own) |
//! | `%(host)`, `%(referer)`, `%(uagent)` | the `Host`, `Referer`, `User-Agent` headers (`-`) |
//! | `%(var.NAME)` | a request variable by its CGI name (`HTTP_X_FORWARDED_FOR`, `REMOTE_PORT`, ...; `-`) |
//! | `%(pid)`, `%(wid)` | the worker's process id, its worker number |
//! | `%(secs)` | how long the request took, in seconds (`0.000214`) |
//! | `%(tmsecs)`, `%(tmicros)` | its start, milliseconds / microseconds since 1970 |
//! | `%(ctime)` | its start, `Tue Nov 24 01:44:18 2026` (UTC) |
//! | `%(cl)` | the request body's `Content-Length` (0 without one) |
//! | `%(vars)` | how many variables and headers the request had |
//! | `%(rss)`, `%(vsz)`, `%(rssM)`, `%(vszM)` | the worker's memory, bytes / MiB (read per line) |
//!
//! Values that come from the request are escaped as in the default line (bytes outside
//! printable ASCII as `\xNN`, quotes and backslashes with a backslash), so no request can
//! forge a line or break a JSON format's quoting.

use std::io::Write;

use rsgi_plugin_api::{Header, NameStyle};

use super::log_entry::Entry;

/// A parsed `--log-format`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFormat {
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Addr,
    User,
    Method,
    Uri,
    Proto,
    Status,
    Size,
    Msecs,
    Micros,
    Ltime,
    Epoch,
    Iso,
    Header(&'static str, &'static str),
    Var(String),
    Pid,
    Wid,
    Secs,
    StartMillis,
    StartMicros,
    Ctime,
    ContentLength,
    Vars,
    /// Resident (true) or virtual memory, in MiB (true) or bytes.
    Memory {
        resident: bool,
        mib: bool,
    },
}

impl LogFormat {
    /// Parses FORMAT; the error names the placeholder that is not known.
    pub fn parse(format: &str) -> Result<LogFormat, String> {
        let mut pieces = Vec::new();
        let mut rest = format;
        while let Some(at) = rest.find("%(") {
            if at > 0 {
                pieces.push(Piece::Text(rest[..at].to_string()));
            }
            let after = &rest[at + 2..];
            let end = after
                .find(')')
                .ok_or_else(|| format!("--log-format: '%(' without ')' in {format:?}"))?;
            let name = &after[..end];
            pieces.push(match name {
                "addr" => Piece::Addr,
                "user" => Piece::User,
                "method" => Piece::Method,
                "uri" => Piece::Uri,
                "proto" => Piece::Proto,
                "status" => Piece::Status,
                "size" => Piece::Size,
                "msecs" => Piece::Msecs,
                "micros" => Piece::Micros,
                "ltime" => Piece::Ltime,
                "time" | "epoch" => Piece::Epoch,
                "iso" => Piece::Iso,
                "host" => Piece::Header("host", "HTTP_HOST"),
                "referer" => Piece::Header("referer", "HTTP_REFERER"),
                "uagent" => Piece::Header("user-agent", "HTTP_USER_AGENT"),
                "pid" => Piece::Pid,
                "wid" => Piece::Wid,
                "secs" => Piece::Secs,
                "tmsecs" => Piece::StartMillis,
                "tmicros" => Piece::StartMicros,
                "ctime" => Piece::Ctime,
                "cl" => Piece::ContentLength,
                "vars" => Piece::Vars,
                "rss" => Piece::Memory { resident: true, mib: false },
                "vsz" => Piece::Memory { resident: false, mib: false },
                "rssM" => Piece::Memory { resident: true, mib: true },
                "vszM" => Piece::Memory { resident: false, mib: true },
                var if var.starts_with("var.") && var.len() > 4 => Piece::Var(var[4..].to_string()),
                other => {
                    return Err(format!(
                        "--log-format: unknown placeholder %({other}) (known: addr, user, method, uri, proto, status, size, msecs, micros, secs, ltime, ctime, time, epoch, tmsecs, tmicros, iso, host, referer, uagent, var.NAME, cl, vars, pid, wid, rss, vsz, rssM, vszM)"
                    ))
                }
            });
            rest = &after[end + 1..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_string()));
        }
        Ok(LogFormat { pieces })
    }

    /// Appends the line for `entry`, with its newline.
    pub fn write(&self, entry: &Entry<'_>, forwarded_for: bool, out: &mut Vec<u8>) {
        let micros = entry.now_us.saturating_sub(entry.started_us);
        // Writing to a Vec cannot fail.
        for piece in &self.pieces {
            let _ = match piece {
                Piece::Text(text) => out.write_all(text.as_bytes()),
                Piece::Addr => write!(out, "{}", entry.client(forwarded_for).escape_ascii()),
                Piece::User => escaped_or_dash(out, var(entry, "REMOTE_USER")),
                Piece::Method => escaped_or_dash(out, Some(entry.method).filter(|m| !m.is_empty())),
                Piece::Uri => {
                    escaped_or_dash(out, Some(entry.uri).filter(|_| !entry.method.is_empty()))
                }
                Piece::Proto => escaped_or_dash(
                    out,
                    Some(entry.protocol.as_bytes()).filter(|p| !p.is_empty()),
                ),
                Piece::Status => write!(out, "{}", entry.status),
                Piece::Size => write!(out, "{}", entry.bytes),
                Piece::Msecs => write!(out, "{}", micros / 1000),
                Piece::Micros => write!(out, "{micros}"),
                Piece::Ltime => {
                    super::log_time::apache(entry.now_us, out);
                    Ok(())
                }
                Piece::Epoch => write!(out, "{}", entry.now_us / 1_000_000),
                Piece::Iso => {
                    super::log_time::rfc3339(entry.now_us, out);
                    Ok(())
                }
                Piece::Header(http, cgi) => escaped_or_dash(out, header(entry, http, cgi)),
                Piece::Var(name) => escaped_or_dash(out, var(entry, name)),
                Piece::Pid => write!(out, "{}", std::process::id()),
                Piece::Wid => write!(out, "{}", entry.worker),
                Piece::Secs => write!(out, "{:.6}", micros as f64 / 1e6),
                Piece::StartMillis => write!(out, "{}", entry.started_us / 1000),
                Piece::StartMicros => write!(out, "{}", entry.started_us),
                Piece::Ctime => {
                    super::log_time::ctime(entry.started_us, out);
                    Ok(())
                }
                Piece::ContentLength => {
                    let length = var(entry, "CONTENT_LENGTH")
                        .or_else(|| header(entry, "content-length", "HTTP_CONTENT_LENGTH"))
                        .and_then(|v| std::str::from_utf8(v).ok()?.trim().parse::<u64>().ok());
                    write!(out, "{}", length.unwrap_or(0))
                }
                Piece::Vars => write!(out, "{}", entry.vars.len() + entry.headers.len()),
                Piece::Memory { resident, mib } => {
                    let bytes = own_memory(*resident);
                    write!(out, "{}", if *mib { bytes >> 20 } else { bytes })
                }
            };
        }
        out.push(b'\n');
    }
}

/// This process's resident or virtual memory in bytes, from `/proc/self/statm` (0 when
/// it cannot be read).
fn own_memory(resident: bool) -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(usize::from(resident))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as u64;
    pages * page
}

fn escaped_or_dash(out: &mut Vec<u8>, value: Option<&[u8]>) -> std::io::Result<()> {
    match value {
        Some(v) => write!(out, "{}", v.escape_ascii()),
        None => out.write_all(b"-"),
    }
}

fn find<'a>(list: &'a [Header<'a>], wanted: &[u8]) -> Option<&'a [u8]> {
    list.iter()
        .rev()
        .find(|h| h.name.as_slice().eq_ignore_ascii_case(wanted))
        .map(|h| h.value.as_slice())
}

/// A request header: by its HTTP name over HTTP, by its CGI name behind the uwsgi protocol.
fn header<'a>(entry: &'a Entry<'a>, http: &str, cgi: &str) -> Option<&'a [u8]> {
    match entry.names {
        NameStyle::Cgi => find(entry.headers, cgi.as_bytes()),
        _ => find(entry.headers, http.as_bytes()),
    }
}

/// A request variable by its CGI name: the protocol's variables, then the headers
/// (`HTTP_X_FOO` is the `X-Foo` header over HTTP).
fn var<'a>(entry: &'a Entry<'a>, name: &str) -> Option<&'a [u8]> {
    if let Some(v) = find(entry.vars, name.as_bytes()) {
        return Some(v);
    }
    let http_name = name.strip_prefix("HTTP_")?;
    match entry.names {
        NameStyle::Cgi => find(entry.headers, name.as_bytes()),
        _ => entry
            .headers
            .iter()
            .rev()
            .find(|h| {
                let n = h.name.as_slice();
                n.len() == http_name.len()
                    && n.iter()
                        .zip(http_name.bytes())
                        .all(|(&a, b)| a.to_ascii_uppercase() == if b == b'_' { b'-' } else { b })
            })
            .map(|h| h.value.as_slice()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use abi_stable::std_types::RSlice;

    fn h<'a>(name: &'a str, value: &'a str) -> Header<'a> {
        Header {
            name: RSlice::from_slice(name.as_bytes()),
            value: RSlice::from_slice(value.as_bytes()),
        }
    }

    fn line(format: &str, entry: &Entry<'_>) -> String {
        let mut out = Vec::new();
        LogFormat::parse(format)
            .unwrap()
            .write(entry, false, &mut out);
        String::from_utf8(out).unwrap()
    }

    fn entry<'a>(headers: &'a [Header<'a>], vars: &'a [Header<'a>], names: NameStyle) -> Entry<'a> {
        Entry {
            peer: "127.0.0.1",
            vars,
            headers,
            names,
            method: b"GET",
            uri: b"/a?b=\"c\"",
            protocol: "HTTP/1.1",
            status: 404,
            bytes: 9,
            started_us: 1_795_484_658_000_000,
            now_us: 1_795_484_658_413_589,
            worker: 3,
        }
    }

    #[test]
    fn the_combined_format_over_http() {
        let headers = [
            h("Host", "example.com"),
            h("User-Agent", "curl/8"),
            h("X-Forwarded-For", "10.1.1.1"),
        ];
        let e = entry(&headers, &[], NameStyle::Http);
        assert_eq!(
            line(
                "%(addr) - %(user) [%(ltime)] \"%(method) %(uri) %(proto)\" %(status) %(size) \"%(referer)\" \"%(uagent)\" %(msecs)ms %(var.HTTP_X_FORWARDED_FOR) w%(wid)",
                &e
            ),
            "127.0.0.1 - - [24/Nov/2026:01:44:18 +0000] \"GET /a?b=\\\"c\\\" HTTP/1.1\" 404 9 \"-\" \"curl/8\" 413ms 10.1.1.1 w3\n"
        );
    }

    #[test]
    fn behind_the_uwsgi_protocol_names_are_cgi_names() {
        let headers = [h("HTTP_HOST", "site"), h("HTTP_X_REAL_IP", "10.2.2.2")];
        let vars = [h("REMOTE_ADDR", "10.9.9.9"), h("REMOTE_USER", "ann")];
        let e = entry(&headers, &vars, NameStyle::Cgi);
        assert_eq!(
            line(
                "{\"client\": \"%(addr)\", \"user\": \"%(user)\", \"host\": \"%(host)\", \"ip\": \"%(var.HTTP_X_REAL_IP)\", \"t\": %(time), \"us\": %(micros), \"at\": \"%(iso)\"}",
                &e
            ),
            "{\"client\": \"10.9.9.9\", \"user\": \"ann\", \"host\": \"site\", \"ip\": \"10.2.2.2\", \"t\": 1795484658, \"us\": 413589, \"at\": \"2026-11-24T01:44:18.413589Z\"}\n"
        );
    }

    #[test]
    fn timing_size_and_memory_placeholders() {
        let headers = [h("Content-Length", "12"), h("Host", "h")];
        let e = entry(&headers, &[], NameStyle::Http);
        assert_eq!(
            line(
                "%(secs) %(tmsecs) %(tmicros) [%(ctime)] cl=%(cl) vars=%(vars)",
                &e
            ),
            "0.413589 1795484658000 1795484658000000 [Tue Nov 24 01:44:18 2026] cl=12 vars=2\n"
        );
        // Behind the uwsgi protocol the length is nginx's CONTENT_LENGTH; none is 0.
        let vars = [h("CONTENT_LENGTH", "7")];
        assert_eq!(line("%(cl)", &entry(&[], &vars, NameStyle::Cgi)), "7\n");
        assert_eq!(line("%(cl)", &entry(&[], &[], NameStyle::Cgi)), "0\n");
        // This test process's own memory: some MiB resident, more virtual.
        let memory = line("%(rss) %(vsz) %(rssM) %(vszM)", &e);
        let n: Vec<u64> = memory
            .split_whitespace()
            .map(|v| v.parse().unwrap())
            .collect();
        assert!(n[0] > 1 << 20 && n[1] >= n[0], "{memory}");
        // Read again for each placeholder: the same within what the test threads move.
        assert!(
            n[2].abs_diff(n[0] >> 20) <= 16 && n[3].abs_diff(n[1] >> 20) <= 64,
            "{memory}"
        );
    }

    #[test]
    fn unknown_or_unclosed_placeholders_are_refused_by_name() {
        let err = LogFormat::parse("%(addr) %(bogus)").unwrap_err();
        assert!(err.contains("%(bogus)"), "{err}");
        assert!(LogFormat::parse("%(addr")
            .unwrap_err()
            .contains("without ')'"));
        assert!(LogFormat::parse("%(var.)").is_err());
        assert_eq!(
            LogFormat::parse("100%").unwrap(),
            LogFormat {
                pieces: vec![Piece::Text("100%".into())]
            }
        );
    }

    #[test]
    fn a_request_refused_unread_has_dashes_for_its_line() {
        let mut e = entry(&[], &[], NameStyle::Http);
        e.method = b"";
        e.uri = b"";
        e.protocol = "";
        assert_eq!(
            line("%(method) %(uri) %(proto) %(status)", &e),
            "- - - 404\n"
        );
    }
}
