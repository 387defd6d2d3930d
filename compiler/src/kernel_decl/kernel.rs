//! The shape of a `#[kernel]` declaration: it takes array slices (`&[T]`,
//! `&mut [T]`, also of fixed-size rows) and scalars, returns nothing and has no
//! type parameters. What its body may do is the checker's business
//! (`types::check::kernels`); how it runs is `ir::spmd`'s.

use crate::diagnostics::Diagnostic;
use crate::syntax::ast::{FnDecl, TypeExprKind};

/// Errors in the signature of a `#[kernel]` function (none for other functions).
pub fn check_kernel_declaration(decl: &FnDecl) -> Vec<Diagnostic> {
    let mut errors = Vec::new();
    if !decl.attrs.iter().any(|a| a.name.name == "kernel") {
        return errors;
    }
    if let Some(ret) = &decl.ret {
        errors.push(
            Diagnostic::error(ret.span, "a #[kernel] returns nothing")
                .with_note("write results into a `&mut [T]` parameter"),
        );
    }
    if let Some(g) = decl.generics.first() {
        errors.push(Diagnostic::error(
            g.name.span,
            "a #[kernel] cannot be generic: write one kernel per element type",
        ));
    }
    for p in &decl.params {
        if !matches!(p.ty.kind, TypeExprKind::Named(_) | TypeExprKind::Ref { .. }) {
            errors.push(Diagnostic::error(
                p.ty.span,
                "the parameters of a #[kernel] are scalars and arrays (`&[T]`, `&mut [T]`)",
            ));
        }
    }
    if decl.name.name == "main" {
        errors.push(Diagnostic::error(
            decl.name.span,
            "`main` is host code, it cannot be a #[kernel]",
        ));
    }
    errors
}
