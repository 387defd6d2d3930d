#!/usr/bin/env bash
# Seeds the corpus of a fuzz target (default: check) with every kern source the
# repository has: the examples, the test fixtures (fuzz findings included) and the
# stdlib. Run from anywhere; `run-campaign.sh` runs it before each campaign.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:-check}"
corpus="fuzz/corpus/$target"
mkdir -p "$corpus"
find examples tests/fixtures stdlib -name '*.kern' -print0 |
  while IFS= read -r -d '' file; do
    cp "$file" "$corpus/$(printf '%s' "$file" | tr '/' '_')"
  done
echo "$(find "$corpus" -type f | wc -l) seeds in $corpus"
