//! Parses the stdlib (`stdlib/*.kern`) once, at build time, so that no program
//! pays for parsing it: every top-level item's AST is stored (postcard-encoded)
//! in the crate, with the names the item uses, and `src/stdlib.rs` includes the
//! tables written here (`stdlib_tables.rs` in `OUT_DIR`). A stdlib that does
//! not parse fails the build with the parser's diagnostics.
//!
//! The order of [`FILES`] is the order of the stdlib's `FileId`s: file `k` is
//! `FileId(k)` in every span of its AST.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use kern_syntax::ast::Item;
use kern_syntax::diagnostics::{FileId, SourceMap};

/// The stdlib's files, in `FileId` order.
const FILES: &[&str] = &[
    "basic.kern",
    "exp_log.kern",
    "trig_reduce.kern",
    "trig.kern",
    "inverse_trig.kern",
    "hyperbolic.kern",
    "pow.kern",
    "random.kern",
];

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo"));
    let stdlib = manifest.join("..").join("stdlib");
    println!("cargo:rerun-if-changed={}", stdlib.display());

    let mut sources = SourceMap::new();
    let mut texts = Vec::new();
    for name in FILES {
        let path = stdlib.join(name);
        println!("cargo:rerun-if-changed={}", path.display());
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        sources.add(format!("<stdlib>/{name}"), text.clone());
        texts.push((path, text));
    }

    let mut blob = Vec::new();
    let mut tables = String::new();
    tables.push_str("/// `(file name, source text)` of every stdlib file, in `FileId` order.\n");
    tables.push_str("pub const FILES: &[(&str, &str)] = &[\n");
    for (name, (path, _)) in FILES.iter().zip(&texts) {
        let _ = writeln!(tables, "    ({name:?}, include_str!({:?})),", display(path));
    }
    tables.push_str("];\n\n");
    tables.push_str("/// Every stdlib file as parsed at build time.\n");
    tables.push_str("static PARSED: &[ParsedFile] = &[\n");
    for (k, (_, text)) in texts.iter().enumerate() {
        let unit = kern_syntax::parser::parse_stdlib(FileId(k as u32), text)
            .unwrap_or_else(|d| panic!("the stdlib does not parse:\n{}", d.render(&sources)));
        let _ = writeln!(
            tables,
            "    ParsedFile {{\n        expr_count: {},\n        items: &[",
            unit.expr_count
        );
        for item in &unit.items {
            let (name, span) = match item {
                Item::Fn(f) => (&f.name.name, f.span),
                Item::Const(c) => (&c.name.name, c.span),
            };
            let used =
                kern_syntax::names::names_used(&text[span.start as usize..span.end as usize]);
            let mut uses: Vec<&str> = used.identifiers;
            if used.percent {
                uses.push("%");
            }
            uses.sort_unstable();
            uses.dedup();
            let start = blob.len();
            let bytes = postcard::to_allocvec(item).expect("an AST always encodes");
            blob.extend_from_slice(&bytes);
            let _ = writeln!(
                tables,
                "            ParsedItem {{ name: {name:?}, uses: &{uses:?}, ast: {start}..{} }},",
                blob.len()
            );
        }
        tables.push_str("        ],\n    },\n");
    }
    tables.push_str("];\n\n");
    tables.push_str("/// The items' ASTs, postcard-encoded back to back.\n");
    let _ = writeln!(
        tables,
        "static AST: &[u8] = include_bytes!(concat!(env!(\"OUT_DIR\"), \"/stdlib_ast.bin\"));"
    );
    write(&out.join("stdlib_ast.bin"), &blob);
    write(&out.join("stdlib_tables.rs"), tables.as_bytes());
}

/// `path` as text for `include_str!` (the build directory's paths are UTF-8).
fn display(path: &Path) -> String {
    path.to_str()
        .unwrap_or_else(|| panic!("{} is not UTF-8", path.display()))
        .to_string()
}

/// Writes `bytes` to `path` unless it already holds them (no needless rebuilds).
fn write(path: &Path, bytes: &[u8]) {
    if std::fs::read(path).ok().as_deref() != Some(bytes) {
        std::fs::write(path, bytes).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }
}
