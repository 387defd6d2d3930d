"""`kern run --time` of the examples with two kern binaries, side by side.

    python3 benches/compare_builds.py BEFORE/kern AFTER/kern [ROUNDS]

Runs every example below with both binaries, alternating which goes first each
round, and prints the median of each phase (stdlib, parse, check, compile, run)
and of "first compiled call" (milliseconds from the start of `main` to the first
entry into compiled code) per binary as a Markdown table. Both binaries run this
checkout's examples. (Older binaries print "stdlib parse" for "stdlib".)
"""
import pathlib
import re
import statistics
import subprocess
import sys

EXAMPLES = [
    "hello",
    "sum_primes",
    "sum_primes_ntimes",
    "midpoint_integration",
    "montecarlo_pi",
    "discriminant",
    "matmul",
    "saxpy",
    "sumarrays",
    "vector_add",
]
PHASES = ["stdlib", "parse", "check", "compile", "run", "first compiled call"]


def timings(kern, example):
    p = subprocess.run([kern, "run", "--time", str(example)], capture_output=True, text=True)
    lines = [l for l in (p.stdout + p.stderr).splitlines() if l.startswith("time:")]
    if not lines:
        sys.exit(f"{kern} {example}: no time line\n{p.stderr[-500:]}")
    found = {k.strip(" ,"): float(v) for k, v in re.findall(r"([a-z ,]+?) ([0-9.]+) ms", lines[-1][5:])}
    if "stdlib parse" in found:
        found["stdlib"] = found.pop("stdlib parse")
    return found


def main():
    builds = {"before": sys.argv[1], "after": sys.argv[2]}
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    examples = pathlib.Path(__file__).resolve().parent.parent / "examples"
    samples = {}
    for r in range(rounds):
        order = list(builds.items()) if r % 2 == 0 else list(reversed(builds.items()))
        for ex in EXAMPLES:
            for name, kern in order:
                for phase, ms in timings(kern, examples / f"{ex}.kern").items():
                    samples.setdefault((ex, phase, name), []).append(ms)
    print("| example | phase | before (ms) | after (ms) | after / before |")
    print("|---|---|---|---|---|")
    for ex in EXAMPLES:
        for phase in PHASES:
            b, a = samples.get((ex, phase, "before")), samples.get((ex, phase, "after"))
            if b and a:
                mb, ma = statistics.median(b), statistics.median(a)
                print(f"| {ex} | {phase} | {mb:.3f} | {ma:.3f} | {ma / mb if mb else float('nan'):.2f} |")
            elif b or a:
                # A phase only one of the builds reports (an older binary has no
                # "first compiled call").
                mb = f"{statistics.median(b):.3f}" if b else "—"
                ma = f"{statistics.median(a):.3f}" if a else "—"
                print(f"| {ex} | {phase} | {mb} | {ma} | — |")


if __name__ == "__main__":
    main()
