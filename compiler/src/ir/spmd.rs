//! SPMD instructions: what `InstKind::Spmd` does inside a `#[kernel]`.
//!
//! A kernel (`FunctionKind::Kernel`) is one program run by many *threads*. The
//! threads of a launch form a *grid* of `grid_dim` *blocks* of `block_dim` threads
//! each, both three-dimensional (`x`, `y`, `z`; an unused axis has extent 1). This
//! module specifies the instructions that let a thread find out who it is, wait for
//! the other threads of its block, share memory with them and update memory
//! atomically. They are target-neutral: the launch loop of [`super::spmd_launch`]
//! gives them meaning on `cpu`/`parallel`, a GPU backend maps them to the hardware.
//!
//! # Where they may appear
//!
//! Only in the body of a `FunctionKind::Kernel` function, or in a launch loop
//! (`FunctionKind::KernelLaunch`) the kernel was inlined into (the verifier checks
//! it). The type checker only accepts them directly in a `#[kernel]` body, and a
//! kernel can never be called (only launched), so inlining never moves them into a
//! plain function: a helper called by several threads sees no thread index.
//!
//! # The instructions ([`SpmdInst`])
//!
//! * `Index(kind, axis)` → `usize`: the calling thread's `thread_idx` (its position
//!   in its block, `0..block_dim`), `block_idx` (its block's position in the grid,
//!   `0..grid_dim`), or the launch's `block_dim` / `grid_dim`, along `axis`. Every
//!   thread of a launch sees the same `block_dim`/`grid_dim`. (`global_id()` in
//!   source is `block_idx * block_dim + thread_idx`, lowered to ordinary wrapping
//!   `usize` arithmetic.)
//! * `SyncThreads`: a barrier for the threads of one block. No thread of the block
//!   continues until every thread of the block has reached it; every write a
//!   thread of the block made before it (to shared arrays and to array
//!   arguments) is visible to every thread of the block after it. Like CUDA's
//!   `__syncthreads()`, it must be reached by all threads of a block or by none
//!   (inside a branch that diverges within a block the outcome is undefined).
//! * `SharedArray { array, len }`: binds the array local `array` (rank 1, mutable,
//!   of the element type of the local) to `len` elements of memory shared by all
//!   threads of the block, fresh for each block and zero-initialised. It appears
//!   at most once per local, before any use of the local; wherever it appears, the
//!   memory is the block's for the whole launch (like CUDA's `__shared__`, even
//!   when declared in a nested scope). Accesses are ordinary `Load`/`Store`/`ArrayLen` (bounds-checked against
//!   `len`); races between threads are the program's problem, as on a GPU.
//! * `Atomic(AtomicInst { op, array, index, operands })` → the element type: atomically reads
//!   element `index` (`usize`) of the rank-1 mutable array `array` (an argument or
//!   a shared array), computes the new value and writes it, and yields the *old*
//!   value. `index` is bounds-checked: out of range traps with
//!   `TrapKind::IndexOutOfBounds` at the instruction's span, like a checked `Load`.
//!   Element types: `i32`, `i64`, `u32`, `u64`, `f32`, `f64`. `operands` is `[v]`,
//!   or `[expected, new]` for `CompareExchange`:
//!   - `Add`/`Sub`: `old + v` / `old - v`, wrapping for integers, IEEE for floats.
//!   - `Min`/`Max`: `v` if `v < old` (`v > old`), else `old`, compared as the
//!     element type (signed or unsigned; for floats a NaN `v` never replaces, a
//!     NaN `old` is never replaced).
//!   - `Exchange`: `v`.
//!   - `CompareExchange`: `new` if the bits of `old` equal the bits of `expected`
//!     (so `-0.0` does not match `0.0` and a NaN matches itself), else `old`.
//!
//!   Memory ordering: each atomic is indivisible with respect to every other
//!   atomic on the same element, from any thread of the launch. Nothing more is
//!   promised about ordering against ordinary loads and stores (a GPU backend may
//!   use relaxed, device-scope atomics; the Cranelift backend's are sequentially
//!   consistent, which is stronger). A plain `Store` racing with an atomic on the
//!   same element has an unspecified result.
//!
//! # Running kernels without a GPU
//!
//! [`super::spmd_launch`] builds the launch loop that runs every thread in turn;
//! it rejects kernels that use `SyncThreads` or `SharedArray`, which only make
//! sense with threads that run concurrently (see its docs).

use super::{LocalId, ScalarType, ScalarValue, ValueId};

/// One of the three axes of a grid or block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Axis {
    X,
    Y,
    Z,
}

impl Axis {
    pub const ALL: [Axis; 3] = [Axis::X, Axis::Y, Axis::Z];

    pub fn name(self) -> &'static str {
        match self {
            Axis::X => "x",
            Axis::Y => "y",
            Axis::Z => "z",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// Which launch coordinate an `Index` instruction reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SpmdIndex {
    ThreadIdx,
    BlockIdx,
    BlockDim,
    GridDim,
}

impl SpmdIndex {
    pub fn name(self) -> &'static str {
        match self {
            SpmdIndex::ThreadIdx => "thread_idx",
            SpmdIndex::BlockIdx => "block_idx",
            SpmdIndex::BlockDim => "block_dim",
            SpmdIndex::GridDim => "grid_dim",
        }
    }
}

/// The read-modify-write of an `Atomic` instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AtomicOp {
    Add,
    Sub,
    Min,
    Max,
    Exchange,
    /// Operands `[expected, new]`.
    CompareExchange,
}

impl AtomicOp {
    pub const ALL: [AtomicOp; 6] = [
        AtomicOp::Add,
        AtomicOp::Sub,
        AtomicOp::Min,
        AtomicOp::Max,
        AtomicOp::Exchange,
        AtomicOp::CompareExchange,
    ];

    /// The source name (`atomic_add`, ...) without the `atomic_` prefix.
    pub fn name(self) -> &'static str {
        match self {
            AtomicOp::Add => "add",
            AtomicOp::Sub => "sub",
            AtomicOp::Min => "min",
            AtomicOp::Max => "max",
            AtomicOp::Exchange => "exchange",
            AtomicOp::CompareExchange => "cas",
        }
    }

    /// How many value operands follow the index.
    pub fn operand_count(self) -> usize {
        match self {
            AtomicOp::CompareExchange => 2,
            _ => 1,
        }
    }
}

/// An SPMD instruction (see the module docs for the semantics of each).
#[derive(Clone, Debug, PartialEq)]
pub enum SpmdInst {
    Index(SpmdIndex, Axis),
    SyncThreads,
    SharedArray { array: LocalId, len: u64 },
    Atomic(AtomicInst),
}

/// `atomic_OP(array, index, operands..)`: one read-modify-write of `array[index]`,
/// whose value is the element before the write.
#[derive(Clone, Debug, PartialEq)]
pub struct AtomicInst {
    pub op: AtomicOp,
    pub array: LocalId,
    pub index: ValueId,
    /// `op.operand_count()` values of the array's element type.
    pub operands: Vec<ValueId>,
}

impl SpmdInst {
    /// The values it reads, in order.
    pub fn values(&self) -> Vec<ValueId> {
        match self {
            SpmdInst::Atomic(a) => std::iter::once(a.index)
                .chain(a.operands.iter().copied())
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The array local it reads or binds, if any.
    pub fn array(&self) -> Option<LocalId> {
        match self {
            SpmdInst::SharedArray { array, .. } | SpmdInst::Atomic(AtomicInst { array, .. }) => {
                Some(*array)
            }
            _ => None,
        }
    }

    /// The same instruction with values and locals renamed (for inlining).
    pub fn map(
        &self,
        mut value: impl FnMut(ValueId) -> ValueId,
        mut local: impl FnMut(LocalId) -> LocalId,
    ) -> SpmdInst {
        match self {
            SpmdInst::Index(k, a) => SpmdInst::Index(*k, *a),
            SpmdInst::SyncThreads => SpmdInst::SyncThreads,
            SpmdInst::SharedArray { array, len } => SpmdInst::SharedArray {
                array: local(*array),
                len: *len,
            },
            SpmdInst::Atomic(a) => SpmdInst::Atomic(AtomicInst {
                op: a.op,
                array: local(a.array),
                index: value(a.index),
                operands: a.operands.iter().map(|v| value(*v)).collect(),
            }),
        }
    }

    /// Whether it needs the threads of a block to run concurrently (a barrier or
    /// block-shared memory), which the `cpu`/`parallel` launch loop cannot give.
    pub fn needs_concurrent_threads(&self) -> bool {
        matches!(self, SpmdInst::SyncThreads | SpmdInst::SharedArray { .. })
    }

    /// The text form (`kern emit --ir`), without operands.
    pub fn name(&self) -> String {
        match self {
            SpmdInst::Index(k, a) => format!("{}.{}", k.name(), a.name()),
            SpmdInst::SyncThreads => "sync_threads".into(),
            SpmdInst::SharedArray { len, .. } => format!("shared_array[{len}]"),
            SpmdInst::Atomic(a) => format!("atomic_{}", a.op.name()),
        }
    }
}

/// The value an atomic writes, given the element's `old` value and the operands
/// (`[v]`, or `[expected, new]` for `CompareExchange`), all of the element type.
/// The one definition of the arithmetic that the interpreter uses and the
/// backends must match.
pub fn atomic_new_value(op: AtomicOp, old: ScalarValue, operands: &[ScalarValue]) -> ScalarValue {
    use super::eval::{eval_binary, eval_cmp};
    use super::{BinaryOp, CmpOp};
    let v = operands[0];
    let replaces = |cmp: CmpOp| eval_cmp(cmp, v, old);
    match op {
        AtomicOp::Add => eval_binary(BinaryOp::Add, old, v).unwrap_or(old),
        AtomicOp::Sub => eval_binary(BinaryOp::Sub, old, v).unwrap_or(old),
        AtomicOp::Min => {
            if replaces(CmpOp::Lt) {
                v
            } else {
                old
            }
        }
        AtomicOp::Max => {
            if replaces(CmpOp::Gt) {
                v
            } else {
                old
            }
        }
        AtomicOp::Exchange => v,
        AtomicOp::CompareExchange => {
            if old.to_bits() == v.to_bits() {
                operands[1]
            } else {
                old
            }
        }
    }
}

/// Element types atomics support.
pub fn atomic_element_type(t: ScalarType) -> bool {
    matches!(
        t,
        ScalarType::I32
            | ScalarType::I64
            | ScalarType::U32
            | ScalarType::U64
            | ScalarType::F32
            | ScalarType::F64
    )
}
