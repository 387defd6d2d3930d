"""`kern run --time` of the examples with two kern binaries, side by side.

    python3 benches/compare_builds.py BEFORE/kern AFTER/kern [ROUNDS]

Runs every example below with both binaries, alternating which goes first each
round, and prints the median of each phase (stdlib parse, parse, check, compile,
run) per binary as a Markdown table. Both binaries run this checkout's examples.
"""
import pathlib
import re
import statistics
import subprocess
import sys

EXAMPLES = ["hello", "sum_primes", "midpoint_integration", "montecarlo_pi", "discriminant", "matmul"]
PHASES = ["stdlib parse", "parse", "check", "compile", "run"]


def timings(kern, example):
    p = subprocess.run([kern, "run", "--time", str(example)], capture_output=True, text=True)
    lines = [l for l in (p.stdout + p.stderr).splitlines() if l.startswith("time:")]
    if not lines:
        sys.exit(f"{kern} {example}: no time line\n{p.stderr[-500:]}")
    return {k.strip(" ,"): float(v) for k, v in re.findall(r"([a-z ,]+?) ([0-9.]+) ms", lines[-1][5:])}


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


if __name__ == "__main__":
    main()
