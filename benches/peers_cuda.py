#!/usr/bin/env python3
"""GPU peers for the cuda target: Numba's @vectorize(target='cuda') and CuPy's
ElementwiseKernel on the workloads of `cargo bench --bench cuda`, with and
without host<->device transfers, plus the device-to-device copy bandwidth that
saxpy is judged against and each peer's first-call (compile) latency.

Runs beside a GPU with Python, NumPy, Numba and CuPy (no Rust needed); prints
medians. Not part of CI.

    python3 benches/peers_cuda.py [n] [repeats]
"""

import statistics
import sys
import time

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000_000
REPEATS = int(sys.argv[2]) if len(sys.argv) > 2 else 11


def median_ms(fn, sync):
    fn()
    sync()
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def gbps(bytes_moved, ms):
    return bytes_moved / (ms * 1e-3) / 1e9


def report(name, ms, bytes_moved):
    print(f"{name:48s} {ms:10.3f} ms  {gbps(bytes_moved, ms):8.1f} GB/s")


def main():
    import numpy as np

    i = np.arange(N)
    x = ((i % 1000) * 1e-3).astype(np.float32)
    y = (i % 7).astype(np.float32)
    a = np.float32(2.0)
    saxpy_bytes = 3 * 4 * N  # read x, read y, write out
    print(f"n = {N}, medians of {REPEATS}")

    try:
        import cupy as cp
    except ImportError:
        cp = None
        print("cupy: not installed")
    if cp is not None:
        sync = cp.cuda.Device().synchronize
        dx, dy = cp.asarray(x), cp.asarray(y)
        dout = cp.empty_like(dx)
        report("device-to-device copy (cupy, 4N bytes each way)",
               median_ms(lambda: dout.__setitem__(slice(None), dx), sync), 2 * 4 * N)
        start = time.perf_counter()
        kernel = cp.ElementwiseKernel("float32 a, float32 x, float32 y", "float32 out",
                                      "out = a * x + y", "kern_peer_saxpy")
        kernel(a, dx[:1000], dy[:1000], dout[:1000])
        sync()
        print(f"{'cupy ElementwiseKernel first call (1000 elements)':48s} "
              f"{(time.perf_counter() - start) * 1e3:10.3f} ms")
        report("cupy ElementwiseKernel saxpy (device arrays)",
               median_ms(lambda: kernel(a, dx, dy, dout), sync), saxpy_bytes)
        report("cupy ElementwiseKernel saxpy (with transfers)",
               median_ms(lambda: cp.asnumpy(kernel(a, cp.asarray(x), cp.asarray(y))), sync),
               saxpy_bytes)

    try:
        from numba import cuda, vectorize
    except ImportError:
        cuda = None
        print("numba: not installed")
    if cuda is not None:
        sync = cuda.synchronize
        start = time.perf_counter()

        @vectorize(["float32(float32, float32, float32)"], target="cuda")
        def saxpy(a, x, y):
            return a * x + y

        saxpy(a, x[:1000], y[:1000])
        sync()
        print(f"{'numba cuda @vectorize first call (1000 elements)':48s} "
              f"{(time.perf_counter() - start) * 1e3:10.3f} ms")
        dx, dy = cuda.to_device(x), cuda.to_device(y)
        dout = cuda.device_array_like(dx)
        report("numba cuda @vectorize saxpy (device arrays)",
               median_ms(lambda: saxpy(a, dx, dy, out=dout), sync), saxpy_bytes)
        report("numba cuda @vectorize saxpy (with transfers)",
               median_ms(lambda: saxpy(a, x, y), sync), saxpy_bytes)


if __name__ == "__main__":
    main()
