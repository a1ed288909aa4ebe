#!/usr/bin/env bash
# The main job on the built-in default network: the tiny CNN through the
# deepfuse pipeline, with a summary of what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo run --release -q --bin deepfuse -- demo "$@"
