#!/usr/bin/env python3
"""kern against mpi4py + NumPy and mpi4py + Numba on 1 and 2 ranks (issue 16).

Three workloads, each the same algorithm in every column:
  wave      the ufunc `(-x*x).exp()*x.sin() + x.abs().ln_1p()` over 10^7 f64, every
            rank ending with the whole result (kern: `--target mpi`; mpi4py: each
            rank computes its `array_split` block, then `Allgatherv`), per call;
  midpoint  midpoint integration of 4/(1+x^2) with 10^8 intervals, a share per
            rank and a `reduce` (benches/mpi_midpoint.kern), whole program;
  matvec    4000 x 4000 matrix-vector product: the root builds the matrix,
            scatters its rows, broadcasts the vector, each rank multiplies its rows
            (kern: a gufunc; NumPy: `@`; Numba: a loop), the root gathers
            (benches/mpi_matvec.kern), whole program.
kern's figure is the `run` time of `kern run --time` on rank 0 (compilation and
MPI's start-up are reported apart, as mpi4py starts MPI at its import, before
Python's clock; for `wave` over its 10 calls), each repeat a new `mpirun`.
Python's is timed with `MPI.Wtime` on rank 0, between barriers:
  wave      per call, in one process after a warm-up call;
  midpoint, matvec  the whole program once per process, each repeat a new
            `mpirun`, as kern's: the first run of a process pays for every page
            of memory it touches for the first time (the 128 MB matrix, its rows),
            later runs in the same process reuse freed memory, which `kern run`
            never can. Numba compiles on a small input first (not timed).
One thread per rank everywhere (KERN_NUM_THREADS, OMP_NUM_THREADS,
OPENBLAS_NUM_THREADS, NUMBA_NUM_THREADS = 1). Medians.

    cargo build --release --features mpi
    pip install mpi4py numpy numba
    python3 benches/mpi_peers.py [repeats] [wave|midpoint|matvec ...]
    KERN_BINARY=path/to/other/kern python3 benches/mpi_peers.py ...   # another build

Not part of CI: peers are optional and the machine should be quiet.
"""

import os
import re
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The kern binary: KERN_BINARY, else the release build.
KERN = os.environ.get("KERN_BINARY", os.path.join(ROOT, "target", "release", "kern"))
WAVE_N = 10_000_000
WAVE_CALLS = 10
MID_N = 100_000_000
MAT_N = 4000
# Workloads timed once per new process, as `kern run` runs them.
WHOLE_PROGRAMS = ("midpoint", "matvec")

ENV = dict(
    os.environ,
    KERN_NUM_THREADS="1",
    OMP_NUM_THREADS="1",
    OPENBLAS_NUM_THREADS="1",
    NUMBA_NUM_THREADS="1",
    OMPI_MCA_rmaps_base_oversubscribe="1",
)


def mpirun(ranks, args):
    cmd = ["mpirun", "-n", str(ranks), "--oversubscribe"] + args
    done = subprocess.run(cmd, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")
    return done


def kern_ms(ranks, program, target, repeats, calls=1):
    times = []
    for _ in range(repeats):
        args = [KERN, "run", "--time", "--target", target, f"benches/{program}.kern"]
        stderr = mpirun(ranks, args).stderr
        # `time: ...` alone, `time (rank 0 of N): ...` with several ranks.
        line = next(l for l in stderr.splitlines() if re.match(r"time( \(rank 0 of \d+\))?:", l))
        times.append(float(re.search(r"run ([0-9.]+) ms", line).group(1)) / calls)
    return statistics.median(times)


def python_ms(ranks, workload, flavour, repeats):
    def run(times):
        args = [sys.executable, os.path.abspath(__file__), "--worker", workload, flavour, str(times)]
        # (Numba may write terminal escapes around it.)
        return float(re.findall(r"[0-9]+\.[0-9]+", mpirun(ranks, args).stdout)[-1])

    if workload in WHOLE_PROGRAMS:
        # Once per process, like `kern run`: the median over new processes.
        return statistics.median(run(0) for _ in range(repeats))
    return run(repeats)


# ---- what every rank runs under mpirun (`--worker WORKLOAD FLAVOUR REPEATS`) ----


def worker(workload, flavour, repeats):
    import numpy as np
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()

    def split(n):
        base, extra = divmod(n, size)
        counts = [base + (r < extra) for r in range(size)]
        displs = [sum(counts[:r]) for r in range(size)]
        return counts, displs

    if flavour == "numba":
        import numba

        @numba.vectorize(["float64(float64)"])
        def wave_numba(x):
            return np.exp(-x * x) * np.sin(x) + np.log1p(np.abs(x))

        @numba.njit
        def partial_numba(n, lo, hi):
            h = 1.0 / n
            s = 0.0
            for i in range(lo, hi):
                x = h * (i + 0.5)
                s += 4.0 / (1.0 + x * x)
            return s * h

        @numba.njit
        def matvec_numba(a, x):
            out = np.empty(a.shape[0])
            for i in range(a.shape[0]):
                s = 0.0
                for k in range(a.shape[1]):
                    s += a[i, k] * x[k]
                out[i] = s
            return out

    def partial_numpy(n, lo, hi):
        h = 1.0 / n
        s = 0.0
        for start in range(lo, hi, 10_000_000):
            i = np.arange(start, min(hi, start + 10_000_000), dtype=np.float64)
            x = h * (i + 0.5)
            s += np.sum(4.0 / (1.0 + x * x))
        return s * h

    if workload == "wave":
        x = np.linspace(-5.0, 5.0, WAVE_N)
        counts, displs = split(WAVE_N)
        lo = displs[rank]
        mine = x[lo : lo + counts[rank]]
        out = np.empty(WAVE_N)

        def once():
            if flavour == "numba":
                local = wave_numba(mine)
            else:
                local = np.exp(-mine * mine) * np.sin(mine) + np.log1p(np.abs(mine))
            comm.Allgatherv(local, [out, counts, displs, MPI.DOUBLE])

    elif workload == "midpoint":

        def once():
            lo, hi = rank * MID_N // size, (rank + 1) * MID_N // size
            part = partial_numba(MID_N, lo, hi) if flavour == "numba" else partial_numpy(MID_N, lo, hi)
            comm.reduce(part, op=MPI.SUM, root=0)

    else:

        def once():
            n = MAT_N
            counts, displs = split(n)
            a = x = None
            if rank == 0:
                a = np.linspace(0.0, 1.0, n * n).reshape(n, n)
                x = np.linspace(0.0, 1.0, n)
            rows = np.empty((counts[rank], n))
            comm.Scatterv(
                [a, [c * n for c in counts], [d * n for d in displs], MPI.DOUBLE] if rank == 0 else None,
                rows,
                root=0,
            )
            x = comm.bcast(x, root=0)
            part = matvec_numba(rows, x) if flavour == "numba" else rows @ x
            y = np.empty(n) if rank == 0 else None
            comm.Gatherv(part, [y, counts, displs, MPI.DOUBLE] if rank == 0 else None, root=0)

    if repeats == 0:
        # One cold run (see the module docs); Numba compiles on small inputs first.
        if flavour == "numba":
            partial_numba(10, 0, 10)
            matvec_numba(np.zeros((2, 2)), np.zeros(2))
        comm.Barrier()
        start = MPI.Wtime()
        once()
        times = [(MPI.Wtime() - start) * 1e3]
    else:
        once()
        times = []
        for _ in range(repeats):
            comm.Barrier()
            start = MPI.Wtime()
            once()
            times.append((MPI.Wtime() - start) * 1e3)
    if rank == 0:
        print(f"{statistics.median(times):.3f}")


def main():
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    only = sys.argv[2:]
    rows = []
    # The classic programs use `mpi::` in host code on the default target; the
    # ufunc pipeline leaves the split to `--target mpi`.
    for workload, program, target, calls in [
        ("wave", "mpi_wave", "mpi", WAVE_CALLS),
        ("midpoint", "mpi_midpoint", "cpu", 1),
        ("matvec", "mpi_matvec", "cpu", 1),
    ]:
        if only and workload not in only:
            continue
        for ranks in [1, 2]:
            kern = kern_ms(ranks, program, target, repeats, calls)
            numpy = python_ms(ranks, workload, "numpy", repeats)
            numba = python_ms(ranks, workload, "numba", repeats)
            rows.append((workload, ranks, kern, numpy, numba))
            print(f"{workload} {ranks} rank(s): kern {kern:.1f} ms, mpi4py+NumPy {numpy:.1f} ms, "
                  f"mpi4py+Numba {numba:.1f} ms", file=sys.stderr)
    print("| workload | ranks | kern | mpi4py + NumPy | mpi4py + Numba |")
    print("|---|---|---|---|---|")
    for workload, ranks, kern, numpy, numba in rows:
        print(f"| {workload} | {ranks} | {kern:.1f} ms | {numpy:.1f} ms | {numba:.1f} ms |")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        main()
