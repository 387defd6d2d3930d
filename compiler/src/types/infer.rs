//! Type inference machinery: checker types, type variables and unification.
//!
//! kern infers like Rust for what it has: a literal `2` is an *integer variable*
//! and `2.0` a *float variable* until context fixes them, and they default to `i32`
//! and `f64` when nothing does. A generic parameter `T: Float` at a call site is a
//! float variable too. This module only knows types, not syntax.

use std::fmt;

use crate::types::ScalarType;

/// What a type variable may still become.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VarKind {
    /// Anything (a `let x;` without type or initializer).
    Any,
    /// Any integer or float type (`T: Num`).
    Num,
    /// Any integer type (an integer literal, `T: Int`).
    Int,
    /// f32 or f64 (a float literal, `T: Float`).
    Float,
}

impl VarKind {
    fn accepts(self, t: ScalarType) -> bool {
        match self {
            VarKind::Any => true,
            VarKind::Num => t != ScalarType::Bool,
            VarKind::Int => t.is_int(),
            VarKind::Float => t.is_float(),
        }
    }

    fn meet(self, other: VarKind) -> Option<VarKind> {
        use VarKind::*;
        Some(match (self, other) {
            (Any, k) | (k, Any) => k,
            (Num, k) | (k, Num) => k,
            (Int, Int) => Int,
            (Float, Float) => Float,
            _ => return None,
        })
    }

    fn describe(self) -> &'static str {
        match self {
            VarKind::Any => "_",
            VarKind::Num => "{number}",
            VarKind::Int => "{integer}",
            VarKind::Float => "{float}",
        }
    }
}

/// A type as the checker sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Ty {
    Scalar(ScalarType),
    Var(u32),
    /// An array parameter: element type, rank, mutability.
    Array {
        elem: ScalarType,
        rank: u8,
        mutable: bool,
    },
    /// A host array `Array<T>` (only in `main`): element type, any rank.
    HostArray(ScalarType),
    #[default]
    Unit,
    /// The type of `return`, `break`, `continue` and diverging blocks.
    Never,
    /// Stands for an expression that already has an error: unifies with anything so
    /// one mistake is reported once.
    Error,
}

#[derive(Clone, Debug, Default)]
pub struct Inference {
    /// Per variable: its binding (when solved) or its remaining kind.
    vars: Vec<VarState>,
}

#[derive(Clone, Copy, Debug)]
enum VarState {
    Unbound(VarKind),
    Link(Ty),
}

/// Why two types did not unify, in the checker's words.
#[derive(Debug)]
pub struct Mismatch;

impl Inference {
    pub fn fresh(&mut self, kind: VarKind) -> Ty {
        self.vars.push(VarState::Unbound(kind));
        Ty::Var(self.vars.len() as u32 - 1)
    }

    /// Follows variable links to the current representative.
    pub fn resolve(&self, ty: Ty) -> Ty {
        let mut ty = ty;
        while let Ty::Var(v) = ty {
            match self.vars[v as usize] {
                VarState::Link(t) => ty = t,
                VarState::Unbound(_) => break,
            }
        }
        ty
    }

    pub fn var_kind(&self, ty: Ty) -> Option<VarKind> {
        match self.resolve(ty) {
            Ty::Var(v) => match self.vars[v as usize] {
                VarState::Unbound(k) => Some(k),
                VarState::Link(_) => None,
            },
            _ => None,
        }
    }

    pub fn unify(&mut self, a: Ty, b: Ty) -> Result<(), Mismatch> {
        let (a, b) = (self.resolve(a), self.resolve(b));
        match (a, b) {
            (Ty::Error, _) | (_, Ty::Error) | (Ty::Never, _) | (_, Ty::Never) => Ok(()),
            (Ty::Var(x), Ty::Var(y)) if x == y => Ok(()),
            (Ty::Var(x), Ty::Var(y)) => {
                let (VarState::Unbound(kx), VarState::Unbound(ky)) =
                    (self.vars[x as usize], self.vars[y as usize])
                else {
                    return Err(Mismatch);
                };
                let kind = kx.meet(ky).ok_or(Mismatch)?;
                self.vars[y as usize] = VarState::Unbound(kind);
                self.vars[x as usize] = VarState::Link(Ty::Var(y));
                Ok(())
            }
            (Ty::Var(x), other) | (other, Ty::Var(x)) => {
                let VarState::Unbound(kind) = self.vars[x as usize] else {
                    return Err(Mismatch);
                };
                let fits = match other {
                    Ty::Scalar(t) => kind.accepts(t),
                    Ty::Unit | Ty::Array { .. } | Ty::HostArray(_) => kind == VarKind::Any,
                    _ => true,
                };
                if !fits {
                    return Err(Mismatch);
                }
                self.vars[x as usize] = VarState::Link(other);
                Ok(())
            }
            (x, y) if x == y => Ok(()),
            _ => Err(Mismatch),
        }
    }

    /// Requires `ty` to be (or become) a type of `kind`; binds nothing concrete.
    pub fn constrain(&mut self, ty: Ty, kind: VarKind) -> Result<(), Mismatch> {
        match self.resolve(ty) {
            Ty::Var(v) => {
                let VarState::Unbound(k) = self.vars[v as usize] else {
                    return Err(Mismatch);
                };
                let meet = k.meet(kind).ok_or(Mismatch)?;
                self.vars[v as usize] = VarState::Unbound(meet);
                Ok(())
            }
            Ty::Scalar(t) if kind.accepts(t) => Ok(()),
            Ty::Error | Ty::Never => Ok(()),
            _ => Err(Mismatch),
        }
    }

    /// Fixes an unsolved literal variable to its default (`i32`, `f64`); returns the
    /// resolved type. `Any` variables stay unsolved (the caller reports them).
    pub fn default_var(&mut self, ty: Ty) -> Ty {
        let resolved = self.resolve(ty);
        if let Ty::Var(v) = resolved {
            let default = match self.vars[v as usize] {
                VarState::Unbound(VarKind::Int | VarKind::Num) => Some(ScalarType::I32),
                VarState::Unbound(VarKind::Float) => Some(ScalarType::F64),
                _ => None,
            };
            if let Some(t) = default {
                self.vars[v as usize] = VarState::Link(Ty::Scalar(t));
                return Ty::Scalar(t);
            }
        }
        resolved
    }

    /// The scalar type `ty` stands for, defaulting literal variables.
    pub fn scalar(&mut self, ty: Ty) -> Option<ScalarType> {
        match self.default_var(ty) {
            Ty::Scalar(t) => Some(t),
            _ => None,
        }
    }

    pub fn describe(&self, ty: Ty) -> String {
        match self.resolve(ty) {
            Ty::Var(v) => match self.vars[v as usize] {
                VarState::Unbound(k) => k.describe().to_string(),
                VarState::Link(t) => self.describe(t),
            },
            other => other.to_string(),
        }
    }
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ty::Scalar(t) => write!(f, "{t}"),
            Ty::Var(_) => f.write_str("_"),
            Ty::Array {
                elem,
                rank,
                mutable,
            } => {
                let mut s = elem.to_string();
                for _ in 0..*rank {
                    s = format!("[{s}]");
                }
                write!(f, "&{}{s}", if *mutable { "mut " } else { "" })
            }
            Ty::HostArray(t) => write!(f, "Array<{t}>"),
            Ty::Unit => f.write_str("()"),
            Ty::Never => f.write_str("!"),
            Ty::Error => f.write_str("{error}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_variables_take_the_type_they_meet() {
        let mut inf = Inference::default();
        let lit = inf.fresh(VarKind::Int);
        inf.unify(lit, Ty::Scalar(ScalarType::I64)).unwrap();
        assert_eq!(inf.resolve(lit), Ty::Scalar(ScalarType::I64));
        let float = inf.fresh(VarKind::Float);
        assert!(inf.unify(float, Ty::Scalar(ScalarType::I32)).is_err());
    }

    #[test]
    fn unsolved_literals_default_like_rust() {
        let mut inf = Inference::default();
        let a = inf.fresh(VarKind::Int);
        let b = inf.fresh(VarKind::Float);
        assert_eq!(inf.scalar(a), Some(ScalarType::I32));
        assert_eq!(inf.scalar(b), Some(ScalarType::F64));
    }

    #[test]
    fn kinds_meet_when_variables_unify() {
        let mut inf = Inference::default();
        let num = inf.fresh(VarKind::Num);
        let float = inf.fresh(VarKind::Float);
        inf.unify(num, float).unwrap();
        assert_eq!(inf.var_kind(num), Some(VarKind::Float));
        let int = inf.fresh(VarKind::Int);
        assert!(inf.unify(int, float).is_err());
    }
}
