// The IR printing and timing flags name the deepfuse pass like an upstream
// one; all of it goes to standard error.
// RUN: deepfuse-opt %s --df-canonicalize --cse --mlir-print-ir-after-all -o %t 2>&1 | FileCheck %s
// RUN: deepfuse-opt %s --pass-pipeline='builtin.module(df-canonicalize{fold-bias=false})' --mlir-print-ir-before-all -o %t 2>&1 | FileCheck %s --check-prefix=BEFORE
// RUN: deepfuse-opt %s --df-canonicalize --mlir-timing -o %t > %t.timing 2>&1 && FileCheck %s --check-prefix=TIMING --input-file %t.timing

// CHECK:       // -----// IR Dump After DfCanonicalize (df-canonicalize) //----- //
// CHECK-NEXT:  module {
// CHECK:         df.fold_batch_norm
// CHECK-NOT:     df.batch_norm
// CHECK:       // -----// IR Dump After CSE (cse) //----- //
// CHECK-NEXT:  module {
// CHECK:         df.fold_batch_norm
// CHECK-NOT:   IR Dump

// BEFORE:      // -----// IR Dump Before DfCanonicalize (df-canonicalize) //----- //
// BEFORE-NEXT: module {
// BEFORE:        df.batch_norm
// BEFORE-NOT:  IR Dump

// TIMING:      Execution time report
// TIMING:      Wall Time
// TIMING:      DfCanonicalize
// TIMING:      Total

func.func @conv_batch_norm(%x: tensor<1x3x8x8xf32>) -> tensor<1x8x8x8xf32> {
  %w = df.param "conv.weight" : tensor<8x3x3x3xf32>
  %s = df.param "bn.stat" : tensor<8xf32>
  %c = df.conv2d %x, %w strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>) -> tensor<1x8x8x8xf32>
  %y = df.batch_norm %c, %s, %s, %s, %s epsilon 0.125
      : (tensor<1x8x8x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<1x8x8x8xf32>
  return %y : tensor<1x8x8x8xf32>
}
