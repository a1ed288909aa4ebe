// --list-passes shows the deepfuse passes with their options, then every
// upstream pass, and exits without reading any input.
// RUN: deepfuse-opt --list-passes | FileCheck %s

// CHECK-LABEL: deepfuse passes:
// CHECK-NEXT:  --df-canonicalize - Fold batch norms and bias adds into their layers; remove identity reshapes
// CHECK-NEXT:    fold-batch-norm=<bool> - fold a batch_norm into the conv2d that feeds it (bool, default true)
// CHECK-NEXT:    fold-bias=<bool> - fold an add of a per-channel parameter into the conv2d or matmul before it (bool, default true)
// CHECK-NEXT:    remove-identities=<bool> - remove reshapes and flattens to the same type, merge chained reshapes (bool, default true)
// CHECK-EMPTY:
// CHECK-NEXT:  upstream passes:
// CHECK:         --affine-loop-invariant-code-motion - Hoist loop invariant instructions outside of affine loops
// CHECK:         --canonicalize - Canonicalize operations
// CHECK-NEXT:      --disable-patterns=<string>
// CHECK:         --cse - Eliminate common sub-expressions
// CHECK-NOT:     df-canonicalize
