//! Host-array constructors of `fn main`: `zeros`, `ones`, `full`, `arange`,
//! `linspace`, `random::*_array` (one call of the compiled loop that fills the
//! array from the stdlib generator, in ranges on the pool under `parallel`) and
//! `load` of a `.npy` file. Every size comes from the program, so every
//! allocation is fallible and reported at the call.

use super::*;
use kern_compiler::ir::HostArg;

impl HostArrays<'_> {
    /// Runs a constructor: the new array's handle.
    pub(super) fn constructor(
        &mut self,
        op: &HostOp,
        args: &[HostValue],
        span: Span,
    ) -> Result<HostValue, Trap> {
        let argv = Args::new(args, span);
        let fail = |msg: String| host(span, msg);
        let construct_error = |e: construct::ConstructError| host(span, e.to_string());
        let value = match op {
            HostOp::Zeros(t) => {
                construct::zeros(*t, &argv.shape(args)?).map_err(construct_error)?
            }
            HostOp::Ones(t) => construct::ones(*t, &argv.shape(args)?).map_err(construct_error)?,
            HostOp::Full(t) => {
                let (dims, value) = args.split_at(args.len().saturating_sub(1));
                let HostValue::Scalar(v) = value.first().copied().unwrap_or(HostValue::Unit) else {
                    return Err(fail("internal error: `full` without a value".into()));
                };
                construct::full(*t, &argv.shape(dims)?, v).map_err(construct_error)?
            }
            HostOp::Arange(t) => {
                construct::arange(argv.scalar(0)?, argv.scalar(1)?, argv.scalar(2)?, *t)
                    .map_err(construct_error)?
            }
            HostOp::Linspace(t) => {
                let f = |v: ScalarValue| match v {
                    ScalarValue::F64(x) => x,
                    other => match kern_compiler::ir::eval::eval_cast(other, ScalarType::F64) {
                        ScalarValue::F64(x) => x,
                        _ => f64::NAN,
                    },
                };
                let num = argv.int(2)?;
                if num < 0 {
                    return Err(fail(format!(
                        "linspace: the number of samples, {num}, must be non-negative"
                    )));
                }
                let a =
                    construct::linspace(f(argv.scalar(0)?), f(argv.scalar(1)?), num as usize, true)
                        .map_err(construct_error)?;
                if storage_dtype(*t) == a.dtype() {
                    a
                } else {
                    a.cast(*t)
                }
            }
            HostOp::Random { func, elem } => {
                let seed = argv.scalar(0)?;
                let n = argv.int(1)?;
                if n < 0 {
                    return Err(fail(format!("cannot make an array of {n} random numbers")));
                }
                // The array first: a length memory cannot hold is an error up front.
                let mut array = construct::zeros(*elem, &[n as usize]).map_err(construct_error)?;
                let fill = crate::compile::LoopRequest::IndexFill {
                    func: *func,
                    elem: *elem,
                };
                let core = &self.core;
                let failed = |f: crate::exec::code::Failure| error_trap(core.error(f), span);
                let code = core.machine_code(&fill).map_err(failed)?;
                let (data, size) = (array.view_mut().base_ptr() as usize, elem.size_bytes());
                // Element i is the generator at i wherever it is computed, so
                // `parallel` fills ranges of the array on the pool.
                let fill_range = |range: std::ops::Range<usize>| -> Result<(), Trap> {
                    let first = (data + range.start * size) as *const u8;
                    let args = [
                        HostArg::Scalar(seed),
                        HostArg::Scalar(ScalarValue::U64(range.start as u64)),
                        HostArg::Array(crate::exec::fold::axis_desc(first, range.len(), 1)),
                    ];
                    // SAFETY: the descriptor covers `range` of the fresh, contiguous
                    // array, which nothing else references during the call and no
                    // other range overlaps. The generator prints nothing.
                    unsafe { code.call(&args, &mut std::io::sink()) }
                        .map(|_| ())
                        .map_err(|e| failed(e.into()))
                };
                let n = n as usize;
                match self.ufunc_target {
                    Some(Target::Parallel | Target::Mpi) => {
                        crate::exec::parallel::run_ranges(n, FILL_GRAIN, fill_range)
                            .map_err(&fail)??
                    }
                    _ => fill_range(0..n)?,
                }
                array
            }
            HostOp::Load { path, elem } => {
                let a = npy::load_npy(Path::new(path)).map_err(|e| fail(e.to_string()))?;
                if a.dtype() != storage_dtype(*elem) {
                    return Err(fail(wrong_dtype(Path::new(path), *elem, a.dtype())));
                }
                a
            }
            _ => return Err(fail("internal error: not a constructor".into())),
        };
        Ok(self.insert(value))
    }
}

/// Elements per range of a parallel `random::*_array` fill: at some 10 ns
/// each, a range is worth a thread.
const FILL_GRAIN: usize = 1 << 16;

/// The error of `load` when the file's dtype is not the array's.
pub(super) fn wrong_dtype(path: &Path, elem: ScalarType, found: crate::array::DType) -> String {
    format!(
        "cannot load `{}` as an `Array<{elem}>`: the file holds an array of dtype {found}",
        path.display()
    )
}
