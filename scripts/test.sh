#!/usr/bin/env bash
# Runs the whole test suite: the Rust tests (unit tests and the one
# integration binary, which runs every .mlir file's RUN lines with FileCheck
# and pins outputs with insta snapshots), then the same .mlir files under
# stock lit.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

cargo test --workspace -j2
# lit runs the binaries cargo test just built.
DEEPFUSE_BIN_DIR="$PWD/target/debug" /usr/lib/llvm-22/bin/lit -sv tests/mlir
