//! Block reduction loops: the compiled inner loop of `reduce` for a reorderable
//! binary ufunc over one contiguous run.
//!
//! [`build_reduce_loop`] adds `f[A,X->A].reduce(x: &[X], out: &mut [A])` that
//! stores into `out[0]` the reduction of the `n >= 1` elements of `x` (any
//! stride), in this fixed order — NumPy's pairwise block, which keeps eight
//! independent accumulators so the loop is not one long dependency chain:
//!
//! * `n < 8`: `f(..f(f(x0, x1), x2).., x[n-1])`;
//! * otherwise `r[k] = x[k]` for `k < 8`, then for each further full group of
//!   eight `r[k] = f(r[k], x[8j + k])`, then
//!   `f(f(f(r0, r1), f(r2, r3)), f(f(r4, r5), f(r6, r7)))`, then the remaining
//!   `n mod 8` elements folded in order.
//!
//! The runtime cuts long axes into fixed-size blocks, reduces each with this loop
//! and then reduces the block results the same way, so the order depends only on
//! the data, never on the target or thread count. The IR is the semantics, as for
//! elementwise loops. This module knows IR only.

use crate::ir::build::FunctionBuilder;
use crate::ir::*;
use crate::loops::elementwise::{
    add_element_function, array1, convert, scalar_signature, LoopError, LoopSignature,
};

/// Accumulators of the unrolled loop.
pub const LANES: usize = 8;

/// Elements per block: the runtime cuts a long axis into runs of this many
/// elements (the last one shorter), reduces each with the block loop, and reduces
/// the block results the same way until one is left. Part of the order, so every
/// target uses this one value.
pub const BLOCK: usize = 128;

/// The two element functions a block reduction combines with: `f[A,X->A]` for an
/// accumulator and an element, `f[A,A->A]` for two accumulators (the same
/// function when `X = A`).
pub(super) struct Combiners {
    /// The ufunc's name, for the loop's name.
    pub base: String,
    pub span: crate::diagnostics::Span,
    pub mixed: LoopSignature,
    pub elem: FuncId,
    pub acc: FuncId,
}

/// The element function `f[A,X->A]` of the binary `ufunc` that folds an `elem`
/// value into an `acc` accumulator — what both reductions and scans combine with —
/// and what a second combiner of the same ufunc needs.
pub(super) struct MixedCombiner {
    /// `f[A,X->A]`.
    pub func: FuncId,
    /// The ufunc's name, for the loop's name.
    pub base: String,
    pub span: crate::diagnostics::Span,
    pub mixed: LoopSignature,
    params: Vec<ScalarType>,
    ret: ScalarType,
}

/// Adds `f[A,X->A]` of the binary `ufunc` (see [`MixedCombiner`]).
pub(super) fn add_mixed_combiner(
    program: &mut Program,
    ufunc: FuncId,
    elem: ScalarType,
    acc: ScalarType,
) -> Result<MixedCombiner, LoopError> {
    let f = program.function(ufunc);
    let (params, ret) = scalar_signature(f)?;
    if params.len() != 2 {
        return Err(LoopError::Arity {
            function: f.name.clone(),
            params: params.len(),
            inputs: 2,
        });
    }
    let base = f.name.clone();
    let span = f.span;
    let mixed = LoopSignature {
        inputs: vec![acc, elem],
        output: acc,
    };
    let func = add_element_function(
        program,
        ufunc,
        &params,
        ret,
        &mixed,
        &format!("{base}[{mixed}]"),
    );
    Ok(MixedCombiner {
        func,
        base,
        span,
        mixed,
        params,
        ret,
    })
}

/// Adds the element functions of the binary `ufunc` for a reduction of `elem`
/// values accumulating in `acc`.
pub(super) fn add_combiners(
    program: &mut Program,
    ufunc: FuncId,
    elem: ScalarType,
    acc: ScalarType,
) -> Result<Combiners, LoopError> {
    let m = add_mixed_combiner(program, ufunc, elem, acc)?;
    let combine_acc = if elem == acc {
        m.func
    } else {
        let same = LoopSignature {
            inputs: vec![acc, acc],
            output: acc,
        };
        add_element_function(
            program,
            ufunc,
            &m.params,
            m.ret,
            &same,
            &format!("{}[{same}]", m.base),
        )
    };
    Ok(Combiners {
        base: m.base,
        span: m.span,
        mixed: m.mixed,
        elem: m.func,
        acc: combine_acc,
    })
}

impl Combiners {
    /// The builder of the loop `f[A,X->A].{suffix}` that combines with these.
    pub fn builder(&self, suffix: &str) -> FunctionBuilder {
        FunctionBuilder::new(
            format!("{}[{}].{suffix}", self.base, self.mixed),
            None,
            self.span,
        )
    }
}

/// Emits into `b` the reduction, in the order of the module docs, of the
/// `n >= 1` elements of one run, element `k` being `load(b, k)` (of the
/// element type); returns the result (of the accumulator type). Shared by the
/// block loop and the batched loop (`reduce_batch`), so both have one order.
pub(super) fn emit_block_reduction(
    b: &mut FunctionBuilder,
    combiners: &Combiners,
    n: ValueId,
    load: &dyn Fn(&mut FunctionBuilder, ValueId) -> ValueId,
) -> ValueId {
    let acc = combiners.mixed.output;
    let call = |b: &mut FunctionBuilder, callee: FuncId, a: ValueId, v: ValueId| {
        b.value(
            InstKind::Call {
                callee,
                args: vec![Arg::Value(a), Arg::Value(v)],
            },
            acc,
        )
    };
    let usize_const = |b: &mut FunctionBuilder, v: u64| b.constant(ScalarValue::Usize(v));
    // `for i in start..end step` over local `i`, with `body(b, i)`: a fold.
    let counted_loop =
        |b: &mut FunctionBuilder,
         i: LocalId,
         limit: &dyn Fn(&mut FunctionBuilder, ValueId) -> ValueId,
         step: u64,
         body: &mut dyn FnMut(&mut FunctionBuilder, ValueId)| {
            b.counted_loop(i, step, IterationOrder::InOrder, limit, body);
        };

    let result = b.local("result", Type::Scalar(acc));
    let i = b.local("i", Type::Scalar(ScalarType::Usize));
    let lanes = usize_const(b, LANES as u64);
    let small = b.cmp(CmpOp::Lt, n, lanes);

    // n < 8: in order from x[0].
    b.begin_block();
    let zero = usize_const(b, 0);
    let x0 = load(b, zero);
    let x0 = convert(b, x0, acc);
    b.set(result, x0);
    let one = usize_const(b, 1);
    b.set(i, one);
    let below_n = |b: &mut FunctionBuilder, iv: ValueId| b.cmp(CmpOp::Lt, iv, n);
    // One element at a time into `result`: all of a small run, the tail of a large one.
    let mut in_order = |b: &mut FunctionBuilder, iv: ValueId| {
        let r = b.get(result);
        let v = load(b, iv);
        let r = call(b, combiners.elem, r, v);
        b.set(result, r);
    };
    counted_loop(b, i, &below_n, 1, &mut in_order);
    let small_block = b.end_block();

    // n >= 8: eight accumulators.
    b.begin_block();
    let accumulators: Vec<LocalId> = (0..LANES)
        .map(|k| b.local(format!("r{k}"), Type::Scalar(acc)))
        .collect();
    for (k, &r) in accumulators.iter().enumerate() {
        let index = usize_const(b, k as u64);
        let v = load(b, index);
        let v = convert(b, v, acc);
        b.set(r, v);
    }
    b.set(i, lanes);
    let group_fits = |b: &mut FunctionBuilder, iv: ValueId| {
        let l = usize_const(b, LANES as u64);
        let end = b.binary(BinaryOp::Add, iv, l);
        b.cmp(CmpOp::Le, end, n)
    };
    counted_loop(b, i, &group_fits, LANES as u64, &mut |b, iv| {
        for (k, &r) in accumulators.iter().enumerate() {
            let offset = usize_const(b, k as u64);
            let index = b.binary(BinaryOp::Add, iv, offset);
            let v = load(b, index);
            let current = b.get(r);
            let next = call(b, combiners.elem, current, v);
            b.set(r, next);
        }
    });
    let mut level: Vec<ValueId> = accumulators.iter().map(|&r| b.get(r)).collect();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| call(b, combiners.acc, pair[0], pair[1]))
            .collect();
    }
    b.set(result, level[0]);
    counted_loop(b, i, &below_n, 1, &mut in_order);
    let large_block = b.end_block();

    b.if_else(small, small_block, large_block);
    b.get(result)
}

/// Adds the reduction loop of the binary `ufunc` for elements stored as `elem`,
/// accumulating in `acc`; returns its id.
pub fn build_reduce_loop(
    program: &mut Program,
    ufunc: FuncId,
    elem: ScalarType,
    acc: ScalarType,
) -> Result<FuncId, LoopError> {
    let combiners = add_combiners(program, ufunc, elem, acc)?;
    let mut b = combiners.builder("reduce");
    let x = b.param("x", array1(elem, false));
    let out = b.param("out", array1(acc, true));
    let load = |b: &mut FunctionBuilder, index: ValueId| b.load(x, vec![index], false, elem);
    let n = b.array_len(x, 0);
    let r = emit_block_reduction(&mut b, &combiners, n, &load);
    let zero = b.constant(ScalarValue::Usize(0));
    b.store(out, vec![zero], r, false);
    b.inst(InstKind::Return(None));
    let id = crate::loops::add_inlined(program, b);
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interp::Interpreter;
    use crate::test_support::{compile, desc};

    fn reduce(program: &Program, lp: FuncId, x: &mut [i64], stride: i64) -> i64 {
        let mut out = [0i64];
        let n = (x.len() as i64 + stride - 1) / stride;
        let args = [
            HostArg::Array(desc(x.as_mut_ptr(), &[n], &[stride])),
            HostArg::Array(desc(out.as_mut_ptr(), &[1], &[1])),
        ];
        // SAFETY: the descriptors cover the live buffers.
        unsafe { Interpreter::new(program).call(lp, &args, &mut std::io::sink()) }.unwrap();
        out[0]
    }

    #[test]
    fn the_block_order_is_numpys_pairwise_block() {
        // A non-associative "sum" exposes the order: f(a, b) = 2a + b.
        let mut program =
            compile("#[vectorize(identity = 0)] fn g(a: i64, b: i64) -> i64 { 2 * a + b }");
        let g = program.find("g").unwrap();
        let lp = build_reduce_loop(&mut program, g, ScalarType::I64, ScalarType::I64).unwrap();
        crate::ir::verify::verify_program(&program).unwrap();
        let f = |a: i64, b: i64| 2 * a + b;
        let reference = |x: &[i64]| {
            let n = x.len();
            if n < 8 {
                return x[1..].iter().fold(x[0], |a, &b| f(a, b));
            }
            let mut r: Vec<i64> = x[..8].to_vec();
            let mut i = 8;
            while i + 8 <= n {
                for k in 0..8 {
                    r[k] = f(r[k], x[i + k]);
                }
                i += 8;
            }
            let t = f(
                f(f(r[0], r[1]), f(r[2], r[3])),
                f(f(r[4], r[5]), f(r[6], r[7])),
            );
            x[i..].iter().fold(t, |a, &b| f(a, b))
        };
        for n in [1usize, 2, 7, 8, 9, 16, 23, 64] {
            let mut x: Vec<i64> = (1..=n as i64).collect();
            let expected = reference(&x);
            assert_eq!(reduce(&program, lp, &mut x, 1), expected, "n = {n}");
        }
        let mut x: Vec<i64> = (0..20).collect();
        let evens: Vec<i64> = (0..20).step_by(2).collect();
        assert_eq!(reduce(&program, lp, &mut x, 2), reference(&evens));
    }
}
