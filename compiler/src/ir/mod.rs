//! kern IR: the typed, target-neutral program representation.
//!
//! The type checker lowers into it; the reference interpreter runs it; the
//! Cranelift backend (and, later, the LLVM/NVPTX backend) compiles it. It must never
//! mention a Cranelift or LLVM type. This module doc is the specification.
//!
//! # Programs and functions
//!
//! A [`Program`] is a list of monomorphic [`Function`]s (generic kern functions appear
//! once per instantiation, e.g. `discriminant<f32>`) plus constant tables. Functions
//! refer to each other by [`FuncId`], an index into `Program::functions`.
//!
//! # Values and locals
//!
//! * A **value** ([`ValueId`]) is an SSA scalar: it is defined by exactly one
//!   instruction (`Inst::result`) and its type is `Function::value_types[id]`.
//!   Values are always scalars.
//! * A **local** ([`LocalId`]) is a mutable, typed variable slot: `GetLocal` reads it,
//!   `SetLocal` writes it. Parameters are locals (`Function::params`), initialised
//!   with the arguments on entry; other locals start as zero of their type. Array
//!   parameters are locals of array type; they are never assigned, only passed to
//!   `Load`/`Store`/`ArrayLen`/calls.
//!
//! # Array arguments and sub-views
//!
//! A call passes an array as [`Arg::Array`] (the caller's array itself) or as
//! [`Arg::SubView`] `{ array, index }`: the view of `array` at `index` along its
//! axis 0 — rank one less, its axis `k` being axis `k + 1` of `array` (same extent
//! and stride), its element `[j, ..]` being `array[index, j, ..]`. The callee's
//! parameter has rank `rank(array) - 1`, the same element type, and may be `&mut`
//! only if `array` is. `index` is a `usize` below the extent of axis 0; that is
//! **not checked** (like an unchecked `Load`): only passes that guarantee it emit a
//! sub-view (the gufunc loops of [`gufunc_loop`](crate::loops::gufunc_loop), whose index runs over `0..n`).
//! Inlining a callee that received a sub-view rewrites its accesses to the parent
//! array with `index` prepended (`ArrayLen` axis `a` becomes axis `a + 1`), which is
//! the same access.
//!
//! # Structured control flow
//!
//! A function body is a [`Block`]: a list of instructions run in order. Control flow
//! is structured — `If` and `Loop` own nested blocks — so both backends and the
//! interpreter lower it without building a CFG from scratch.
//!
//! * `If { cond, then_block, else_block }`: runs one of the blocks. It has no result;
//!   an `if` *expression* writes its result to a local in each branch.
//! * `Loop { header, cond, body, latch }`: repeats `header; if cond is false → exit;
//!   body; latch`. `cond` is `None` for an unconditional `loop`. `Break` leaves the
//!   innermost loop and may appear in its header, body or latch (a `for` loop's
//!   latch breaks instead of stepping past the end of its range). `Continue` jumps
//!   to the `latch` of the innermost loop and may appear only in its body.
//! * A loop built by [`build::FunctionBuilder::counted_loop`] *declares* itself
//!   ([`CountedLoop`]): its counter local, the induction value (the header's first
//!   instruction, `iv = get counter`), the constant step its latch adds
//!   (`counter = iv + step`) and whether its iterations are independent. Backends
//!   and passes read the declaration instead of recognising the shape (the NVPTX
//!   backend turns an independent loop into a grid-stride loop); the verifier
//!   checks that the loop has the shape it declares.
//! * `Return(v)` leaves the function. `Break`, `Continue` and `Return` end their block:
//!   instructions after them in the same block are unreachable (lowering never
//!   emits any; the verifier rejects them).
//!
//! # Scoping (checked by the verifier)
//!
//! A value may be used by later instructions of the block that defines it and by
//! instructions inside blocks nested in it. Values defined in a loop's `header` are
//! visible in its `body` and `latch`. Nothing defined inside a nested block is
//! visible after that block ends: pass results out through locals.
//!
//! # Semantics (identical on every backend and in the interpreter)
//!
//! * Integer `Add/Sub/Mul/Neg` wrap (two's complement), like Rust release builds.
//! * Integer `Div/Rem` trap on a zero divisor ([`TrapKind::DivisionByZero`]) and on
//!   `MIN / -1`, `MIN % -1` for signed types ([`TrapKind::DivisionOverflow`]).
//!   Division truncates towards zero; `Rem` has the sign of the dividend.
//! * `Shl/Shr`: the shift amount (any integer type) is taken modulo the bit width of
//!   the left operand (Rust's `wrapping_shl`); `Shr` is arithmetic for signed and
//!   logical for unsigned types. The result has the left operand's type.
//! * Float ops are IEEE 754 with round-to-nearest-even and no fast-math; float
//!   `Rem` is not an IR operation (lowering calls the stdlib's exact `fmod`). The
//!   payload and sign bit of a NaN result are unspecified (hardware differs: x86
//!   produces a negative quiet NaN, GPUs a canonical one); every other bit of every
//!   result is specified, including the sign of zero.
//! * Comparisons produce `bool`; float comparisons are false with a NaN operand
//!   except `Ne`, which is true.
//! * `Cast` follows Rust's `as`: int→int truncates or extends by the source's
//!   signedness, float→int saturates (NaN → 0), int→float and f64→f32 round to
//!   nearest-even, `bool`→int gives 0/1. `Bitcast` reinterprets bits between types of
//!   equal width (`f64::to_bits`, `f32::from_bits`).
//! * `Load`/`Store` with `checked: true` trap with [`TrapKind::IndexOutOfBounds`] when
//!   an index is not below the array's extent on that axis. Unchecked accesses are
//!   only emitted by passes that proved the check redundant.
//! * Every trap stops the whole call; the error carries the trapping instruction's
//!   span so it can be reported at the kernel's source location.
//!
//! # Arrays at run time
//!
//! An array argument is passed as a pointer to an [`ArrayDesc`] (C layout, shared by
//! the interpreter, the JIT and the runtime). Element strides are in elements, may be
//! zero or negative; `ArrayStride` reads one. A function may declare the strides
//! of some of its array parameters' axes fixed ([`Function::fixed_strides`]),
//! asserted by its first instructions, so that backends address those axes with
//! constants; a call with other strides stops at the assertion.
//!
//! # Host arrays (only in `FunctionKind::Main`)
//!
//! Host code may hold whole n-d arrays in locals of type [`Type::HostArray`]
//! (`Array<T>` in source): opaque handles owned by the host environment. They are
//! only used by [`InstKind::Host`] instructions (see [`host`] for every
//! [`HostOp`]) and passed to calls (`Arg::Array`), where an `&[T]`/`&mut [T]`
//! parameter receives the array's descriptor (its rank is checked at run time).
//! The verifier rejects host arrays and host instructions outside `main`; backends
//! never see them (they return an error if they do).
//!
//! # SPMD kernels
//!
//! A `FunctionKind::Kernel` function may use [`InstKind::Spmd`] instructions:
//! thread and block indices, a block barrier, block-shared arrays and atomic
//! read-modify-writes on array elements. [`spmd`] specifies each of them (what a
//! thread sees, memory ordering, bounds checks); [`spmd_launch`](crate::loops::spmd_launch) builds the loop
//! over all threads that runs a kernel on `cpu`/`parallel`.

pub mod build;
pub mod call_graph;
pub mod eval;
pub mod format;
pub mod host;
pub mod host_jobs;
pub mod host_mpi;
pub mod print;
pub mod spmd;
mod spmd_verify;
pub mod verify;
pub mod walk;

use crate::diagnostics::Span;
pub use crate::scalar::{ScalarType, ScalarValue};
pub use host::HostOp;
pub use host_jobs::JobsOp;
pub use host_mpi::{MpiOp, MpiReduceOp};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FuncId(pub u32);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ValueId(pub u32);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LocalId(pub u32);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConstTableId(pub u32);

/// Largest array rank a kernel parameter may have.
pub const MAX_RANK: usize = 8;

/// The run-time view of an array argument: what an array local points to.
/// Byte offsets are part of the ABI: `data` at 0, `shape[k]` at `8 + 8k`,
/// `strides[k]` at `8 + 8 * MAX_RANK + 8k`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ArrayDesc {
    pub data: *mut u8,
    pub shape: [i64; MAX_RANK],
    /// In elements, not bytes.
    pub strides: [i64; MAX_RANK],
}

impl ArrayDesc {
    pub const SHAPE_OFFSET: i32 = 8;
    pub const STRIDES_OFFSET: i32 = 8 + 8 * MAX_RANK as i32;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ArrayType {
    pub elem: ScalarType,
    pub rank: u8,
    pub mutable: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    Scalar(ScalarType),
    Array(ArrayType),
    /// A host array (`Array<T>`) of element type `T` and any rank: a local of
    /// `main` only, assignable by host instructions (see [`host`]).
    HostArray(ScalarType),
}

impl Type {
    pub fn as_scalar(self) -> Option<ScalarType> {
        match self {
            Type::Scalar(t) => Some(t),
            Type::Array(_) | Type::HostArray(_) => None,
        }
    }
}

/// What a function is for, from its attributes. Backends ignore it; the runtime
/// uses it to decide how a function may be called.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum FunctionKind {
    /// A plain `fn` (or `#[jit]`): callable from kernels and from host code.
    #[default]
    Plain,
    /// `fn main()`: host code, run by the interpreter.
    Main,
    /// `#[vectorize(..)]`: the scalar body of a ufunc.
    Ufunc { target: Option<String> },
    /// `#[guvectorize(..)]`: the body of a gufunc with its layout signature.
    Gufunc {
        signature: String,
        target: Option<String>,
    },
    /// `#[kernel]`: an explicit SPMD kernel.
    Kernel { target: Option<String> },
    /// The compiled inner loop of a ufunc for one loop signature (see
    /// [`elementwise`](crate::loops::elementwise)): `for i in 0..out.len() { out[i] = element(in0[i], ..) }`.
    /// Backends may compile it with a SIMD path; `element` is the self-contained
    /// per-element function the loop was built from.
    ElementwiseLoop { element: FuncId },
    /// The compiled loop of a gufunc for one set of operand dtypes (see
    /// [`gufunc_loop`](crate::loops::gufunc_loop)): `for i in 0..n { body(sub-views of every operand at i) }`,
    /// `body` inlined where it can be. Its input arrays (`&`) never share memory
    /// with its output arrays (`&mut`): the runtime copies such an input first
    /// (docs/gufuncs.md). Passes may rely on it (`passes::jam` moves loads of
    /// inputs across stores into outputs); a call that breaks it may read an
    /// input before or after an output element over it is written.
    GufuncLoop { body: FuncId },
    /// The loop over every thread of a range of blocks that runs `kernel` on
    /// `cpu`/`parallel` (see [`spmd_launch`](crate::loops::spmd_launch)).
    KernelLaunch { kernel: FuncId },
    /// Many independent runs of a reduction or scan, one per iteration of its
    /// outer loop (see [`reduce_batch`](crate::loops::reduce_batch)); `combine` is the element function the
    /// runs fold with, `runs` says which. The NVPTX backend runs one iteration
    /// per GPU thread; the Cranelift backend may compile the block form with a
    /// SIMD path (which computes the same bits).
    ReductionBatch { combine: FuncId, runs: BatchRuns },
    /// Whole rows folded into a row of accumulators, row after row (see
    /// [`row_fold`](crate::loops::row_fold)): `for j { for i { acc[i] =
    /// combine(acc[i], x[i, j]) } }`. The Cranelift backend may keep groups of
    /// accumulators in registers across rows when `combine` cannot trap (which
    /// computes the same bits).
    RowFold { combine: FuncId },
}

/// What each iteration of a [`FunctionKind::ReductionBatch`] computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchRuns {
    /// `(x: &[[X]], out: &mut [[A]])`: one block of one lane of `x` reduced in
    /// the block order of [`reduce_loop`](crate::loops::reduce_loop) into
    /// `out[lane, block]`.
    Blocks,
    /// `(seed: &[A], x: &[[X]], out: &mut [[A]])`: one lane of `x` folded onto
    /// its seed in order, every step stored.
    Scans,
}

/// The declaration of a counted loop `for iv in start.. (step)` over a `usize`
/// counter local (see "Structured control flow" above). The caller initialises the
/// counter before the loop; the verifier checks the rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CountedLoop {
    /// The `usize` local the latch steps.
    pub counter: LocalId,
    /// `get counter`, the header's first instruction: the index of the iteration,
    /// visible in the header, the body and the latch.
    pub induction: ValueId,
    /// The `usize` constant the latch adds to the induction value (defined in the
    /// latch, so a backend may define it differently, e.g. as a GPU grid's size).
    pub step: ValueId,
    /// Whether the iterations may run in any order or at once.
    pub order: IterationOrder,
}

/// How the iterations of a [`CountedLoop`] depend on each other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IterationOrder {
    /// Each iteration touches only its own elements: the iterations may be split
    /// across threads or run one per GPU thread.
    Independent,
    /// A fold: each iteration reads what the previous one wrote.
    InOrder,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub name: String,
    pub local: LocalId,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Local {
    pub name: String,
    pub ty: Type,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Function {
    /// Source name, with type arguments for generic instances: `discriminant<f32>`.
    pub name: String,
    pub kind: FunctionKind,
    pub params: Vec<Param>,
    /// `None` for functions returning `()`.
    pub ret: Option<ScalarType>,
    pub locals: Vec<Local>,
    /// Type of each value, indexed by `ValueId`.
    pub value_types: Vec<ScalarType>,
    pub body: Block,
    /// The function's declaration (used for errors that belong to the whole call).
    pub span: Span,
    /// Strides this function's array parameters are known to have (see
    /// [`FixedStride`]); empty for almost every function.
    pub fixed_strides: Vec<FixedStride>,
}

/// A declared stride: axis `axis` of array parameter `array` has stride `stride`
/// (elements) in every call, so backends may address its elements with that
/// constant instead of the descriptor's stride. The function states it itself:
/// its body opens with `assert(stride array, axis == stride)` before anything
/// else reads memory or loops (checked by the verifier), so a call with another
/// layout stops at that assertion, in every backend and in the interpreter,
/// before any element is addressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FixedStride {
    pub array: LocalId,
    pub axis: u8,
    pub stride: i64,
}

impl Function {
    pub fn local(&self, id: LocalId) -> &Local {
        &self.locals[id.0 as usize]
    }

    pub fn value_type(&self, id: ValueId) -> ScalarType {
        self.value_types[id.0 as usize]
    }

    /// The stride of array `array` along `axis` that the function declares
    /// ([`FixedStride`]), if it does.
    pub fn fixed_stride(&self, array: LocalId, axis: usize) -> Option<i64> {
        self.fixed_strides
            .iter()
            .find(|f| f.array == array && usize::from(f.axis) == axis)
            .map(|f| f.stride)
    }

    pub fn param_types(&self) -> Vec<Type> {
        self.params.iter().map(|p| self.local(p.local).ty).collect()
    }

    /// Every function this one calls directly, in first-call order, without repeats.
    pub fn callees(&self) -> Vec<FuncId> {
        let mut out = Vec::new();
        for inst in self.body.insts_deep() {
            let callee = match &inst.kind {
                InstKind::Call { callee, .. } => Some(*callee),
                InstKind::Host { op, .. } => op.callee(),
                _ => None,
            };
            if let Some(callee) = callee.filter(|c| !out.contains(c)) {
                out.push(callee);
            }
        }
        out
    }
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Block {
    pub insts: Vec<Inst>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Inst {
    /// The value this instruction defines, if it produces one.
    pub result: Option<ValueId>,
    pub kind: InstKind,
    /// Source location: where traps are reported and what `--emit` annotates.
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    /// Integer wrapping negation or float negation (flips the sign bit).
    Neg,
    /// Logical not on bool, bitwise not on integers.
    Not,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    /// Traps on integer division by zero / overflow (see the module docs).
    Div,
    /// Integers only (float `%` is a stdlib call). Traps like `Div`.
    Rem,
    /// Bitwise and (also logical and on bool, without short-circuit).
    And,
    Or,
    Xor,
    Shl,
    Shr,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// Operations both backends lower to a native instruction (no libm call anywhere).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Intrinsic {
    /// Correctly rounded square root.
    Sqrt,
    /// Clears the sign bit.
    Abs,
    Floor,
    Ceil,
    Trunc,
    /// Round to nearest, ties to even (`round_ties_even`).
    Nearest,
    /// `a * b + c` with one rounding (`mul_add`); three operands.
    Fma,
    /// Magnitude of the first, sign of the second operand.
    Copysign,
}

impl Intrinsic {
    pub fn arity(self) -> usize {
        match self {
            Intrinsic::Fma => 3,
            Intrinsic::Copysign => 2,
            _ => 1,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Intrinsic::Sqrt => "sqrt",
            Intrinsic::Abs => "abs",
            Intrinsic::Floor => "floor",
            Intrinsic::Ceil => "ceil",
            Intrinsic::Trunc => "trunc",
            Intrinsic::Nearest => "nearest",
            Intrinsic::Fma => "fma",
            Intrinsic::Copysign => "copysign",
        }
    }
}

/// An argument of a call: a scalar value, an array local passed by reference, or a
/// sub-view of an array local (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Arg {
    Value(ValueId),
    Array(LocalId),
    /// `array` at `index` (a `usize`, not bounds-checked) along axis 0.
    SubView {
        array: LocalId,
        index: ValueId,
    },
}

/// How one `{}` of a format string prints its argument.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct FormatSpec {
    /// `{:.3}`
    pub precision: Option<usize>,
    /// `{:?}`
    pub debug: bool,
    /// `{:e}`
    pub exponent: bool,
    /// `{:8}` / `{:>8}` minimum width, right-aligned for numbers as in Rust.
    pub width: Option<usize>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum FormatPiece {
    Text(String),
    /// The next argument, printed with this spec.
    Arg(FormatSpec),
}

impl FormatPiece {
    /// How many arguments a format made of `pieces` takes.
    pub fn arg_count(pieces: &[FormatPiece]) -> usize {
        pieces
            .iter()
            .filter(|p| matches!(p, FormatPiece::Arg(_)))
            .count()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum InstKind {
    Const(ScalarValue),
    GetLocal(LocalId),
    SetLocal(LocalId, ValueId),
    Unary(UnaryOp, ValueId),
    /// Both operands have the same type, except for shifts (any integer amount).
    Binary(BinaryOp, ValueId, ValueId),
    /// Both operands have the same type; the result is bool.
    Cmp(CmpOp, ValueId, ValueId),
    /// Rust `as` to the given type.
    Cast(ValueId, ScalarType),
    /// Reinterpret the bits as the given type of equal width.
    Bitcast(ValueId, ScalarType),
    Select {
        cond: ValueId,
        if_true: ValueId,
        if_false: ValueId,
    },
    Intrinsic(Intrinsic, Vec<ValueId>),
    Call {
        callee: FuncId,
        args: Vec<Arg>,
    },
    /// Extent of an array local along `axis`, as `usize`.
    ArrayLen {
        array: LocalId,
        axis: u8,
    },
    /// Stride of an array local along `axis`, in elements, as `isize` (what a
    /// loop compares with the layout it declares: [`Function::fixed_strides`]).
    ArrayStride {
        array: LocalId,
        axis: u8,
    },
    /// Element at `indices` (one `usize` per axis).
    Load {
        array: LocalId,
        indices: Vec<ValueId>,
        checked: bool,
    },
    Store {
        array: LocalId,
        indices: Vec<ValueId>,
        value: ValueId,
        checked: bool,
    },
    /// Element `index` (`usize`) of a constant table; always bounds-checked.
    LoadConst {
        table: ConstTableId,
        index: ValueId,
    },
    If {
        cond: ValueId,
        then_block: Block,
        else_block: Block,
    },
    Loop {
        header: Block,
        cond: Option<ValueId>,
        body: Block,
        latch: Block,
        /// What a counted loop declares about itself; `None` for loops written by
        /// hand (`while`, `loop`, a user's `for`).
        counted: Option<CountedLoop>,
    },
    Break,
    Continue,
    Return(Option<ValueId>),
    /// Traps with [`TrapKind::AssertionFailed`] when `cond` is false.
    Assert {
        cond: ValueId,
        message: String,
    },
    /// `print!`/`println!`: pieces in order, consuming `args` for each `Arg` piece.
    Print {
        pieces: Vec<FormatPiece>,
        args: Vec<ValueId>,
        newline: bool,
    },
    /// A host-array operation (only in `main`; see [`host`]). A scalar result is
    /// `Inst::result`; an array result goes to the host-array local `dest`.
    Host {
        op: HostOp,
        args: Vec<Arg>,
        dest: Option<LocalId>,
    },
    /// An SPMD instruction (kernels only; see [`spmd`]). Index reads and atomics
    /// define `Inst::result`.
    Spmd(spmd::SpmdInst),
}

/// A read-only table of constants (`const T: [f64; 4] = [..];`).
#[derive(Clone, Debug, PartialEq)]
pub struct ConstTable {
    pub name: String,
    pub elem: ScalarType,
    pub values: Vec<ScalarValue>,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Program {
    pub functions: Vec<Function>,
    pub const_tables: Vec<ConstTable>,
}

impl Program {
    pub fn function(&self, id: FuncId) -> &Function {
        &self.functions[id.0 as usize]
    }

    pub fn const_table(&self, id: ConstTableId) -> &ConstTable {
        &self.const_tables[id.0 as usize]
    }

    pub fn find(&self, name: &str) -> Option<FuncId> {
        self.functions
            .iter()
            .position(|f| f.name == name)
            .map(|i| FuncId(i as u32))
    }

    pub fn add_function(&mut self, function: Function) -> FuncId {
        self.functions.push(function);
        FuncId(self.functions.len() as u32 - 1)
    }
}

/// Why a kernel stopped.
#[derive(Clone, Debug, PartialEq)]
pub enum TrapKind {
    DivisionByZero,
    /// `MIN / -1` or `MIN % -1`.
    DivisionOverflow,
    IndexOutOfBounds {
        index: i64,
        len: i64,
    },
    AssertionFailed(String),
    /// Recursion deeper than the backend's guard allows.
    RecursionLimit,
    /// The call would not fit on the thread's stack (large frames, deep recursion).
    StackOverflow,
    /// A host-array operation failed (`load` of a missing file, an index out of
    /// range, ...): the message says what and why.
    Host(String),
}

impl std::fmt::Display for TrapKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrapKind::DivisionByZero => f.write_str("attempt to divide by zero"),
            TrapKind::DivisionOverflow => f.write_str("attempt to divide with overflow"),
            // Indices are `usize`, carried as their bits: a wrapped `0 - 1` is
            // 18446744073709551615, as Rust reports it, not -1.
            TrapKind::IndexOutOfBounds { index, len } => write!(
                f,
                "index out of bounds: the len is {len} but the index is {}",
                *index as u64
            ),
            TrapKind::AssertionFailed(msg) => write!(f, "assertion failed: {msg}"),
            TrapKind::RecursionLimit => f.write_str("recursion limit reached"),
            TrapKind::StackOverflow => f.write_str("stack overflow"),
            TrapKind::Host(msg) => f.write_str(msg),
        }
    }
}

/// A trap at run time, at the span of the instruction that trapped.
#[derive(Clone, Debug, PartialEq)]
pub struct Trap {
    pub kind: TrapKind,
    pub span: Span,
}

impl std::fmt::Display for Trap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.kind.fmt(f)
    }
}

impl std::error::Error for Trap {}

impl Trap {
    /// The trap as a diagnostic pointing at the kernel source.
    pub fn to_diagnostic(&self) -> crate::diagnostics::Diagnostic {
        let message = match &self.kind {
            TrapKind::Host(msg) => msg.clone(),
            kind => format!("kernel error: {kind}"),
        };
        crate::diagnostics::Diagnostic::error(self.span, message).with_label(match &self.kind {
            TrapKind::DivisionByZero | TrapKind::DivisionOverflow => "this division",
            TrapKind::IndexOutOfBounds { .. } => "this index",
            TrapKind::AssertionFailed(_) => "this assertion",
            TrapKind::RecursionLimit | TrapKind::StackOverflow => "this call",
            TrapKind::Host(_) => "here",
        })
    }
}

/// An argument of a host call of a kern function (interpreter or JIT): a scalar,
/// or an array given by its descriptor (the callee receives a pointer to it).
#[derive(Clone, Copy, Debug)]
pub enum HostArg {
    Scalar(ScalarValue),
    Array(ArrayDesc),
}
