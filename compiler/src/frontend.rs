//! The front-end driver: source text → checked, lowered IR program.
//!
//! Parses the user's file, builds the environment with the stdlib items it can
//! reach (each file's reached part decoded from the stdlib as the build parsed
//! it, once per process, and cached),
//! validates items (attributes,
//! `main`), then lowers every non-generic user function and whatever it reaches,
//! and checks generic functions nobody instantiated with a representative type so
//! their errors still show.
//! Runs the IR passes and the verifier on the result.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::diagnostics::{Diagnostic, Diagnostics, FileId, SourceMap, Span};
use crate::ir::{FuncId, Program};
use crate::kernel_decl::{GufuncDecl, UfuncDecl};
use crate::scalar::ScalarType;
use crate::stdlib::FilePart;
use crate::syntax::ast::{AttrArg, FnDecl, Item, LitKind, SourceUnit, TypeExprKind};
use crate::types::env::{Env, FnKey};

/// The result of compiling a user file.
pub struct Compiled {
    pub program: Program,
    /// Non-generic user functions by name (`main` included when present).
    pub functions: BTreeMap<String, FuncId>,
    /// The user's file in the rebuilt source map (after the stdlib's files).
    pub file: FileId,
    /// Every `#[vectorize]` function of the user's file (generic ones included).
    pub ufuncs: BTreeMap<String, UfuncDecl>,
    /// Every `#[guvectorize]` function of the user's file (generic ones included).
    pub gufuncs: BTreeMap<String, GufuncDecl>,
    /// The parsed user file and the stdlib parts it reaches, kept to lower generic
    /// instances on demand ([`Compiled::instantiate`]).
    unit: SourceUnit,
    std_units: Vec<StdUnit>,
}

impl Compiled {
    /// The program with user function `name` instantiated at `type_args` (empty for
    /// a non-generic function), and the instance's id in it. A non-generic function
    /// comes from (a copy of) [`Compiled::program`]; a generic instance is checked
    /// and lowered now, with what it reaches, into a program of its own.
    pub fn instantiate(
        &self,
        name: &str,
        type_args: &[ScalarType],
    ) -> Result<(Program, FuncId), Diagnostics> {
        if type_args.is_empty() {
            if let Some(id) = self.functions.get(name) {
                return Ok((self.program.clone(), *id));
            }
        }
        let (env, _) = Env::new(&self.unit, &borrowed(&self.std_units));
        let key = env
            .user_functions()
            .find(|k| env.function(*k).decl.name.name == name)
            .ok_or_else(|| {
                Diagnostics(vec![Diagnostic::error(
                    Default::default(),
                    format!("no function `{name}`"),
                )])
            })?;
        let decl = env.function(key).decl;
        if decl.generics.len() != type_args.len() {
            return Err(Diagnostics(vec![Diagnostic::error(
                decl.name.span,
                format!(
                    "`{name}` has {} type parameters, {} given",
                    decl.generics.len(),
                    type_args.len()
                ),
            )]));
        }
        let mut lowering = crate::lower::Lowering::new(&env);
        let id = lowering.request(key, type_args.to_vec());
        lowering.run();
        if !lowering.errors.is_empty() {
            return Err(Diagnostics(std::mem::take(&mut lowering.errors)));
        }
        let mut program = lowering.into_program();
        crate::passes::optimize(&mut program);
        Ok((program, id))
    }
}

/// A parsed part of the stdlib: its module and the unit of its reached items.
type StdUnit = (&'static str, Arc<SourceUnit>);

/// The units as [`Env::new`] takes them.
fn borrowed(units: &[StdUnit]) -> Vec<(&'static str, &SourceUnit)> {
    units.iter().map(|(m, u)| (*m, &**u)).collect()
}

/// The reached stdlib parts, named by module.
fn reached_units(parts: &[FilePart]) -> Result<Vec<StdUnit>, Diagnostics> {
    parts
        .iter()
        .map(|part| Ok((part.module(), stdlib_unit(part)?)))
        .collect()
}

/// Wall-clock time of the front end's phases.
#[derive(Clone, Copy, Debug, Default)]
pub struct PhaseTimings {
    /// Finding the stdlib items this program reaches and decoding those parts no
    /// earlier compilation in the process had decoded (the stdlib ships parsed).
    pub stdlib: Duration,
    /// Parsing the user's file.
    pub parse: Duration,
    /// Checking and lowering (user code and the stdlib functions it reaches).
    pub check: Duration,
}

/// Most parts kept parsed: programs of one process reach few distinct sets of
/// stdlib items, so this is never reached in practice and only bounds memory.
const MAX_CACHED_PARTS: usize = 256;

/// A stdlib part, decoded the first time a program reaches it (once per process
/// and set of items). Its spans carry `FileId(file)`, the file's index in `FILES`.
fn stdlib_unit(part: &FilePart) -> Result<Arc<SourceUnit>, Diagnostics> {
    static UNITS: OnceLock<Mutex<HashMap<FilePart, Arc<SourceUnit>>>> = OnceLock::new();
    let units = UNITS.get_or_init(Default::default);
    if let Some(unit) = units.lock().ok().and_then(|u| u.get(part).cloned()) {
        return Ok(unit);
    }
    // Tables built into the crate that do not decode are a kern bug.
    let unit = Arc::new(part.unit().map_err(|e| {
        Diagnostics(vec![Diagnostic::error(
            Span::default(),
            format!("internal error: {e}"),
        )])
    })?);
    if let Ok(mut units) = units.lock() {
        if units.len() < MAX_CACHED_PARTS {
            units.insert(part.clone(), unit.clone());
        }
    }
    Ok(unit)
}

/// Compiles `file` of `sources`. `sources` is rebuilt with the stdlib's files first
/// (ids `0..k`, as their spans say) and the user's file after them, at the id
/// returned in [`Compiled::file`].
pub fn compile(sources: &mut SourceMap, file: FileId) -> Result<Compiled, Diagnostics> {
    compile_timed(sources, file).map(|(c, _)| c)
}

/// Compiles `text` as a file named `name`, with a source map of its own; errors come
/// back rendered as rustc shows them. For tests and tools that start from a string.
pub fn compile_text(name: &str, text: &str) -> Result<(Compiled, SourceMap), String> {
    compile_text_with(name, text, true)
}

/// As [`compile_text`], but with the IR as lowering made it, before
/// [`crate::passes::optimize`]: the oracle that tests run the passes against (the
/// interpreter on this program and compiled code of the optimised one must agree).
pub fn compile_text_unoptimized(name: &str, text: &str) -> Result<(Compiled, SourceMap), String> {
    compile_text_with(name, text, false)
}

fn compile_text_with(
    name: &str,
    text: &str,
    optimize: bool,
) -> Result<(Compiled, SourceMap), String> {
    let mut sources = SourceMap::new();
    let file = sources.add(name, text);
    match compile_with(&mut sources, file, optimize) {
        Ok((c, _)) => Ok((c, sources)),
        Err(d) => Err(d.render(&sources)),
    }
}

/// As [`compile`], also reporting how long parsing and checking took.
pub fn compile_timed(
    sources: &mut SourceMap,
    file: FileId,
) -> Result<(Compiled, PhaseTimings), Diagnostics> {
    compile_with(sources, file, true)
}

fn compile_with(
    sources: &mut SourceMap,
    file: FileId,
    optimize: bool,
) -> Result<(Compiled, PhaseTimings), Diagnostics> {
    let started = Instant::now();
    let text = sources.file(file).text.clone();
    let name = sources.file(file).name.clone();
    let mut rebuilt = SourceMap::new();
    for (n, t) in crate::stdlib::FILES {
        rebuilt.add(format!("<stdlib>/{n}"), *t);
    }
    let std_units = reached_units(&crate::stdlib::parts_reached_from(&text))?;
    let stdlib_time = started.elapsed();
    let started = Instant::now();
    let user_file = rebuilt.add(name, text.clone());
    *sources = rebuilt;

    let unit = crate::syntax::parse(user_file, &text)?;
    let parse = started.elapsed();
    let started = Instant::now();

    let (env, mut errors) = Env::new(&unit, &borrowed(&std_units));
    for item in &unit.items {
        if let Item::Fn(decl) = item {
            errors.extend(validate_item(decl));
            errors.extend(crate::kernel_decl::check_vectorize_attribute(decl));
            errors.extend(crate::kernel_decl::check_guvectorize_attribute(decl));
            errors.extend(crate::kernel_decl::check_kernel_declaration(decl));
        }
    }
    let mut lowering = crate::lower::Lowering::new(&env);
    let mut functions = BTreeMap::new();
    let user: Vec<FnKey> = env.user_functions().collect();
    for key in &user {
        let decl = env.function(*key).decl;
        if decl.generics.is_empty() {
            let id = lowering.request(*key, vec![]);
            functions.insert(decl.name.name.clone(), id);
        }
    }
    for key in &user {
        let decl = env.function(*key).decl;
        if !decl.generics.is_empty() {
            let representative: Vec<ScalarType> = decl
                .generics
                .iter()
                .map(|g| match g.bound.as_ref().map(|b| b.name.as_str()) {
                    Some("Int") => ScalarType::I64,
                    _ => ScalarType::F64,
                })
                .collect();
            lowering.check_only(*key, &representative);
        }
    }
    for key in env.user_consts() {
        lowering.check_constant(key);
    }
    lowering.run();
    errors.append(&mut lowering.errors);
    if !errors.is_empty() {
        errors.sort_by_key(|d| (d.span.file, d.span.start));
        return Err(Diagnostics(errors));
    }
    let mut program = lowering.into_program();
    if optimize {
        crate::passes::optimize(&mut program);
    }
    let ufuncs = unit.functions().filter_map(UfuncDecl::of);
    let ufuncs = ufuncs.map(|u| (u.name.clone(), u)).collect();
    let gufuncs = unit.functions().filter_map(GufuncDecl::of);
    let gufuncs = gufuncs.map(|g| (g.name.clone(), g)).collect();
    drop(env);
    let check = started.elapsed();
    Ok((
        Compiled {
            program,
            functions,
            file: user_file,
            ufuncs,
            gufuncs,
            unit,
            std_units,
        },
        PhaseTimings {
            stdlib: stdlib_time,
            parse,
            check,
        },
    ))
}

/// Rules about items that are not types: attributes and the shape of `main`.
fn validate_item(decl: &FnDecl) -> Vec<Diagnostic> {
    let mut errors = Vec::new();
    for attr in &decl.attrs {
        let name = attr.name.name.as_str();
        match name {
            "vectorize" | "guvectorize" | "kernel" | "jit" => {}
            _ => {
                errors.push(
                    Diagnostic::error(attr.name.span, format!("unknown attribute `{name}`"))
                        .with_note("kern knows #[vectorize], #[guvectorize], #[kernel] and #[jit]"),
                );
                continue;
            }
        }
        for arg in &attr.args {
            match arg {
                AttrArg::KeyValue { key, .. }
                    if (key.name == "identity" || key.name == "widen") && name == "vectorize" => {}
                AttrArg::KeyValue { key, value } if key.name == "target" => {
                    let ok = matches!(&value.kind, LitKind::Str(s) if ["cpu", "parallel", "cuda", "mpi"].contains(&s.as_str()));
                    if !ok {
                        errors.push(Diagnostic::error(
                            value.span,
                            "unknown target: expected \"cpu\", \"parallel\", \"cuda\" or \"mpi\"",
                        ));
                    }
                }
                AttrArg::Literal(l)
                    if name == "guvectorize" && matches!(l.kind, LitKind::Str(_)) => {}
                // `dim = "expr"`: a declared dimension size, checked with the
                // signature (kernel_decl/gufunc.rs).
                AttrArg::KeyValue { value, .. }
                    if name == "guvectorize" && matches!(value.kind, LitKind::Str(_)) => {}
                AttrArg::Ident(i)
                    if name == "vectorize" && ScalarType::from_name(&i.name).is_some() => {}
                AttrArg::KeyValue { key, .. } => {
                    errors.push(Diagnostic::error(
                        key.span,
                        format!("unknown argument `{}` for #[{name}]", key.name),
                    ));
                }
                AttrArg::Literal(l) => errors.push(Diagnostic::error(
                    l.span,
                    format!("unexpected argument for #[{name}]"),
                )),
                AttrArg::Ident(i) => errors.push(Diagnostic::error(
                    i.span,
                    format!("unexpected argument `{}` for #[{name}]", i.name),
                )),
            }
        }
        if name == "vectorize" {
            for p in &decl.params {
                if !matches!(p.ty.kind, TypeExprKind::Named(_)) {
                    errors.push(Diagnostic::error(
                        p.ty.span,
                        "the parameters of a #[vectorize] function must be scalars",
                    ));
                }
            }
            if decl.ret.is_none() {
                errors.push(Diagnostic::error(
                    decl.name.span,
                    "a #[vectorize] function must return a scalar",
                ));
            }
        }
    }
    if decl.name.name == "main" {
        if !decl.params.is_empty() {
            errors.push(Diagnostic::error(
                decl.params[0].span,
                "`main` takes no parameters",
            ));
        }
        if !decl.generics.is_empty() {
            errors.push(Diagnostic::error(
                decl.name.span,
                "`main` cannot be generic",
            ));
        }
        if let Some(r) = &decl.ret {
            errors.push(Diagnostic::error(r.span, "`main` returns nothing"));
        }
        // `main` is host code, run by the interpreter: it is never a ufunc, a
        // kernel or a compiled function.
        let known = |a: &&crate::syntax::ast::Attribute| {
            ["vectorize", "guvectorize", "kernel", "jit"].contains(&a.name.name.as_str())
        };
        for attr in decl.attrs.iter().filter(known) {
            errors.push(
                Diagnostic::error(attr.span, format!("`main` cannot be #[{}]", attr.name.name))
                    .with_note(
                    "`main` is host code: it runs in the interpreter and calls compiled functions",
                ),
            );
        }
    }
    errors
}
