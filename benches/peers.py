#!/usr/bin/env python3
"""Side-by-side table: kern against NumPy and Numba on the same workloads.

The workloads of issue 14's table: the ufuncs (saxpy, sum of arrays,
discriminant, the transcendental `wave`), `add.reduce` of the whole array and
down axis 0 of a (1000, 10000) array, batched matmul gufuncs at 3x3, 4x4, 8x8
and 16x16, and three scalar programs: Monte Carlo pi over 10^7 samples with the
same Philox-4x32-10 as kern's stdlib (Numba; also with Numba's own generator),
the sum of the primes below 800 000, and the midpoint rule over 10^8 intervals.

kern's columns come from `cargo run --release --example ufunc_timings` (built on
demand; the "kern optimized" column with `--optimized`, which builds it with
`--features llvm` and runs it with `KERN_TIER=optimized`). The measurement runs
in ROUNDS rounds, and every round runs kern, then NumPy, then Numba, each taking
the median of REPEATS calls per workload: kern and its peers alternate, so a
change in the machine's load falls on all of them. A cell is the median over the
rounds. The ratio columns divide kern's one-core time by the best one-core peer
(the faster of NumPy and Numba's `cpu` target). Not part of CI: peers are
optional, and the machine should be quiet (say its load when quoting).

    python3 benches/peers.py [n] [repeats] [--rounds K] [--optimized]

With --f32-math it compares instead the f32 stdlib functions that compute in f32
(`ufunc_timings ... f32-math`): kern's one-core ufunc, the same ufunc written as
the f64 function rounded once (the stdlib's previous definition), a plain Rust
loop of Rust's f32 function (the platform's libm) and NumPy's f32 ufunc.

    python3 benches/peers.py [n] [repeats] --f32-math [--rounds K] [--optimized]
"""

import argparse
import math
import os
import statistics
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MATMUL_SIZES = [(100_000, 3), (100_000, 4), (10_000, 8), (2_000, 16)]
# As `F32_MATH` in examples/ufunc_timings.rs: (function, NumPy's name, lo, hi).
F32_MATH = [
    ("asin", "arcsin", -1.0, 1.0),
    ("acos", "arccos", -1.0, 1.0),
    ("atan", "arctan", -10.0, 10.0),
    ("sinh", "sinh", -10.0, 10.0),
    ("cosh", "cosh", -10.0, 10.0),
    ("tanh", "tanh", -5.0, 5.0),
    ("cbrt", "cbrt", -1000.0, 1000.0),
]
ROWS = (
    ["saxpy_f32", "sumarrays_f64", "discriminant_f64", "wave_f64", "sum_f64", "reduce_axis0_f64"]
    + [f"matmul_{k}x{k}_f64" for _, k in MATMUL_SIZES]
    + ["montecarlo", "montecarlo_own_generator", "sum_primes", "midpoint"]
)


def median_ms(repeats, fn):
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def kern_round(n, repeats, optimized, mode=()):
    """One run of the example: {name: ms} and the values it checks against."""
    cmd = ["cargo", "run", "--quiet", "--release", "--example", "ufunc_timings"]
    env = dict(os.environ)
    if optimized:
        cmd[3:3] = ["--features", "llvm"]
        env["KERN_TIER"] = "optimized"
    cmd += ["--", str(n), str(repeats), *mode]
    out = subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout
    times, values = {}, {}
    for line in out.splitlines():
        if not line.strip():
            continue
        name, value = line.split()
        if name.startswith("value_"):
            values[name[len("value_"):]] = value
        else:
            times[name] = float(value)
    return times, values


def numpy_data(np, n):
    i = np.arange(n)
    data = {
        "x32": ((i % 1000) * 1e-3).astype(np.float32),
        "y32": (i % 7).astype(np.float32),
        "a": 1.0 + (i % 10),
        "b": 5.0 + (i % 13),
        "c": (i % 17) * 0.25,
        "x": (i / n - 0.5) * 20.0,
        "out32": np.empty(n, np.float32),
        "out": np.empty(n),
    }
    i2, j2 = np.meshgrid(np.arange(1000), np.arange(10_000), indexing="ij")
    data["rows"] = ((i2 * 7 + j2) % 101) * 0.5
    data["matmul"] = []
    for batch, k in MATMUL_SIZES:
        b, r, c = np.meshgrid(np.arange(batch), np.arange(k), np.arange(k), indexing="ij")
        ma = ((b + r + c) % 11).astype(np.float64)
        data["matmul"].append((k, ma, np.empty_like(ma)))
    return data


def numpy_round(np, d, repeats):
    t = {}
    two = np.float32(2.0)
    x32, y32, a, b, c, x, out32, out = (d[k] for k in ["x32", "y32", "a", "b", "c", "x", "out32", "out"])

    def saxpy():
        np.multiply(two, x32, out=out32)
        np.add(out32, y32, out=out32)

    t["saxpy_f32"] = median_ms(repeats, saxpy)
    t["sumarrays_f64"] = median_ms(repeats, lambda: np.add(a, b, out=out))
    t["discriminant_f64"] = median_ms(repeats, lambda: np.subtract(b * b, 4.0 * a * c, out=out))
    t["wave_f64"] = median_ms(repeats, lambda: np.add(np.exp(-x * x) * np.sin(x), np.log1p(np.abs(x)), out=out))
    t["sum_f64"] = median_ms(repeats, lambda: np.add.reduce(x))
    t["reduce_axis0_f64"] = median_ms(repeats, lambda: np.add.reduce(d["rows"], axis=0))
    for k, ma, mc in d["matmul"]:
        t[f"matmul_{k}x{k}_f64"] = median_ms(repeats, lambda: np.matmul(ma, ma, out=mc))

    def midpoint(intervals=100_000_000, chunk=1_000_000):
        h = 1.0 / intervals
        total = 0.0
        for lo in range(0, intervals, chunk):
            xs = h * (np.arange(lo, min(lo + chunk, intervals)) + 0.5)
            total += np.sum(4.0 / (1.0 + xs * xs))
        return total * h

    t["midpoint"] = median_ms(repeats, midpoint)
    return t


def numba_functions(np, numba):
    """Numba's versions, compiled once (the first call of each is left out)."""
    u64 = np.uint64
    mask = u64(0xFFFFFFFF)
    m0, m1 = u64(0xD2511F53), u64(0xCD9E8D57)
    w0, w1 = u64(0x9E3779B9), u64(0xBB67AE85)

    @numba.njit
    def uniform(seed, i):
        # kern's stdlib: Philox-4x32-10 of counter (i lo, i hi, 0, 0) under key
        # (seed lo, seed hi), words 0-1, the top 53 bits as a float in [0, 1).
        x0, x1, x2, x3 = i & mask, i >> u64(32), u64(0), u64(0)
        k0, k1 = seed & mask, seed >> u64(32)
        for r in range(10):
            if r > 0:
                k0 = (k0 + w0) & mask
                k1 = (k1 + w1) & mask
            p0 = m0 * x0
            p1 = m1 * x2
            x0, x1, x2, x3 = (p1 >> u64(32)) ^ x1 ^ k0, p1 & mask, (p0 >> u64(32)) ^ x3 ^ k1, p0 & mask
        return float((x0 | (x1 << u64(32))) >> u64(11)) * 1.1102230246251565e-16

    @numba.njit
    def count_inside(seed, n):
        inside = 0
        for j in range(n):
            i = u64(j)
            x = uniform(seed, u64(2) * i)
            y = uniform(seed, u64(2) * i + u64(1))
            if x * x + y * y < 1.0:
                inside += 1
        return inside

    @numba.njit
    def count_inside_own(n):
        inside = 0
        for _ in range(n):
            x = np.random.random()
            y = np.random.random()
            if x * x + y * y < 1.0:
                inside += 1
        return inside

    @numba.njit
    def is_prime(n):
        if n < 2:
            return False
        if n % 2 == 0:
            return n == 2
        i = 3
        while i * i <= n:
            if n % i == 0:
                return False
            i += 2
        return True

    @numba.njit
    def sum_primes(n):
        s = 0
        for k in range(2, n):
            if is_prime(k):
                s += k
        return s

    @numba.njit
    def integrate(n):
        h = 1.0 / n
        s = 0.0
        for i in range(n):
            x = h * (i + 0.5)
            s += 4.0 / (1.0 + x * x)
        return s * h

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

    f = {
        "count_inside": count_inside,
        "count_inside_own": count_inside_own,
        "sum_primes": sum_primes,
        "integrate": integrate,
        "total": total,
        "down_rows": down_rows,
    }
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

        @numba.guvectorize(["void(float64[:,:], float64[:,:], float64[:,:])"], "(m,n),(n,p)->(m,p)", target=target)
        def matmul(p, q, r):
            for i in range(p.shape[0]):
                for j in range(q.shape[1]):
                    s = 0.0
                    for k in range(p.shape[1]):
                        s += p[i, k] * q[k, j]
                    r[i, j] = s

        f[target] = (saxpy, add, disc, wave, matmul)
    return f


def numba_round(np, f, d, repeats):
    t = {}
    x32, y32, a, b, c, x, out32, out = (d[k] for k in ["x32", "y32", "a", "b", "c", "x", "out32", "out"])
    t["sum_f64_cpu"] = median_ms(repeats, lambda: f["total"](x))
    column_sums = np.empty(d["rows"].shape[1])
    t["reduce_axis0_f64_cpu"] = median_ms(repeats, lambda: f["down_rows"](d["rows"], column_sums))
    for target in ["cpu", "parallel"]:
        saxpy, add, disc, wave, matmul = f[target]
        t[f"saxpy_f32_{target}"] = median_ms(repeats, lambda: saxpy(np.float32(2.0), x32, y32, out=out32))
        t[f"sumarrays_f64_{target}"] = median_ms(repeats, lambda: add(a, b, out=out))
        t[f"discriminant_f64_{target}"] = median_ms(repeats, lambda: disc(a, b, c, out=out))
        t[f"wave_f64_{target}"] = median_ms(repeats, lambda: wave(x, out=out))
        for k, ma, mc in d["matmul"]:
            t[f"matmul_{k}x{k}_f64_{target}"] = median_ms(repeats, lambda: matmul(ma, ma, mc))
    values = {}

    def montecarlo():
        values["montecarlo"] = f["count_inside"](np.uint64(2024), 10_000_000)

    t["montecarlo_cpu"] = median_ms(repeats, montecarlo)
    t["montecarlo_own_generator_cpu"] = median_ms(repeats, lambda: f["count_inside_own"](10_000_000))
    t["sum_primes_cpu"] = median_ms(repeats, lambda: f["sum_primes"](800_000))
    t["midpoint_cpu"] = median_ms(repeats, lambda: f["integrate"](100_000_000))
    return t, values


def f32_math(np, args):
    """The --f32-math table: kern, its f64 detour, Rust's libm and NumPy in turn."""
    i = np.arange(args.n)
    inputs = {name: (lo + (hi - lo) * ((i % 4096) / 4096)).astype(np.float32) for name, _, lo, hi in F32_MATH}
    out = np.empty(args.n, np.float32)
    kern, kern_opt, peers_np = [], [], []
    for _ in range(args.rounds):
        kern.append(kern_round(args.n, args.repeats, False, ["f32-math"])[0])
        if args.optimized:
            kern_opt.append(kern_round(args.n, args.repeats, True, ["f32-math"])[0])
        peers_np.append(
            {
                name: median_ms(args.repeats, lambda: getattr(np, np_name)(inputs[name], out=out))
                for name, np_name, _, _ in F32_MATH
            }
        )
    kern, kern_opt, peers_np = (medians(r) for r in [kern, kern_opt, peers_np])
    print(f"n = {args.n} f32, {args.rounds} alternating rounds of kern and NumPy; each cell the median")
    print(f"over the rounds of a round's median of {args.repeats} calls; milliseconds, one core.")
    print(f"Load average at the end: {os.getloadavg()[0]:.1f}\n")
    header = ["function", "kern cpu", "kern cpu, via f64"]
    header += ["kern optimized", "optimized, via f64"] if args.optimized else []
    header += ["Rust f32 (libm)", "NumPy", "kern / via f64", "kern / Rust", "kern / NumPy"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for name, _, _, _ in F32_MATH:
        new, old = kern[f"f32_{name}_cpu"], kern[f"f32_{name}_via_f64_cpu"]
        rust, numpy = kern[f"f32_{name}_rust_cpu"], peers_np[name]
        cells = [new, old]
        cells += [kern_opt[f"f32_{name}_cpu"], kern_opt[f"f32_{name}_via_f64_cpu"]] if args.optimized else []
        cells += [rust, numpy, new / old, new / rust, new / numpy]
        print(f"| {name} | " + " | ".join(f"{v:.2f}" for v in cells) + " |")


def medians(rounds):
    """{name: median over the rounds that measured it}."""
    names = {name for r in rounds for name in r}
    return {name: statistics.median([r[name] for r in rounds if name in r]) for name in names}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=10_000_000, help="elements of the ufunc arrays")
    parser.add_argument("repeats", nargs="?", type=int, default=5, help="calls per workload per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of kern, NumPy, Numba in turn")
    parser.add_argument("--optimized", action="store_true", help="add kern's optimized tier (needs LLVM 19)")
    parser.add_argument("--f32-math", action="store_true", help="the f32 stdlib functions instead (see above)")
    args = parser.parse_args()
    try:
        import numpy as np
    except ImportError:
        print("NumPy is not installed: nothing to compare against.")
        return
    if args.f32_math:
        f32_math(np, args)
        return
    try:
        import numba
    except ImportError:
        numba = None
    data = numpy_data(np, args.n)
    functions = numba_functions(np, numba) if numba else None
    kern, kern_opt, peers_np, peers_nb = [], [], [], []
    for _ in range(args.rounds):
        times, values = kern_round(args.n, args.repeats, False)
        kern.append(times)
        if args.optimized:
            kern_opt.append(kern_round(args.n, args.repeats, True)[0])
        peers_np.append(numpy_round(np, data, args.repeats))
        if functions:
            t, numba_values = numba_round(np, functions, data, args.repeats)
            peers_nb.append(t)
            if str(numba_values["montecarlo"]) != values["montecarlo"]:
                raise SystemExit(
                    f"Numba's Philox counted {numba_values['montecarlo']} inside, kern {values['montecarlo']}"
                )
    kern, kern_opt, peers_np, peers_nb = (medians(r) for r in [kern, kern_opt, peers_np, peers_nb])

    print(f"n = {args.n}, {args.rounds} alternating rounds of kern, NumPy, Numba; each cell the median")
    print(f"over the rounds of a round's median of {args.repeats} calls; milliseconds (lower is better).")
    print(f"Load average at the end: {os.getloadavg()[0]:.1f}\n")
    header = ["workload", "kern cpu", "kern parallel"]
    header += ["kern optimized"] if args.optimized else []
    header += ["NumPy", "Numba cpu", "Numba parallel", "kern cpu / best peer"]
    header += ["optimized / best peer"] if args.optimized else []
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    fmt = lambda v: "—" if v is None else f"{v:.2f}"
    for row in ROWS:
        peer = [v for v in [peers_np.get(row), peers_nb.get(f"{row}_cpu")] if v is not None]
        best = min(peer) if peer else None
        ratio = lambda v: "—" if v is None or best is None else f"{v / best:.2f}"
        cells = [fmt(kern.get(f"{row}_cpu")), fmt(kern.get(f"{row}_parallel"))]
        cells += [fmt(kern_opt.get(f"{row}_cpu"))] if args.optimized else []
        cells += [fmt(peers_np.get(row)), fmt(peers_nb.get(f"{row}_cpu")), fmt(peers_nb.get(f"{row}_parallel"))]
        cells += [ratio(kern.get(f"{row}_cpu"))]
        cells += [ratio(kern_opt.get(f"{row}_cpu"))] if args.optimized else []
        print(f"| {row} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
