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
//! parses only the files a program can reach ([`files_reached_from`]).

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

/// The indices into [`FILES`] of the stdlib files that a program with source
/// `user_text` can reach, in `FILES` order.
///
/// Found from identifiers alone, before any parsing: a file is reached when a
/// reached text names one of its functions, directly (`kern_rem_pio2`) or by the
/// naming contract (`x.sin()` names `sin`, which `sin_f64` answers to; float `%`
/// names `fmod`). It over-approximates and never misses: a comment or a variable
/// called `exp` pulls in `exp_log.kern`, which costs time, not correctness.
pub fn files_reached_from(user_text: &str) -> Vec<usize> {
    let index = reach_index();
    let mut reached = vec![false; FILES.len()];
    let mut queue = Vec::new();
    let visit = |name: &str, reached: &mut Vec<bool>, queue: &mut Vec<usize>| {
        for &file in index.providers.get(name).into_iter().flatten() {
            if !reached[file] {
                reached[file] = true;
                queue.push(file);
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
    while let Some(file) = queue.pop() {
        for name in &index.uses[file] {
            visit(name, &mut reached, &mut queue);
        }
    }
    (0..FILES.len()).filter(|&i| reached[i]).collect()
}

struct ReachIndex {
    /// A name as callers write it → the files defining a function it reaches.
    providers: HashMap<&'static str, Vec<usize>>,
    /// Per file, the names its own text uses.
    uses: Vec<HashSet<&'static str>>,
}

fn reach_index() -> &'static ReachIndex {
    static INDEX: OnceLock<ReachIndex> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut providers: HashMap<&'static str, Vec<usize>> = HashMap::new();
        let mut uses = Vec::new();
        for (file, (_, text)) in FILES.iter().enumerate() {
            let words: Vec<&'static str> = names_used(text).collect();
            for pair in words.windows(2) {
                if pair[0] != "fn" {
                    continue;
                }
                let name = pair[1];
                let called_as = ["_f32", "_f64", "_int"]
                    .iter()
                    .find_map(|suffix| name.strip_suffix(suffix));
                for key in std::iter::once(name).chain(called_as) {
                    let files = providers.entry(key).or_default();
                    if !files.contains(&file) {
                        files.push(file);
                    }
                }
            }
            uses.push(words.into_iter().collect());
        }
        ReachIndex { providers, uses }
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
    use super::{files_reached_from, FILES};

    fn reached(text: &str) -> Vec<&'static str> {
        files_reached_from(text)
            .into_iter()
            .map(|i| FILES[i].0)
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
