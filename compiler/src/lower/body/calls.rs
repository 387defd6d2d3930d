//! Lowering of calls: user functions (through their instances), intrinsics and
//! builtin methods on scalars, and the macros `println!`/`print!` (format pieces),
//! `assert!` and `assert_eq!` (traps).

use super::*;

impl BodyLowerer<'_, '_, '_, '_> {
    pub(super) fn call(
        &mut self,
        e: &Expr,
        key: crate::types::env::FnKey,
        type_args: &[Ty],
        receiver: Option<&Expr>,
        args: &[Expr],
    ) -> Option<ValueId> {
        let type_args: Vec<ScalarType> = type_args
            .iter()
            .map(|t| match t {
                Ty::Scalar(s) => *s,
                _ => ScalarType::F64,
            })
            .collect();
        let callee = self.lowering.request(key, type_args);
        let mut values = Vec::new();
        for a in receiver.into_iter().chain(args.iter()) {
            match self.typed.ty(a) {
                Ty::HostArray(_) => values.push(Arg::Array(self.host_array_operand(a)?)),
                Ty::Array { .. } => {
                    let Some(Resolution::Local(b)) =
                        self.typed.resolutions.get(&strip_ref(a).id).cloned()
                    else {
                        return None;
                    };
                    let local = self.local_for(b);
                    values.push(Arg::Array(local));
                }
                _ => values.push(Arg::Value(self.expr(a)?)),
            }
        }
        self.b.current_span = e.span;
        match self.typed.ty(e) {
            Ty::Scalar(t) => Some(self.b.value(
                InstKind::Call {
                    callee,
                    args: values,
                },
                t,
            )),
            _ => {
                self.b.inst(InstKind::Call {
                    callee,
                    args: values,
                });
                None
            }
        }
    }

    pub(super) fn builtin_method(
        &mut self,
        e: &Expr,
        m: MethodResolution,
        receiver: &Expr,
        args: &[Expr],
    ) -> Option<ValueId> {
        let x = self.expr(receiver)?;
        let t = self.scalar_ty(receiver);
        let mut arg_values = Vec::new();
        for a in args {
            arg_values.push(self.expr(a)?);
        }
        let bits_of = |l: &mut Self, v: ValueId| {
            l.b.value(InstKind::Bitcast(v, t.bits_type()), t.bits_type())
        };
        let result = match m {
            MethodResolution::Intrinsic(i, _) => {
                let mut all = vec![x];
                all.extend(arg_values);
                self.b.value(InstKind::Intrinsic(i, all), t)
            }
            MethodResolution::ToBits => bits_of(self, x),
            MethodResolution::IsNan => self.b.cmp(CmpOp::Ne, x, x),
            MethodResolution::IsInfinite | MethodResolution::IsFinite => {
                let abs = self
                    .b
                    .value(InstKind::Intrinsic(crate::ir::Intrinsic::Abs, vec![x]), t);
                let inf = self.constant(float_value(t, f64::INFINITY));
                if m == MethodResolution::IsInfinite {
                    self.b.cmp(CmpOp::Eq, abs, inf)
                } else {
                    self.b.cmp(CmpOp::Lt, abs, inf)
                }
            }
            MethodResolution::IsSignNegative | MethodResolution::IsSignPositive => {
                let bits = bits_of(self, x);
                let shift = self.constant(ScalarValue::U32(t.bits() - 1));
                let sign = self
                    .b
                    .value(InstKind::Binary(IrBin::Shr, bits, shift), t.bits_type());
                let zero = self.constant(ScalarValue::zero(t.bits_type()));
                if m == MethodResolution::IsSignNegative {
                    self.b.cmp(CmpOp::Ne, sign, zero)
                } else {
                    self.b.cmp(CmpOp::Eq, sign, zero)
                }
            }
            MethodResolution::WrappingAdd => self
                .b
                .value(InstKind::Binary(IrBin::Add, x, arg_values[0]), t),
            MethodResolution::WrappingSub => self
                .b
                .value(InstKind::Binary(IrBin::Sub, x, arg_values[0]), t),
            MethodResolution::WrappingMul => self
                .b
                .value(InstKind::Binary(IrBin::Mul, x, arg_values[0]), t),
            MethodResolution::WrappingNeg => self.b.value(InstKind::Unary(IrUn::Neg, x), t),
        };
        let _ = e;
        Some(result)
    }

    pub(super) fn macro_call(
        &mut self,
        e: &Expr,
        name: &Ident,
        args: &[Expr],
        resolution: Option<Resolution>,
    ) {
        match name.name.as_str() {
            "println" | "print" => {
                let Some(Resolution::Print { pieces, newline }) = resolution else {
                    return;
                };
                let rest = if args.is_empty() { args } else { &args[1..] };
                if rest
                    .iter()
                    .any(|a| matches!(self.typed.ty(a), Ty::HostArray(_)))
                {
                    self.host_print(e, pieces, newline, rest);
                    return;
                }
                let Some(values) = rest
                    .iter()
                    .map(|a| self.expr(a))
                    .collect::<Option<Vec<_>>>()
                else {
                    return;
                };
                self.b.current_span = e.span;
                self.b.inst(InstKind::Print {
                    pieces,
                    args: values,
                    newline,
                });
            }
            "assert" => {
                let Some(c) = self.expr(&args[0]) else { return };
                let message = match args.get(1).map(|a| &a.kind) {
                    Some(ExprKind::Lit(Literal {
                        kind: LitKind::Str(s),
                        ..
                    })) => s.clone(),
                    _ => "the condition is false".to_string(),
                };
                self.b.current_span = e.span;
                self.b.inst(InstKind::Assert { cond: c, message });
            }
            "assert_eq" => {
                let Some(a) = self.expr(&args[0]) else { return };
                let Some(b) = self.expr(&args[1]) else { return };
                let c = self.b.cmp(CmpOp::Eq, a, b);
                self.b.current_span = e.span;
                self.b.inst(InstKind::Assert {
                    cond: c,
                    message: "`left == right`".into(),
                });
            }
            _ => {}
        }
    }
}
