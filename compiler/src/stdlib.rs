//! The kern standard library: kern source files under `stdlib/`, embedded in the
//! compiler binary and compiled like user code (no host libm anywhere), so every
//! backend computes the same functions.
//!
//! Naming contract with the type checker:
//! * float math is reached through method syntax: `x.exp()` on an `f64` calls the
//!   stdlib function `exp_f64`, on an `f32` `exp_f32`; float `a % b` calls `fmod_*`;
//! * functions of `random.kern` are reached as `random::name(..)`;
//! * everything else in the stdlib is private to it.
//!
//! Parsing all of it costs more than compiling a typical program, so the front end
//! parses only the items (functions and constants) a program can reach
//! ([`parts_reached_from`]): each file with the other items blanked out.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

/// `(file name, source text)` of every stdlib file, in a fixed order.
pub const FILES: &[(&str, &str)] = &[
    ("basic.kern", include_str!("../../stdlib/basic.kern")),
    ("exp_log.kern", include_str!("../../stdlib/exp_log.kern")),
    (
        "trig_reduce.kern",
        include_str!("../../stdlib/trig_reduce.kern"),
    ),
    ("trig.kern", include_str!("../../stdlib/trig.kern")),
    (
        "inverse_trig.kern",
        include_str!("../../stdlib/inverse_trig.kern"),
    ),
    (
        "hyperbolic.kern",
        include_str!("../../stdlib/hyperbolic.kern"),
    ),
    ("pow.kern", include_str!("../../stdlib/pow.kern")),
    ("random.kern", include_str!("../../stdlib/random.kern")),
];

/// The part of one stdlib file that a program reaches: file `file` of
/// [`FILES`] with only the items `items` (indices into the file's items, in
/// source order). What the front end parses and caches.
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

    /// The file's text up to the end of its last reached item, with every
    /// other item blanked out (each byte a space, newlines kept), so the parser
    /// sees only the reached ones and every span is the span of the whole file.
    pub fn text(&self) -> String {
        let text = FILES[self.file].1;
        let mut bytes = text.as_bytes().to_vec();
        for (k, item) in reach_index().files[self.file].iter().enumerate() {
            if self.items.binary_search(&k).is_err() {
                for b in &mut bytes[item.range.clone()] {
                    if *b != b'\n' {
                        *b = b' ';
                    }
                }
            }
        }
        // Nothing after the last reached item needs parsing (spans are offsets
        // from the start, so cutting the end changes none).
        let items = &reach_index().files[self.file];
        let end = self.items.last().map_or(0, |&k| items[k].range.end);
        bytes.truncate(end);
        String::from_utf8(bytes).expect("blanking whole items leaves UTF-8")
    }
}

/// The stdlib items a program with source `user_text` can reach, by file in
/// `FILES` order (files with none left out).
///
/// Found from identifiers alone, before any parsing: an item (a top-level
/// `fn` or `const`) is reached when a reached text names it, directly
/// (`kern_rem_pio2`) or by the naming contract (`x.sin()` names `sin`, which
/// `sin_f64` and `sin_f32` answer to; float `%` names `fmod`). It
/// over-approximates and never misses: a comment or a variable called `exp`
/// pulls in `exp_f64`, which costs time, not correctness.
pub fn parts_reached_from(user_text: &str) -> Vec<FilePart> {
    let index = reach_index();
    let mut reached: Vec<Vec<bool>> = index.files.iter().map(|f| vec![false; f.len()]).collect();
    let mut queue = Vec::new();
    let visit = |name: &str, reached: &mut Vec<Vec<bool>>, queue: &mut Vec<(usize, usize)>| {
        for &(file, item) in index.providers.get(name).into_iter().flatten() {
            if !reached[file][item] {
                reached[file][item] = true;
                queue.push((file, item));
            }
        }
    };
    for name in names_used(user_text) {
        visit(name, &mut reached, &mut queue);
        // Host code's `random::uniform_array` runs `random::uniform` per element.
        if let Some(base) = name.strip_suffix("_array") {
            visit(base, &mut reached, &mut queue);
        }
    }
    while let Some((file, item)) = queue.pop() {
        for name in &index.files[file][item].uses {
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

/// One top-level item of a stdlib file: its bytes (the comment lines just
/// above it included) and the names its text uses.
struct StdItem {
    range: std::ops::Range<usize>,
    uses: HashSet<&'static str>,
}

struct ReachIndex {
    /// A name as callers write it → the items (file, item) defining it.
    providers: HashMap<&'static str, Vec<(usize, usize)>>,
    /// Per file, its items in source order.
    files: Vec<Vec<StdItem>>,
}

/// The top-level items of `text`, with their names: every line that starts
/// with `fn ` or `const ` (the stdlib's items, written at column 0 and
/// nothing else is) starts one, together with the comment lines right above
/// it; it runs to the start of the next one. What precedes the first item
/// (the file's header comment) belongs to none and is always kept.
fn items_of(text: &'static str) -> Vec<(std::ops::Range<usize>, &'static str)> {
    let mut items: Vec<(std::ops::Range<usize>, &'static str)> = Vec::new();
    let mut comments_from: Option<usize> = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let keyword = ["fn ", "const "].iter().find(|k| line.starts_with(**k));
        if let Some(keyword) = keyword {
            let start = comments_from.unwrap_or(offset);
            if let Some(last) = items.last_mut() {
                last.0.end = start;
            }
            let rest = &line[keyword.len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            items.push((start..text.len(), &rest[..end]));
            comments_from = None;
        } else if line.starts_with("//") {
            comments_from.get_or_insert(offset);
        } else {
            comments_from = None;
        }
        offset += line.len();
    }
    items
}

fn reach_index() -> &'static ReachIndex {
    static INDEX: OnceLock<ReachIndex> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut providers: HashMap<&'static str, Vec<(usize, usize)>> = HashMap::new();
        let mut files = Vec::new();
        for (file, (_, text)) in FILES.iter().enumerate() {
            let mut items = Vec::new();
            for (k, (range, name)) in items_of(text).into_iter().enumerate() {
                let called_as = ["_f32", "_f64", "_int"]
                    .iter()
                    .find_map(|suffix| name.strip_suffix(suffix));
                for key in std::iter::once(name).chain(called_as) {
                    providers.entry(key).or_default().push((file, k));
                }
                let uses = names_used(&text[range.clone()]).collect();
                items.push(StdItem { range, uses });
            }
            files.push(items);
        }
        ReachIndex { providers, files }
    })
}

/// The names `text` uses: its identifiers outside comments and string literals,
/// plus `fmod` where a `%` may be a float remainder.
fn names_used(text: &str) -> impl Iterator<Item = &str> {
    let mut names = Vec::new();
    let mut remainder = false;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                // Block comments nest, as in Rust.
                let mut depth = 0;
                while i < bytes.len() {
                    if bytes[i..].starts_with(b"/*") {
                        depth += 1;
                        i += 2;
                    } else if bytes[i..].starts_with(b"*/") {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'%' => {
                remainder = true;
                i += 1;
            }
            c if c.is_ascii_alphanumeric() || c == b'_' => {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                // A word starting with a digit is a number (`0x7ff`, `1e9f64`).
                if !c.is_ascii_digit() {
                    names.push(&text[start..i]);
                }
            }
            _ => i += 1,
        }
    }
    names.extend(remainder.then_some("fmod"));
    names.into_iter()
}

#[cfg(test)]
mod tests {
    use super::{items_of, parts_reached_from, FilePart, FILES};

    fn reached(text: &str) -> Vec<&'static str> {
        parts_reached_from(text)
            .into_iter()
            .map(|part| FILES[part.file].0)
            .collect()
    }

    /// The names of the items of `part`.
    fn item_names(part: &FilePart) -> Vec<&'static str> {
        let items = items_of(FILES[part.file].1);
        part.items.iter().map(|&k| items[k].1).collect()
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
        // The text parsed keeps every byte offset: the reached items where they
        // are, the others blanked.
        let text = exp_log.text();
        let full = FILES[exp_log.file].1;
        assert!(text.len() <= full.len());
        let kept_or_blanked = text
            .bytes()
            .zip(full.bytes())
            .all(|(t, f)| t == f || (t == b' ' && f != b'\n'));
        assert!(kept_or_blanked);
        let exp = full.find("fn exp_f64(").unwrap();
        assert_eq!(&text[exp..exp + 11], "fn exp_f64(");
        assert!(!text.contains("fn ln_f64("));
    }

    #[test]
    fn every_item_of_every_file_is_found() {
        // The item split must see every top-level item the parser does.
        for (file, (name, text)) in FILES.iter().enumerate() {
            let unit = crate::syntax::parse(crate::diagnostics::FileId(file as u32), text)
                .unwrap_or_else(|_| panic!("{name} parses"));
            let items = items_of(text);
            assert_eq!(items.len(), unit.items.len(), "{name}");
            let all = FilePart {
                file,
                items: (0..items.len()).collect(),
            };
            assert_eq!(all.text(), *text);
        }
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
