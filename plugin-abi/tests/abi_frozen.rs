//! Within a series (`0.2` now) released things never change: a release only appends
//! fields to the prefix tables and adds extensions (see the crate docs, "Series and
//! growth"). Every release therefore keeps a golden description of its ABI,
//! `abi/<version>.txt`, and this test compares every type reachable from
//! [`PluginModRef`] and from each extension table the project defines (fields, function pointer parameters and returns; abi_stable's
//! description, package versions and line numbers left out) with the file of the current
//! release. A difference is either a mistake (undo it) or a new release: bump
//! `rsgi-plugin-abi`'s patch version for appended fields, then write the new release's file
//! with `RSGI_FREEZE_ABI=1 cargo test -p rsgi-plugin-abi --test abi_frozen`, keeping the
//! older files as they are. That an older release's plugins still load in the current host
//! is proven end to end (`cargo test -p rsgi-e2e --test e2e abi_compat`, with a plugin
//! built against a frozen copy of the first 0.2 release). `abi/0.1.txt` is the record of
//! series 0.1, which 0.2 hosts refuse.

use std::collections::{BTreeSet, HashSet};
use std::path::PathBuf;

use abi_stable::type_layout::TypeLayout;
use abi_stable::StableAbi;
use rsgi_plugin_abi::exchange::{ExchangeV1, ExchangeV2, ExchangeV3};
use rsgi_plugin_abi::handle_upgrade::HandleUpgradeV1;
use rsgi_plugin_abi::scoreboard::ScoreboardV1;
use rsgi_plugin_abi::upgrade::UpgradeV1;
use rsgi_plugin_abi::{PluginModRef, ABI_VERSION};

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
fn the_plugin_abi_matches_the_golden_file_of_its_release() {
    let frozen = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("abi")
        .join(format!("{ABI_VERSION}.txt"));
    // The root module and, since 0.2.1, every extension table the project defines.
    let current = [
        <PluginModRef as StableAbi>::LAYOUT,
        <ScoreboardV1 as StableAbi>::LAYOUT,
        <ExchangeV1 as StableAbi>::LAYOUT,
        <ExchangeV2 as StableAbi>::LAYOUT,
        <ExchangeV3 as StableAbi>::LAYOUT,
        <UpgradeV1 as StableAbi>::LAYOUT,
        <HandleUpgradeV1 as StableAbi>::LAYOUT,
    ]
    .into_iter()
    .map(describe_all)
    .collect::<Vec<_>>()
    .join("\n\n")
        + "\n";
    if std::env::var_os("RSGI_FREEZE_ABI").is_some() {
        assert!(
            !frozen.exists(),
            "{} exists: a released ABI is never rewritten; bump the version first",
            frozen.display()
        );
        std::fs::create_dir_all(frozen.parent().unwrap()).unwrap();
        std::fs::write(&frozen, &current).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&frozen).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; a new release needs its golden file: \
             RSGI_FREEZE_ABI=1 cargo test -p rsgi-plugin-abi --test abi_frozen",
            frozen.display()
        )
    });
    if current == expected {
        return;
    }
    let seen = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("abi-{ABI_VERSION}.txt"));
    std::fs::write(&seen, &current).unwrap();
    let differs = current
        .lines()
        .zip(expected.lines())
        .position(|(a, b)| a != b)
        .unwrap_or(current.lines().count().min(expected.lines().count()));
    panic!(
        "the plugin ABI differs from its release {ABI_VERSION}: plugins built against it could \
         be refused. Undo the change, or make it a new release that only appends (bump the \
         version, then RSGI_FREEZE_ABI=1). First difference at line {} of {}; the current \
         layout is in {}",
        differs + 1,
        frozen.display(),
        seen.display()
    );
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
