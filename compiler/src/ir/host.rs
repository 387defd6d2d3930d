//! Host-array operations: what `InstKind::Host` does in `fn main`.
//!
//! Host code (`main`) may hold whole n-d arrays (`Array<T>`) in locals of type
//! [`Type::HostArray`](super::Type::HostArray). They are opaque to the IR: every
//! operation on them is one `Host` instruction naming a [`HostOp`], run by the
//! host environment the runtime gives the interpreter (`interp::HostEnv`). No
//! backend compiles them (`main` is always interpreted).
//!
//! # Operands and results
//!
//! `Host { op, args, dest }`: `args` are scalar values (`Arg::Value`) and host-array
//! locals (`Arg::Array`), in the order each op lists below. An op that makes an
//! array writes it to the host-array local `dest` (replacing and freeing what the
//! local held); an op with a scalar result defines `Inst::result`. Arrays are values:
//! `let y = x;` copies ([`HostOp::Copy`]), a slice `x[a..b]` is a copy, and every
//! op that makes an array makes a new one.
//!
//! # Temporaries
//!
//! A host-array local with an empty name is a *temporary*: lowering makes one
//! for an array operand that is not a variable (`f(&g(x))`, `x.reshape(..)` of
//! a call's result) and for an array statement nothing reads. It is written
//! once and read by at most one instruction, after which it is dead: the
//! interpreter frees its array right after that instruction (instead of when
//! `main` returns), and a host operation may take the array rather than copy
//! it (`interp::HostEnv::temporaries`).
//!
//! Run-time failures (an index out of range, a missing file, a shape mismatch, no
//! ufunc loop for the run-time scalar values) trap with `TrapKind::Host` at the
//! instruction's span; a trap inside compiled code a host op runs (a ufunc loop)
//! is reported as that trap.

use super::{FormatPiece, FuncId, ScalarType};

/// One host-array operation. `T` is the static element type of the array made.
#[derive(Clone, Debug, PartialEq)]
pub enum HostOp {
    /// `zeros(shape)`: args are the dimensions (`i64`; negative ones trap) → dest.
    Zeros(ScalarType),
    /// `ones(shape)`: args are the dimensions → dest.
    Ones(ScalarType),
    /// `full(shape, value)`: dimensions, then the value → dest.
    Full(ScalarType),
    /// `arange(start, stop, step)`: three scalars of type `T` → dest.
    Arange(ScalarType),
    /// `linspace(start, stop, num)`: `f64`, `f64`, `i64` → dest (of float type `T`).
    Linspace(ScalarType),
    /// `random::uniform_array(seed, n)` and friends: `u64` seed, `i64` n → dest,
    /// whose element `i` is `func(seed, i as u64)` (a stdlib function of this
    /// program; the runtime fills the array with `loops::index_fill`'s loop).
    Random {
        func: FuncId,
        elem: ScalarType,
    },
    /// `load("path")`: no args → dest; the file's dtype must be `elem`'s storage type.
    Load {
        path: String,
        elem: ScalarType,
    },
    /// `save("path", &x)`: the array.
    Save {
        path: String,
    },
    /// A copy of the array → dest.
    Copy,
    /// `x[i]`, `x[i][j]`: the array, then one `usize` per axis → result.
    Get,
    /// `x[i] = v`: the array, one `usize` per axis, then the value.
    Set,
    /// `x[a..b]` along axis 0: the array, then `a` if `has_start`, `b` if `has_end`
    /// (`usize`) → dest (a copy).
    Slice {
        has_start: bool,
        has_end: bool,
    },
    /// `x.reshape(..)`: the array, then the new dimensions (`i64`, one may be -1)
    /// → dest.
    Reshape,
    /// `.sum()` over every axis, in `T`, in the order of a reorderable `add`
    /// reduction → result.
    Sum,
    /// `.mean()`: the pairwise sum (in `f64` for integer arrays) over the length
    /// → result (`f64` for integers, `T` for floats).
    Mean,
    /// `.min()` / `.max()` over every axis (NaN propagates) → result.
    Min,
    Max,
    /// `.len()`: the extent of axis 0 (`usize`) → result.
    Len,
    /// `.ndim()` (`usize`) → result.
    Ndim,
    /// `.shape()` → dest (an `Array<usize>` of rank 1).
    Shape,
    /// A call of ufunc `name` with array and scalar inputs → dest (`Array<ret>`).
    Ufunc {
        name: String,
    },
    /// `name.call_out(&mut out, inputs..)`: the output array first, then the inputs.
    UfuncOut {
        name: String,
    },
    /// `name.reduce(&x)` → result (every axis), `name.reduce(&x, axis)` → dest.
    /// Args: the array, then the axis (`i64`) when `axis`.
    Reduce {
        name: String,
        axis: bool,
    },
    /// `name.accumulate(&x, axis)`: the array, the axis (`i64`) → dest.
    Accumulate {
        name: String,
    },
    /// `name.outer(&a, &b)` → dest.
    Outer {
        name: String,
    },
    /// A call of gufunc `name` with `nin` inputs (arrays and scalars). `allocating`:
    /// the one output is new → dest; otherwise the `&mut` output arrays follow
    /// the inputs and are written in place.
    Gufunc {
        name: String,
        nin: usize,
        allocating: bool,
    },
    /// `k.launch(grid, block, args..)`: runs kernel `kernel` (see `ir::spmd`) on
    /// the run's target. Args: the grid's x, y, z extents, the block's x, y, z
    /// extents (`i64`; each must be at least 1), then the kernel's arguments (host
    /// arrays for its array parameters, scalars of its parameter types).
    Launch {
        kernel: FuncId,
    },
    /// A job-server operation (`jobs::map`, ...; see `ir::host_jobs`).
    Jobs(super::JobsOp),
    /// An MPI operation between the ranks of the run (`mpi::send`, ...; see
    /// `ir::host_mpi`).
    Mpi(super::MpiOp),
    /// `print!`/`println!` with array arguments: args in format order (scalars are
    /// printed as `Print` prints them, arrays as NumPy's `str`, or `repr` for `{:?}`).
    Print {
        pieces: Vec<FormatPiece>,
        newline: bool,
    },
}

impl HostOp {
    /// The name `kern emit --ir` prints.
    pub fn name(&self) -> String {
        match self {
            HostOp::Zeros(t) => format!("zeros<{t}>"),
            HostOp::Ones(t) => format!("ones<{t}>"),
            HostOp::Full(t) => format!("full<{t}>"),
            HostOp::Arange(t) => format!("arange<{t}>"),
            HostOp::Linspace(t) => format!("linspace<{t}>"),
            HostOp::Random { func, elem } => format!("random<{elem}> f{}", func.0),
            HostOp::Load { path, elem } => format!("load<{elem}> {path:?}"),
            HostOp::Save { path } => format!("save {path:?}"),
            HostOp::Copy => "copy".into(),
            HostOp::Get => "get".into(),
            HostOp::Set => "set".into(),
            HostOp::Slice { has_start, has_end } => format!(
                "slice {}..{}",
                if *has_start { "a" } else { "" },
                if *has_end { "b" } else { "" }
            ),
            HostOp::Reshape => "reshape".into(),
            HostOp::Sum => "sum".into(),
            HostOp::Mean => "mean".into(),
            HostOp::Min => "min".into(),
            HostOp::Max => "max".into(),
            HostOp::Len => "len".into(),
            HostOp::Ndim => "ndim".into(),
            HostOp::Shape => "shape".into(),
            HostOp::Ufunc { name } => format!("ufunc {name}"),
            HostOp::UfuncOut { name } => format!("ufunc_out {name}"),
            HostOp::Gufunc {
                name,
                allocating: true,
                ..
            } => format!("gufunc {name}"),
            HostOp::Gufunc { name, nin, .. } => format!("gufunc_out {name} nin={nin}"),
            HostOp::Reduce { name, axis } => {
                format!("reduce {name}{}", if *axis { " axis" } else { "" })
            }
            HostOp::Accumulate { name } => format!("accumulate {name}"),
            HostOp::Outer { name } => format!("outer {name}"),
            HostOp::Launch { kernel } => format!("launch f{}", kernel.0),
            HostOp::Jobs(op) => op.name(),
            HostOp::Mpi(op) => op.name(),
            HostOp::Print { newline, .. } => {
                if *newline {
                    "println".into()
                } else {
                    "print".into()
                }
            }
        }
    }

    /// The kern function this op runs, if any: a job's function, or the
    /// generator a random array's fill loop inlines (part of the call graph).
    pub fn callee(&self) -> Option<FuncId> {
        match self {
            HostOp::Random { func, .. } => Some(*func),
            HostOp::Jobs(op) => op.callee(),
            _ => None,
        }
    }
}
