//! This process's title as `ps` shows it, as uWSGI's `--auto-procname`, `--procname-prefix`,
//! `--procname-prefix-spaced` and `--procname-master` set it: `rsgi master`,
//! `rsgi worker 1`, ... behind an optional prefix.
//!
//! A title is set in two places: the thread name (`prctl(PR_SET_NAME)`, at most 15 bytes),
//! which `ps -e`, `top`, `pgrep` and `/proc/PID/comm` show; and the memory holding the
//! process's argument strings, which `ps aux`, `ps -ef` and `/proc/PID/cmdline` show.
//!
//! Overwriting the argument strings also changes what `std::env::args()` returns (it reads
//! them lazily): [`remember_args`] keeps the command line as started, and whatever needs
//! it later (a reload's re-exec) asks [`original_args`].

use std::ffi::CString;
use std::sync::OnceLock;

static ARGS: OnceLock<Vec<String>> = OnceLock::new();

const BOTH_PREFIXES: &str =
    "--procname-prefix and --procname-prefix-spaced both set the prefix: give one";

/// Remembers the command line as started (program name first). Call before any title is
/// set; later calls are ignored.
pub fn remember_args(args: &[String]) {
    let _ = ARGS.set(args.to_vec());
}

/// The command line rsgi was started with (program name first), even after a title has
/// overwritten the argument strings.
pub fn original_args() -> Vec<String> {
    match ARGS.get() {
        Some(args) => args.clone(),
        None => std::env::args().collect(),
    }
}

/// Which titles to set, from the options. The default sets none.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProcNames {
    /// Put before every title, verbatim.
    prefix: String,
    /// The master's title (before the prefix); `None`: the master keeps its command line.
    master: Option<String>,
    /// Whether workers get `rsgi worker N`.
    workers: bool,
}

impl ProcNames {
    /// From `--auto-procname`, `--procname-prefix`, `--procname-prefix-spaced` (the prefix
    /// and a space) and `--procname-master`. The first three title the master and the
    /// workers; `--procname-master` alone titles only the master, as in uWSGI.
    pub fn from_options(
        auto: bool,
        prefix: Option<&str>,
        prefix_spaced: Option<&str>,
        master: Option<&str>,
    ) -> Result<ProcNames, String> {
        let prefix = match (prefix, prefix_spaced) {
            (Some(_), Some(_)) => return Err(BOTH_PREFIXES.into()),
            (Some(p), None) => Some(p.to_string()),
            (None, Some(p)) => Some(format!("{p} ")),
            (None, None) => None,
        };
        let all = auto || prefix.is_some();
        Ok(ProcNames {
            prefix: prefix.unwrap_or_default(),
            master: master
                .map(str::to_string)
                .or_else(|| all.then(|| "rsgi master".to_string())),
            workers: all,
        })
    }

    /// The master's title, if it gets one.
    pub fn master_title(&self) -> Option<String> {
        self.master.as_ref().map(|m| format!("{}{m}", self.prefix))
    }

    /// Worker `id`'s title (`rsgi worker 1`), if workers get one.
    pub fn worker_title(&self, id: u32) -> Option<String> {
        self.workers
            .then(|| format!("{}rsgi worker {id}", self.prefix))
    }
}

/// The longest prefix of `s` that fits in `max` bytes without splitting a character.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Sets this process's title. Call from the main thread (the thread name is per thread;
/// the main thread's is the process's) and only after [`remember_args`]. Best effort: a
/// title that cannot be set is logged at debug level and the process carries on.
pub fn set(title: &str) {
    // A NUL would end the title early in both places anyway.
    let title = title.split('\0').next().unwrap_or_default();
    let comm = CString::new(truncate(title, 15)).expect("no NUL left in the title");
    if let Err(e) = nix::sys::prctl::set_name(&comm) {
        tracing::debug!("cannot set the thread name to {comm:?}: {e}");
    }
    let stat = match std::fs::read_to_string("/proc/self/stat") {
        Ok(stat) => stat,
        Err(e) => {
            tracing::debug!("cannot read /proc/self/stat to set the process title: {e}");
            return;
        }
    };
    match arg_area(&stat) {
        Some((start, end)) => {
            let text = truncate(title, end - start - 1);
            overwrite_arg_area(start, end, text.as_bytes());
        }
        None => tracing::debug!("no argument area in /proc/self/stat: process title not set"),
    }
}

/// `arg_start` and `arg_end` (fields 48 and 49) of a `/proc/PID/stat` line, if there is a
/// non-empty area. The fields are counted from the last `)`: the command name in
/// parentheses before it may contain spaces and parentheses.
fn arg_area(stat: &str) -> Option<(usize, usize)> {
    let (_, rest) = stat.rsplit_once(')')?;
    // `rest` starts with field 3 (state).
    let mut fields = rest.split_ascii_whitespace().skip(48 - 3);
    let start: usize = fields.next()?.parse().ok()?;
    let end: usize = fields.next()?.parse().ok()?;
    (start != 0 && end > start).then_some((start, end))
}

/// Writes `title` at the start of the argument area `[start, end)` and NUL bytes over the
/// rest of it; `title` must be shorter than the area.
fn overwrite_arg_area(start: usize, end: usize, title: &[u8]) {
    assert!(
        title.len() < end - start,
        "the title must leave room for a NUL"
    );
    // SAFETY: `[start, end)` is this process's argument area as the kernel reports it for
    // this very process: the argv strings the kernel copied onto the initial stack at
    // exec, mapped readable and writable for the whole life of the process and never
    // freed. Nothing holds a Rust reference into it; its only reader is
    // `std::env::args()` (through raw C pointers), which rsgi no longer calls once the
    // arguments are remembered, and the caller is the main thread. The writes stay
    // within the area: `title.len() < end - start` (asserted above).
    unsafe {
        let area = start as *mut u8;
        std::ptr::copy_nonoverlapping(title.as_ptr(), area, title.len());
        std::ptr::write_bytes(area.add(title.len()), 0, end - start - title.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A /proc/PID/stat line for a process named `comm`, with arg_start 1000, arg_end 1100.
    fn stat_line(comm: &str) -> String {
        // Fields 3..=47, then 48 (arg_start), 49 (arg_end), 50..=52.
        let mut fields: Vec<String> = (3..=47).map(|n| n.to_string()).collect();
        fields[0] = "S".into();
        fields.extend(["1000", "1100", "1100", "1200", "0"].map(String::from));
        format!("4242 ({comm}) {}\n", fields.join(" "))
    }

    /// Input: a stat line whose command name has spaces and `)` in it. Answer: fields 48
    /// and 49 counted after the last `)`.
    #[test]
    fn arg_area_is_read_after_the_last_parenthesis() {
        assert_eq!(arg_area(&stat_line("rsgi")), Some((1000, 1100)));
        assert_eq!(arg_area(&stat_line("a) b (c) 1 2 3")), Some((1000, 1100)));
    }

    /// Input: stat lines without the fields, with zeros (no access), or cut short. Answer:
    /// no area.
    #[test]
    fn arg_area_missing_or_empty_is_none() {
        assert_eq!(arg_area("4242 (rsgi) S 1 2 3"), None);
        assert_eq!(
            arg_area(&stat_line("x").replace(" 1000 1100 ", " 0 0 ")),
            None
        );
        assert_eq!(arg_area("no parenthesis at all"), None);
    }

    /// Input: this test process's own /proc/self/stat. Answer: an area whose length is
    /// that of /proc/self/cmdline (argument strings with their NULs).
    #[test]
    fn arg_area_of_this_process_matches_its_cmdline() {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
        let cmdline = std::fs::read("/proc/self/cmdline").unwrap();
        let (start, end) = arg_area(&stat).unwrap();
        assert_eq!(end - start, cmdline.len());
    }

    /// Input: no option. Answer: no title for the master or a worker.
    #[test]
    fn no_option_sets_no_title() {
        let names = ProcNames::from_options(false, None, None, None).unwrap();
        assert_eq!(names, ProcNames::default());
        assert_eq!(names.master_title(), None);
        assert_eq!(names.worker_title(1), None);
    }

    /// Input: `--auto-procname`. Answer: `rsgi master`, `rsgi worker N`.
    #[test]
    fn auto_procname_titles_master_and_workers() {
        let names = ProcNames::from_options(true, None, None, None).unwrap();
        assert_eq!(names.master_title().as_deref(), Some("rsgi master"));
        assert_eq!(names.worker_title(1).as_deref(), Some("rsgi worker 1"));
        assert_eq!(names.worker_title(12).as_deref(), Some("rsgi worker 12"));
    }

    /// Input: `--procname-prefix 'myapp '` or `--procname-prefix-spaced myapp`, without
    /// `--auto-procname`. Answer: `myapp rsgi master`, `myapp rsgi worker 2` both ways.
    #[test]
    fn a_prefix_alone_titles_everything_behind_it() {
        for names in [
            ProcNames::from_options(false, Some("myapp "), None, None).unwrap(),
            ProcNames::from_options(true, None, Some("myapp"), None).unwrap(),
        ] {
            assert_eq!(names.master_title().as_deref(), Some("myapp rsgi master"));
            assert_eq!(
                names.worker_title(2).as_deref(),
                Some("myapp rsgi worker 2")
            );
        }
        let verbatim = ProcNames::from_options(false, Some("x-"), None, None).unwrap();
        assert_eq!(verbatim.worker_title(1).as_deref(), Some("x-rsgi worker 1"));
    }

    /// Input: `--procname-master NAME`, with and without a prefix. Answer: NAME (behind the
    /// prefix) for the master; workers titled only when another option asks.
    #[test]
    fn procname_master_replaces_the_masters_title() {
        let alone = ProcNames::from_options(false, None, None, Some("site master")).unwrap();
        assert_eq!(alone.master_title().as_deref(), Some("site master"));
        assert_eq!(alone.worker_title(1), None);
        let prefixed = ProcNames::from_options(false, None, Some("app"), Some("boss")).unwrap();
        assert_eq!(prefixed.master_title().as_deref(), Some("app boss"));
        assert_eq!(
            prefixed.worker_title(1).as_deref(),
            Some("app rsgi worker 1")
        );
    }

    /// Input: both prefix options. Answer: an error naming both.
    #[test]
    fn both_prefix_options_are_refused() {
        let err = ProcNames::from_options(false, Some("a"), Some("b"), None).unwrap_err();
        assert!(err.contains("--procname-prefix-spaced"), "{err}");
    }

    /// Input: titles longer than the limit, ASCII and with a two-byte character across it.
    /// Answer: cut at the limit, or before the character.
    #[test]
    fn truncation_keeps_whole_characters() {
        assert_eq!(truncate("myapp rsgi worker 1", 15), "myapp rsgi work");
        assert_eq!(truncate("short", 15), "short");
        assert_eq!(truncate("abcdefghijklmné", 15), "abcdefghijklmn");
    }
}
