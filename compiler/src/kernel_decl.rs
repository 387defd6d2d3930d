//! What the runtime needs to know about a `#[vectorize]` declaration to call it: its
//! type scheme (concrete or generic parameter types), the loops it declares, its
//! reduction identity and its default target. The same for `#[guvectorize]`
//! declarations, with their layout signature, is in [`gufunc`].
//!
//! Read off the AST once after checking; it does not type-check anything (the
//! checker already did) and knows nothing about arrays or dtype resolution.

pub mod dim_sizes;
pub mod gufunc;
pub mod kernel;

pub use gufunc::{check_guvectorize_attribute, GufuncDecl, GufuncOperand, OperandForm};
pub use kernel::check_kernel_declaration;

use crate::diagnostics::{Diagnostic, Span};
use crate::scalar::{ScalarType, ScalarValue};
use crate::syntax::ast::{AttrArg, FnDecl, LitKind, TypeExpr, TypeExprKind};

/// A parameter or result type of a ufunc: a concrete scalar type, or generic
/// parameter number `i` of the declaration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SchemeType {
    Concrete(ScalarType),
    Generic(usize),
}

/// The bound of a generic parameter: the scalar types it may be instantiated with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TypeBound {
    /// `T: Float`: f32, f64.
    Float,
    /// `T: Int`: every integer type.
    Int,
    /// No bound: any numeric type.
    Num,
}

impl TypeBound {
    pub fn admits(self, t: ScalarType) -> bool {
        match self {
            TypeBound::Float => t.is_float(),
            TypeBound::Int => t.is_int(),
            TypeBound::Num => t != ScalarType::Bool,
        }
    }
}

/// The identity of a ufunc's reduction, from `#[vectorize(identity = ..)]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Identity {
    /// No identity and not reorderable: reduce along one axis only, never over an
    /// empty one.
    None,
    /// `identity = "reorderable"`: no identity, but several axes may be reduced at
    /// once (the operation is associative and commutative).
    Reorderable,
    /// `identity = 0`, `identity = 1.5`, `identity = true`, ...: the value an empty
    /// reduction gives, of the literal's own kind (an integer as `i64`, or `u64`
    /// above `i64::MAX`; a float as `f64`; a bool as `bool`), converted to the
    /// accumulator's dtype with `as`; implies reorderable.
    Value(ScalarValue),
}

/// A `#[vectorize]` function as the runtime sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct UfuncDecl {
    pub name: String,
    pub params: Vec<SchemeType>,
    pub ret: SchemeType,
    pub generics: Vec<TypeBound>,
    /// Type arguments listed in the attribute (`#[vectorize(f32, f64)]`), in order:
    /// the loops a call may pick from. Empty for a generic ufunc that is specialised
    /// on demand, and for a concrete one (its one loop is its own signature).
    pub declared: Vec<Vec<ScalarType>>,
    pub identity: Identity,
    /// `widen = true`: the ufunc is an addition or a multiplication in NumPy's
    /// sense, so reductions and accumulations of bool and of integers narrower
    /// than 64 bits compute in `i64` (`u64` for unsigned), as NumPy's `add` and
    /// `multiply` do.
    pub widen: bool,
    /// `target = "..."` of the attribute.
    pub target: Option<String>,
    pub span: Span,
}

impl UfuncDecl {
    /// The scheme of a `#[vectorize]` declaration; `None` for other functions.
    pub fn of(decl: &FnDecl) -> Option<UfuncDecl> {
        let attr = decl.attrs.iter().find(|a| a.name.name == "vectorize")?;
        let params = decl
            .params
            .iter()
            .map(|p| scheme_of(decl, &p.ty))
            .collect::<Option<Vec<_>>>()?;
        let ret = scheme_of(decl, decl.ret.as_ref()?)?;
        let generics = bounds_of(decl);
        let mut declared = Vec::new();
        let mut identity = Identity::None;
        let mut widen = false;
        let mut target = None;
        for arg in &attr.args {
            match arg {
                AttrArg::Ident(i) => {
                    if let Some(t) = ScalarType::from_name(&i.name) {
                        declared.push(vec![t]);
                    }
                }
                AttrArg::KeyValue { key, value } => match (key.name.as_str(), &value.kind) {
                    ("target", LitKind::Str(s)) => target = Some(s.clone()),
                    ("identity", kind) => identity = identity_of(kind).unwrap_or(Identity::None),
                    ("widen", LitKind::Bool(b)) => widen = *b,
                    _ => {}
                },
                AttrArg::Literal(_) => {}
            }
        }
        Some(UfuncDecl {
            name: decl.name.name.clone(),
            params,
            ret,
            generics,
            declared,
            identity,
            widen,
            target,
            span: decl.span,
        })
    }
}

/// The scheme of a scalar type written in `decl`: one of its generic parameters or a
/// concrete scalar type; `None` for anything else (the checker reports it).
pub(crate) fn scheme_of(decl: &FnDecl, ty: &TypeExpr) -> Option<SchemeType> {
    match &ty.kind {
        TypeExprKind::Named(n) => match decl.generics.iter().position(|g| g.name.name == n.name) {
            Some(i) => Some(SchemeType::Generic(i)),
            None => ScalarType::from_name(&n.name).map(SchemeType::Concrete),
        },
        _ => None,
    }
}

/// The bound of each generic parameter of `decl`.
pub(crate) fn bounds_of(decl: &FnDecl) -> Vec<TypeBound> {
    decl.generics
        .iter()
        .map(|g| match g.bound.as_ref().map(|b| b.name.as_str()) {
            Some("Float") => TypeBound::Float,
            Some("Int") => TypeBound::Int,
            _ => TypeBound::Num,
        })
        .collect()
}

fn identity_of(kind: &LitKind) -> Option<Identity> {
    match kind {
        LitKind::Str(s) if s == "reorderable" => Some(Identity::Reorderable),
        LitKind::Int { value, .. } => Some(Identity::Value(match i64::try_from(*value) {
            Ok(v) => ScalarValue::I64(v),
            Err(_) => ScalarValue::U64(u64::try_from(*value).ok()?),
        })),
        LitKind::Float { text, .. } => text
            .parse()
            .ok()
            .map(|v| Identity::Value(ScalarValue::F64(v))),
        LitKind::Bool(b) => Some(Identity::Value(ScalarValue::Bool(*b))),
        _ => None,
    }
}

/// Errors in the arguments of `#[vectorize(..)]` beyond what every attribute is
/// checked for: a type list needs exactly one generic parameter whose bound admits
/// every listed type; `identity` must be a number, a bool or `"reorderable"`.
pub fn check_vectorize_attribute(decl: &FnDecl) -> Vec<Diagnostic> {
    let mut errors = Vec::new();
    let Some(attr) = decl.attrs.iter().find(|a| a.name.name == "vectorize") else {
        return errors;
    };
    let listed: Vec<(ScalarType, Span)> = attr
        .args
        .iter()
        .filter_map(|a| match a {
            AttrArg::Ident(i) => ScalarType::from_name(&i.name).map(|t| (t, i.span)),
            _ => None,
        })
        .collect();
    if let Some((_, first)) = listed.first() {
        if decl.generics.len() != 1 {
            errors.push(
                Diagnostic::error(*first, "a list of loop types needs a function with exactly one type parameter")
                    .with_note("write `#[vectorize(f32, f64)] fn f<T: Float>(x: T) -> T`; a function without type parameters has exactly one loop, its own signature"),
            );
        } else if let Some(bound) = decl.generics[0].bound.as_ref() {
            let b = match bound.name.as_str() {
                "Float" => TypeBound::Float,
                "Int" => TypeBound::Int,
                _ => TypeBound::Num,
            };
            for (t, span) in &listed {
                if !b.admits(*t) {
                    errors.push(Diagnostic::error(
                        *span,
                        format!(
                            "`{t}` does not satisfy the bound `{}: {}`",
                            decl.generics[0].name.name, bound.name
                        ),
                    ));
                }
            }
        }
    }
    for arg in &attr.args {
        if let AttrArg::KeyValue { key, value } = arg {
            if key.name == "identity" && identity_of(&value.kind).is_none() {
                errors.push(Diagnostic::error(
                    value.span,
                    "`identity` must be a number, `true`/`false` or \"reorderable\"",
                ));
            }
            if key.name == "widen" && !matches!(value.kind, LitKind::Bool(_)) {
                errors.push(Diagnostic::error(
                    value.span,
                    "`widen` must be `true` or `false`",
                ));
            }
        }
    }
    errors
}
