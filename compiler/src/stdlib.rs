//! The kern standard library: kern source files under `stdlib/`, compiled like
//! user code (no host libm anywhere), so every backend computes the same
//! functions.
//!
//! Naming contract with the type checker:
//! * float math is reached through method syntax: `x.exp()` on an `f64` calls the
//!   stdlib function `exp_f64`, on an `f32` `exp_f32`; float `a % b` calls `fmod_*`;
//! * functions of `random.kern` are reached as `random::name(..)`;
//! * everything else in the stdlib is private to it.
//!
//! The stdlib ships parsed: the build script (`build.rs`) parses every file once
//! and stores each top-level item's AST with the names the item uses. A program
//! gets the items it can reach ([`parts_reached_from`]), decoded from those
//! tables ([`FilePart::unit`]); nothing of the stdlib is parsed at run time.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::diagnostics::FileId;
use crate::syntax::ast::{Item, SourceUnit};

include!(concat!(env!("OUT_DIR"), "/stdlib_tables.rs"));

/// One stdlib file as the build script parsed it.
struct ParsedFile {
    /// The number of expression ids its parse handed out: every item keeps its
    /// ids, so any set of its items has distinct ones below this.
    expr_count: u32,
    /// Its top-level items, in source order.
    items: &'static [ParsedItem],
}

/// One top-level item (a `fn` or a `const`) of a stdlib file.
struct ParsedItem {
    /// Its name, as defined.
    name: &'static str,
    /// The names its text uses (sorted, once each; `%` for a remainder).
    uses: &'static [&'static str],
    /// Its AST: this range of [`AST`], postcard-encoded.
    ast: std::ops::Range<usize>,
}

/// The part of one stdlib file that a program reaches: file `file` of
/// [`FILES`] with only the items `items` (indices into the file's items, in
/// source order). What the front end decodes and caches.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FilePart {
    pub file: usize,
    pub items: Vec<usize>,
}

impl FilePart {
    /// The file's name, without `.kern`: the module its items live in.
    pub fn module(&self) -> &'static str {
        FILES[self.file].0.trim_end_matches(".kern")
    }

    /// The part's items as one unit of file `FileId(file)`: their ASTs as the
    /// build script parsed them (spans into the whole file, expression ids
    /// distinct). An error only if the tables built into the crate are broken.
    pub fn unit(&self) -> Result<SourceUnit, String> {
        let parsed = &PARSED[self.file];
        let items = self
            .items
            .iter()
            .map(|&k| {
                let item = &parsed.items[k];
                postcard::from_bytes::<Item>(&AST[item.ast.clone()])
                    .map_err(|e| format!("the stdlib's item `{}` does not decode: {e}", item.name))
            })
            .collect::<Result<_, _>>()?;
        Ok(SourceUnit {
            file: FileId(self.file as u32),
            items,
            expr_count: parsed.expr_count,
        })
    }
}

/// The stdlib items a program with source `user_text` can reach, by file in
/// `FILES` order (files with none left out).
///
/// Found from names alone, before any parsing: an item (a top-level `fn` or
/// `const`) is reached when a reached text names it, directly
/// (`kern_rem_pio2`) or by the naming contract (`x.sin()` names `sin`, which
/// `sin_f64` and `sin_f32` answer to; a `%` names `fmod`). It
/// over-approximates and never misses: a comment or a variable called `exp`
/// pulls in `exp_f64`, which costs time, not correctness.
pub fn parts_reached_from(user_text: &str) -> Vec<FilePart> {
    let providers = providers();
    let mut reached: Vec<Vec<bool>> = PARSED.iter().map(|f| vec![false; f.items.len()]).collect();
    let mut queue = Vec::new();
    let visit = |name: &str, reached: &mut Vec<Vec<bool>>, queue: &mut Vec<(usize, usize)>| {
        let name = if name == "%" { "fmod" } else { name };
        for &(file, item) in providers.get(name).into_iter().flatten() {
            if !reached[file][item] {
                reached[file][item] = true;
                queue.push((file, item));
            }
        }
    };
    let used = kern_syntax::names::names_used(user_text);
    for name in used.identifiers {
        visit(name, &mut reached, &mut queue);
        // Host code's `random::uniform_array` runs `random::uniform` per element.
        if let Some(base) = name.strip_suffix("_array") {
            visit(base, &mut reached, &mut queue);
        }
    }
    if used.percent {
        visit("%", &mut reached, &mut queue);
    }
    while let Some((file, item)) = queue.pop() {
        for name in PARSED[file].items[item].uses {
            visit(name, &mut reached, &mut queue);
        }
    }
    reached
        .iter()
        .enumerate()
        .filter(|(_, items)| items.contains(&true))
        .map(|(file, items)| FilePart {
            file,
            items: (0..items.len()).filter(|&k| items[k]).collect(),
        })
        .collect()
}

/// A name as callers write it → the items (file, item) defining it: its own
/// name, and for `exp_f64`, `exp_f32`, `abs_int` also `exp`, `abs` (the
/// method-call side of the naming contract).
fn providers() -> &'static HashMap<&'static str, Vec<(usize, usize)>> {
    static PROVIDERS: OnceLock<HashMap<&'static str, Vec<(usize, usize)>>> = OnceLock::new();
    PROVIDERS.get_or_init(|| {
        let mut providers: HashMap<&'static str, Vec<(usize, usize)>> = HashMap::new();
        for (file, parsed) in PARSED.iter().enumerate() {
            for (k, item) in parsed.items.iter().enumerate() {
                let called_as = ["_f32", "_f64", "_int"]
                    .iter()
                    .find_map(|suffix| item.name.strip_suffix(suffix));
                for key in std::iter::once(item.name).chain(called_as) {
                    providers.entry(key).or_default().push((file, k));
                }
            }
        }
        providers
    })
}

#[cfg(test)]
mod tests {
    use super::{parts_reached_from, FilePart, FILES, PARSED};
    use crate::diagnostics::FileId;
    use crate::syntax::ast::Item;

    /// The names of `part`'s items, in source order.
    fn item_names(part: &FilePart) -> Vec<&'static str> {
        let items = PARSED[part.file].items;
        part.items.iter().map(|&k| items[k].name).collect()
    }

    fn reached(text: &str) -> Vec<&'static str> {
        parts_reached_from(text)
            .into_iter()
            .map(|part| FILES[part.file].0)
            .collect()
    }

    #[test]
    fn a_program_without_math_reaches_no_stdlib_file() {
        assert!(reached("fn main() { let x = 1 + 2; println!(\"{}\", x); }").is_empty());
    }

    #[test]
    fn method_calls_reach_their_file_and_what_it_calls() {
        let files = reached("fn f(x: f64) -> f64 { x.sin() }");
        assert!(files.contains(&"trig.kern"), "{files:?}");
        // sin's argument reduction lives in a file of its own.
        assert!(files.contains(&"trig_reduce.kern"), "{files:?}");
        assert!(!files.contains(&"random.kern"), "{files:?}");
    }

    #[test]
    fn only_the_items_a_program_reaches_are_parsed() {
        let parts = parts_reached_from("fn f(x: f64) -> f64 { x.exp() }");
        let exp_log = parts
            .iter()
            .find(|p| FILES[p.file].0 == "exp_log.kern")
            .expect("exp is in exp_log.kern");
        let names = item_names(exp_log);
        // `exp` in both types, the kernel they share and its constants...
        for name in ["exp_f64", "exp_f32", "kern_exp_core_f64", "KERN_LN2_HI"] {
            assert!(names.contains(&name), "{name} missing from {names:?}");
        }
        // ...but no logarithm.
        assert!(!names.iter().any(|n| n.starts_with("ln")), "{names:?}");
    }

    #[test]
    fn a_part_decodes_to_the_items_a_parse_of_its_file_gives() {
        // What the build script stored is what parsing the file gives now:
        // every item, with spans into the whole file.
        for (file, (name, text)) in FILES.iter().enumerate() {
            let parsed = crate::syntax::parser::parse_stdlib(FileId(file as u32), text)
                .unwrap_or_else(|_| panic!("{name} parses"));
            let all = FilePart {
                file,
                items: (0..PARSED[file].items.len()).collect(),
            };
            let unit = all.unit().unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(unit, parsed, "{name}");
        }
    }

    #[test]
    fn a_part_holds_only_its_items() {
        let part = parts_reached_from("fn f(x: f64) -> f64 { x.sin() }")
            .into_iter()
            .find(|p| FILES[p.file].0 == "trig.kern")
            .expect("sin is in trig.kern");
        let unit = part.unit().unwrap();
        let names: Vec<&str> = unit
            .items
            .iter()
            .map(|item| match item {
                Item::Fn(f) => f.name.name.as_str(),
                Item::Const(c) => c.name.name.as_str(),
            })
            .collect();
        assert_eq!(names, item_names(&part));
        assert!(
            names.contains(&"sin_f64") && !names.contains(&"tan_f64"),
            "{names:?}"
        );
        assert!(unit.items.len() < PARSED[part.file].items.len());
    }

    #[test]
    fn module_paths_and_float_remainders_reach_their_files() {
        assert!(reached("fn f(i: u64) -> f64 { random::uniform(7, i) }").contains(&"random.kern"));
        let fmod_file = FILES
            .iter()
            .find(|(_, text)| text.contains("fn fmod_f64("))
            .map(|(name, _)| *name)
            .expect("fmod is defined");
        assert!(reached("fn f(a: f64, b: f64) -> f64 { a % b }").contains(&fmod_file));
    }

    #[test]
    fn every_stdlib_file_is_listed_once_with_its_source() {
        let mut names: Vec<&str> = FILES.iter().map(|(name, _)| *name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), FILES.len());
        for (name, source) in FILES {
            assert!(name.ends_with(".kern"), "{name}");
            assert!(
                source.starts_with("// kern standard library"),
                "{name} lacks its header"
            );
        }
    }

    #[test]
    fn every_float_method_has_an_f64_and_an_f32_definition() {
        let all: String = FILES.iter().map(|(_, source)| *source).collect();
        for method in [
            "round",
            "min",
            "max",
            "signum",
            "to_degrees",
            "to_radians",
            "fmod",
            "exp",
            "exp2",
            "exp_m1",
            "ln",
            "log2",
            "log10",
            "ln_1p",
            "sin",
            "cos",
            "tan",
            "asin",
            "acos",
            "atan",
            "atan2",
            "sinh",
            "cosh",
            "tanh",
            "powf",
            "powi",
            "cbrt",
            "hypot",
        ] {
            for ty in ["f64", "f32"] {
                let signature = format!("fn {method}_{ty}(");
                assert!(all.contains(&signature), "missing {signature}");
            }
        }
    }
}
