#!/usr/bin/env bash
# Compiled against reference, full size: every zoo network under the dp,
# layer and naive schedules at 256 KiB, 1 MiB and 8 MiB scratchpads
# (`deepfuse run --check` fails above 1e-4 relative difference, `--stats`
# when a staged region's counted DMA bytes differ from the schedule's
# prediction). Prints the difference and how many regions were staged. The
# test suite runs the same checks at small input sizes; this is the
# full-size version (about 20 minutes on 2 cores).
#
#   scripts/compile_zoo.sh [network ...]     default: all six
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
cargo build --release -q --bin deepfuse
deepfuse=target/release/deepfuse
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
networks=("$@")
[ ${#networks[@]} -gt 0 ] || networks=(resnet18 resnet50 vgg16 googlenet inception_v3 mobilenet_v2)
for net in "${networks[@]}"; do
    "$deepfuse" zoo "$net" -o "$dir/$net.mlir" >/dev/null
    for strategy in dp layer naive; do
        for scratchpad in 256KiB 1MiB 8MiB; do
            out=$("$deepfuse" run "$dir/$net.mlir" --check --stats --strategy "$strategy" --scratchpad "$scratchpad")
            difference=$(grep "max relative difference" <<<"$out")
            staged=$(grep "regions staged" <<<"$out" | sed 's/^ *//; s/ regions staged.*//')
            printf '%-13s %-6s %-7s %-10s staged %s\n' "$net" "$strategy" "$scratchpad" "${difference##*interpreter }" "$staged"
        done
    done
done
