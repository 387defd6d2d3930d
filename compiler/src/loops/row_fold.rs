//! Row folds: the compiled loop of `reduce` along an axis that does not stream
//! (axis 0 of a C-ordered array, any axis but the innermost), over many lanes.
//!
//! [`build_row_fold`] adds `f[A,X->A].fold_rows(x: &[[X]], acc: &mut [A])`.
//! As in the batched loops (`reduce_batch`), `x` holds `len(x, 0)` lanes of
//! `n = len(x, 1)` elements; its rows are the elements `j` of every lane, and
//! they are folded into the accumulators row after row:
//!
//! ```text
//! for j in 0..len(x, 1) { for i in 0..len(x, 0) { acc[i] = f(acc[i], x[i, j]) } }
//! ```
//!
//! Each lane `i` is the left fold `f(..f(f(acc[i], x[i, 0]), x[i, 1]).., x[i, n-1])`,
//! NumPy's order for `np.add.reduce(a, axis=0)`, and the whole call runs in the
//! order of one elementwise step `acc = f(acc, x[j])` per row: a combiner that
//! traps does so at the same element, after the same stores. One call folds
//! many rows, so the runtime makes one call per tile of lanes, not one per row
//! (`exec::fold::fold_rows`).
//!
//! `acc` must have an element for every lane: that is checked once, before
//! anything is folded (a trap otherwise), and then neither `acc` nor `x` (whose
//! indices come from its own extents) is checked again, so the loop over the
//! lanes has no exit of its own. The IR is the semantics; a backend may change the order only where
//! nothing can tell: the Cranelift backend keeps a group of lanes' accumulators
//! in registers across rows when the combiner can never trap
//! (`backend/cranelift/vector_rows.rs`) — each lane still folds its elements in
//! order, so the bits are the same. This module knows IR only.

use crate::ir::*;
use crate::loops::elementwise::{array1, LoopError};
use crate::loops::scan_loop::scan_builder;

/// A row fold as a backend's vector form of it reads it
/// (`cranelift/vector_rows.rs`, `llvm/host/row_fold.rs`): its combiner, its
/// `x` and `acc` parameters, and the one type (not `bool`) of its elements and
/// accumulators.
#[derive(Clone, Copy, Debug)]
pub struct RowFold {
    pub combine: FuncId,
    pub x: LocalId,
    pub acc: LocalId,
    pub ty: ScalarType,
}

impl RowFold {
    /// `func` as such a row fold, when it is one whose elements and
    /// accumulators are one type other than `bool` (which lives in vectors as
    /// masks).
    pub fn of(func: &Function) -> Option<RowFold> {
        let FunctionKind::RowFold { combine } = func.kind else {
            return None;
        };
        let [x, acc] = &func.params[..] else {
            return None;
        };
        let (Type::Array(xa), Type::Array(aa)) = (func.local(x.local).ty, func.local(acc.local).ty)
        else {
            return None;
        };
        let ty = xa.elem;
        let shapes = xa.rank == 2 && aa.rank == 1 && aa.mutable && aa.elem == ty;
        (shapes && ty != ScalarType::Bool).then_some(RowFold {
            combine,
            x: x.local,
            acc: acc.local,
            ty,
        })
    }
}

/// Adds the row fold of the binary `ufunc` for elements stored as `elem`,
/// accumulating in `acc`; returns its id.
pub fn build_row_fold(
    program: &mut Program,
    ufunc: FuncId,
    elem: ScalarType,
    acc: ScalarType,
) -> Result<FuncId, LoopError> {
    let (combine, mut b) = scan_builder(program, ufunc, elem, acc, "fold_rows")?;
    b.set_kind(FunctionKind::RowFold { combine });
    let x = b.param(
        "x",
        Type::Array(ArrayType {
            elem,
            rank: 2,
            mutable: false,
        }),
    );
    let accumulators = b.param("acc", array1(acc, true));
    let lanes = b.array_len(x, 0);
    let rows = b.array_len(x, 1);
    let zero = b.constant(ScalarValue::Usize(0));
    // `acc[lanes - 1]` in bounds puts every lane's accumulator in bounds.
    let any = b.cmp(CmpOp::Gt, lanes, zero);
    b.begin_block();
    let one = b.constant(ScalarValue::Usize(1));
    let last = b.binary(BinaryOp::Sub, lanes, one);
    b.load(accumulators, vec![last], true, acc);
    let then_block = b.end_block();
    b.begin_block();
    let else_block = b.end_block();
    b.if_else(any, then_block, else_block);
    let (j, i) = (
        b.local("j", Type::Scalar(ScalarType::Usize)),
        b.local("i", Type::Scalar(ScalarType::Usize)),
    );
    b.set(j, zero);
    b.counted_loop_to(j, rows, IterationOrder::InOrder, |b, row| {
        b.set(i, zero);
        b.counted_loop_to(i, lanes, IterationOrder::Independent, |b, lane| {
            let current = b.load(accumulators, vec![lane], false, acc);
            let v = b.load(x, vec![lane, row], false, elem);
            let next = b.value(
                InstKind::Call {
                    callee: combine,
                    args: vec![Arg::Value(current), Arg::Value(v)],
                },
                acc,
            );
            b.store(accumulators, vec![lane], next, false);
        });
    });
    b.inst(InstKind::Return(None));
    let id = crate::loops::add_inlined(program, b);
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::SourceMap;
    use crate::interp::Interpreter;
    use crate::test_support::{compile, desc};

    #[test]
    fn every_lane_is_a_left_fold_of_its_rows() {
        let mut program = compile("#[vectorize] fn g(a: i64, b: i32) -> i64 { 2 * a + b as i64 }");
        let g = program.find("g").unwrap();
        let lp = build_row_fold(&mut program, g, ScalarType::I32, ScalarType::I64).unwrap();
        crate::ir::verify::verify_program(&program).unwrap();

        // Two lanes of three elements, one after the other.
        let mut x: Vec<i32> = vec![1, -2, 3, 4, 0, 7];
        let mut acc = [5i64, -1];
        let args = [
            HostArg::Array(desc(x.as_mut_ptr(), &[2, 3], &[3, 1])),
            HostArg::Array(desc(acc.as_mut_ptr(), &[2], &[1])),
        ];
        // SAFETY: the descriptors cover the live buffers.
        unsafe { Interpreter::new(&program).call(lp, &args, &mut std::io::sink()) }.unwrap();
        let fold = |seed: i64, lane: &[i32]| lane.iter().fold(seed, |a, &b| 2 * a + b as i64);
        assert_eq!(acc, [fold(5, &[1, -2, 3]), fold(-1, &[4, 0, 7])]);
    }

    #[test]
    fn too_few_accumulators_trap_before_anything_is_folded() {
        let mut sources = SourceMap::new();
        let file = sources.add(
            "t.kern",
            "#[vectorize] fn g(a: f64, b: f64) -> f64 { a + b }",
        );
        let mut program = crate::frontend::compile(&mut sources, file)
            .unwrap()
            .program;
        let g = program.find("g").unwrap();
        let lp = build_row_fold(&mut program, g, ScalarType::F64, ScalarType::F64).unwrap();
        let mut x = [1.0f64; 6];
        let mut acc = [0.0f64; 3];
        let args = [
            HostArg::Array(desc(x.as_mut_ptr(), &[3, 2], &[1, 3])),
            HostArg::Array(desc(acc.as_mut_ptr(), &[2], &[1])),
        ];
        // SAFETY: the descriptors cover the live buffers (`acc` has three
        // elements; its descriptor claims two).
        let trap = unsafe { Interpreter::new(&program).call(lp, &args, &mut std::io::sink()) };
        assert!(trap.is_err());
        assert_eq!(acc, [0.0; 3]);
    }
}
