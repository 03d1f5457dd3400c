//! The plugin ABI is frozen within a series (`0.N` before 1.0, `N` after): every type a
//! host and a plugin exchange keeps its layout, so a host of the series loads every plugin
//! built against any release of it, older or newer. (abi_stable refuses even an appended
//! field in one direction: a host with more prefix fields than an older plugin was
//! measured to fail with "too many fields".)
//!
//! This test walks every type reachable from [`PluginModRef`] (fields, function pointer
//! parameters and returns) and compares abi_stable's description of each, versions and
//! line numbers left out, with the series' frozen copy in `abi/<series>.txt`. A change
//! means a new series: bump `rsgi-plugin-api`'s version (0.1.x → 0.2.0), then write
//! `abi/0.2.txt` with `RSGI_FREEZE_ABI=1 cargo test -p rsgi-plugin-api --test abi_frozen`.
//! Hosts of the new series then refuse plugins of the old one with one line naming both
//! versions (tested end to end with a plugin of another series).

use std::collections::{BTreeSet, HashSet};
use std::path::PathBuf;

use abi_stable::type_layout::TypeLayout;
use abi_stable::StableAbi;
use rsgi_plugin_api::{PluginModRef, ABI_VERSION};

/// The series of `version`: `0.N` for 0.x, else the major version.
fn series(version: &str) -> String {
    let mut parts = version.split('.');
    match (parts.next(), parts.next()) {
        (Some("0"), Some(minor)) => format!("0.{minor}"),
        (Some(major), _) => major.to_owned(),
        _ => panic!("not a version: {version}"),
    }
}

/// abi_stable's description of one type without what may change within a series: the
/// package versions and the line numbers of the definitions.
fn describe(layout: &TypeLayout) -> String {
    layout
        .to_string()
        .lines()
        .map(|line| {
            let line = match line.find(" version:'") {
                Some(at) => {
                    let rest = &line[at + " version:'".len()..];
                    let end = rest.find('\'').map_or(rest.len(), |e| e + 1);
                    format!("{}{}", &line[..at], &rest[end..])
                }
                None => line.to_owned(),
            };
            match line.trim_start().strip_prefix("line:") {
                Some(rest) => rest
                    .split_once(' ')
                    .map_or(String::new(), |(_, r)| r.to_owned()),
                None => line,
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every type reachable from `root`, described, in a stable order.
fn describe_all(root: &'static TypeLayout) -> String {
    let mut seen = HashSet::new();
    let mut described = BTreeSet::new();
    let mut stack = vec![root];
    while let Some(layout) = stack.pop() {
        if !seen.insert(layout.get_utypeid()) {
            continue;
        }
        described.insert(describe(layout));
        let fields = layout.get_fields().into_iter().flatten();
        for field in fields.chain(layout.phantom_fields()) {
            stack.push(field.layout());
            for function in field.function_range().iter() {
                stack.extend(function.param_type_layouts.iter().map(|layout| layout()));
                stack.extend(function.return_type_layout().map(|layout| layout()));
            }
        }
    }
    described.into_iter().collect::<Vec<_>>().join("\n\n")
}

#[test]
fn the_plugin_abi_matches_the_frozen_layout_of_its_series() {
    let series = series(ABI_VERSION);
    let frozen = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("abi")
        .join(format!("{series}.txt"));
    let current = describe_all(<PluginModRef as StableAbi>::LAYOUT) + "\n";
    if std::env::var_os("RSGI_FREEZE_ABI").is_some() {
        std::fs::create_dir_all(frozen.parent().unwrap()).unwrap();
        std::fs::write(&frozen, &current).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&frozen).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; a new series needs its frozen layout: \
             RSGI_FREEZE_ABI=1 cargo test -p rsgi-plugin-api --test abi_frozen",
            frozen.display()
        )
    });
    if current == expected {
        return;
    }
    let seen = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("abi-{series}.txt"));
    std::fs::write(&seen, &current).unwrap();
    let differs = current
        .lines()
        .zip(expected.lines())
        .position(|(a, b)| a != b)
        .unwrap_or(current.lines().count().min(expected.lines().count()));
    panic!(
        "the plugin ABI changed within series {series} (rsgi-plugin-api {ABI_VERSION}): \
         plugins built against another {series}.x release would be refused. Undo the change, \
         or start a new series (bump the version, then RSGI_FREEZE_ABI=1). \
         First difference at line {} of {}; the current layout is in {}",
        differs + 1,
        frozen.display(),
        seen.display()
    );
}

#[test]
fn series_are_minor_versions_before_1_0_and_major_versions_after() {
    assert_eq!(series("0.1.0"), "0.1");
    assert_eq!(series("0.1.7"), "0.1");
    assert_eq!(series("0.12.0"), "0.12");
    assert_eq!(series("1.4.2"), "1");
}

#[test]
fn descriptions_leave_out_versions_and_line_numbers() {
    let text = describe(<PluginModRef as StableAbi>::LAYOUT);
    assert!(!text.contains("version:"), "{text}");
    assert!(!text.contains("line:"), "{text}");
    assert!(text.contains("package:'abi_stable'"), "{text}");
    assert!(
        text.contains("mod:abi_stable::prefix_type::prefix_ref"),
        "{text}"
    );
}
