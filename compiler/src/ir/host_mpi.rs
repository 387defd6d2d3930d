//! MPI operations of host code: what `HostOp::Mpi` does in `fn main`.
//!
//! Every rank runs the same `main` (SPMD); these ops move host arrays and scalars
//! between the ranks of the run's world (the runtime's `exec::mpi::World`: MPI's
//! under `mpirun`, else this process alone, rank 0 of 1). The IR only names the
//! operation; like every host op none is compiled, `main` is interpreted.
//!
//! # Operands
//!
//! Ranks and tags are `i64` values (`Arg::Value`); a *value* operand is either a
//! host array (`Arg::Array`) or a scalar (`Arg::Value`, which travels as a 0-d
//! array of its type). An op whose value operand is an array makes an array
//! (`dest`); one whose value operand is a scalar defines `Inst::result`, of the
//! operand's type.
//!
//! Run-time failures — a rank outside the world, a tag outside `0..=32767`, a
//! received message whose dtype or shape is not the buffer's, a `recv` on a
//! single rank with no message waiting — trap with `TrapKind::Host` at the
//! instruction's span.

/// How `reduce` and `allreduce` combine the ranks' values, elementwise, folding
/// in rank order (so a float sum is the same on every run). Integers wrap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MpiReduceOp {
    Sum,
    Prod,
    Min,
    Max,
}

impl MpiReduceOp {
    /// The suffix of the builtin's name (`reduce_min`, ...); empty for the sum.
    pub fn suffix(self) -> &'static str {
        match self {
            MpiReduceOp::Sum => "",
            MpiReduceOp::Prod => "_prod",
            MpiReduceOp::Min => "_min",
            MpiReduceOp::Max => "_max",
        }
    }
}

/// One MPI operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MpiOp {
    /// `mpi::rank()` → result (`i64`): this process's rank, `0..size`.
    Rank,
    /// `mpi::size()` → result (`i64`): the number of ranks.
    Size,
    /// `mpi::barrier()`: waits until every rank reached it.
    Barrier,
    /// `mpi::send(x, dest, tag)`: the value (array or scalar), then `dest` and
    /// `tag`.
    Send,
    /// `mpi::recv(&mut buf, source, tag)`: the array `buf`, then `source` and
    /// `tag`. The message replaces `buf`'s contents; its dtype and shape must be
    /// `buf`'s (else a trap saying what arrived and what was expected).
    Recv,
    /// `mpi::bcast(x, root)`: the value, then `root` → the root's value, on every
    /// rank. For arrays the root's shape wins; the dtype must be the same.
    Bcast,
    /// `mpi::scatter(&a, root)`: the array, then `root` → part `rank` of the
    /// root's array split along axis 0 as NumPy's `array_split` does.
    Scatter,
    /// `mpi::gather(&a, root)`: the array, then `root` → on the root, every
    /// rank's array concatenated along axis 0 in rank order; elsewhere an empty
    /// array of shape `[0, a.shape[1..]..]`.
    Gather,
    /// `mpi::allgather(&a)` → the root's `gather` result on every rank.
    AllGather,
    /// `mpi::reduce(x, root)` and `reduce_prod/min/max`: the value, then `root` →
    /// on the root the elementwise combination of every rank's value in rank
    /// order (one dtype and shape everywhere); elsewhere the rank's own value.
    Reduce(MpiReduceOp),
    /// `mpi::allreduce(x)` and `allreduce_prod/min/max`: the value → the
    /// combination, on every rank.
    AllReduce(MpiReduceOp),
}

/// Every `mpi::` builtin, for the checker's "no such builtin" note.
pub const MPI_BUILTINS: &[&str] = &[
    "rank",
    "size",
    "barrier",
    "send",
    "recv",
    "bcast",
    "scatter",
    "gather",
    "allgather",
    "reduce",
    "reduce_prod",
    "reduce_min",
    "reduce_max",
    "allreduce",
    "allreduce_prod",
    "allreduce_min",
    "allreduce_max",
];

impl MpiOp {
    /// The op of builtin `mpi::NAME`, if there is one.
    pub fn from_name(name: &str) -> Option<MpiOp> {
        let reduce = |suffix: &str| match suffix {
            "" => Some(MpiReduceOp::Sum),
            "_prod" => Some(MpiReduceOp::Prod),
            "_min" => Some(MpiReduceOp::Min),
            "_max" => Some(MpiReduceOp::Max),
            _ => None,
        };
        Some(match name {
            "rank" => MpiOp::Rank,
            "size" => MpiOp::Size,
            "barrier" => MpiOp::Barrier,
            "send" => MpiOp::Send,
            "recv" => MpiOp::Recv,
            "bcast" => MpiOp::Bcast,
            "scatter" => MpiOp::Scatter,
            "gather" => MpiOp::Gather,
            "allgather" => MpiOp::AllGather,
            _ => {
                if let Some(rest) = name.strip_prefix("allreduce") {
                    MpiOp::AllReduce(reduce(rest)?)
                } else if let Some(rest) = name.strip_prefix("reduce") {
                    MpiOp::Reduce(reduce(rest)?)
                } else {
                    return None;
                }
            }
        })
    }

    /// The builtin's name without `mpi::`.
    pub fn builtin(&self) -> String {
        match self {
            MpiOp::Rank => "rank".into(),
            MpiOp::Size => "size".into(),
            MpiOp::Barrier => "barrier".into(),
            MpiOp::Send => "send".into(),
            MpiOp::Recv => "recv".into(),
            MpiOp::Bcast => "bcast".into(),
            MpiOp::Scatter => "scatter".into(),
            MpiOp::Gather => "gather".into(),
            MpiOp::AllGather => "allgather".into(),
            MpiOp::Reduce(r) => format!("reduce{}", r.suffix()),
            MpiOp::AllReduce(r) => format!("allreduce{}", r.suffix()),
        }
    }

    /// The name `kern emit --ir` prints.
    pub fn name(&self) -> String {
        format!("mpi::{}", self.builtin())
    }
}

#[cfg(test)]
mod tests {
    use super::{MpiOp, MpiReduceOp, MPI_BUILTINS};
    use crate::diagnostics::SourceMap;
    use crate::ir::{print, HostOp, InstKind};

    #[test]
    fn every_builtin_name_round_trips() {
        for name in MPI_BUILTINS {
            let op = MpiOp::from_name(name).unwrap_or_else(|| panic!("{name}"));
            assert_eq!(op.builtin(), *name);
        }
        assert_eq!(MpiOp::from_name("reduce_sum"), None);
        assert_eq!(MpiOp::from_name("allreducer"), None);
        assert_eq!(MpiOp::from_name("alltoall"), None);
    }

    const PROGRAM: &str = "fn main() {\n\
        let r = mpi::rank(); let n: usize = mpi::size() as usize; mpi::barrier();\n\
        let a: Array<f64> = linspace(0.0, 1.0, 4);\n\
        let mut b: Array<f64> = zeros(4);\n\
        mpi::send(&a, 0u8, 7); mpi::recv(&mut b, 0, 7);\n\
        let c = mpi::bcast(&a, 0); let s = mpi::bcast(2.5f32, 0);\n\
        let d = mpi::scatter(&a, 0); let e = mpi::gather(&a, 0); let f = mpi::allgather(&a);\n\
        let t = mpi::reduce(r, 0); let m = mpi::allreduce_max(&a);\n\
        println!(\"{} {} {} {} {} {} {} {} {}\", n, c, s, d, e, f, t, m, b);\n\
        }";

    fn mpi_ops(source: &str) -> (Vec<MpiOp>, String) {
        let (compiled, _) =
            crate::frontend::compile_text("mpi.kern", source).unwrap_or_else(|e| panic!("{e}"));
        let main = compiled.program.function(compiled.functions["main"]);
        let ops = main
            .body
            .insts
            .iter()
            .filter_map(|i| match &i.kind {
                InstKind::Host {
                    op: HostOp::Mpi(op),
                    ..
                } => Some(*op),
                _ => None,
            })
            .collect();
        (ops, print::print_function(&compiled.program, main))
    }

    #[test]
    fn mpi_builtins_lower_to_mpi_host_ops() {
        let (ops, text) = mpi_ops(PROGRAM);
        assert_eq!(
            ops,
            vec![
                MpiOp::Rank,
                MpiOp::Size,
                MpiOp::Barrier,
                MpiOp::Send,
                MpiOp::Recv,
                MpiOp::Bcast,
                MpiOp::Bcast,
                MpiOp::Scatter,
                MpiOp::Gather,
                MpiOp::AllGather,
                MpiOp::Reduce(MpiReduceOp::Sum),
                MpiOp::AllReduce(MpiReduceOp::Max),
            ]
        );
        assert!(text.contains("host mpi::send("), "{text}");
        assert!(text.contains("host mpi::allreduce_max("), "{text}");
    }

    fn errors(source: &str) -> String {
        let mut sources = SourceMap::new();
        let file = sources.add("mpi.kern", source);
        match crate::frontend::compile(&mut sources, file) {
            Ok(_) => panic!("expected errors for:\n{source}"),
            Err(d) => d.render(&sources),
        }
    }

    #[test]
    fn kernels_cannot_use_mpi() {
        let text = errors("fn f() -> i64 { mpi::rank() }\nfn main() { println!(\"{}\", f()); }");
        assert!(
            text.contains(
                "`mpi::rank` communicates between MPI ranks: it is only available in host code"
            ),
            "{text}"
        );
    }

    #[test]
    fn unknown_builtins_list_the_real_ones() {
        let text = errors("fn main() { mpi::alltoall(1); }");
        assert!(text.contains("MPI has no `mpi::alltoall`"), "{text}");
        assert!(text.contains("`mpi::allreduce_max`"), "{text}");
    }

    #[test]
    fn wrong_arity_and_types_are_errors() {
        let text = errors(
            "fn main() {\n\
             let a: Array<f64> = zeros(3);\n\
             mpi::send(&a, 1);\n\
             let r = mpi::rank(3);\n\
             mpi::send(&a, 1.5, 0);\n\
             mpi::recv(&a, 0, 0);\n\
             let mut x = 1.0; mpi::recv(x, 0, 0);\n\
             let g = mpi::gather(2.0, 0);\n\
             }",
        );
        for expected in [
            "`mpi::send` expects 3 arguments",
            "`mpi::rank` expects 0 arguments",
            "expected an integer, found `{float}`",
            "`mpi::recv` receives into a host array passed as `&mut buf`",
            "`mpi::gather` takes a host array (`&a`), found `{float}`",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
        }
    }
}
