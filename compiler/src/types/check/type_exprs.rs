//! Checking the types written in source: scalar type names (with a generic
//! instance's parameters substituted) and parameter types (scalars, arrays with
//! named dimensions, host arrays). Knows nothing of expressions or IR.

use super::*;

impl FnChecker<'_, '_> {
    /// The scalar type a type expression names (with generics substituted).
    pub fn scalar_type(&mut self, ty: &TypeExpr) -> Option<ScalarType> {
        match &ty.kind {
            TypeExprKind::Named(name) => {
                if let Some(t) = self.generics.get(&name.name) {
                    return Some(*t);
                }
                match ScalarType::from_name(&name.name) {
                    Some(t) => Some(t),
                    None => {
                        self.error(
                            name.span,
                            format!("cannot find type `{}` in this scope", name.name),
                        );
                        None
                    }
                }
            }
            TypeExprKind::Generic { .. } => {
                self.host_array_type_error(ty.span);
                None
            }
            _ => {
                self.error(ty.span, "expected a scalar type here");
                None
            }
        }
    }

    /// A parameter type: a scalar, or an array reference (`&[T]`, `&mut [[T; N]; M]`),
    /// with the names of its dimensions from the outermost axis in.
    pub(super) fn param_type(&mut self, ty: &TypeExpr) -> (Ty, Vec<Option<Ident>>) {
        match &ty.kind {
            TypeExprKind::Named(_) => (self.scalar_type(ty).map_or(Ty::Error, Ty::Scalar), vec![]),
            TypeExprKind::Ref { mutable, inner } => {
                let mut dims = Vec::new();
                let mut current: &TypeExpr = inner;
                loop {
                    match &current.kind {
                        TypeExprKind::Slice(elem) => {
                            dims.push(None);
                            current = elem;
                        }
                        TypeExprKind::Array { elem, len } => {
                            dims.push(match len {
                                ArrayLen::Named(n) => Some(n.clone()),
                                ArrayLen::Literal(..) => None,
                            });
                            current = elem;
                        }
                        _ => break,
                    }
                }
                if dims.is_empty() {
                    return (
                        self.error(
                            ty.span,
                            "references to scalars are not supported; pass the value",
                        ),
                        vec![],
                    );
                }
                if dims.len() > crate::ir::MAX_RANK {
                    return (
                        self.error(ty.span, "arrays of rank above 8 are not supported"),
                        vec![],
                    );
                }
                match self.scalar_type(current) {
                    Some(elem) => (
                        Ty::Array {
                            elem,
                            rank: dims.len() as u8,
                            mutable: *mutable,
                        },
                        dims,
                    ),
                    None => (Ty::Error, vec![]),
                }
            }
            TypeExprKind::Unit => (Ty::Unit, vec![]),
            TypeExprKind::Generic { .. } => (self.host_array_type_error(ty.span), vec![]),
            _ => (
                self.error(
                    ty.span,
                    "array parameters are passed by reference: write `&[T]`",
                ),
                vec![],
            ),
        }
    }
}
