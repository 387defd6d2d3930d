//! Loop selection: which typed loop of a ufunc a call runs, from the dtypes of its
//! operands.
//!
//! NumPy's rule, with kern's generic ufuncs added:
//! 1. The candidates are the ufunc's loops in declaration order: its own signature
//!    for a concrete ufunc, one per listed type for `#[vectorize(f32, f64)]`, and
//!    for a generic ufunc without a list the one instance whose type arguments are
//!    the smallest types every operand of that parameter converts to safely (like
//!    Numba's dynamic ufuncs, compiled on first use).
//! 2. An exact match wins; otherwise the first candidate every operand reaches by
//!    safe casting.
//! 3. Host scalars are *weak* (NEP 50): they take the dtype the arrays decide as
//!    long as their kind allows (bool < integer < float: an integer scalar fits any
//!    integer or float dtype, a float only float dtypes); a scalar of a higher kind
//!    than every array promotes a generic instance to that kind's default (`i64`,
//!    `f64`). After the loop is chosen an integer scalar must be in range of its
//!    dtype (NumPy's `OverflowError`). When every operand is a scalar they count as
//!    strong.
//!
//! 4. A call may fix types (NumPy's `signature=`, and `dtype=` for the result,
//!    [`FixedTypes`]): only loops with those types are candidates — for a generic
//!    ufunc a fixed result fixes its type argument for the unfixed inputs too, the
//!    homogeneous loop NumPy picks — and the inputs are then cast to the loop's
//!    types under the call's `casting=` rule ([`Casting`]; the rule is checked for
//!    unfixed calls too, so `casting = no` needs an exact loop).
//!
//! Gufuncs resolve the element types of their operands the same way
//! ([`resolve_types`] over a [`LoopScheme`]): the dtype of an array operand is its
//! element type, whatever its core dimensions.
//!
//! It knows declarations and dtypes only; compiling and running the loop are the
//! caller's.

use crate::kernel_decl::{SchemeType, TypeBound, UfuncDecl};
use crate::scalar::{ScalarType, ScalarValue};

use super::casting::{
    can_cast_safely, dtype_kind, weak_kind, weak_kind_fits, weak_scalar_fits, Casting,
};
use super::storage_dtype;

/// What dtype resolution sees of one input operand.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum InputDtype {
    /// An array of this dtype.
    Strong(ScalarType),
    /// A host scalar: weak.
    Weak(ScalarValue),
}

/// The loop a call runs: the ufunc's type arguments and its parameter and result
/// types under them.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ResolvedLoop {
    pub type_args: Vec<ScalarType>,
    pub params: Vec<ScalarType>,
    pub ret: ScalarType,
}

/// What loop selection needs to know of a ufunc or gufunc declaration: the element
/// type scheme of each input and result, the generic bounds and the declared type
/// lists.
#[derive(Clone, Copy, Debug)]
pub struct LoopScheme<'a> {
    /// `"ufunc"` or `"gufunc"`, for messages.
    pub what: &'static str,
    pub name: &'a str,
    pub params: &'a [SchemeType],
    pub results: &'a [SchemeType],
    pub generics: &'a [TypeBound],
    pub declared: &'a [Vec<ScalarType>],
}

impl<'a> LoopScheme<'a> {
    fn of_ufunc(decl: &'a UfuncDecl) -> LoopScheme<'a> {
        LoopScheme {
            what: "ufunc",
            name: &decl.name,
            params: &decl.params,
            results: std::slice::from_ref(&decl.ret),
            generics: &decl.generics,
            declared: &decl.declared,
        }
    }
}

/// The types a call of a [`LoopScheme`] runs at.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ResolvedTypes {
    pub type_args: Vec<ScalarType>,
    pub params: Vec<ScalarType>,
    pub results: Vec<ScalarType>,
}

/// The types a call fixes, NumPy's `signature=` (per input, then per result;
/// `None` leaves that one to loop selection). Empty vectors fix nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct FixedTypes {
    pub params: Vec<Option<ScalarType>>,
    pub results: Vec<Option<ScalarType>>,
}

impl FixedTypes {
    /// NumPy's `dtype=`: the (first) result's type.
    pub fn result(dtype: ScalarType) -> FixedTypes {
        FixedTypes {
            params: Vec::new(),
            results: vec![Some(dtype)],
        }
    }

    pub fn is_empty(&self) -> bool {
        self.params.iter().chain(&self.results).all(Option::is_none)
    }

    fn param(&self, i: usize) -> Option<ScalarType> {
        self.params.get(i).copied().flatten()
    }

    fn result_type(&self, j: usize) -> Option<ScalarType> {
        self.results.get(j).copied().flatten()
    }

    /// Whether a candidate loop has every fixed type.
    fn admits(&self, lp: &ResolvedTypes) -> bool {
        let same = |fixed: Option<ScalarType>, t: ScalarType| {
            fixed.is_none_or(|f| storage_dtype(f) == storage_dtype(t))
        };
        lp.params
            .iter()
            .enumerate()
            .all(|(i, t)| same(self.param(i), *t))
            && lp
                .results
                .iter()
                .enumerate()
                .all(|(j, t)| same(self.result_type(j), *t))
    }
}

/// No loop accepts the operands.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct NoMatchingLoop {
    pub message: String,
}

/// Types a generic parameter is tried at, smallest first, so the first that every
/// operand reaches is NumPy's promotion of them.
fn instantiation_order(bound: TypeBound) -> Vec<ScalarType> {
    use ScalarType::*;
    let ints = [I8, U8, I16, U16, I32, U32, I64, U64];
    match bound {
        TypeBound::Float => vec![F32, F64],
        TypeBound::Int => ints.to_vec(),
        TypeBound::Num => ints.iter().copied().chain([F32, F64]).collect(),
    }
}

fn instantiate(decl: &LoopScheme<'_>, type_args: &[ScalarType]) -> ResolvedTypes {
    let apply = |t: SchemeType| match t {
        SchemeType::Concrete(t) => t,
        SchemeType::Generic(i) => type_args[i],
    };
    ResolvedTypes {
        type_args: type_args.to_vec(),
        params: decl.params.iter().map(|p| apply(*p)).collect(),
        results: decl.results.iter().map(|r| apply(*r)).collect(),
    }
}

/// The candidate loops of `decl` for these inputs, in the order they are tried.
fn candidates(decl: &LoopScheme<'_>, inputs: &[InputDtype]) -> Vec<ResolvedTypes> {
    if decl.generics.is_empty() {
        return vec![instantiate(decl, &[])];
    }
    if !decl.declared.is_empty() {
        return decl
            .declared
            .iter()
            .map(|args| instantiate(decl, args))
            .collect();
    }
    let mut type_args = Vec::new();
    for (g, bound) in decl.generics.iter().enumerate() {
        let operands: Vec<InputDtype> = decl
            .params
            .iter()
            .zip(inputs)
            .filter(|(p, _)| **p == SchemeType::Generic(g))
            .map(|(_, i)| *i)
            .collect();
        let strong: Vec<ScalarType> = operands
            .iter()
            .filter_map(|o| match o {
                InputDtype::Strong(d) => Some(*d),
                InputDtype::Weak(_) => None,
            })
            .collect();
        let order = instantiation_order(*bound);
        let promote = |required: &[ScalarType]| {
            order
                .iter()
                .copied()
                .find(|t| required.iter().all(|d| can_cast_safely(*d, *t)))
        };
        let mut chosen = if strong.is_empty() {
            None
        } else {
            promote(&strong)
        };
        // Weak scalars of a higher kind than the arrays (or with no arrays) bring
        // in their kind's default type: i32 array + 2.5 is f64.
        for o in &operands {
            if let InputDtype::Weak(v) = o {
                let kind = weak_kind(*v);
                if chosen.is_none_or(|t| kind > dtype_kind(t)) {
                    let default = if kind == 2 {
                        ScalarType::F64
                    } else {
                        ScalarType::I64
                    };
                    let mut required = strong.clone();
                    required.push(default);
                    chosen = promote(&required);
                }
            }
        }
        if chosen.is_none() && strong.is_empty() && *bound == TypeBound::Float {
            chosen = Some(ScalarType::F64);
        }
        match chosen {
            Some(t) => type_args.push(t),
            None => return Vec::new(),
        }
    }
    vec![instantiate(decl, &type_args)]
}

/// Picks the loop for `inputs` (see the module docs).
pub fn resolve_loop(
    decl: &UfuncDecl,
    inputs: &[InputDtype],
) -> Result<ResolvedLoop, NoMatchingLoop> {
    resolve_loop_with(decl, inputs, &FixedTypes::default(), Casting::default())
}

/// [`resolve_loop`] for a call that fixes `fixed` and casts under `casting`.
pub fn resolve_loop_with(
    decl: &UfuncDecl,
    inputs: &[InputDtype],
    fixed: &FixedTypes,
    casting: Casting,
) -> Result<ResolvedLoop, NoMatchingLoop> {
    let mut types = resolve_types_with(&LoopScheme::of_ufunc(decl), inputs, fixed, casting)?;
    Ok(ResolvedLoop {
        type_args: types.type_args,
        params: types.params,
        ret: types.results.remove(0),
    })
}

/// Picks the types a call of `decl` runs at for `inputs` (see the module docs).
pub fn resolve_types(
    decl: &LoopScheme<'_>,
    inputs: &[InputDtype],
) -> Result<ResolvedTypes, NoMatchingLoop> {
    resolve_types_with(decl, inputs, &FixedTypes::default(), Casting::default())
}

/// [`resolve_types`] for a call that fixes `fixed` and casts its inputs under
/// `casting` (rule 4 of the module docs).
pub fn resolve_types_with(
    decl: &LoopScheme<'_>,
    inputs: &[InputDtype],
    fixed: &FixedTypes,
    casting: Casting,
) -> Result<ResolvedTypes, NoMatchingLoop> {
    // With no array at all, scalars decide their own dtypes.
    let all_scalars = inputs.iter().all(|i| matches!(i, InputDtype::Weak(_)));
    let inputs: Vec<InputDtype> = if all_scalars {
        inputs
            .iter()
            .map(|i| match i {
                InputDtype::Weak(v) => InputDtype::Strong(v.ty()),
                strong => *strong,
            })
            .collect()
    } else {
        inputs.to_vec()
    };
    // Loop selection sees a fixed input as an array of its fixed type; a fixed
    // result of a generic type fixes that type's unfixed inputs too.
    let selection: Vec<InputDtype> = inputs
        .iter()
        .enumerate()
        .map(|(i, input)| {
            let through_result = match decl.params.get(i) {
                Some(SchemeType::Generic(g)) => decl
                    .results
                    .iter()
                    .enumerate()
                    .find(|(_, r)| **r == SchemeType::Generic(*g))
                    .and_then(|(j, _)| fixed.result_type(j)),
                _ => None,
            };
            match fixed.param(i).or(through_result) {
                Some(t) => InputDtype::Strong(t),
                None => *input,
            }
        })
        .collect();
    let candidates: Vec<ResolvedTypes> = candidates(decl, &selection)
        .into_iter()
        .filter(|lp| fixed.admits(lp))
        .collect();
    let accepts = |lp: &ResolvedTypes, exact: bool| {
        lp.params.iter().zip(&selection).all(|(p, i)| match i {
            InputDtype::Strong(d) if exact => storage_dtype(*d) == storage_dtype(*p),
            InputDtype::Strong(d) => can_cast_safely(*d, *p),
            InputDtype::Weak(v) => weak_kind_fits(*v, *p),
        })
    };
    let chosen = candidates
        .iter()
        .find(|lp| accepts(lp, true))
        .or_else(|| candidates.iter().find(|lp| accepts(lp, false)));
    let Some(lp) = chosen else {
        if !fixed.is_empty() {
            return Err(NoMatchingLoop {
                message: format!(
                    "no loop matching the specified signature and casting was found for {} `{}`",
                    decl.what, decl.name
                ),
            });
        }
        return Err(no_match(decl, &inputs, &candidates));
    };
    for (k, (p, i)) in lp.params.iter().zip(&inputs).enumerate() {
        if let InputDtype::Strong(d) = i {
            if !casting.allows(*d, *p) {
                return Err(NoMatchingLoop {
                    message: format!(
                        "cannot cast {} `{}` input {k} from {} to {} with casting rule '{casting}'",
                        decl.what,
                        decl.name,
                        d.name(),
                        p.name()
                    ),
                });
            }
        }
    }
    for (p, i) in lp.params.iter().zip(&inputs) {
        if let InputDtype::Weak(v) = i {
            if !weak_scalar_fits(*v, *p) {
                return Err(NoMatchingLoop {
                    message: format!(
                        "{} `{}`: the scalar {v} is out of bounds for {} (its loop is {})",
                        decl.what,
                        decl.name,
                        p.name(),
                        signature_text(lp)
                    ),
                });
            }
        }
    }
    Ok(lp.clone())
}

/// `(f32, f32) -> f32`, or `(f64) -> (f64, f64)` for several results.
fn signature_text(lp: &ResolvedTypes) -> String {
    let params: Vec<&str> = lp.params.iter().map(|t| t.name()).collect();
    let results: Vec<&str> = lp.results.iter().map(|t| t.name()).collect();
    match results.as_slice() {
        [one] => format!("({}) -> {one}", params.join(", ")),
        _ => format!("({}) -> ({})", params.join(", "), results.join(", ")),
    }
}

fn no_match(
    decl: &LoopScheme<'_>,
    inputs: &[InputDtype],
    candidates: &[ResolvedTypes],
) -> NoMatchingLoop {
    let given: Vec<String> = inputs
        .iter()
        .map(|i| match i {
            InputDtype::Strong(t) => t.name().to_string(),
            InputDtype::Weak(v) => format!("{} scalar {v}", v.ty().name()),
        })
        .collect();
    let signature = signature_text;
    let message = if decl.generics.is_empty() || !decl.declared.is_empty() {
        let loops: Vec<String> = candidates.iter().map(signature).collect();
        format!(
            "{} `{}` has no loop for the input dtypes ({}); its loops are: {}",
            decl.what,
            decl.name,
            given.join(", "),
            loops.join(", ")
        )
    } else if candidates.is_empty() {
        format!(
            "generic {} `{}` cannot be specialised for the input dtypes ({}): no type argument satisfies its bounds and holds every operand safely",
            decl.what,
            decl.name,
            given.join(", ")
        )
    } else {
        format!(
            "generic {} `{}` has no loop for the input dtypes ({}): the closest, {}, needs an unsafe conversion",
            decl.what,
            decl.name,
            given.join(", "),
            signature(&candidates[0])
        )
    };
    NoMatchingLoop { message }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel_decl::Identity;
    use ScalarType::*;

    fn decl(
        params: Vec<SchemeType>,
        ret: SchemeType,
        generics: Vec<TypeBound>,
        declared: Vec<Vec<ScalarType>>,
    ) -> UfuncDecl {
        UfuncDecl {
            name: "f".into(),
            params,
            ret,
            generics,
            declared,
            identity: Identity::None,
            widen: false,
            target: None,
            span: Default::default(),
        }
    }

    fn generic_float(n: usize, declared: Vec<Vec<ScalarType>>) -> UfuncDecl {
        decl(
            vec![SchemeType::Generic(0); n],
            SchemeType::Generic(0),
            vec![TypeBound::Float],
            declared,
        )
    }

    #[test]
    fn fixed_types_pick_the_loop_and_casting_checks_the_inputs() {
        let strong = |t| InputDtype::Strong(t);
        // A generic ufunc: dtype= fixes the type argument (the homogeneous loop).
        let d = decl(
            vec![SchemeType::Generic(0); 2],
            SchemeType::Generic(0),
            vec![TypeBound::Num],
            vec![],
        );
        let call = |inputs: &[InputDtype], fixed: &FixedTypes, casting| {
            resolve_types_with(&LoopScheme::of_ufunc(&d), inputs, fixed, casting)
        };
        let lp = call(
            &[strong(I64), strong(I64)],
            &FixedTypes::result(F32),
            Casting::SameKind,
        )
        .unwrap();
        assert_eq!(
            (lp.params.clone(), lp.results.clone()),
            (vec![F32, F32], vec![F32])
        );
        assert_eq!(
            call(
                &[strong(F64), strong(F64)],
                &FixedTypes::result(I64),
                Casting::SameKind
            )
            .unwrap_err()
            .message,
            "cannot cast ufunc `f` input 0 from f64 to i64 with casting rule 'same_kind'"
        );
        assert!(call(
            &[strong(F64), strong(F64)],
            &FixedTypes::result(I64),
            Casting::Unsafe
        )
        .is_ok());
        // signature=: one input fixed, the other selected by safe casting.
        let fixed = FixedTypes {
            params: vec![Some(F64), None],
            results: vec![],
        };
        let lp = call(&[strong(I32), strong(I32)], &fixed, Casting::SameKind).unwrap();
        assert_eq!(lp.params, vec![F64, F64]);
        // casting = no needs the exact loop even without fixed types.
        assert_eq!(
            call(
                &[strong(I32), strong(I64)],
                &FixedTypes::default(),
                Casting::No
            )
            .unwrap_err()
            .message,
            "cannot cast ufunc `f` input 0 from i32 to i64 with casting rule 'no'"
        );
        assert!(call(
            &[strong(I32), strong(I32)],
            &FixedTypes::default(),
            Casting::No
        )
        .is_ok());
        // A declared list: only its loops, with the fixed types.
        let listed = generic_float(2, vec![vec![F32], vec![F64]]);
        let err = resolve_types_with(
            &LoopScheme::of_ufunc(&listed),
            &[strong(F32), strong(F32)],
            &FixedTypes::result(I64),
            Casting::Unsafe,
        )
        .unwrap_err();
        assert_eq!(
            err.message,
            "no loop matching the specified signature and casting was found for ufunc `f`"
        );
    }

    #[test]
    fn an_exact_match_wins_over_an_earlier_cast() {
        let d = generic_float(2, vec![vec![F64], vec![F32]]);
        let lp = resolve_loop(&d, &[InputDtype::Strong(F32), InputDtype::Strong(F32)]).unwrap();
        assert_eq!(lp.type_args, vec![F32]);
    }

    #[test]
    fn otherwise_the_first_loop_reached_by_safe_casting() {
        let d = generic_float(2, vec![vec![F32], vec![F64]]);
        // i16 -> f32 is safe, so f32 comes first.
        let lp = resolve_loop(&d, &[InputDtype::Strong(I16), InputDtype::Strong(F32)]).unwrap();
        assert_eq!(lp.type_args, vec![F32]);
        // i32 -> f32 is not safe.
        let lp = resolve_loop(&d, &[InputDtype::Strong(I32), InputDtype::Strong(F32)]).unwrap();
        assert_eq!(lp.type_args, vec![F64]);
    }

    #[test]
    fn weak_scalars_do_not_promote() {
        let d = decl(
            vec![SchemeType::Generic(0); 2],
            SchemeType::Generic(0),
            vec![TypeBound::Num],
            vec![],
        );
        let lp = resolve_loop(
            &d,
            &[
                InputDtype::Strong(I32),
                InputDtype::Weak(ScalarValue::I64(2)),
            ],
        )
        .unwrap();
        assert_eq!(lp.ret, I32);
        let lp = resolve_loop(
            &d,
            &[
                InputDtype::Strong(F32),
                InputDtype::Weak(ScalarValue::F64(2.5)),
            ],
        )
        .unwrap();
        assert_eq!(lp.ret, F32);
        // A weak float does not fit an integer loop: the instance becomes a float one.
        let lp = resolve_loop(
            &d,
            &[
                InputDtype::Strong(I32),
                InputDtype::Weak(ScalarValue::F64(0.5)),
            ],
        )
        .unwrap();
        assert_eq!(lp.ret, F64);
        // An integer scalar out of range of the array's dtype is an error, not a
        // promotion (NumPy's OverflowError).
        let err = resolve_loop(
            &d,
            &[
                InputDtype::Strong(U8),
                InputDtype::Weak(ScalarValue::I64(300)),
            ],
        )
        .unwrap_err();
        assert!(
            err.message.contains("300 is out of bounds for u8"),
            "{}",
            err.message
        );
        let lp = resolve_loop(
            &d,
            &[
                InputDtype::Strong(U8),
                InputDtype::Weak(ScalarValue::I64(3)),
            ],
        )
        .unwrap();
        assert_eq!(lp.ret, U8);
    }

    #[test]
    fn generic_instances_promote_like_numpy() {
        let d = decl(
            vec![SchemeType::Generic(0); 2],
            SchemeType::Generic(0),
            vec![TypeBound::Num],
            vec![],
        );
        let promote = |a, b| {
            resolve_loop(&d, &[InputDtype::Strong(a), InputDtype::Strong(b)])
                .unwrap()
                .ret
        };
        assert_eq!(promote(U8, I8), I16);
        assert_eq!(promote(I32, F32), F64);
        assert_eq!(promote(U64, I64), F64);
        assert_eq!(promote(Bool, U8), U8);
    }

    #[test]
    fn all_scalar_calls_use_the_scalars_own_types() {
        let d = decl(
            vec![SchemeType::Generic(0)],
            SchemeType::Generic(0),
            vec![TypeBound::Num],
            vec![],
        );
        let lp = resolve_loop(&d, &[InputDtype::Weak(ScalarValue::I32(3))]).unwrap();
        assert_eq!(lp.ret, I32);
    }

    #[test]
    fn no_match_lists_the_loops_and_the_given_dtypes() {
        let d = decl(
            vec![SchemeType::Concrete(F32); 2],
            SchemeType::Concrete(F32),
            vec![],
            vec![],
        );
        let err =
            resolve_loop(&d, &[InputDtype::Strong(F64), InputDtype::Strong(I64)]).unwrap_err();
        assert_eq!(
            err.message,
            "ufunc `f` has no loop for the input dtypes (f64, i64); its loops are: (f32, f32) -> f32"
        );
        let d = generic_float(1, vec![]);
        let err = resolve_loop(&d, &[InputDtype::Strong(Bool)]);
        assert!(err.is_ok(), "bool converts safely to f32");
        let d = decl(
            vec![SchemeType::Generic(0)],
            SchemeType::Generic(0),
            vec![TypeBound::Int],
            vec![],
        );
        let err = resolve_loop(&d, &[InputDtype::Strong(F64)]).unwrap_err();
        assert!(
            err.message.contains("cannot be specialised"),
            "{}",
            err.message
        );
    }
}
