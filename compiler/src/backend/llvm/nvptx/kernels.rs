//! Kernel entry points: the PTX `.entry` of an elementwise loop, a gufunc loop, a
//! reduction batch, a `#[kernel]` or a plain function, with the parameter lists
//! the module docs specify.
//!
//! A loop kernel is the IR loop function itself, lowered with its outer loop made
//! grid-stride: the loops built by `loops::elementwise` and `loops::gufunc_loop` have the
//! shape `i = 0; loop { if !(i < n) break; body(i); i = i + 1 }`, and the kernel
//! only changes where `i` starts (the thread's global index) and the `1` it steps
//! by (the grid's size). Everything else — the element function, conversions,
//! bounds checks of core dimensions — is the IR's, so there is one loop semantics
//! for every target. A `#[kernel]` is lowered as it is, once per thread; its
//! shared arrays are declared here (`shared`) and bound like parameters. This
//! file knows those loop shapes and the ABI; instruction lowering is `lower`'s.

use std::collections::HashSet;

use inkwell::attributes::{Attribute, AttributeLoc};
use inkwell::builder::Builder;
use inkwell::context::Context;
use inkwell::module::Linkage;
use inkwell::types::BasicMetadataTypeEnum;
use inkwell::values::{BasicMetadataValueEnum, FunctionValue, IntValue};
use inkwell::IntPredicate;

use super::hooks::Ptx;
use super::{global, KernelKind, KernelParam, PtxKernel, PtxOptions};
use crate::backend::llvm::lower::{
    lower_function, ArrayValue, Frame, GridStride, ParamValue, ReturnMode, Unit,
};
use crate::backend::llvm::types::{memory_type, pointer_type};
use crate::backend::llvm::LlvmError;
use crate::ir::{
    self, ArrayType, FuncId, FunctionKind, InstKind, IterationOrder, LocalId, ScalarType, Type,
    ValueId,
};

/// A PTX identifier for `name`, unique among `taken`: other characters become `_`.
pub(super) fn ptx_identifier(name: &str, taken: &mut HashSet<String>) -> String {
    let mut base: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if !base.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        base.insert(0, '_');
    }
    let base = base.trim_end_matches('_').to_string();
    let mut candidate = base.clone();
    let mut n = 1;
    while !taken.insert(candidate.clone()) {
        n += 1;
        candidate = format!("{base}_{n}");
    }
    candidate
}

/// The LLVM parameter list of a kernel, built together with its description.
struct Params<'ctx> {
    types: Vec<BasicMetadataTypeEnum<'ctx>>,
    described: Vec<KernelParam>,
    /// `(index, attributes)` for pointer parameters.
    attributes: Vec<(u32, &'static [&'static str])>,
}

impl<'ctx> Params<'ctx> {
    fn new(unit: &Unit<'ctx>) -> Params<'ctx> {
        Params {
            types: vec![pointer_type(unit.cx, global()).into()],
            described: vec![KernelParam::TrapRecord],
            attributes: vec![(0, &["nocapture"])],
        }
    }

    fn push(&mut self, ty: BasicMetadataTypeEnum<'ctx>, param: KernelParam) -> u32 {
        self.types.push(ty);
        self.described.push(param);
        self.types.len() as u32 - 1
    }

    /// Pushes the data pointer of array `operand`, with its LLVM attributes.
    fn push_pointer(
        &mut self,
        cx: &'ctx Context,
        operand: &str,
        a: ArrayType,
        attributes: &'static [&'static str],
    ) -> u32 {
        let ptr = self.push(
            pointer_type(cx, global()).into(),
            KernelParam::Pointer {
                operand: operand.to_string(),
                elem: a.elem,
                mutable: a.mutable,
            },
        );
        self.attributes.push((ptr, attributes));
        ptr
    }
}

/// How to build each IR parameter from the LLVM parameters, by index.
enum Source {
    Scalar(u32, ScalarType),
    Strided { ptr: u32, stride: u32 },
    Flat { ptr: u32, rank: u8 },
}

/// A kernel's parameter list and how the IR function's parameters are read from it.
struct Signature<'ctx> {
    params: Params<'ctx>,
    /// One per IR parameter, in order.
    sources: Vec<Source>,
    /// The element count of an elementwise loop.
    count: Option<u32>,
    /// Where a scalar function's kernel stores its result.
    result: Option<u32>,
}

/// Defines the kernel entry for `id` in the unit's module: its parameter list, the
/// `.entry` function, the IR parameters bound from it, and the body lowered with
/// its outer loop made grid-stride where it has one.
pub(super) fn define_kernel(
    unit: &mut Unit<'_>,
    program: &ir::Program,
    id: FuncId,
    name: String,
    options: &PtxOptions,
) -> Result<PtxKernel, LlvmError> {
    let func = program.function(id);
    let kind = kernel_kind(func);
    // Before any LLVM work on the body: the size limit is a source error.
    let shared_arrays = match kind {
        KernelKind::Spmd => super::shared::declare_shared_arrays(unit, func, &name)?,
        _ => Vec::new(),
    };
    let signature = signature(unit, func, kind)?;
    let kernel = add_entry(unit, &name, &signature.params);
    let b = unit.cx.create_builder();
    let entry = unit.cx.append_basic_block(kernel, "entry");
    b.position_at_end(entry);
    let param = |i: u32| kernel.get_nth_param(i).expect("declared above");
    let frame_params = bind_params(&b, kernel, &signature)?;
    let grid_stride = match kind {
        // A reduction batch (`loops::reduce_batch`) has the same outer loop: one run
        // per iteration, so one run per thread.
        KernelKind::Elementwise | KernelKind::Gufunc | KernelKind::ReductionBatch => {
            let (induction, step_value) = outer_loop(func).ok_or_else(|| {
                invalid(
                    func,
                    "the loop function declares no independent counted loop",
                )
            })?;
            let (start, step) = grid_index_and_size(unit, &b)?;
            Some(GridStride {
                induction,
                start,
                step_value,
                step,
            })
        }
        KernelKind::Scalar | KernelKind::Spmd => None,
    };
    let frame = Frame {
        trap: param(0).into_pointer_value(),
        params: frame_params,
        ret: ReturnMode::Store(signature.result.map(|i| param(i).into_pointer_value())),
        grid_stride,
    };
    let hooks = Ptx {
        fastmath: options.fastmath,
        shared_arrays,
        widened: Default::default(),
    };
    lower_function(unit, &hooks, b, program, func, kernel, frame)?;
    Ok(PtxKernel {
        function: id,
        name,
        kind,
        params: signature.params.described,
    })
}

fn kernel_kind(func: &ir::Function) -> KernelKind {
    match func.kind {
        FunctionKind::ElementwiseLoop { .. } => KernelKind::Elementwise,
        FunctionKind::GufuncLoop { .. } => KernelKind::Gufunc,
        FunctionKind::ReductionBatch { .. } => KernelKind::ReductionBatch,
        FunctionKind::Kernel { .. } => KernelKind::Spmd,
        _ => KernelKind::Scalar,
    }
}

/// A function the backend cannot make a kernel of (the IR builders never make one).
fn invalid(func: &ir::Function, message: &str) -> LlvmError {
    LlvmError::Invalid {
        function: func.name.clone(),
        message: message.to_string(),
    }
}

/// The parameter list of `func`'s kernel: the trap record, a scalar function's
/// result pointer, each IR parameter (scalars; arrays as a pointer and a stride, or
/// a pointer, extents and strides) and an elementwise loop's count.
fn signature<'ctx>(
    unit: &Unit<'ctx>,
    func: &ir::Function,
    kind: KernelKind,
) -> Result<Signature<'ctx>, LlvmError> {
    let cx = unit.cx;
    let mut params = Params::new(unit);
    let mut sources = Vec::new();
    let mut result = None;
    if kind == KernelKind::Scalar {
        if let Some(ty) = func.ret {
            let index = params.push(
                pointer_type(cx, global()).into(),
                KernelParam::Result { ty },
            );
            params.attributes.push((index, &["nocapture", "writeonly"]));
            result = Some(index);
        }
    }
    for p in &func.params {
        let operand = p.name.clone();
        sources.push(match func.local(p.local).ty {
            Type::Scalar(ty) if matches!(kind, KernelKind::Scalar | KernelKind::Spmd) => {
                // bool travels as a byte: a kernel parameter has no 1-bit type.
                let index = params.push(
                    memory_type(cx, ty).into(),
                    KernelParam::Scalar { name: operand, ty },
                );
                Source::Scalar(index, ty)
            }
            Type::Array(a) if kind == KernelKind::Elementwise => {
                if a.rank != 1 {
                    return Err(invalid(
                        func,
                        "an elementwise loop operand is not one-dimensional",
                    ));
                }
                // Inputs may be the output itself (elementwise in place), so no
                // pointer is `noalias`; inputs are never written.
                let attributes: &'static [&'static str] = if a.mutable {
                    &["nocapture", "writeonly"]
                } else {
                    &["nocapture", "readonly"]
                };
                let ptr = params.push_pointer(cx, &operand, a, attributes);
                let stride = params.push(
                    cx.i64_type().into(),
                    KernelParam::Stride { operand, axis: 0 },
                );
                Source::Strided { ptr, stride }
            }
            Type::Array(a) => {
                let attributes: &'static [&'static str] = match (a.mutable, kind) {
                    // The runtime copies gufunc inputs that overlap an output, so
                    // nothing writes what an input points to.
                    (false, KernelKind::Gufunc) => &["nocapture", "readonly", "noalias"],
                    (false, _) => &["nocapture", "readonly"],
                    (true, _) => &["nocapture"],
                };
                let ptr = params.push_pointer(cx, &operand, a, attributes);
                // The extents, then the strides, one `i64` per axis.
                let extent = |operand, axis| KernelParam::Extent { operand, axis };
                let stride = |operand, axis| KernelParam::Stride { operand, axis };
                for describe in [extent, stride] {
                    for axis in 0..a.rank {
                        params.push(cx.i64_type().into(), describe(operand.clone(), axis));
                    }
                }
                Source::Flat { ptr, rank: a.rank }
            }
            Type::Scalar(_) => return Err(invalid(func, "a loop kernel with a scalar parameter")),
            Type::HostArray(_) => return Err(invalid(func, "a host array parameter")),
        });
    }
    let count = (kind == KernelKind::Elementwise)
        .then(|| params.push(cx.i64_type().into(), KernelParam::Count));
    Ok(Signature {
        params,
        sources,
        count,
        result,
    })
}

/// Adds the `.entry` function `name` with `params` and their attributes.
fn add_entry<'ctx>(unit: &Unit<'ctx>, name: &str, params: &Params<'ctx>) -> FunctionValue<'ctx> {
    let cx = unit.cx;
    let fn_type = cx.void_type().fn_type(&params.types, false);
    let kernel = unit
        .module
        .add_function(name, fn_type, Some(Linkage::External));
    for (index, names) in &params.attributes {
        for attr in names.iter() {
            let kind_id = Attribute::get_named_enum_kind_id(attr);
            kernel.add_attribute(
                AttributeLoc::Param(*index),
                cx.create_enum_attribute(kind_id, 0),
            );
        }
    }
    annotate_kernel(unit, kernel);
    kernel
}

/// The IR function's parameters, read from the kernel's (at the builder's
/// position, the entry block).
fn bind_params<'ctx>(
    b: &Builder<'ctx>,
    kernel: FunctionValue<'ctx>,
    signature: &Signature<'ctx>,
) -> Result<Vec<ParamValue<'ctx>>, LlvmError> {
    let param = |i: u32| kernel.get_nth_param(i).expect("declared above");
    let mut frame_params = Vec::with_capacity(signature.sources.len());
    for source in &signature.sources {
        frame_params.push(match *source {
            Source::Scalar(i, ty) => {
                let v = param(i);
                ParamValue::Scalar(if ty == ScalarType::Bool {
                    let byte = v.into_int_value();
                    b.build_int_compare(IntPredicate::NE, byte, byte.get_type().const_zero(), "")?
                        .into()
                } else {
                    v
                })
            }
            Source::Strided { ptr, stride } => {
                let count = signature.count.expect("elementwise kernels have a count");
                ParamValue::Array(ArrayValue {
                    data: param(ptr).into_pointer_value(),
                    shape: vec![param(count).into_int_value()],
                    strides: vec![param(stride).into_int_value()],
                })
            }
            Source::Flat { ptr, rank } => {
                let ints = |from: u32| -> Vec<IntValue> {
                    (from..from + rank as u32)
                        .map(|i| param(i).into_int_value())
                        .collect()
                };
                ParamValue::Array(ArrayValue {
                    data: param(ptr).into_pointer_value(),
                    shape: ints(ptr + 1),
                    strides: ints(ptr + 1 + rank as u32),
                })
            }
        });
    }
    Ok(frame_params)
}

/// Marks `kernel` as a PTX `.entry` (`!nvvm.annotations`).
fn annotate_kernel<'ctx>(unit: &Unit<'ctx>, kernel: FunctionValue<'ctx>) {
    let cx = unit.cx;
    let operands: [BasicMetadataValueEnum; 3] = [
        kernel.as_global_value().as_pointer_value().into(),
        cx.metadata_string("kernel").into(),
        cx.i32_type().const_int(1, false).into(),
    ];
    let node = cx.metadata_node(&operands);
    unit.module
        .add_global_metadata("nvvm.annotations", &node)
        .expect("a metadata node is valid global metadata");
}

/// `(blockIdx.x * blockDim.x + threadIdx.x, gridDim.x * blockDim.x)` as `i64`.
fn grid_index_and_size<'ctx>(
    unit: &Unit<'ctx>,
    b: &inkwell::builder::Builder<'ctx>,
) -> Result<(IntValue<'ctx>, IntValue<'ctx>), LlvmError> {
    let read = |register: &str| super::spmd::special_register(unit, b, register);
    let (tid, ntid, ctaid, nctaid) = (
        read("tid.x")?,
        read("ntid.x")?,
        read("ctaid.x")?,
        read("nctaid.x")?,
    );
    let block_start = b.build_int_nuw_mul(ctaid, ntid, "")?;
    let index = b.build_int_nuw_add(block_start, tid, "global_id")?;
    let size = b.build_int_nuw_mul(nctaid, ntid, "grid_size")?;
    Ok((index, size))
}

/// The counter and the step value of the function's outer loop: the first
/// independent counted loop of its body, as the loop builders declare it
/// ([`ir::CountedLoop`]).
fn outer_loop(func: &ir::Function) -> Option<(LocalId, ValueId)> {
    func.body.insts.iter().find_map(|inst| match &inst.kind {
        InstKind::Loop {
            counted: Some(c), ..
        } if c.order == IterationOrder::Independent
            && !func.params.iter().any(|p| p.local == c.counter) =>
        {
            Some((c.counter, c.step))
        }
        _ => None,
    })
}
