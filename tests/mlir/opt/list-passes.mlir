// --list-passes shows the deepfuse passes with their options, then every
// upstream pass, and exits without reading any input.
// RUN: deepfuse-opt --list-passes | FileCheck %s

// CHECK-LABEL: deepfuse passes:
// CHECK-NEXT:  --df-canonicalize - Fold batch norms and bias adds into their layers; remove identity reshapes
// CHECK-NEXT:    fold-batch-norm=<bool> - fold a batch_norm into the conv2d that feeds it (bool, default true)
// CHECK-NEXT:    fold-bias=<bool> - fold an add of a per-channel parameter into the conv2d or matmul before it (bool, default true)
// CHECK-NEXT:    remove-identities=<bool> - remove reshapes and flattens to the same type, merge chained reshapes (bool, default true)
// CHECK-NEXT:  --df-form-fusion-regions - Group layers into tiled fusion regions that minimise off-chip traffic
// CHECK-NEXT:    scratchpad=<size> - scratchpad capacity: bytes, or with a unit (256KiB, 1MiB, 64KB) (size, default 1MiB)
// CHECK-NEXT:    strategy=<dp|greedy|layer|naive> - how layers are grouped: optimal DP, greedy, layer by layer, or one op per group (dp|greedy|layer|naive, default dp)
// CHECK-NEXT:    elem-bytes=<int> - bytes per tensor element; 0 takes them from the IR's types (int, default 0)
// CHECK-NEXT:    double-buffer=<bool> - count DMA buffers twice in footprints (transfers overlap compute) (bool, default false)
// CHECK-NEXT:    max-group-ops=<int> - the most ops one group may hold (int, default 64)
// CHECK-NEXT:  --df-lower-to-affine - Lower a scheduled df function to affine kernels on planned buffers and a staged scratchpad
// CHECK-NEXT:    staging=<bool> - stage the regions the tile plan covers through the scratchpad (false: op by op, no DMA) (bool, default true)
// CHECK-NEXT:    stage-all=<bool> - also stage the regions whose tile kernels run several times slower than op by op, counting their bytes (bool, default false)
// CHECK-NEXT:    scratchpad=<size> - bytes of the scratchpad arena; 0 takes the largest capacity a region was scheduled for (size, default 0)
// CHECK-NEXT:    vector-registers=<int> - vector registers the kernels' register blocks are sized for (16 or 32); 0 takes the host's: 32 with AVX-512, else 16 (int, default 0)
// CHECK-NEXT:  --df-lower-to-llvm - The upstream pipeline from the affine module to the LLVM dialect
// CHECK-EMPTY:
// CHECK-NEXT:  upstream passes:
// CHECK:         --affine-loop-invariant-code-motion - Hoist loop invariant instructions outside of affine loops
// CHECK:         --canonicalize - Canonicalize operations
// CHECK-NEXT:      --disable-patterns=<string>
// CHECK:         --cse - Eliminate common sub-expressions
// CHECK-NOT:     df-canonicalize
// CHECK-NOT:     df-form-fusion-regions
// CHECK-NOT:     df-lower-to
