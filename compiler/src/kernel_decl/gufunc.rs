//! What the runtime needs to know about a `#[guvectorize]` declaration: its layout
//! signature (from the attribute, or derived from the parameter types), which
//! parameters are inputs and which outputs, the element type scheme of each, its
//! generic bounds and its default target — and the compile-time checks that the
//! signature and the parameter types agree.
//!
//! Derivation: a scalar input is `()`, `&[T]` is `(n)` with a fresh name per unnamed
//! axis, `&[[T; N]; M]` is `(M,N)`, a numeric length `&[T; 3]` is the frozen `(3)`;
//! `&mut` parameters are outputs and come after the inputs; a scalar return value is
//! one more `()` output, after the `&mut` ones. It reads the AST only: it does not
//! type-check (the checker does; malformed types are left to its errors) and knows
//! nothing of arrays at run time or of dtype resolution.

use std::collections::HashMap;

use super::dim_sizes::{parse_size, DimSize};
use super::{bounds_of, scheme_of, Identity, SchemeType, TypeBound, UfuncDecl};
use crate::diagnostics::{Diagnostic, Span};
use crate::gufunc_signature::{CoreDim, CoreDimSize, GufuncSignature, SignatureError};
use crate::syntax::ast::{ArrayLen, AttrArg, FnDecl, Ident, LitKind, Literal, TypeExprKind};

/// How an operand reaches the body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OperandForm {
    /// An input passed by value: core dimensions `()`.
    Scalar,
    /// An array parameter (`&[..]` input or `&mut [..]` output) of this rank.
    Array { rank: usize },
    /// The scalar return value: an output with core dimensions `()`.
    Returned,
}

/// One input or output of a gufunc.
#[derive(Clone, Debug, PartialEq)]
pub struct GufuncOperand {
    /// The parameter name (`"return value"` for a returned output).
    pub name: String,
    /// The element type.
    pub elem: SchemeType,
    pub form: OperandForm,
}

impl GufuncOperand {
    /// Number of core dimensions the body sees.
    pub fn rank(&self) -> usize {
        match self.form {
            OperandForm::Array { rank } => rank,
            OperandForm::Scalar | OperandForm::Returned => 0,
        }
    }
}

/// A `#[guvectorize]` function as the runtime sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct GufuncDecl {
    pub name: String,
    pub signature: GufuncSignature,
    /// The signature as NumPy would print it in errors: the attribute's text as
    /// written, or the canonical form of a derived signature.
    pub signature_text: String,
    pub inputs: Vec<GufuncOperand>,
    /// The `&mut` parameters in order, then the returned value if any.
    pub outputs: Vec<GufuncOperand>,
    pub generics: Vec<TypeBound>,
    /// `target = "..."` of the attribute.
    pub target: Option<String>,
    /// Declared sizes of output-only core dimensions (`p = "m + n - 1"`).
    pub sizes: Vec<DimSize>,
    pub span: Span,
}

impl GufuncDecl {
    /// The declaration of a `#[guvectorize]` function; `None` for other functions
    /// and for declarations with errors (reported by
    /// [`check_guvectorize_attribute`] and the checker).
    pub fn of(decl: &FnDecl) -> Option<GufuncDecl> {
        derive(decl)?.ok()
    }

    /// The ufunc this gufunc is when its signature is all scalars with one
    /// (returned) output, `(),()->()` and the like: NumPy treats such a gufunc as
    /// a ufunc (elementwise calls, `reduce`, `accumulate`, `outer`). It has no
    /// identity and no declared loops. `None` for any other gufunc.
    pub fn as_ufunc(&self) -> Option<UfuncDecl> {
        let scalar_inputs = self.inputs.iter().all(|o| o.form == OperandForm::Scalar);
        let [output] = self.outputs.as_slice() else {
            return None;
        };
        if !scalar_inputs || output.form != OperandForm::Returned {
            return None;
        }
        Some(UfuncDecl {
            name: self.name.clone(),
            params: self.inputs.iter().map(|o| o.elem).collect(),
            ret: output.elem,
            generics: self.generics.clone(),
            declared: Vec::new(),
            identity: Identity::None,
            widen: false,
            target: self.target.clone(),
            span: self.span,
        })
    }
}

/// The errors of a `#[guvectorize]` declaration beyond type errors: inputs after
/// outputs, no output, a frozen length of 0, a signature that does not parse or
/// disagrees with the parameter types (arity, ranks, frozen sizes, dimensions the
/// types name alike).
pub fn check_guvectorize_attribute(decl: &FnDecl) -> Vec<Diagnostic> {
    match derive(decl) {
        Some(Err(errors)) => errors,
        _ => Vec::new(),
    }
}

/// One axis of a parameter type.
#[derive(Clone, Debug)]
enum TypeDim {
    /// A slice axis `[T]`.
    Unnamed,
    Named(Ident),
    Frozen(u64, Span),
}

/// A parameter or return value as the type expressions say.
struct Operand {
    name: String,
    elem: SchemeType,
    form: OperandForm,
    dims: Vec<TypeDim>,
    span: Span,
}

/// `None`: not a gufunc. `Some(Err(errors))`: a gufunc with errors (possibly none
/// to report here, when the checker reports the types).
fn derive(decl: &FnDecl) -> Option<Result<GufuncDecl, Vec<Diagnostic>>> {
    let attr = decl.attrs.iter().find(|a| a.name.name == "guvectorize")?;
    let mut errors = Vec::new();
    let mut inputs = Vec::new();
    let mut outputs = Vec::new();
    let mut malformed = false;
    for param in &decl.params {
        let Some(operand) = param_operand(decl, param.name.name.clone(), &param.ty) else {
            malformed = true;
            continue;
        };
        let is_output = matches!(&param.ty.kind, TypeExprKind::Ref { mutable: true, .. });
        if is_output {
            outputs.push(operand);
        } else {
            if let Some(first) = outputs.first() {
                errors.push(
                    Diagnostic::error(
                        param.span,
                        "the inputs of a #[guvectorize] function come before its outputs",
                    )
                    .with_label(format!("input `{}` after an output", param.name.name))
                    .with_secondary(first.span, format!("output `{}`", first.name)),
                );
            }
            inputs.push(operand);
        }
    }
    match &decl.ret {
        None => {}
        Some(ty) if matches!(ty.kind, TypeExprKind::Unit) => {}
        Some(ty) => match scheme_of(decl, ty) {
            Some(elem) => outputs.push(Operand {
                name: "return value".into(),
                elem,
                form: OperandForm::Returned,
                dims: Vec::new(),
                span: ty.span,
            }),
            None => malformed = true,
        },
    }
    for operand in inputs.iter().chain(&outputs) {
        if operand.dims.len() >= crate::ir::MAX_RANK {
            errors.push(Diagnostic::error(
                operand.span,
                format!(
                    "a gufunc operand has at most {} core dimensions (one axis is kept for the loop)",
                    crate::ir::MAX_RANK - 1
                ),
            ));
        }
        for dim in &operand.dims {
            if let TypeDim::Frozen(0, span) = dim {
                errors.push(
                    Diagnostic::error(*span, "a gufunc core dimension cannot have length 0")
                        .with_note("NumPy signatures have no frozen size 0; write `&[T]` for a length that may be 0"),
                );
            }
        }
    }
    if outputs.is_empty() && !malformed {
        errors.push(
            Diagnostic::error(decl.name.span, "a #[guvectorize] function needs an output")
                .with_note("add a `&mut` array parameter after the inputs, or return a scalar"),
        );
    }
    if malformed || !errors.is_empty() {
        return Some(Err(errors));
    }
    let explicit = attr.args.iter().find_map(|a| match a {
        AttrArg::Literal(
            l @ Literal {
                kind: LitKind::Str(s),
                ..
            },
        ) => Some((s.clone(), l.span)),
        _ => None,
    });
    let (signature, signature_text) = match explicit {
        None => {
            let signature = derived_signature(&inputs, &outputs);
            let text = signature.to_string();
            (signature, text)
        }
        Some((text, span)) => {
            match explicit_signature(&decl.name.name, &text, span, &inputs, &outputs) {
                Ok(signature) => (signature, text),
                Err(e) => return Some(Err(e)),
            }
        }
    };
    let sizes = match declared_sizes(&attr.args, &signature, &signature_text) {
        Ok(sizes) => sizes,
        Err(e) => return Some(Err(e)),
    };
    let target = attr.args.iter().find_map(|a| match a {
        AttrArg::KeyValue { key, value } if key.name == "target" => match &value.kind {
            LitKind::Str(s) => Some(s.clone()),
            _ => None,
        },
        _ => None,
    });
    let public = |ops: Vec<Operand>| {
        ops.into_iter()
            .map(|o| GufuncOperand {
                name: o.name,
                elem: o.elem,
                form: o.form,
            })
            .collect()
    };
    Some(Ok(GufuncDecl {
        name: decl.name.name.clone(),
        signature,
        signature_text,
        inputs: public(inputs),
        outputs: public(outputs),
        generics: bounds_of(decl),
        target,
        sizes,
        span: decl.span,
    }))
}

/// The attribute's `dim = "expr"` arguments: each sizes a dimension that only
/// outputs have, from the inputs' dimensions (`dim_sizes.rs`).
fn declared_sizes(
    args: &[AttrArg],
    signature: &GufuncSignature,
    signature_text: &str,
) -> Result<Vec<DimSize>, Vec<Diagnostic>> {
    let named = |operands: &[Vec<CoreDim>], name: &str| {
        operands
            .iter()
            .flatten()
            .any(|d| d.size == CoreDimSize::Named(name.to_string()))
    };
    let mut sizes: Vec<DimSize> = Vec::new();
    let mut errors = Vec::new();
    for arg in args {
        let AttrArg::KeyValue { key, value } = arg else {
            continue;
        };
        let LitKind::Str(text) = &value.kind else {
            continue;
        };
        if key.name == "target" {
            continue;
        }
        let dim = &key.name;
        let problem = if named(&signature.inputs, dim) {
            Some(format!("`{dim}` is sized by the inputs; only a core dimension that only outputs have can be given a size"))
        } else if !named(&signature.outputs, dim) {
            Some(format!(
                "`{dim}` is not a core dimension of the signature {signature_text}"
            ))
        } else if sizes.iter().any(|s| &s.dim == dim) {
            Some(format!("`{dim}` is given a size twice"))
        } else {
            None
        };
        if let Some(problem) = problem {
            errors.push(Diagnostic::error(key.span, problem).with_note(
                "`name = \"expression\"` sizes an output-only core dimension from the inputs' dimensions, e.g. p = \"m + n - 1\"",
            ));
            continue;
        }
        // The text starts one byte into the literal (after its `"`).
        let at = |offset: usize| {
            let start = value.span.start + 1 + offset.min(text.len()) as u32;
            Span {
                start: start.min(value.span.end),
                end: (start + 1).min(value.span.end),
                ..value.span
            }
        };
        let expr = match parse_size(text) {
            Ok(expr) => expr,
            Err(e) => {
                errors.push(Diagnostic::error(
                    at(e.offset),
                    format!("invalid size of `{dim}`: {}", e.message),
                ));
                continue;
            }
        };
        for name in expr.names() {
            if !named(&signature.inputs, name) {
                let offset = text.find(name).unwrap_or(0);
                errors.push(
                    Diagnostic::error(
                        at(offset),
                        format!("the size of `{dim}` reads `{name}`, which is not a core dimension of an input"),
                    )
                    .with_note(format!("the inputs' core dimensions are those of {signature_text} before `->`")),
                );
            }
        }
        sizes.push(DimSize {
            dim: dim.clone(),
            expr,
            text: text.clone(),
        });
    }
    if errors.is_empty() {
        Ok(sizes)
    } else {
        Err(errors)
    }
}

fn param_operand(
    decl: &FnDecl,
    name: String,
    ty: &crate::syntax::ast::TypeExpr,
) -> Option<Operand> {
    match &ty.kind {
        TypeExprKind::Named(_) => Some(Operand {
            name,
            elem: scheme_of(decl, ty)?,
            form: OperandForm::Scalar,
            dims: Vec::new(),
            span: ty.span,
        }),
        TypeExprKind::Ref { inner, .. } => {
            let mut dims = Vec::new();
            let mut current = &**inner;
            loop {
                match &current.kind {
                    TypeExprKind::Slice(elem) => {
                        dims.push(TypeDim::Unnamed);
                        current = elem;
                    }
                    TypeExprKind::Array { elem, len } => {
                        dims.push(match len {
                            ArrayLen::Named(n) => TypeDim::Named(n.clone()),
                            ArrayLen::Literal(k, span) => TypeDim::Frozen(*k, *span),
                        });
                        current = elem;
                    }
                    _ => break,
                }
            }
            if dims.is_empty() || dims.len() > crate::ir::MAX_RANK {
                return None;
            }
            Some(Operand {
                name,
                elem: scheme_of(decl, current)?,
                form: OperandForm::Array { rank: dims.len() },
                dims,
                span: ty.span,
            })
        }
        _ => None,
    }
}

/// The signature the types say, with a fresh name for each slice axis: `n`, `n1`,
/// `n2`, ... skipping names the types use.
fn derived_signature(inputs: &[Operand], outputs: &[Operand]) -> GufuncSignature {
    let used: Vec<&str> = inputs
        .iter()
        .chain(outputs)
        .flat_map(|o| &o.dims)
        .filter_map(|d| match d {
            TypeDim::Named(n) => Some(n.name.as_str()),
            _ => None,
        })
        .collect();
    let mut counter = 0usize;
    let mut fresh = || loop {
        let name = if counter == 0 {
            "n".to_string()
        } else {
            format!("n{counter}")
        };
        counter += 1;
        if !used.contains(&name.as_str()) {
            return name;
        }
    };
    let mut dims_of = |o: &Operand| -> Vec<CoreDim> {
        o.dims
            .iter()
            .map(|d| CoreDim {
                size: match d {
                    TypeDim::Unnamed => CoreDimSize::Named(fresh()),
                    TypeDim::Named(n) => CoreDimSize::Named(n.name.clone()),
                    TypeDim::Frozen(k, _) => CoreDimSize::Frozen(*k as usize),
                },
                optional: false,
            })
            .collect()
    };
    GufuncSignature {
        inputs: inputs.iter().map(&mut dims_of).collect(),
        outputs: outputs.iter().map(&mut dims_of).collect(),
    }
}

/// Parses the attribute's signature for the arity of the parameters and checks it
/// against their types.
fn explicit_signature(
    function: &str,
    text: &str,
    span: Span,
    inputs: &[Operand],
    outputs: &[Operand],
) -> Result<GufuncSignature, Vec<Diagnostic>> {
    let (nin, nout) = (inputs.len(), outputs.len());
    let signature = match GufuncSignature::parse_with_counts(text, nin, nout) {
        Ok(s) => s,
        Err(e) => {
            let diagnostic = match text.parse::<GufuncSignature>() {
                // It parses, with another arity: say so rather than where.
                Ok(other) => Diagnostic::error(
                    span,
                    format!(
                        "the signature has {} and {}, but `{function}` has {} and {}",
                        count(other.nin(), "input"),
                        count(other.nout(), "output"),
                        count(nin, "input"),
                        count(nout, "output")
                    ),
                )
                .with_label(format!("for this arity: {e}"))
                .with_note(
                    "`&mut` parameters are outputs, and so is a returned scalar (the last output)",
                ),
                Err(_) => Diagnostic::error(
                    position_span(span, text, &e),
                    format!("invalid gufunc signature: {e}"),
                )
                .with_label(e.message),
            };
            return Err(vec![diagnostic]);
        }
    };
    let mut errors = Vec::new();
    let operands = inputs.iter().chain(outputs);
    let sig_dims = signature.inputs.iter().chain(&signature.outputs);
    // Where each type-level name appears: (operand, axis, signature dimension).
    let mut named: HashMap<&str, Vec<(&Operand, usize, &CoreDim)>> = HashMap::new();
    for (k, (operand, dims)) in operands.zip(sig_dims).enumerate() {
        let role = if k < nin {
            format!("input {k}")
        } else {
            format!("output {}", k - nin)
        };
        if dims.len() != operand.dims.len() {
            errors.push(
                Diagnostic::error(
                    operand.span,
                    format!(
                        "the signature gives {role} (`{}`) {}, its type has {}",
                        operand.name,
                        count(dims.len(), "core dimension"),
                        count(operand.dims.len(), "dimension")
                    ),
                )
                .with_secondary(span, format!("signature `{text}`")),
            );
            continue;
        }
        for (axis, (ty, dim)) in operand.dims.iter().zip(dims).enumerate() {
            match ty {
                TypeDim::Frozen(k, len_span) if dim.size != CoreDimSize::Frozen(*k as usize) => {
                    errors.push(
                        Diagnostic::error(
                            *len_span,
                            format!(
                                "axis {axis} of `{}` has length {k} in its type, but the signature says `{}`",
                                operand.name, dim.size
                            ),
                        )
                        .with_secondary(span, format!("signature `{text}`")),
                    );
                }
                TypeDim::Named(n) => named.entry(&n.name).or_default().push((operand, axis, dim)),
                _ => {}
            }
        }
    }
    let mut names: Vec<_> = named.into_iter().collect();
    names.sort_by_key(|(n, _)| *n);
    for (name, uses) in names {
        let (first_op, first_axis, first_dim) = uses[0];
        if let Some((op, axis, dim)) = uses.iter().find(|(_, _, d)| d.size != first_dim.size) {
            errors.push(
                Diagnostic::error(
                    op.span,
                    format!(
                        "`{name}` names axis {first_axis} of `{}` and axis {axis} of `{}`, but the signature gives them different dimensions (`{}` and `{}`)",
                        first_op.name, op.name, first_dim.size, dim.size
                    ),
                )
                .with_secondary(span, format!("signature `{text}`")),
            );
        }
    }
    if errors.is_empty() {
        Ok(signature)
    } else {
        Err(errors)
    }
}

fn count(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// The character of the literal at the error's position, when the literal has no
/// escapes (its source is the text in quotes); otherwise the whole literal.
fn position_span(literal: Span, text: &str, e: &SignatureError) -> Span {
    let len = (literal.end - literal.start) as usize;
    if len != text.len() + 2 {
        return literal;
    }
    // The position is a byte offset; the span covers that whole character (a
    // signature may hold any UTF-8 text, and a span never splits a character).
    let width = text
        .get(e.position..)
        .and_then(|rest| rest.chars().next())
        .map_or(1, char::len_utf8);
    let start = literal.start as usize + 1 + e.position;
    let end = (start + width).min(literal.end as usize);
    Span::new(literal.file, start.min(end.saturating_sub(1)), end)
}
