//! Python exceptions in the log, formatted the way Python prints them.

use pyo3::intern;
use pyo3::prelude::*;

/// The full traceback of `err` (`traceback.format_exception`), without a trailing newline.
pub fn format(py: Python<'_>, err: &PyErr) -> String {
    let formatted = py
        .import(intern!(py, "traceback"))
        .and_then(|tb| {
            tb.call_method1(
                intern!(py, "format_exception"),
                (err.get_type(py), err.value(py), err.traceback(py)),
            )
        })
        .and_then(|lines| lines.extract::<Vec<String>>());
    match formatted {
        Ok(lines) => lines.concat().trim_end().to_owned(),
        Err(_) => err.to_string(),
    }
}

/// Logs `context` and the traceback of `err` as one error event.
pub fn log(py: Python<'_>, err: &PyErr, context: &str) {
    tracing::error!("{context}\n{}", format(py, err));
}

/// `TypeName: message`, or just the message for import errors (which name the module).
pub fn summary(py: Python<'_>, err: &PyErr) -> String {
    if err.is_instance_of::<pyo3::exceptions::PyImportError>(py) {
        let message = err.value(py).to_string();
        if !message.is_empty() {
            return message;
        }
    }
    err.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::python;

    #[test]
    fn formats_the_whole_traceback() {
        python(|py| {
            let err = py
                .run(
                    c"def inner():\n    raise ValueError('deep')\ninner()\n",
                    None,
                    None,
                )
                .unwrap_err();
            let text = format(py, &err);
            assert!(
                text.starts_with("Traceback (most recent call last):"),
                "{text}"
            );
            assert!(text.contains("in inner"), "{text}");
            assert!(text.ends_with("ValueError: deep"), "{text}");
        });
    }

    #[test]
    fn import_errors_are_summarised_by_their_message() {
        python(|py| {
            let err = py.import("no_such_module_here").unwrap_err();
            assert_eq!(summary(py, &err), "No module named 'no_such_module_here'");
            let err = py.run(c"1/0", None, None).unwrap_err();
            assert_eq!(summary(py, &err), "ZeroDivisionError: division by zero");
        });
    }
}
