//! App factories: the WSGI app is what a function returns.
//!
//! Two spellings, as the servers people come from write them: gunicorn's call in the
//! callable's place, `--module app:create_app()`, with literal arguments allowed
//! (`create_app("prod", debug=False)`, read as gunicorn reads them: Python's `ast`, each
//! argument through `ast.literal_eval`); and granian's and uvicorn's `--factory` flag,
//! `--module app:create_app --factory`, which calls it with none.
//!
//! A factory that raises, or returns something that is not callable, is an app that did
//! not load: one line saying so (the traceback logged apart), as for an import error.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::error::Error;
use crate::traceback;

/// Splits a callable spec into its attribute path and, for a call, the argument list
/// with its parentheses: `"create_app"` → `("create_app", None)`,
/// `"create_app('x')"` → `("create_app", Some("('x')"))`. The path must be a dotted
/// name and a call must end with `)`.
pub fn split(spec: &str) -> Result<(&str, Option<&str>), String> {
    let spec = spec.trim();
    let (path, args) = match spec.find('(') {
        Some(open) => (spec[..open].trim_end(), Some(&spec[open..])),
        None => (spec, None),
    };
    let is_name = |part: &str| {
        part.chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_')
            && part.chars().all(|c| c.is_alphanumeric() || c == '_')
    };
    if !path.split('.').all(is_name) {
        return Err(format!(
            "'{spec}' is not a callable's name or a call of one (e.g. create_app or create_app(\"prod\"))"
        ));
    }
    if let Some(args) = args {
        if !args.ends_with(')') {
            return Err(format!(
                "'{spec}': the call's arguments do not end with ')'"
            ));
        }
    }
    Ok((path, args))
}

/// Calls `factory` with the literal arguments `args` (`"(...)"`; `None`: no arguments)
/// and returns the app it made. `label` names it in errors (`app:create_app()`).
pub fn call<'py>(
    factory: &Bound<'py, PyAny>,
    args: Option<&str>,
    label: &str,
) -> Result<Bound<'py, PyAny>, Error> {
    let py = factory.py();
    let (positional, keywords) = match args {
        None => (PyTuple::empty(py), None),
        Some(text) => literal_args(py, text).map_err(|why| {
            Error::AppLoad(format!("cannot call the app factory '{label}': {why}"))
        })?,
    };
    let app = factory.call(positional, keywords.as_ref()).map_err(|err| {
        let message = format!(
            "the app factory '{label}' raised {}",
            traceback::summary(py, &err)
        );
        traceback::log(py, &err, &message);
        Error::AppLoad(message)
    })?;
    if !app.is_callable() {
        let kind = app
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_default();
        return Err(Error::AppLoad(format!(
            "the app factory '{label}' returned a {kind}, not a WSGI callable"
        )));
    }
    Ok(app)
}

type Arguments<'py> = (Bound<'py, PyTuple>, Option<Bound<'py, PyDict>>);

/// The positional and keyword arguments written in `text` (`("prod", debug=False)`),
/// each a Python literal; why not, when they are something else.
fn literal_args<'py>(py: Python<'py>, text: &str) -> Result<Arguments<'py>, String> {
    let not_literals = || {
        format!(
            "the arguments {text} must be literals (strings, numbers, True, False, None, tuples, lists, dicts)"
        )
    };
    let ast = py.import(intern!(py, "ast")).map_err(|e| e.to_string())?;
    // `f(...)` parses as a call of `f` exactly when `text` is one argument list.
    let tree = ast
        .call_method1(
            intern!(py, "parse"),
            (format!("f{text}"), "<factory>", "eval"),
        )
        .and_then(|t| t.getattr(intern!(py, "body")))
        .map_err(|_| format!("{text} is not an argument list"))?;
    let is_call_of_f =
        (|| -> PyResult<bool> {
            let call = ast.getattr(intern!(py, "Call"))?;
            let name = ast.getattr(intern!(py, "Name"))?;
            if !tree.is_instance(&call)? {
                return Ok(false);
            }
            let func = tree.getattr(intern!(py, "func"))?;
            Ok(func.is_instance(&name)?
                && func.getattr(intern!(py, "id"))?.extract::<String>()? == "f")
        })()
        .unwrap_or(false);
    if !is_call_of_f {
        return Err(format!("{text} is not an argument list"));
    }
    let literal = |node: Bound<'py, PyAny>| {
        ast.call_method1(intern!(py, "literal_eval"), (node,))
            .map_err(|_| not_literals())
    };
    let mut positional = Vec::new();
    for node in tree
        .getattr(intern!(py, "args"))
        .and_then(|a| a.try_iter())
        .map_err(|e| e.to_string())?
    {
        positional.push(literal(node.map_err(|e| e.to_string())?)?);
    }
    let keywords = PyDict::new(py);
    for node in tree
        .getattr(intern!(py, "keywords"))
        .and_then(|k| k.try_iter())
        .map_err(|e| e.to_string())?
    {
        let node = node.map_err(|e| e.to_string())?;
        let name = node
            .getattr(intern!(py, "arg"))
            .map_err(|e| e.to_string())?;
        if name.is_none() {
            return Err(not_literals());
        }
        let value = literal(
            node.getattr(intern!(py, "value"))
                .map_err(|e| e.to_string())?,
        )?;
        keywords.set_item(name, value).map_err(|e| e.to_string())?;
    }
    let positional = PyTuple::new(py, positional).map_err(|e| e.to_string())?;
    Ok((positional, (!keywords.is_empty()).then_some(keywords)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::python;

    #[test]
    fn split_takes_a_name_or_a_call_of_one() {
        assert_eq!(split("create_app"), Ok(("create_app", None)));
        assert_eq!(split("NS.make"), Ok(("NS.make", None)));
        assert_eq!(split("create_app()"), Ok(("create_app", Some("()"))));
        assert_eq!(
            split(" make ('a:b', debug=True) "),
            Ok(("make", Some("('a:b', debug=True)")))
        );
        for bad in ["", "1app", "a-b", "make(", "(x)", "make()x"] {
            assert!(split(bad).is_err(), "{bad}");
        }
    }

    /// Calls a class through [`call`] with the argument list `text`: its instances are
    /// callable, and keep `repr((args, kwargs))` as `r`.
    fn call_text(text: &str) -> Result<String, String> {
        python(|py| {
            let locals = PyDict::new(py);
            py.run(
                c"class App:\n    def __init__(self, *a, **k):\n        self.r = repr((a, k))\n    def __call__(self, e, s):\n        pass\n",
                None,
                Some(&locals),
            )
            .unwrap();
            let make = locals.get_item("App").unwrap().unwrap();
            match call(&make, Some(text), "m:make") {
                Ok(app) => Ok(app.getattr("r").unwrap().extract::<String>().unwrap()),
                Err(Error::AppLoad(m)) => Err(m),
                Err(other) => panic!("{other}"),
            }
        })
    }

    #[test]
    fn literal_positional_and_keyword_arguments_are_passed() {
        assert_eq!(call_text("()").unwrap(), "((), {})");
        assert_eq!(
            call_text("('prod', 2, debug=False, opts={'a': [1]})").unwrap(),
            "(('prod', 2), {'debug': False, 'opts': {'a': [1]}})"
        );
    }

    #[test]
    fn arguments_that_are_not_literals_are_refused_by_name() {
        for text in ["(os.environ)", "(*[1])", "(**{'a': 1})", "(x=y)"] {
            let err = call_text(text).unwrap_err();
            assert!(
                err.starts_with("cannot call the app factory 'm:make': the arguments"),
                "{text}: {err}"
            );
        }
        for text in ["(1", "() + 1", "()()"] {
            let err = call_text(text).unwrap_err();
            assert!(err.ends_with("is not an argument list"), "{text}: {err}");
        }
    }
}
