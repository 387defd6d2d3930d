#!/usr/bin/env bash
# A time-boxed fuzzing campaign on STABLE Rust: builds the fuzz targets with
# libFuzzer's coverage instrumentation (the flags `cargo fuzz build --sanitizer
# none` passes, none of which needs nightly), seeds the corpus with every kern
# source of the repository, runs TARGET (check or run) for SECONDS, and fails
# (non-zero exit) on any crash, panic, timeout or out-of-memory. Prints the number
# of executions. Extra arguments go to libFuzzer (e.g. -runs=1000000).
#
#   fuzz/run-campaign.sh check 60
#   fuzz/run-campaign.sh run 1800 -runs=1000000
set -euo pipefail
cd "$(dirname "$0")"
target="${1:?usage: run-campaign.sh TARGET SECONDS [libFuzzer options]}"
seconds="${2:?usage: run-campaign.sh TARGET SECONDS [libFuzzer options]}"
shift 2

triple="$(rustc -vV | sed -n 's/^host: //p')"
export RUSTFLAGS="-Cpasses=sancov-module \
  -Cllvm-args=-sanitizer-coverage-level=4 \
  -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
  -Cllvm-args=-sanitizer-coverage-pc-table \
  -Cllvm-args=-sanitizer-coverage-trace-compares \
  --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
# --target keeps the instrumentation out of build scripts and proc macros; the
# build goes under the repository's one target/ directory.
export CARGO_TARGET_DIR="$(cd .. && pwd)/target/fuzz"
started=$SECONDS
cargo build --release --locked --target "$triple" --bin "$target"
echo "build: $((SECONDS - started)) s"

./seed-corpus.sh "$target"
artifacts="artifacts/$target"
mkdir -p "$artifacts"
log="$artifacts/campaign.log"
touch "$artifacts/.started" # what this campaign finds is newer than this
# -timeout: one input may take this long (a `run` input's reference run is bounded
# at 0.5 s, so this is far beyond any honest input); -rss_limit_mb: resident
# memory of the whole process (the `run` target also caps its address space).
status=0
"$CARGO_TARGET_DIR/$triple/release/$target" "corpus/$target" \
  -dict=kern.dict -max_len=8192 -timeout=20 -rss_limit_mb=3072 \
  -max_total_time="$seconds" -print_final_stats=1 \
  -artifact_prefix="$artifacts/" "$@" >"$log" 2>&1 || status=$?
grep -E '^#[0-9]+[[:space:]]+(INITED|pulse|DONE)' "$log" | tail -n 4 || true
tail -n 40 "$log" | grep -E 'stat::|ERROR|SUMMARY|Test unit written|DONE' || true
executions="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
echo "$target: ${executions:-0} executions in $((SECONDS - started)) s, libFuzzer exit status $status"
found="$(find "$artifacts" -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) -newer "$artifacts/.started" | wc -l)"
if [ "$status" -ne 0 ] || [ "$found" -ne 0 ]; then
  echo "$target: $found failing input(s) in fuzz/$artifacts (crashes, timeouts or out-of-memory); see $log" >&2
  exit 1
fi
