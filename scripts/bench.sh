#!/usr/bin/env bash
# Run a benchmark binary in release mode and print its figures (markdown tables).
#   scripts/bench.sh foundation            # 1,000,000 rows
#   ROWS=100000 scripts/bench.sh foundation
set -euo pipefail
cd "$(dirname "$0")/.."
name="${1:-foundation}"
exec cargo run --profile bench -p dataconn-benches --bin "bench-$name"
