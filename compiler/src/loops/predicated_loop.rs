//! The predicated loop of an elementwise loop: the branch-free form of its
//! element function ([`crate::passes::predicate`]) written back as an IR loop,
//! for a backend that hands loops to a vectoriser instead of lowering the
//! predicated form to vectors itself (the optimized tier: LLVM's loop vectoriser
//! cannot vectorise a loop with a second exit or a call, which the scalar loop's
//! rare paths — sin's Payne–Hanek reduction — have; here they are guards).
//!
//! It knows the predicated form and IR; not how a backend runs the loop, nor
//! how the caller reruns the elements a guard sends to the scalar code.

use super::elementwise::array1;
use crate::diagnostics::Span;
use crate::ir::build::FunctionBuilder;
use crate::ir::*;
use crate::passes::predicate::Predicated;

/// `name.predicated(in0: &[X], .., out: &mut [Z]) -> bool` for the predicated
/// form `pred` of an element function `(X, ..) -> Z`: for every `i` it stores
/// the predicated body's result on `in0[i], ..` into `out[i]` and returns
/// whether a guard held on any element. When one did, `out` holds nothing
/// meaningful: the caller must run those elements with the loop function itself.
/// No instruction traps (divisors and table indices are made safe, the
/// predicated form's promise), accesses are unchecked (the loop function's
/// contract), and nothing but `out` is written.
///
/// The function is not added to a program: its `LoadConst`s name the tables of
/// the program `pred` was made from.
pub fn build_predicated_loop(pred: &Predicated, span: Span) -> Function {
    let mut b = FunctionBuilder::new(
        format!("{}.predicated", pred.name),
        Some(ScalarType::Bool),
        span,
    );
    let inputs: Vec<LocalId> = pred
        .params
        .iter()
        .enumerate()
        .map(|(k, &t)| b.param(format!("in{k}"), array1(t, false)))
        .collect();
    let out = b.param("out", array1(pred.ret, true));
    let any = b.local("any", Type::Scalar(ScalarType::Bool));
    let no = b.constant(ScalarValue::Bool(false));
    b.set(any, no);
    let n = b.array_len(out, 0);
    let i = b.local("i", Type::Scalar(ScalarType::Usize));
    b.counted_loop_to(i, n, IterationOrder::Independent, |b, iv| {
        let mut values: Vec<ValueId> = Vec::with_capacity(pred.insts.len());
        for (k, inst) in pred.insts.iter().enumerate() {
            b.current_span = pred.spans[k];
            let ty = pred.types[k];
            let kind = inst.to_ir(
                |p| values[p.0 as usize],
                |k| InstKind::Load {
                    array: inputs[k as usize],
                    indices: vec![iv],
                    checked: false,
                },
            );
            let value = b.value(kind, ty);
            values.push(value);
        }
        b.current_span = span;
        b.store(out, vec![iv], values[pred.result.0 as usize], false);
        let mut guards = pred.guards.iter().map(|g| values[g.when.0 as usize]);
        if let Some(first) = guards.next() {
            let held = guards.fold(first, |acc, g| b.binary(BinaryOp::Or, acc, g));
            let so_far = b.get(any);
            let now = b.binary(BinaryOp::Or, so_far, held);
            b.set(any, now);
        }
    });
    let result = b.get(any);
    b.inst(InstKind::Return(Some(result)));
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interp::Interpreter;
    use crate::passes::predicate::if_convert;
    use crate::test_support::{compile, desc};

    /// The loop's results are the element function's where no guard holds, and
    /// it says when one does (here: the function's own loop, on negative x).
    #[test]
    fn the_loop_computes_every_element_and_reports_guards() {
        let mut program = compile(
            "#[vectorize] fn f(x: f64) -> f64 {
                if x < 0.0 { let mut s = 0.0; while s > x { s -= 1.0; } return s; }
                x.sqrt() * 2.0
            }",
        );
        let f = program.find("f").unwrap();
        let sig = super::super::elementwise::LoopSignature {
            inputs: vec![ScalarType::F64],
            output: ScalarType::F64,
        };
        let (element, _) =
            super::super::elementwise::build_elementwise_loop(&mut program, f, &sig).unwrap();
        let pred = if_convert(&program, element).unwrap();
        let lp = program.add_function(build_predicated_loop(&pred, program.function(f).span));
        crate::ir::verify::verify_program(&program).unwrap();
        let run = |xs: &[f64]| {
            let mut out = vec![0.0f64; xs.len()];
            let n = xs.len() as i64;
            let args = [
                HostArg::Array(desc(xs.as_ptr().cast_mut(), &[n], &[1])),
                HostArg::Array(desc(out.as_mut_ptr(), &[n], &[1])),
            ];
            // SAFETY: both descriptors cover their live buffers.
            let held = unsafe { Interpreter::new(&program).call(lp, &args, &mut std::io::sink()) }
                .unwrap();
            (held, out)
        };
        assert_eq!(
            run(&[4.0, 9.0, 0.25]),
            (Some(ScalarValue::Bool(false)), vec![4.0, 6.0, 1.0])
        );
        assert_eq!(run(&[4.0, -2.5]).0, Some(ScalarValue::Bool(true)));
    }
}
