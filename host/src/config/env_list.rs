//! How one `RSGI_<NAME>` variable holds the entries of a list option.
//!
//! A value with a newline in it has one entry per line, commas and all: what a Kubernetes
//! manifest's `value: |` block gives, or `\n` in a systemd `Environment=` line (a value of
//! one entry ends with a newline). A value without a newline is split on commas
//! (`RSGI_PLUGIN=python,uwsgi`), and `\,` there is a comma inside an entry
//! (`RSGI_ADD_HEADER='Cache-Control: no-cache\, no-store'`); any other backslash is kept
//! as it is. Entries are trimmed, and empty ones are dropped.

/// The entries of one list variable.
pub fn split(raw: &str) -> Vec<String> {
    let entries: Vec<String> = if raw.contains('\n') {
        raw.split('\n').map(str::to_string).collect()
    } else {
        split_commas(raw)
    };
    entries
        .into_iter()
        .map(|e| e.trim().to_string())
        .filter(|e| !e.is_empty())
        .collect()
}

/// Splits on commas not preceded by a backslash; `\,` becomes `,`.
fn split_commas(raw: &str) -> Vec<String> {
    let mut entries = vec![String::new()];
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        let current = entries.last_mut().expect("never empty");
        match c {
            '\\' if chars.peek() == Some(&',') => {
                current.push(',');
                chars.next();
            }
            ',' => entries.push(String::new()),
            c => current.push(c),
        }
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commas_separate_entries_as_before() {
        assert_eq!(split("python,uwsgi"), ["python", "uwsgi"]);
        assert_eq!(split(" a:1 , b:2 ,, "), ["a:1", "b:2"]);
        assert!(split("").is_empty());
    }

    #[test]
    fn an_escaped_comma_stays_in_its_entry_and_other_backslashes_are_kept() {
        assert_eq!(
            split(r"Cache-Control: no-cache\, no-store,X-Frame-Options: DENY"),
            ["Cache-Control: no-cache, no-store", "X-Frame-Options: DENY"]
        );
        assert_eq!(split(r"\.css$ 3600,a\\b"), [r"\.css$ 3600", r"a\\b"]);
    }

    #[test]
    fn a_value_with_a_newline_has_one_entry_per_line() {
        assert_eq!(
            split("Cache-Control: no-cache, no-store\nX-Frame-Options: DENY\n"),
            ["Cache-Control: no-cache, no-store", "X-Frame-Options: DENY"]
        );
        // One entry with a comma: a trailing newline says "lines".
        assert_eq!(
            split("cmd=sleep 60,pidfile=/run/x.pid\n"),
            ["cmd=sleep 60,pidfile=/run/x.pid"]
        );
        assert_eq!(split("A=1\r\n\r\nB=2,3\r\n"), ["A=1", "B=2,3"]);
    }
}
