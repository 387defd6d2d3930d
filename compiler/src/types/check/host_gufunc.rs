//! Checking gufunc calls on host arrays in `fn main`: `matmul(&a, &b)` (the inputs
//! only: the output is allocated and returned; one output) and
//! `matmul(&a, &b, &mut c)` (every `&mut` output given, written in place; the call
//! is a statement). The element types are chosen at compile time by the rule the
//! runtime uses (`dtype_rules::resolve::resolve_types`), so the type of the result
//! is known here. Core and loop dimensions are only known at run time: the
//! runtime's gufunc call checks them and its errors become traps at the call.

use super::host_arrays::HostResolution;
use super::*;
use crate::dtype_rules::casting::can_cast_same_kind;
use crate::dtype_rules::resolve::{resolve_types, InputDtype, LoopScheme};
use crate::kernel_decl::{GufuncDecl, OperandForm, SchemeType};

impl FnChecker<'_, '_> {
    /// A call of the `#[guvectorize]` function `key` in host code. `None` when it is
    /// an ordinary scalar call (every parameter given, no array among them).
    pub(super) fn host_gufunc_call(&mut self, call: &UserCall) -> Option<Ty> {
        let (e, key, name, args) = (call.e, call.key, call.name, call.args);
        let decl = self.env.function(key).decl;
        let nparams = decl.params.len();
        let types: Vec<Ty> = args.iter().map(|a| self.arg_expr(a)).collect();
        let any_array = types
            .iter()
            .any(|t| matches!(self.inf.resolve(*t), Ty::HostArray(_)));
        // An argument whose type is already an error (a `load` whose element type
        // could not be inferred) may well be an array: say nothing more.
        if types
            .iter()
            .any(|t| matches!(self.inf.resolve(*t), Ty::Error))
        {
            return Some(Ty::Error);
        }
        if !any_array && args.len() == nparams {
            self.prechecked_args = Some(types);
            return None;
        }
        // A declaration with errors has them reported where it is declared.
        let Some(gufunc) = GufuncDecl::of(decl) else {
            return Some(Ty::Error);
        };
        let nin = gufunc.inputs.len();
        let given_outputs: Vec<usize> = (0..gufunc.outputs.len())
            .filter(|&k| gufunc.outputs[k].form != OperandForm::Returned)
            .collect();
        let returned = gufunc.outputs.len() - given_outputs.len();
        let allocating = args.len() == nin;
        if !allocating && args.len() != nparams {
            let expected = if nin == nparams {
                format!("{nin}")
            } else {
                format!("{nin} (the inputs) or {nparams} (the inputs and the `&mut` outputs)")
            };
            return Some(self.error(
                e.span,
                format!(
                    "the gufunc `{name}` takes {expected} arguments but {} were supplied",
                    args.len()
                ),
            ));
        }
        if allocating && gufunc.outputs.len() != 1 {
            return Some(self.error(
                e.span,
                format!(
                    "the gufunc `{name}` has {} outputs: pass them as `&mut` arrays after the inputs",
                    gufunc.outputs.len()
                ),
            ));
        }
        if !allocating && returned > 0 {
            return Some(self.error(
                e.span,
                format!("the gufunc `{name}` returns a value: call it with the inputs only, and it returns the array of results"),
            ));
        }

        let input_types = self.gufunc_input_dtypes(&args[..nin], &types[..nin])?;
        let params: Vec<SchemeType> = gufunc.inputs.iter().map(|o| o.elem).collect();
        let results: Vec<SchemeType> = gufunc.outputs.iter().map(|o| o.elem).collect();
        let scheme = LoopScheme {
            what: "gufunc",
            name,
            params: &params,
            results: &results,
            generics: &gufunc.generics,
            declared: &[],
        };
        let resolved = match resolve_types(&scheme, &input_types) {
            Ok(r) => r,
            Err(err) => {
                return Some(self.error(e.span, err.message));
            }
        };
        if allocating {
            let ret = resolved.results[0];
            self.resolve(
                e,
                Resolution::Host(HostResolution::Gufunc {
                    name: name.to_string(),
                    nin,
                    allocating: true,
                }),
            );
            return Some(Ty::HostArray(ret));
        }
        for (k, arg) in args[nin..].iter().enumerate() {
            let result = resolved.results[given_outputs[k]];
            let param = &gufunc.outputs[given_outputs[k]].name;
            if !matches!(&arg.kind, ExprKind::Ref { mutable: true, .. }) {
                self.error(
                    arg.span,
                    format!("the output `{param}` is passed mutably borrowed: `&mut out`"),
                );
                continue;
            }
            match self.inf.resolve(types[nin + k]) {
                Ty::HostArray(elem) => {
                    if !can_cast_same_kind(result, elem) {
                        self.error(
                            arg.span,
                            format!("cannot write the {result} results of `{name}` to an `Array<{elem}>` (casting rule 'same_kind')"),
                        );
                    }
                }
                Ty::Error => {}
                _ => {
                    let d = self.inf.describe(types[nin + k]);
                    self.error(
                        arg.span,
                        format!("the output `{param}` must be a host array, found `{d}`"),
                    );
                }
            }
        }
        self.resolve(
            e,
            Resolution::Host(HostResolution::Gufunc {
                name: name.to_string(),
                nin,
                allocating: false,
            }),
        );
        Some(Ty::Unit)
    }

    /// What dtype resolution sees of each input; `None` after an error.
    fn gufunc_input_dtypes(&mut self, args: &[Expr], types: &[Ty]) -> Option<Vec<InputDtype>> {
        let mut inputs = Vec::new();
        for (a, t) in args.iter().zip(types) {
            if self.inf.resolve(*t) == Ty::Error {
                return None;
            }
            inputs.push(self.input_dtype_of(a, *t, "gufunc")?);
        }
        Some(inputs)
    }
}
