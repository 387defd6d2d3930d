//! The NVPTX target of the LLVM backend: compiles kern IR to LLVM IR (the shared
//! lowering of [`crate::backend::llvm`]) and on to PTX text for NVIDIA GPUs.
//! Compiled only with the `cuda` feature.
//!
//! No inkwell type appears in its public API. It knows the IR ([`crate::ir`]) and the shapes of the loops
//! [`crate::loops::elementwise`], [`crate::loops::gufunc_loop`] and
//! [`crate::loops::reduce_batch`] build; it knows
//! nothing of the CUDA driver, of device memory or of the runtime — it produces
//! text and a description of each kernel, and the runtime loads and launches them.
//!
//! # Files
//!
//! * `check`: what the GPU cannot run (`print!`, host code, recursion), rejected
//!   with the construct's span before any LLVM work.
//! * `target`: the LLVM target machine (`nvptx64-nvidia-cuda`, `sm_80`, `+ptx75`),
//!   the optimisation pipeline, the verifier and PTX emission.
//! * `hooks`: the GPU's side of the shared lowering (`hooks::TargetHooks`).
//! * `kernels`: the kernel entry points and their parameter lists.
//! * `spmd` / `shared`: the SPMD instructions of `#[kernel]`s (thread indices and
//!   barriers; block-shared arrays, their zeroing at kernel entry and the 48 KiB
//!   limit); atomics are the shared lowering's (`llvm/atomics.rs`).
//! * `fastmath`: [`PtxOptions::fastmath`]'s approximate instructions.
//! * Traps use the shared record and decoder of [`crate::backend::traps`]; on the
//!   GPU the record lives in global memory and a trapping thread claims it with
//!   `atomicCAS(&record.code, 0, code)`: only the thread that swapped the 0 writes
//!   `site` and `payload`, so the record describes exactly one trap, the first to
//!   reach the CAS.
//!
//! # Kernel ABI (what the runtime codes against)
//!
//! [`compile_to_ptx`] turns each requested function into one `.entry` whose name
//! is [`PtxKernel::name`]; [`PtxKernel::params`] lists its parameters in order.
//! Every kernel's **first parameter is `trap: *mut TrapRecord`** (global memory,
//! see [`crate::backend::traps`]; zero it before the launch). Pointers are 64-bit global
//! addresses (`cuMemAlloc` pointers); strides and extents are `i64` counts of
//! *elements*; scalars are passed by value as their machine type, `bool` as one
//! byte 0/1, `usize`/`isize` as 64-bit.
//!
//! * **Elementwise loop** (`FunctionKind::ElementwiseLoop`, kind
//!   [`KernelKind::Elementwise`]), for a loop with inputs `in0..ink` and output
//!   `out`:
//!   `(trap, in0: *const T0, in0_stride: i64, .., out: *mut R, out_stride: i64,
//!   n: i64)`. Element `i` of operand `o` is at `base_o + i * stride_o` (strides may
//!   be zero or negative: point `base` at element 0). The kernel runs a grid-stride
//!   loop `i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x *
//!   blockDim.x`, so any 1-D launch configuration covers all `n` elements.
//! * **Gufunc loop** (`FunctionKind::GufuncLoop`, [`KernelKind::Gufunc`]): every
//!   operand of the IR loop is passed as its flattened descriptor
//!   `(ptr, shape[0], .., shape[r-1], stride[0], .., stride[r-1])` — axis 0 is the
//!   loop axis (extent `n`, the same for every operand), the others its core
//!   dimensions — in the loop's parameter order (inputs, then outputs, scalars as
//!   1-D arrays). Loop iteration `i` (one call of the gufunc body) runs on one
//!   thread, grid-stride over `n = shape[0]` of the first output.
//! * **Reduction batch** (`FunctionKind::ReductionBatch`, built by
//!   `loops::reduce_batch`, [`KernelKind::ReductionBatch`]): operands flattened as
//!   for a gufunc loop, in the loop's parameter order — `reduce_batch` is
//!   `(trap, x: *const X, lanes, n, x_stride0, x_stride1, out: *mut A, lanes,
//!   blocks, out_stride0, out_stride1)` with `blocks = ceil(n / BLOCK)`,
//!   `scan_batch` is `(trap, seed: *const A, lanes, seed_stride, x, lanes, n,
//!   x_stride0, x_stride1, out, lanes, n, out_stride0, out_stride1)`. Iteration
//!   `i` (one block of one lane, or one whole lane of a scan) runs on one thread,
//!   grid-stride over `lanes * blocks` (reduce) or `lanes` (scan). No pointer is
//!   `noalias`: a scan that reduces stores over its own seeds (`out` is `seed`
//!   with stride 0 along axis 1).
//! * **Plain function** ([`KernelKind::Scalar`], for tests and tools): a 1-thread
//!   kernel `(trap, [ret: *mut R], params..)` — scalar parameters by value, array
//!   parameters flattened as above; the result (if any) is stored to `ret`. Launch
//!   it with one thread; every thread would compute the same thing.
//! * **SPMD kernel** (`FunctionKind::Kernel`, a `#[kernel]`, [`KernelKind::Spmd`]):
//!   `(trap, params..)` — each kernel parameter in order, scalars by value (`bool`
//!   as a byte), arrays flattened `(ptr, shape[0], .., stride[0], ..)` as above.
//!   Launch it with the caller's grid and block: the body runs once per thread,
//!   `thread_idx`/`block_idx`/`block_dim`/`grid_dim` are PTX's `tid`/`ctaid`/
//!   `ntid`/`nctaid`. Its shared arrays are static `.shared` variables (at most
//!   48 KiB per kernel, a compile-time error beyond), zeroed by the block's
//!   threads at entry, so launch it with no dynamic shared memory.
//!
//! Within a kernel, kern functions it calls become device functions (internal
//! linkage, parameters flattened the same way, the trap pointer first).
//!
//! # Traps
//!
//! A trap (index out of bounds, integer division by zero or overflow, a failed
//! `assert!`) cannot unwind a GPU thread to the host: the trapping thread records
//! it in the kernel's trap record with an atomic compare-and-swap on `code` — the
//! first trap of the launch wins, later ones leave the record alone — and stops
//! (PTX `exit`). Other threads keep running, so unlike on the CPU, elements after
//! the trapping one may have been written. The host decodes the record with
//! [`PtxModule::decode_trap`] into the same [`crate::ir::Trap`] (kind and source
//! span) the Cranelift backend reports. Recursion is rejected at compile time, so
//! `RecursionLimit` never occurs on the GPU. A thread that exits no longer holds
//! up `sync_threads()` barriers (PTX releases a barrier whose only missing
//! threads have exited), so a trap in an SPMD kernel cannot hang its block.
//!
//! # SPMD instructions
//!
//! `ir::spmd` specifies them; here: indices are the special registers
//! zero-extended to `usize`, `sync_threads()` is `bar.sync 0`
//! (`llvm.nvvm.barrier0`), atomics are relaxed (`monotonic`), device-scope PTX
//! `atom`s — `add/sub/min/max/exch/cas` on integers (signed or unsigned by the
//! element type), `atom.add.f32/f64` for float add and, of the negated operand,
//! sub; float min/max are a compare-and-swap loop on the bits that only swaps
//! when the IR's comparison says `v` replaces the old value (so NaNs neither win
//! nor get replaced), and float `cas` compares bits. One deviation: the PTX ISA
//! documents that `atom.add.f32` flushes subnormal inputs and results to zero.
//! Passing a shared array to a function is rejected (`check`): device functions
//! take global pointers.
//!
//! # Floating point
//!
//! IEEE semantics as the IR specifies: no fast-math flags, so LLVM never contracts
//! `a * b + c` into an FMA (PTX gets `.rn` instructions); division and square root
//! are correctly rounded; floor/ceil/trunc/nearest/fma are the PTX instructions.
//! The only approximate instructions come with [`PtxOptions::fastmath`] (see its
//! doc). Never emitted: `llvm.exp/log/sin/cos/pow` and friends, which LLVM
//! cannot lower for NVPTX (the math comes from kern's stdlib, compiled like user
//! code).

mod check;
mod fastmath;
mod hooks;
mod kernels;
mod shared;
mod spmd;
mod target;

use inkwell::AddressSpace;

use crate::ir::{FuncId, Program, ScalarType};

pub use crate::backend::llvm::LlvmError;

pub use crate::backend::traps::{TrapRecord, TrapSite, TrapSites};

/// Options of one PTX compilation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PtxOptions {
    /// Compute the stdlib's `exp2`, `log2`, `sin` and `cos` of `f32` values
    /// (also `(x as f64).sin()` and friends of an `f32` `x`) with the GPU's
    /// approximate instructions (`ex2/lg2/sin/cos.approx.f32`): several ULP off
    /// (`sin`/`cos` far off for large arguments) and a different answer than the
    /// CPU targets give, so off by default.
    pub fastmath: bool,
}

/// What a kernel entry runs (see the module docs for each one's parameters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelKind {
    Elementwise,
    Gufunc,
    /// A batch of reduction or scan runs, one per thread (`loops::reduce_batch`).
    ReductionBatch,
    Scalar,
    Spmd,
}

/// One parameter of a kernel entry, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KernelParam {
    /// The `*mut TrapRecord` every kernel takes first.
    TrapRecord,
    /// A global pointer to elements of this type (`mutable`: the kernel writes it).
    /// `operand` is the IR parameter (or, for `Result`, none) it belongs to.
    Pointer {
        operand: String,
        elem: ScalarType,
        mutable: bool,
    },
    /// Extent of `operand` along `axis`, `i64`.
    Extent { operand: String, axis: u8 },
    /// Stride of `operand` along `axis` in elements, `i64`.
    Stride { operand: String, axis: u8 },
    /// The element count of an elementwise kernel, `i64`.
    Count,
    /// A scalar argument by value (`bool` as a byte).
    Scalar { name: String, ty: ScalarType },
    /// Where a plain function's result is stored (`*mut ty`).
    Result { ty: ScalarType },
}

/// One `.entry` of a [`PtxModule`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PtxKernel {
    /// The IR function it was compiled from.
    pub function: FuncId,
    /// The PTX entry name (an identifier derived from the IR name, unique in the
    /// module).
    pub name: String,
    pub kind: KernelKind,
    pub params: Vec<KernelParam>,
}

/// The result of [`compile_to_ptx`].
#[derive(Clone, Debug)]
pub struct PtxModule {
    /// PTX assembly (`.version 7.5`, `.target sm_80`), ready for `cuModuleLoadData`.
    pub ptx: String,
    /// The optimised LLVM IR the PTX was generated from (`kern emit --llvm`).
    pub llvm_ir: String,
    pub kernels: Vec<PtxKernel>,
    /// Trap sites, indexed by [`TrapRecord::site`].
    pub trap_sites: TrapSites,
}

impl PtxModule {
    pub fn kernel(&self, function: FuncId) -> Option<&PtxKernel> {
        self.kernels.iter().find(|k| k.function == function)
    }

    /// The trap recorded in `record` after a launch, if any.
    pub fn decode_trap(&self, record: &TrapRecord) -> Option<crate::ir::Trap> {
        self.trap_sites.decode(record)
    }
}

/// PTX's global address space: every array and the trap record live there.
const GLOBAL: u16 = 1;

fn global() -> AddressSpace {
    AddressSpace::from(GLOBAL)
}

/// Compiles `kernels` (and every kern function they call, as device functions)
/// into one PTX module. Each function becomes the entry its kind calls for:
/// an elementwise or gufunc loop becomes its grid-stride kernel, a `#[kernel]`
/// its SPMD kernel, anything else a 1-thread kernel (see the module docs).
pub fn compile_to_ptx(
    program: &Program,
    kernels: &[FuncId],
    options: &PtxOptions,
) -> Result<PtxModule, LlvmError> {
    for &id in kernels {
        if program.functions.get(id.0 as usize).is_none() {
            return Err(LlvmError::NoSuchFunction(id.0));
        }
    }
    let device_functions = check::reachable_device_functions(program, kernels)?;
    target::compile(program, kernels, &device_functions, options)
}
