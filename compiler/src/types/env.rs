//! The program environment: every function and constant the checker can name,
//! from the user's file and from the stdlib, kept in two namespaces.
//!
//! User code sees its own items plus the stdlib through method syntax
//! (`x.exp()` → `exp_f64`) and module paths (`random::uniform`). Stdlib code sees
//! all stdlib items by plain name. The environment owns no types beyond lookups.

use crate::collections::HashMap;

use crate::diagnostics::{Diagnostic, FileId, Span};
use crate::syntax::ast::{ConstDecl, FnDecl, Ident, Item, SourceUnit};

/// Which namespace an item lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Namespace {
    User,
    Stdlib,
}

/// Index of a function in [`Env::functions`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FnKey(pub u32);

/// Index of a constant in [`Env::consts`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConstKey(pub u32);

pub struct FnEntry<'a> {
    pub decl: &'a FnDecl,
    pub namespace: Namespace,
    pub file: FileId,
    /// For stdlib functions, the file stem (`random` for `random::uniform`).
    pub module: String,
}

pub struct ConstEntry<'a> {
    pub decl: &'a ConstDecl,
    pub namespace: Namespace,
    pub file: FileId,
}

#[derive(Default)]
pub struct Env<'a> {
    pub functions: Vec<FnEntry<'a>>,
    pub consts: Vec<ConstEntry<'a>>,
    fn_names: HashMap<(Namespace, String), FnKey>,
    const_names: HashMap<(Namespace, String), ConstKey>,
}

/// The error for a second item named `name` (functions and constants share the
/// rule: one name, one item, in each namespace).
fn redefinition(name: &Ident, first: Span) -> Diagnostic {
    Diagnostic::error(
        name.span,
        format!("the name `{}` is defined multiple times", name.name),
    )
    .with_label("redefined here")
    .with_secondary(first, "first defined here")
}

impl<'a> Env<'a> {
    /// Builds the environment; reports duplicate definitions.
    pub fn new(
        user: &'a SourceUnit,
        stdlib: &[(&str, &'a SourceUnit)],
    ) -> (Env<'a>, Vec<Diagnostic>) {
        let mut env = Env::default();
        let mut errors = Vec::new();
        for (module, unit) in stdlib {
            env.add_unit(unit, Namespace::Stdlib, module, &mut errors);
        }
        env.add_unit(user, Namespace::User, "", &mut errors);
        (env, errors)
    }

    fn add_unit(
        &mut self,
        unit: &'a SourceUnit,
        namespace: Namespace,
        module: &str,
        errors: &mut Vec<Diagnostic>,
    ) {
        for item in &unit.items {
            match item {
                Item::Fn(decl) => {
                    let key = FnKey(self.functions.len() as u32);
                    let name = (namespace, decl.name.name.clone());
                    if let Some(previous) = self.fn_names.get(&name) {
                        let first = self.functions[previous.0 as usize].decl.name.span;
                        errors.push(redefinition(&decl.name, first));
                        continue;
                    }
                    self.fn_names.insert(name, key);
                    if namespace == Namespace::Stdlib {
                        self.fn_names
                            .insert((namespace, format!("{module}::{}", decl.name.name)), key);
                    }
                    self.functions.push(FnEntry {
                        decl,
                        namespace,
                        file: unit.file,
                        module: module.to_string(),
                    });
                }
                Item::Const(decl) => {
                    let key = ConstKey(self.consts.len() as u32);
                    let name = (namespace, decl.name.name.clone());
                    if let Some(previous) = self.const_names.get(&name) {
                        let first = self.consts[previous.0 as usize].decl.name.span;
                        errors.push(redefinition(&decl.name, first));
                        continue;
                    }
                    self.const_names.insert(name, key);
                    self.consts.push(ConstEntry {
                        decl,
                        namespace,
                        file: unit.file,
                    });
                }
            }
        }
    }

    pub fn function(&self, key: FnKey) -> &FnEntry<'a> {
        &self.functions[key.0 as usize]
    }

    pub fn constant(&self, key: ConstKey) -> &ConstEntry<'a> {
        &self.consts[key.0 as usize]
    }

    /// A function by plain name in a namespace, or `module::name` in the stdlib.
    pub fn find_fn(&self, namespace: Namespace, name: &str) -> Option<FnKey> {
        self.fn_names.get(&(namespace, name.to_string())).copied()
    }

    pub fn find_const(&self, namespace: Namespace, name: &str) -> Option<ConstKey> {
        self.const_names
            .get(&(namespace, name.to_string()))
            .copied()
    }

    /// The user functions, in source order.
    pub fn user_functions(&self) -> impl Iterator<Item = FnKey> + '_ {
        self.functions
            .iter()
            .enumerate()
            .filter(|(_, f)| f.namespace == Namespace::User)
            .map(|(i, _)| FnKey(i as u32))
    }

    /// The user constants, in source order.
    pub fn user_consts(&self) -> impl Iterator<Item = ConstKey> + '_ {
        self.consts
            .iter()
            .enumerate()
            .filter(|(_, c)| c.namespace == Namespace::User)
            .map(|(i, _)| ConstKey(i as u32))
    }
}
