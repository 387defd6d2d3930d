//! The contiguous path of an elementwise loop on the host: what lets LLVM's loop
//! vectoriser stream a ufunc call whose operands are contiguous or broadcast
//! scalars.
//!
//! The loop function (`loops::elementwise`) addresses every operand as `data +
//! i * stride` with a run-time stride. LLVM versions such a loop on "every stride
//! is 1" only, so a call with a broadcast scalar operand (stride 0, saxpy's `a`)
//! ran its scalar loop. Here the root of the unit gets a dispatcher in front:
//!
//! ```text
//! dispatch: if out's stride is 1 and every input's is 0 or 1: contiguous,
//!           else the loop function as it is (any strides)
//! contiguous: each zero-stride input's element copied into a stack buffer of
//!           CHUNK elements; the run cut into chunks (one chunk of n when no buffer
//!           is used), each run by the *unit* copy of the loop function (or by the
//!           predicated loop, with the baseline's code as its fallback, see below)
//! ```
//!
//! The unit copy is the same IR lowered once more with every stride the constant
//! 1, so its accesses are consecutive and LLVM vectorises it with no stride check;
//! every operand it reads is a contiguous array, buffers included.
//!
//! A body whose predicated form has guards (`passes::predicate`: a rare path
//! with a loop, a call or a trap, such as sin's Payne–Hanek reduction) has exits
//! or calls in its scalar loop, which LLVM does not vectorise. Its chunks first
//! run the *predicated loop* (`loops::predicated_loop`, unit strides too) into a
//! buffer of results: when no guard held, the results are copied to the output.
//! Otherwise, and for a call with other strides, the dispatcher returns with a
//! *fallback* record ([`trap_code::FALLBACK`]: "elements `i..i + m` are the
//! baseline's"), and the host (`CompiledFunction`'s run loop) runs those
//! elements with the baseline's (Cranelift) code of the same loop, from their
//! inputs, which nothing has written yet (so outputs aliasing their inputs are
//! safe), with its traps and prints, then calls this code again for the rest.
//! Such a unit holds no scalar copy of the body at all — not even the loop
//! function, [`Dispatch::falls_back`] — which is more than half of `wave`'s compile
//! (`sin`'s reduction inlined). Nor does LLVM add one as the vector loop's
//! remainder: the predicated loop runs a multiple of [`GROUP`] elements, and
//! the last few elements of a call (fewer than a group) are the baseline's too.
//! The chunks run in order and the host stops at a trap: elements, values,
//! traps and prints are the loop's, in its order, and the bits the same (both
//! tiers compute every operation the same way).
//!
//! A body without guards keeps its loop function for the other strides, out of
//! line and optimised for size, so LLVM does not version it on strides the
//! dispatcher already sends elsewhere; LLVM inlines the unit copy (one call
//! site).
//!
//! A batch of block reductions (`loops::reduce_batch`, what every `reduce`
//! of a reorderable ufunc runs) whose combiner can run lane by lane is built
//! with its accumulators as one vector (`block_reduce`). Another batch (a
//! combiner that can trap, accumulators of another type than the elements)
//! gets the same treatment as an elementwise loop in small: its lanes are
//! usually contiguous, and LLVM, seeing a run-time stride, turned the eight
//! accumulators' loads into gathers. Its dispatcher calls a copy lowered with
//! the lanes' element stride the constant 1 when that stride is 1, and the
//! loop function as it is otherwise. Both run the same IR in the same order:
//! the bits are the loop's.
//!
//! A row fold (`loops::row_fold`) whose combiner runs lane by lane is built
//! with groups of accumulators in registers across rows (`row_fold`).
//!
//! It knows the elementwise loop's parameters (rank-1 arrays, the output last),
//! the batch's (`x` first, its elements along axis 1) and the host's trap
//! record; instruction lowering is the shared `lower`'s.

use inkwell::attributes::{Attribute, AttributeLoc};
use inkwell::values::{BasicMetadataValueEnum, FunctionValue, IntValue, PointerValue};
use inkwell::IntPredicate;

use super::block_reduce::{define_vector_batch, vector_batch};
use super::fold_vectors::LaneFold;
use super::hooks::Host;
use super::row_fold::{define_vector_rows, vector_rows};
use super::LlvmError;
use crate::backend::llvm::lower::{
    declare_kern_function, kern_function_frame, lower_function, ParamValue, Unit,
};
use crate::backend::llvm::types::memory_type;
use crate::backend::traps::trap_code;
use crate::ir::{self, BatchRuns, FunctionKind, ScalarType, Type};
use crate::loops::predicated_loop::build_predicated_loop;
use crate::passes::predicate::{if_convert, Predicated};

/// Bytes of stack the buffers of zero-stride inputs may take together; a chunk
/// is as many elements as fit (a multiple of [`GROUP`], at least one group).
const BUFFER_BYTES: u64 = 16 * 1024;

/// The predicated loop runs a multiple of this many elements (more than the
/// widest vector loop LLVM makes, lanes times interleaving).
const GROUP: u64 = 64;

/// The element types of the inputs and of the output of elementwise loop
/// `func`, or `None` when it is not one (or not of the shape `loops::elementwise`
/// builds: rank-1 arrays, the output last and mutable).
fn operand_types(func: &ir::Function) -> Option<(Vec<ScalarType>, ScalarType)> {
    if !matches!(func.kind, FunctionKind::ElementwiseLoop { .. }) {
        return None;
    }
    let arrays: Vec<ir::ArrayType> = func
        .param_types()
        .into_iter()
        .map(|t| match t {
            Type::Array(a) if a.rank == 1 => Some(a),
            _ => None,
        })
        .collect::<Option<_>>()?;
    let (out, inputs) = arrays.split_last()?;
    out.mutable
        .then(|| (inputs.iter().map(|a| a.elem).collect(), out.elem))
}

/// The predicated form of elementwise loop `func`'s element function, when it
/// has one with guards: then its scalar loop has exits or calls that keep LLVM
/// from vectorising it, and the predicated loop has neither.
fn guarded_form(
    program: &ir::Program,
    func: &ir::Function,
    types: &[ScalarType],
    out: ScalarType,
) -> Option<Predicated> {
    let FunctionKind::ElementwiseLoop { element } = func.kind else {
        return None;
    };
    if_convert(program, element)
        .ok()
        .filter(|p| !p.guards.is_empty() && p.params == types && p.ret == out)
}

/// Defines `name`, `func` lowered with the constant 1 for the stride of each
/// array parameter's axis that `unit_stride(parameter, axis)` picks.
fn define_unit_copy<'ctx>(
    unit: &mut Unit<'ctx>,
    hooks: &Host<'ctx>,
    program: &ir::Program,
    func: &ir::Function,
    name: &str,
    unit_stride: impl Fn(usize, usize) -> bool,
) -> Result<FunctionValue<'ctx>, LlvmError> {
    let cx = unit.cx;
    let one = cx.i64_type().const_int(1, false);
    let copy = declare_kern_function(unit, func, name);
    let b = cx.create_builder();
    b.position_at_end(cx.append_basic_block(copy, "entry"));
    let mut frame = kern_function_frame(copy, func);
    for (p, param) in frame.params.iter_mut().enumerate() {
        if let ParamValue::Array(a) = param {
            for (axis, stride) in a.strides.iter_mut().enumerate() {
                if unit_stride(p, axis) {
                    *stride = one;
                }
            }
        }
    }
    lower_function(unit, hooks, b, program, func, copy, frame)?;
    Ok(copy)
}

/// Every stride of every array.
fn every_stride(_: usize, _: usize) -> bool {
    true
}

/// Marks `function` out of line and optimised for size: the path for strides
/// the dispatcher's contiguous path does not take.
fn keep_small(cx: &inkwell::context::Context, function: FunctionValue<'_>) {
    for attribute in ["noinline", "optsize"] {
        let kind = Attribute::get_named_enum_kind_id(attribute);
        function.add_attribute(AttributeLoc::Function, cx.create_enum_attribute(kind, 0));
    }
}

/// Elements per chunk for inputs of `types`.
fn chunk_len(types: &[ScalarType]) -> u64 {
    let bytes: u64 = types.iter().map(|t| t.size_bytes() as u64).sum();
    (BUFFER_BYTES / bytes.max(1) / GROUP * GROUP).max(GROUP)
}

/// The dispatcher a unit's root gets, decided once per compile ([`Dispatch::of`]).
pub(super) enum Dispatch {
    /// Not an elementwise loop nor a batch of block reductions: no dispatcher.
    None,
    /// A batch of block reductions (`loops::reduce_batch`); with the plan of
    /// its vector form when its combiner has one (`block_reduce`).
    Batch(Option<LaneFold>),
    /// A row fold (`loops::row_fold`) whose combiner runs lane by lane
    /// (`row_fold`); other row folds have no dispatcher.
    Rows(LaneFold),
    /// An elementwise loop with inputs and output of these element types; with
    /// the predicated form of its body when that has guards.
    Elementwise {
        types: Vec<ScalarType>,
        out: ScalarType,
        guarded: Option<Predicated>,
    },
}

impl Dispatch {
    /// The dispatcher `func` gets (for an elementwise loop this runs the
    /// predicate pass on its body, once).
    pub(super) fn of(program: &ir::Program, func: &ir::Function) -> Dispatch {
        if let FunctionKind::ReductionBatch {
            runs: BatchRuns::Blocks,
            ..
        } = func.kind
        {
            return Dispatch::Batch(vector_batch(program, func));
        }
        if let Some(rows) = vector_rows(program, func) {
            return Dispatch::Rows(rows);
        }
        match operand_types(func) {
            Some((types, out)) => {
                let guarded = guarded_form(program, func, &types, out);
                Dispatch::Elementwise {
                    types,
                    out,
                    guarded,
                }
            }
            None => Dispatch::None,
        }
    }

    /// A function the dispatcher calls that the loop may not: the combiner of
    /// a batch built as vectors. The unit must define it and its callees.
    pub(super) fn calls(&self) -> Option<ir::FuncId> {
        match self {
            Dispatch::Batch(Some(plan)) => Some(plan.combine),
            Dispatch::Rows(plan) => Some(plan.combine),
            _ => None,
        }
    }

    /// Whether the unit leaves its scalar elements to the baseline's code of
    /// the loop ([`trap_code::FALLBACK`]): an elementwise loop whose body has
    /// guards. Such a unit does not define the loop function itself.
    pub(super) fn falls_back(&self) -> bool {
        matches!(
            self,
            Dispatch::Elementwise {
                guarded: Some(_),
                ..
            }
        )
    }
}

/// How the contiguous path of an elementwise loop runs a chunk.
#[derive(Clone, Copy)]
enum Chunks<'ctx> {
    /// The unit copy of the loop function (a body without guards); the loop
    /// function itself runs other strides.
    Unit(FunctionValue<'ctx>),
    /// The predicated loop into a buffer of results; other strides, chunks
    /// where a guard held and the call's last elements are the baseline's
    /// ([`fall_back`]).
    Predicated(FunctionValue<'ctx>),
}

/// Ends the dispatcher's work with a fallback record: elements `start..start +
/// count` of the call are the baseline's to run, then the rest of the call is
/// this code's again (`CompiledFunction`'s run loop does both).
fn fall_back<'ctx>(
    unit: &Unit<'ctx>,
    b: &inkwell::builder::Builder<'ctx>,
    trap: PointerValue<'ctx>,
    start: IntValue<'ctx>,
    count: IntValue<'ctx>,
) -> Result<(), LlvmError> {
    let i32t = unit.cx.i32_type();
    let args: [BasicMetadataValueEnum; 5] = [
        trap.into(),
        i32t.const_int(trap_code::FALLBACK as u64, false).into(),
        i32t.const_zero().into(),
        start.into(),
        count.into(),
    ];
    b.build_call(unit.trap_function, &args, "")?;
    Ok(())
}

/// Defines the contiguous path and the dispatcher `plan` gives `func` (LLVM
/// function `generic`, named `symbol`), and returns the dispatcher, which has
/// `generic`'s signature; `None` when there is none.
pub(super) fn define_dispatch<'ctx>(
    unit: &mut Unit<'ctx>,
    hooks: &Host<'ctx>,
    program: &ir::Program,
    func: &ir::Function,
    generic: FunctionValue<'ctx>,
    symbol: &str,
    plan: Dispatch,
) -> Result<Option<FunctionValue<'ctx>>, LlvmError> {
    let dispatch = match plan {
        Dispatch::None => return Ok(None),
        Dispatch::Batch(Some(plan)) => {
            keep_small(unit.cx, generic);
            define_vector_batch(unit, func, plan, generic, &format!("{symbol}$dispatch"))?
        }
        Dispatch::Rows(plan) => {
            keep_small(unit.cx, generic);
            define_vector_rows(unit, func, plan, generic, &format!("{symbol}$dispatch"))?
        }
        Dispatch::Batch(None) => {
            define_batch_dispatch(unit, hooks, program, func, generic, symbol)?
        }
        Dispatch::Elementwise {
            types,
            out,
            guarded,
        } => {
            let chunks = match guarded {
                Some(pred) => {
                    let lp = build_predicated_loop(&pred, func.span);
                    let name = format!("{symbol}$predicated");
                    Chunks::Predicated(define_unit_copy(
                        unit,
                        hooks,
                        program,
                        &lp,
                        &name,
                        every_stride,
                    )?)
                }
                None => {
                    let name = format!("{symbol}$unit");
                    Chunks::Unit(define_unit_copy(
                        unit,
                        hooks,
                        program,
                        func,
                        &name,
                        every_stride,
                    )?)
                }
            };
            define_elementwise_dispatch(unit, func, generic, symbol, (types, out), chunks)?
        }
    };
    Ok(Some(dispatch))
}

/// The dispatcher of a batch of block reductions (`loops::reduce_batch`: `x`,
/// the first parameter, holds the lanes along axis 0 and their elements along
/// axis 1): the copy with `x`'s element stride 1 when it is 1, `generic`
/// otherwise.
fn define_batch_dispatch<'ctx>(
    unit: &mut Unit<'ctx>,
    hooks: &Host<'ctx>,
    program: &ir::Program,
    func: &ir::Function,
    generic: FunctionValue<'ctx>,
    symbol: &str,
) -> Result<FunctionValue<'ctx>, LlvmError> {
    const X: usize = 0;
    const ELEMENTS: usize = 1;
    let contiguous = define_unit_copy(
        unit,
        hooks,
        program,
        func,
        &format!("{symbol}$unit"),
        |p, axis| (p, axis) == (X, ELEMENTS),
    )?;
    let cx = unit.cx;
    // Strided lanes are rare (`reduce` streams along the smallest stride):
    // their loop is kept small, not vectorised with gathers, which would cost
    // as much compile as the contiguous copy.
    keep_small(cx, generic);
    let dispatch = declare_kern_function(unit, func, &format!("{symbol}$dispatch"));
    let stride = match &kern_function_frame(dispatch, func).params[X] {
        ParamValue::Array(x) => x.strides[ELEMENTS],
        ParamValue::Scalar(_) => {
            return Err(LlvmError::Llvm(
                "a reduction batch without its array".into(),
            ))
        }
    };
    let b = cx.create_builder();
    let (entry, unit_block, generic_block) = (
        cx.append_basic_block(dispatch, "entry"),
        cx.append_basic_block(dispatch, "contiguous"),
        cx.append_basic_block(dispatch, "generic"),
    );
    b.position_at_end(entry);
    let one = cx.i64_type().const_int(1, false);
    let is_one = b.build_int_compare(IntPredicate::EQ, stride, one, "")?;
    b.build_conditional_branch(is_one, unit_block, generic_block)?;
    let all: Vec<BasicMetadataValueEnum> =
        dispatch.get_params().into_iter().map(Into::into).collect();
    for (block, callee) in [(unit_block, contiguous), (generic_block, generic)] {
        b.position_at_end(block);
        b.build_call(callee, &all, "")?;
        b.build_return(None)?;
    }
    Ok(dispatch)
}

/// The dispatcher of an elementwise loop whose inputs and output have the
/// element types `operands`, whose chunks run `chunks` (see the module's
/// documentation).
fn define_elementwise_dispatch<'ctx>(
    unit: &mut Unit<'ctx>,
    func: &ir::Function,
    generic: FunctionValue<'ctx>,
    symbol: &str,
    operands: (Vec<ScalarType>, ScalarType),
    chunks: Chunks<'ctx>,
) -> Result<FunctionValue<'ctx>, LlvmError> {
    let (types, out_type) = operands;
    let cx = unit.cx;
    // The loop function as it is now runs only strides the contiguous path does
    // not take, where LLVM's own "every stride is 1" version of it would be dead
    // code: kept out of line and small, its loop is not versioned nor vectorised.
    // (A guarded body's unit holds no loop function: its scalar elements are the
    // baseline's, more than half of `wave`'s compile.)
    keep_small(cx, generic);
    let i64t = cx.i64_type();
    let one = i64t.const_int(1, false);
    let predicated = match chunks {
        Chunks::Predicated(lp) => Some(lp),
        Chunks::Unit(_) => None,
    };

    let dispatch = declare_kern_function(unit, func, &format!("{symbol}$dispatch"));
    let param = |i: usize| dispatch.get_nth_param(i as u32).expect("declared above");
    let trap = param(0).into_pointer_value();
    // Parameter triples (data, extent, stride), inputs first, the output last.
    let operand = |k: usize| {
        (
            param(1 + 3 * k).into_pointer_value(),
            param(2 + 3 * k).into_int_value(),
            param(3 + 3 * k).into_int_value(),
        )
    };
    let (out_data, n, out_stride) = operand(types.len());
    let block = |name: &str| cx.append_basic_block(dispatch, name);
    let (entry, generic_block, contiguous, fill, head, body, done) = (
        block("entry"),
        block("generic"),
        block("contiguous"),
        block("fill"),
        block("head"),
        block("body"),
        block("done"),
    );
    let b = cx.create_builder();
    b.position_at_end(entry);
    // The predicated path computes a chunk into `results` first.
    let mut buffered = types.clone();
    buffered.extend(predicated.map(|_| out_type));
    let chunk = i64t.const_int(chunk_len(&buffered), false);
    let buffers: Vec<PointerValue> = buffered
        .iter()
        .map(|&t| b.build_array_alloca(memory_type(cx, t), chunk, "buffer"))
        .collect::<Result<_, _>>()?;
    let results = predicated.map(|_| buffers[types.len()]);
    let mut fits = b.build_int_compare(IntPredicate::EQ, out_stride, one, "")?;
    let mut any_zero = cx.bool_type().const_zero();
    let mut zero_strides: Vec<IntValue> = Vec::with_capacity(types.len());
    for k in 0..types.len() {
        let stride = operand(k).2;
        let unit_or_zero = b.build_int_compare(IntPredicate::ULE, stride, one, "")?;
        fits = b.build_and(fits, unit_or_zero, "")?;
        let zero = b.build_int_compare(IntPredicate::EQ, stride, i64t.const_zero(), "")?;
        any_zero = b.build_or(any_zero, zero, "")?;
        zero_strides.push(zero);
    }
    b.build_conditional_branch(fits, contiguous, generic_block)?;

    b.position_at_end(generic_block);
    match chunks {
        Chunks::Unit(_) => {
            let all: Vec<BasicMetadataValueEnum> =
                dispatch.get_params().into_iter().map(Into::into).collect();
            b.build_call(generic, &all, "")?;
        }
        Chunks::Predicated(_) => fall_back(unit, &b, trap, i64t.const_zero(), n)?,
    }
    b.build_return(None)?;

    // One chunk of n unless a buffer is in use; the first chunk's elements of
    // each input's buffer are the broadcast element (`fill`, skipped when n is 0).
    b.position_at_end(contiguous);
    let chunked = match predicated {
        Some(_) => cx.bool_type().const_int(1, false),
        None => any_zero,
    };
    let step = b.build_select(chunked, chunk, n, "step")?.into_int_value();
    let empty = b.build_int_compare(IntPredicate::EQ, n, i64t.const_zero(), "")?;
    b.build_conditional_branch(empty, done, fill)?;
    b.position_at_end(fill);
    let filled = b.build_int_compare(IntPredicate::ULT, n, chunk, "")?;
    let filled = b.build_select(filled, n, chunk, "filled")?.into_int_value();
    let mut bases = Vec::with_capacity(types.len());
    for (k, (&buffer, &zero)) in buffers.iter().zip(&zero_strides).enumerate() {
        let (data, elem) = (operand(k).0, memory_type(cx, types[k]));
        let (copy, next) = (block("copy"), block("copied"));
        // n > 0: element 0 exists.
        let element = b.build_load(elem, data, "broadcast")?;
        let before = b.get_insert_block().expect("positioned");
        b.build_conditional_branch(zero, copy, next)?;
        b.position_at_end(copy);
        let j = b.build_phi(i64t, "j")?;
        // SAFETY (LLVM): `j < filled <= CHUNK`, inside the buffer.
        let j_value = j.as_basic_value().into_int_value();
        let at = unsafe { b.build_in_bounds_gep(elem, buffer, &[j_value], "")? };
        b.build_store(at, element)?;
        let j_next = b.build_int_add(j.as_basic_value().into_int_value(), one, "")?;
        j.add_incoming(&[(&i64t.const_zero(), before), (&j_next, copy)]);
        let more = b.build_int_compare(IntPredicate::ULT, j_next, filled, "")?;
        b.build_conditional_branch(more, copy, next)?;
        b.position_at_end(next);
        bases.push((data, elem, buffer, zero));
    }
    let before_head = b.get_insert_block().expect("positioned");
    b.build_unconditional_branch(head)?;

    b.position_at_end(head);
    let i = b.build_phi(i64t, "i")?;
    let i_value = i.as_basic_value().into_int_value();
    let more = b.build_int_compare(IntPredicate::ULT, i_value, n, "")?;
    b.build_conditional_branch(more, body, done)?;

    b.position_at_end(body);
    let left = b.build_int_sub(n, i_value, "")?;
    let short = b.build_int_compare(IntPredicate::ULT, left, step, "")?;
    let mut m = b.build_select(short, left, step, "m")?.into_int_value();
    if predicated.is_some() {
        // The predicated loop runs whole groups of GROUP elements only, so that
        // LLVM's vectoriser needs no scalar remainder loop (its trip count is a
        // multiple of every vector width); the last elements of the call, fewer
        // than GROUP, are the baseline's.
        let whole = b.build_and(m, i64t.const_int(!(GROUP - 1), false), "whole")?;
        let (tail, groups) = (block("tail"), block("groups"));
        let none = b.build_int_compare(IntPredicate::EQ, whole, i64t.const_zero(), "")?;
        b.build_conditional_branch(none, tail, groups)?;
        b.position_at_end(tail);
        fall_back(unit, &b, trap, i_value, left)?;
        b.build_unconditional_branch(done)?;
        b.position_at_end(groups);
        m = whole;
    }
    let mut args: Vec<BasicMetadataValueEnum> = vec![trap.into()];
    for (data, elem, buffer, zero) in bases {
        // SAFETY (LLVM): `i < n`, an element of the run (stride 1).
        let run = unsafe { b.build_gep(elem, data, &[i_value], "")? };
        let base = b.build_select(zero, buffer, run, "")?;
        args.extend::<[BasicMetadataValueEnum; 3]>([base.into(), m.into(), one.into()]);
    }
    // SAFETY (LLVM): as above, for the output.
    let out_run = unsafe { b.build_gep(memory_type(cx, out_type), out_data, &[i_value], "")? };
    let mut latches = Vec::new();
    let next = b.build_int_add(i_value, m, "")?;
    if let (Some(lp), Some(results)) = (predicated, results) {
        // The chunk's results, or a guard: then the scalar loop runs the chunk
        // from its inputs, which nothing has written yet.
        let mut lp_args = args.clone();
        lp_args.extend::<[BasicMetadataValueEnum; 3]>([results.into(), m.into(), one.into()]);
        let held = b
            .build_call(lp, &lp_args, "held")?
            .try_as_basic_value()
            .basic()
            .ok_or_else(|| LlvmError::Llvm("the predicated loop returned nothing".into()))?
            .into_int_value();
        let (scalar, store) = (block("scalar"), block("store"));
        b.build_conditional_branch(held, scalar, store)?;
        b.position_at_end(store);
        let size = i64t.const_int(out_type.size_bytes() as u64, false);
        let bytes = b.build_int_mul(m, size, "")?;
        let align = out_type.size_bytes() as u32;
        b.build_memcpy(out_run, align, results, align, bytes)
            .map_err(|e| LlvmError::Llvm(e.to_string()))?;
        latches.push(store);
        b.build_unconditional_branch(head)?;
        b.position_at_end(scalar);
    }
    match chunks {
        Chunks::Unit(copy) => {
            args.extend::<[BasicMetadataValueEnum; 3]>([out_run.into(), m.into(), one.into()]);
            b.build_call(copy, &args, "")?;
            // A chunk that trapped ends the loop, the record as it wrote it.
            let code = b.build_load(cx.i32_type(), trap, "trap")?.into_int_value();
            let zero = code.get_type().const_zero();
            let clear = b.build_int_compare(IntPredicate::EQ, code, zero, "")?;
            latches.push(b.get_insert_block().expect("positioned"));
            b.build_conditional_branch(clear, head, done)?;
        }
        // The chunk and what follows it are the host's to run from here.
        Chunks::Predicated(_) => {
            fall_back(unit, &b, trap, i_value, m)?;
            b.build_unconditional_branch(done)?;
        }
    }
    i.add_incoming(&[(&i64t.const_zero(), before_head)]);
    for latch in latches {
        i.add_incoming(&[(&next, latch)]);
    }

    b.position_at_end(done);
    b.build_return(None)?;
    Ok(dispatch)
}
