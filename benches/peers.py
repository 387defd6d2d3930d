#!/usr/bin/env python3
"""Side-by-side table: kern against NumPy and Numba on the same workloads.

Runs each workload in NumPy and (when installed) Numba's @vectorize (cpu and
parallel), takes the median of several runs, and puts kern's medians next to
them — read from `cargo run --release --example ufunc_timings` (built on demand).
Not part of CI: peers are optional, and the machine should be quiet.

    python3 benches/peers.py [n] [repeats]
"""

import math
import os
import statistics
import subprocess
import sys
import time

N = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
REPEATS = int(sys.argv[2]) if len(sys.argv) > 2 else 7
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def median_ms(fn):
    fn()
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def kern_timings():
    cmd = ["cargo", "run", "--quiet", "--release", "--example", "ufunc_timings", "--", str(N), str(REPEATS)]
    out = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return {line.split()[0]: float(line.split()[1]) for line in out.splitlines() if line.strip()}


def numpy_timings(np):
    i = np.arange(N)
    x32 = ((i % 1000) * 1e-3).astype(np.float32)
    y32 = (i % 7).astype(np.float32)
    a = 1.0 + (i % 10)
    b = 5.0 + (i % 13)
    c = (i % 17) * 0.25
    x = (i / N - 0.5) * 20.0
    out32 = np.empty(N, np.float32)
    out = np.empty(N)
    t = {}
    two = np.float32(2.0)

    def saxpy():
        np.multiply(two, x32, out=out32)
        np.add(out32, y32, out=out32)

    t["saxpy_f32"] = median_ms(saxpy)
    t["sumarrays_f64"] = median_ms(lambda: np.add(a, b, out=out))
    t["discriminant_f64"] = median_ms(lambda: np.subtract(b * b, 4.0 * a * c, out=out))
    t["wave_f64"] = median_ms(lambda: np.add(np.exp(-x * x) * np.sin(x), np.log1p(np.abs(x)), out=out))
    t["sum_f64"] = median_ms(lambda: np.add.reduce(x))
    i2, j2 = np.meshgrid(np.arange(1000), np.arange(10_000), indexing="ij")
    rows = ((i2 * 7 + j2) % 101) * 0.5
    t["reduce_axis0_f64"] = median_ms(lambda: np.add.reduce(rows, axis=0))
    ma = ((np.arange(10_000)[:, None, None] + np.arange(8)[None, :, None] + np.arange(8)[None, None, :]) % 11).astype(np.float64)
    mc = np.empty_like(ma)
    t["matmul_8x8_f64"] = median_ms(lambda: np.matmul(ma, ma, out=mc))
    return t, (x32, y32, a, b, c, x, ma, rows)


def numba_timings(np, data):
    try:
        import numba
    except ImportError:
        return {}
    x32, y32, a, b, c, x, ma, rows = data
    t = {}

    # Reductions as a Numba user writes them: `njit` loops (one core).
    @numba.njit
    def total(v):
        s = 0.0
        for i in range(v.shape[0]):
            s += v[i]
        return s

    @numba.njit
    def down_rows(m, out):
        out[:] = m[0]
        for i in range(1, m.shape[0]):
            for j in range(m.shape[1]):
                out[j] += m[i, j]

    t["sum_f64_cpu"] = median_ms(lambda: total(x))
    column_sums = np.empty(rows.shape[1])
    t["reduce_axis0_f64_cpu"] = median_ms(lambda: down_rows(rows, column_sums))
    for target in ["cpu", "parallel"]:
        @numba.vectorize(["float32(float32, float32, float32)"], target=target)
        def saxpy(s, p, q):
            return s * p + q

        @numba.vectorize(["float64(float64, float64)"], target=target)
        def add(p, q):
            return p + q

        @numba.vectorize(["float64(float64, float64, float64)"], target=target)
        def disc(p, q, r):
            return q * q - 4.0 * p * r

        @numba.vectorize(["float64(float64)"], target=target)
        def wave(v):
            return math.exp(-v * v) * math.sin(v) + math.log1p(abs(v))

        out32 = np.empty(N, np.float32)
        out = np.empty(N)
        t[f"saxpy_f32_{target}"] = median_ms(lambda: saxpy(np.float32(2.0), x32, y32, out=out32))
        t[f"sumarrays_f64_{target}"] = median_ms(lambda: add(a, b, out=out))
        t[f"discriminant_f64_{target}"] = median_ms(lambda: disc(a, b, c, out=out))
        t[f"wave_f64_{target}"] = median_ms(lambda: wave(x, out=out))

        @numba.guvectorize(["void(float64[:,:], float64[:,:], float64[:,:])"], "(m,n),(n,p)->(m,p)", target=target)
        def matmul(p, q, r):
            for i in range(p.shape[0]):
                for j in range(q.shape[1]):
                    s = 0.0
                    for k in range(p.shape[1]):
                        s += p[i, k] * q[k, j]
                    r[i, j] = s

        mc = np.empty_like(ma)
        t[f"matmul_8x8_f64_{target}"] = median_ms(lambda: matmul(ma, ma, mc))
    return t


def main():
    try:
        import numpy as np
    except ImportError:
        print("NumPy is not installed: nothing to compare against.")
        return
    kern = kern_timings()
    numpy_t, data = numpy_timings(np)
    numba_t = numba_timings(np, data)
    rows = ["saxpy_f32", "sumarrays_f64", "discriminant_f64", "wave_f64", "sum_f64", "reduce_axis0_f64", "matmul_8x8_f64"]
    print(f"n = {N}, median of {REPEATS} runs, milliseconds (lower is better)\n")
    header = ["workload", "kern cpu", "kern parallel", "NumPy", "Numba cpu", "Numba parallel"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    fmt = lambda v: "—" if v is None else f"{v:.2f}"
    for row in rows:
        cells = [
            kern.get(f"{row}_cpu"),
            kern.get(f"{row}_parallel"),
            numpy_t.get(row),
            numba_t.get(f"{row}_cpu"),
            numba_t.get(f"{row}_parallel"),
        ]
        print(f"| {row} | " + " | ".join(fmt(v) for v in cells) + " |")


if __name__ == "__main__":
    main()
