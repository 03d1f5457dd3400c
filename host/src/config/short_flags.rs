//! gunicorn's short flags `-b`, `-w` and `-t`, which clap is not told about: uWSGI gives
//! `-b` and `-w` other meanings (`--buffer-size`, `--module`), so the value decides: a
//! number is what it means to gunicorn for `-w` (workers) and to uWSGI for `-b` (a buffer
//! size); anything else the other one. No Python module name and no gunicorn address is a
//! bare number, so both command lines keep working. `-t` is `--harakiri` in both.

/// A short flag: its letter, the option it is when its value is a number, and otherwise.
struct Short {
    letter: char,
    number: &'static str,
    other: &'static str,
}

const SHORTS: [Short; 3] = [
    // gunicorn: -b 127.0.0.1:8000, -b unix:/run/app.sock; uWSGI: -b 32768.
    Short {
        letter: 'b',
        number: "buffer-size",
        other: "bind",
    },
    // gunicorn: -w 4; uWSGI: -w myproj.wsgi.
    Short {
        letter: 'w',
        number: "processes",
        other: "module",
    },
    // Seconds in both: gunicorn's timeout, uWSGI's harakiri.
    Short {
        letter: 't',
        number: "harakiri",
        other: "harakiri",
    },
];

/// What `rsgi --help` says about the short flags.
pub const SHORT_HELP: &str =
    "gunicorn's short flags: -b ADDR (--bind), -w N (--processes), -t SECONDS \
     (--harakiri); as in uWSGI, -b N is --buffer-size and -w MODULE is --module.";

/// `args` with `-b`, `-w` and `-t` (`-w 4` or `-w4`) written as the long options they
/// stand for. Nothing after `--` is touched, nor a lone flag without a value (clap then
/// names it).
pub fn expand_shorts(args: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut iter = args.iter().peekable();
    while let Some(arg) = iter.next() {
        if arg == "--" {
            out.push(arg.clone());
            out.extend(iter.cloned());
            break;
        }
        let mut chars = arg.chars();
        let short = match (chars.next(), chars.next()) {
            (Some('-'), Some(letter)) => SHORTS.iter().find(|s| s.letter == letter),
            _ => None,
        };
        let Some(short) = short else {
            out.push(arg.clone());
            continue;
        };
        let attached = &arg[2..];
        let value = if !attached.is_empty() {
            attached.to_string()
        } else if let Some(next) = iter.next() {
            next.clone()
        } else {
            out.push(arg.clone());
            continue;
        };
        let is_number = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
        let name = if is_number { short.number } else { short.other };
        out.push(format!("--{name}"));
        out.push(value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn short_w_is_workers_for_a_number_and_uwsgis_module_otherwise() {
        assert_eq!(
            expand_shorts(&args(&["rsgi", "-w", "4", "-w", "app:app", "-w8"])),
            args(&[
                "rsgi",
                "--processes",
                "4",
                "--module",
                "app:app",
                "--processes",
                "8"
            ])
        );
    }

    #[test]
    fn short_b_is_bind_for_an_address_and_uwsgis_buffer_size_for_a_number() {
        assert_eq!(
            expand_shorts(&args(&[
                "-b",
                "127.0.0.1:8000",
                "-bunix:/x.sock",
                "-b",
                "32768"
            ])),
            args(&[
                "--bind",
                "127.0.0.1:8000",
                "--bind",
                "unix:/x.sock",
                "--buffer-size",
                "32768"
            ])
        );
    }

    #[test]
    fn short_t_is_harakiri_and_other_arguments_are_left_alone() {
        assert_eq!(
            expand_shorts(&args(&[
                "-t",
                "30",
                "--cron",
                "-1 -1 -1 -1 -1 x",
                "-k",
                "gevent"
            ])),
            args(&[
                "--harakiri",
                "30",
                "--cron",
                "-1 -1 -1 -1 -1 x",
                "-k",
                "gevent"
            ])
        );
        // After `--`, and a flag without a value, stay as written.
        assert_eq!(
            expand_shorts(&args(&["--", "-w", "4"])),
            args(&["--", "-w", "4"])
        );
        assert_eq!(expand_shorts(&args(&["-w"])), args(&["-w"]));
    }
}
