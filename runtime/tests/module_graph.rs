//! The runtime's modules form a DAG (ARCHITECTURE.md's invariant): no
//! top-level module of `runtime/src` — and no module inside `exec/` — imports
//! a module that imports it back. Imports are read from the source text
//! (`crate::x`, `crate::{x, ..}`, the crate root's re-exports resolved to their
//! module, and `super::x` inside `exec/`), outside `#[cfg(test)]` modules.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a readable source folder") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The source without comments and without the `#[cfg(test)]` module that
/// closes a file.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod ") {
        Some(at) => &text[..at],
        None => text,
    };
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first path segments named after `prefix` (`crate::` or `super::`),
/// single or in a `{..}` group.
fn imports(code: &str, prefix: &str) -> BTreeSet<String> {
    let ident = |s: &str| {
        s.trim()
            .split("::")
            .next()
            .unwrap_or("")
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect::<String>()
    };
    let mut found = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find(prefix) {
        let after = &rest[at + prefix.len()..];
        if let Some(group) = after.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            found.extend(group.split(',').map(ident).filter(|s| !s.is_empty()));
        } else {
            found.insert(ident(after));
        }
        rest = after;
    }
    found
}

/// The crate root's `pub use module::{Names}` re-exports: name → module.
fn reexports(lib: &str) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    for line in lib.lines() {
        let Some(path) = line.trim().strip_prefix("pub use ") else {
            continue;
        };
        let path = path.trim_end_matches(';');
        let Some((module, items)) = path.split_once("::") else {
            continue;
        };
        let items = items.trim_start_matches('{').trim_end_matches('}');
        for item in items.split(',') {
            names.insert(item.trim().to_string(), module.to_string());
        }
    }
    names
}

/// Module → modules it imports, for the modules directly under `dir`.
fn graph(
    dir: &Path,
    prefix: &str,
    resolve: &BTreeMap<String, String>,
) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(dir, &mut files);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let relative = file.strip_prefix(dir).expect("under the folder");
        let first = relative.components().next().expect("a file name");
        let module = first
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        if ["lib", "mod", "tests"].contains(&module.as_str()) {
            continue;
        }
        let text = code(&std::fs::read_to_string(&file).expect("a readable file"));
        let mut uses = imports(&text, prefix);
        if prefix == "crate::exec::" && file.parent() == Some(dir) {
            uses.extend(imports(&text, "super::"));
        }
        let uses: Vec<String> = uses
            .into_iter()
            .map(|u| resolve.get(&u).cloned().unwrap_or(u))
            .filter(|u| *u != module)
            .collect();
        edges.entry(module).or_default().extend(uses);
    }
    edges
}

fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut found = Vec::new();
    for (a, uses) in edges {
        for b in uses {
            if a < b && edges.get(b).is_some_and(|back| back.contains(a)) {
                found.push(format!("{a} <-> {b}"));
            }
        }
    }
    found
}

#[test]
fn no_runtime_module_imports_a_module_that_imports_it_back() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
    let top = graph(&src, "crate::", &reexports(&lib));
    assert!(
        top["module"].contains("ufunc"),
        "the graph is read: {top:?}"
    );
    assert_eq!(
        cycles(&top),
        Vec::<String>::new(),
        "cycles between runtime modules"
    );
    let exec = graph(&src.join("exec"), "crate::exec::", &BTreeMap::new());
    assert!(
        exec["dispatch"].contains("fold"),
        "the graph is read: {exec:?}"
    );
    assert_eq!(cycles(&exec), Vec::<String>::new(), "cycles inside exec/");
}
