// RUN: deepfuse-opt %s --split-input-file --df-canonicalize | FileCheck %s
// RUN: deepfuse-opt %s --split-input-file --pass-pipeline='builtin.module(df-canonicalize)' | FileCheck %s
// RUN: deepfuse-opt %s --split-input-file --df-canonicalize=fold-bias=false | FileCheck %s --check-prefix=NOBIAS
// Several options at once, as 0/1, in a pipeline:
// RUN: deepfuse-opt %s --split-input-file --pass-pipeline='builtin.module(df-canonicalize{fold-bias=0 remove-identities=1})' | FileCheck %s --check-prefix=NOBIAS
// RUN: deepfuse-opt %s --split-input-file --pass-pipeline='builtin.module(df-canonicalize{fold-batch-norm=false})' | FileCheck %s --check-prefix=NOBN
// RUN: deepfuse-opt %s --split-input-file --df-canonicalize='remove-identities=false' | FileCheck %s --check-prefix=NOID
// The pass reaches a fixpoint: running it twice changes nothing more.
// RUN: deepfuse-opt %s --split-input-file --df-canonicalize > %t.1 && deepfuse-opt %t.1 --split-input-file --df-canonicalize > %t.2 && diff %t.1 %t.2

// CHECK-LABEL: func.func @conv_batch_norm
// CHECK-SAME:    (%[[X:.+]]: tensor<1x3x8x8xf32>)
// CHECK-DAG:     %[[W:.+]] = df.param "conv.weight"
// CHECK-DAG:     %[[S:.+]] = df.param "bn.scale"
// CHECK-DAG:     %[[O:.+]] = df.param "bn.offset"
// CHECK-DAG:     %[[M:.+]] = df.param "bn.mean"
// CHECK-DAG:     %[[V:.+]] = df.param "bn.variance"
// CHECK:         %[[NW:.+]], %[[NB:.+]] = df.fold_batch_norm %[[W]] with %[[S]], %[[O]], %[[M]], %[[V]] epsilon 1.250000e-01
// CHECK-SAME:      : (tensor<8x3x3x3xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<8x3x3x3xf32>, tensor<8xf32>)
// CHECK:         %[[Y:.+]] = df.conv2d %[[X]], %[[NW]], %[[NB]] strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
// CHECK-SAME:      : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>, tensor<8xf32>) -> tensor<1x8x8x8xf32>
// CHECK-NOT:     df.batch_norm
// CHECK:         return %[[Y]]

// NOBN-LABEL:  func.func @conv_batch_norm
// NOBN-NOT:      df.fold_batch_norm
// NOBN:          %[[C:.+]] = df.conv2d
// NOBN:          %[[Y:.+]] = df.batch_norm %[[C]],
// NOBN:          return %[[Y]]
func.func @conv_batch_norm(%x: tensor<1x3x8x8xf32>) -> tensor<1x8x8x8xf32> {
  %w = df.param "conv.weight" : tensor<8x3x3x3xf32>
  %s = df.param "bn.scale" : tensor<8xf32>
  %o = df.param "bn.offset" : tensor<8xf32>
  %m = df.param "bn.mean" : tensor<8xf32>
  %v = df.param "bn.variance" : tensor<8xf32>
  %c = df.conv2d %x, %w strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>) -> tensor<1x8x8x8xf32>
  %y = df.batch_norm %c, %s, %o, %m, %v epsilon 0.125
      : (tensor<1x8x8x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<1x8x8x8xf32>
  return %y : tensor<1x8x8x8xf32>
}

// -----

// The conv keeps its strides, pads, dilations and groups.
// CHECK-LABEL: func.func @conv_with_bias_batch_norm
// CHECK-SAME:    (%[[X:.+]]: tensor<1x8x8x8xf32>)
// CHECK-DAG:     %[[W:.+]] = df.param "conv.weight"
// CHECK-DAG:     %[[B:.+]] = df.param "conv.bias"
// CHECK-DAG:     %[[S:.+]] = df.param "bn.scale"
// CHECK-DAG:     %[[O:.+]] = df.param "bn.offset"
// CHECK-DAG:     %[[M:.+]] = df.param "bn.mean"
// CHECK-DAG:     %[[V:.+]] = df.param "bn.variance"
// CHECK:         %[[NW:.+]], %[[NB:.+]] = df.fold_batch_norm %[[W]] bias %[[B]] with %[[S]], %[[O]], %[[M]], %[[V]] epsilon 5.000000e-01
// CHECK-SAME:      : (tensor<8x1x3x3xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<8x1x3x3xf32>, tensor<8xf32>)
// CHECK:         %[[Y:.+]] = df.conv2d %[[X]], %[[NW]], %[[NB]] strides [2, 2] pads [1, 1, 0, 0] dilations [1, 1] {groups = 8 : i64}
// CHECK-SAME:      : (tensor<1x8x8x8xf32>, tensor<8x1x3x3xf32>, tensor<8xf32>) -> tensor<1x8x4x4xf32>
// CHECK-NOT:     df.batch_norm
// CHECK:         return %[[Y]]
func.func @conv_with_bias_batch_norm(%x: tensor<1x8x8x8xf32>) -> tensor<1x8x4x4xf32> {
  %w = df.param "conv.weight" : tensor<8x1x3x3xf32>
  %b = df.param "conv.bias" : tensor<8xf32>
  %s = df.param "bn.scale" : tensor<8xf32>
  %o = df.param "bn.offset" : tensor<8xf32>
  %m = df.param "bn.mean" : tensor<8xf32>
  %v = df.param "bn.variance" : tensor<8xf32>
  %c = df.conv2d %x, %w, %b strides [2, 2] pads [1, 1, 0, 0] dilations [1, 1] {groups = 8 : i64}
      : (tensor<1x8x8x8xf32>, tensor<8x1x3x3xf32>, tensor<8xf32>) -> tensor<1x8x4x4xf32>
  %y = df.batch_norm %c, %s, %o, %m, %v epsilon 0.5
      : (tensor<1x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<1x8x4x4xf32>
  return %y : tensor<1x8x4x4xf32>
}

// -----

// The conv result is also returned: folding would change that value.
// CHECK-LABEL: func.func @conv_two_users_batch_norm
// CHECK-NOT:     df.fold_batch_norm
// CHECK:         %[[C:.+]] = df.conv2d
// CHECK:         %[[Y:.+]] = df.batch_norm %[[C]],
// CHECK:         return %[[C]], %[[Y]]
func.func @conv_two_users_batch_norm(%x: tensor<1x3x8x8xf32>) -> (tensor<1x8x8x8xf32>, tensor<1x8x8x8xf32>) {
  %w = df.param "conv.weight" : tensor<8x3x3x3xf32>
  %s = df.param "bn.scale" : tensor<8xf32>
  %o = df.param "bn.offset" : tensor<8xf32>
  %m = df.param "bn.mean" : tensor<8xf32>
  %v = df.param "bn.variance" : tensor<8xf32>
  %c = df.conv2d %x, %w strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>) -> tensor<1x8x8x8xf32>
  %y = df.batch_norm %c, %s, %o, %m, %v epsilon 0.125
      : (tensor<1x8x8x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<1x8x8x8xf32>
  return %c, %y : tensor<1x8x8x8xf32>, tensor<1x8x8x8xf32>
}

// -----

// Batch-norm statistics that are not parameters cannot be folded at load time.
// CHECK-LABEL: func.func @batch_norm_of_non_parameters
// CHECK-NOT:     df.fold_batch_norm
// CHECK:         %[[C:.+]] = df.conv2d
// CHECK:         df.batch_norm %[[C]],
func.func @batch_norm_of_non_parameters(%x: tensor<1x3x8x8xf32>, %s: tensor<8xf32>) -> tensor<1x8x8x8xf32> {
  %w = df.param "conv.weight" : tensor<8x3x3x3xf32>
  %o = df.param "bn.offset" : tensor<8xf32>
  %m = df.param "bn.mean" : tensor<8xf32>
  %v = df.param "bn.variance" : tensor<8xf32>
  %c = df.conv2d %x, %w strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>) -> tensor<1x8x8x8xf32>
  %y = df.batch_norm %c, %s, %o, %m, %v epsilon 0.125
      : (tensor<1x8x8x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<1x8x8x8xf32>
  return %y : tensor<1x8x8x8xf32>
}

// -----

// A batch norm that does not follow a conv stays.
// CHECK-LABEL: func.func @batch_norm_without_conv
// CHECK-NOT:     df.fold_batch_norm
// CHECK:         df.batch_norm
func.func @batch_norm_without_conv(%x: tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32> {
  %s = df.param "bn.scale" : tensor<8xf32>
  %o = df.param "bn.offset" : tensor<8xf32>
  %m = df.param "bn.mean" : tensor<8xf32>
  %v = df.param "bn.variance" : tensor<8xf32>
  %y = df.batch_norm %x, %s, %o, %m, %v epsilon 0.125
      : (tensor<1x8x8x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<1x8x8x8xf32>
  return %y : tensor<1x8x8x8xf32>
}

// -----

// CHECK-LABEL: func.func @conv_add_bias
// CHECK-SAME:    (%[[X:.+]]: tensor<1x3x8x8xf32>)
// CHECK-DAG:     %[[W:.+]] = df.param "conv.weight"
// CHECK-DAG:     %[[P:.+]] = df.param "conv.bias" : tensor<1x8x1x1xf32>
// CHECK:         %[[B:.+]] = df.reshape %[[P]] : tensor<1x8x1x1xf32> -> tensor<8xf32>
// CHECK:         %[[Y:.+]] = df.conv2d %[[X]], %[[W]], %[[B]] strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
// CHECK-SAME:      : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>, tensor<8xf32>) -> tensor<1x8x8x8xf32>
// CHECK-NOT:     df.add
// CHECK:         return %[[Y]]

// NOBIAS-LABEL: func.func @conv_add_bias
// NOBIAS-NOT:     df.reshape
// NOBIAS:         %[[C:.+]] = df.conv2d %{{[^,]+}}, %{{[^,]+}} strides
// NOBIAS:         %[[Y:.+]] = df.add %[[C]], %{{.+}} : (tensor<1x8x8x8xf32>, tensor<1x8x1x1xf32>) -> tensor<1x8x8x8xf32>
// NOBIAS:         return %[[Y]]
func.func @conv_add_bias(%x: tensor<1x3x8x8xf32>) -> tensor<1x8x8x8xf32> {
  %w = df.param "conv.weight" : tensor<8x3x3x3xf32>
  %p = df.param "conv.bias" : tensor<1x8x1x1xf32>
  %c = df.conv2d %x, %w strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>) -> tensor<1x8x8x8xf32>
  %y = df.add %c, %p : (tensor<1x8x8x8xf32>, tensor<1x8x1x1xf32>) -> tensor<1x8x8x8xf32>
  return %y : tensor<1x8x8x8xf32>
}

// -----

// A [C, 1, 1] parameter is per-channel too (it broadcasts from the right).
// CHECK-LABEL: func.func @conv_add_bias_rank3
// CHECK-DAG:     %[[P:.+]] = df.param "conv.bias" : tensor<8x1x1xf32>
// CHECK:         %[[B:.+]] = df.reshape %[[P]] : tensor<8x1x1xf32> -> tensor<8xf32>
// CHECK:         %[[Y:.+]] = df.conv2d %{{[^,]+}}, %{{[^,]+}}, %[[B]]
// CHECK-NOT:     df.add
// CHECK:         return %[[Y]]
func.func @conv_add_bias_rank3(%x: tensor<1x3x8x8xf32>) -> tensor<1x8x8x8xf32> {
  %w = df.param "conv.weight" : tensor<8x3x3x3xf32>
  %p = df.param "conv.bias" : tensor<8x1x1xf32>
  %c = df.conv2d %x, %w strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>) -> tensor<1x8x8x8xf32>
  %y = df.add %c, %p : (tensor<1x8x8x8xf32>, tensor<8x1x1xf32>) -> tensor<1x8x8x8xf32>
  return %y : tensor<1x8x8x8xf32>
}

// -----

// The parameter on the left of the add folds the same way.
// CHECK-LABEL: func.func @conv_add_bias_swapped
// CHECK-SAME:    (%[[X:.+]]: tensor<1x3x8x8xf32>)
// CHECK-DAG:     %[[W:.+]] = df.param "conv.weight"
// CHECK-DAG:     %[[P:.+]] = df.param "conv.bias"
// CHECK:         %[[B:.+]] = df.reshape %[[P]] : tensor<1x8x1x1xf32> -> tensor<8xf32>
// CHECK:         %[[Y:.+]] = df.conv2d %[[X]], %[[W]], %[[B]]
// CHECK-NOT:     df.add
// CHECK:         return %[[Y]]
func.func @conv_add_bias_swapped(%x: tensor<1x3x8x8xf32>) -> tensor<1x8x8x8xf32> {
  %w = df.param "conv.weight" : tensor<8x3x3x3xf32>
  %p = df.param "conv.bias" : tensor<1x8x1x1xf32>
  %c = df.conv2d %x, %w strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>) -> tensor<1x8x8x8xf32>
  %y = df.add %p, %c : (tensor<1x8x1x1xf32>, tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32>
  return %y : tensor<1x8x8x8xf32>
}

// -----

// A conv that already has a bias gets the sum of both biases.
// CHECK-LABEL: func.func @conv_bias_add_bias
// CHECK-SAME:    (%[[X:.+]]: tensor<1x3x8x8xf32>)
// CHECK-DAG:     %[[W:.+]] = df.param "conv.weight"
// CHECK-DAG:     %[[B0:.+]] = df.param "conv.bias" : tensor<8xf32>
// CHECK-DAG:     %[[P:.+]] = df.param "extra.bias" : tensor<1x8x1x1xf32>
// CHECK:         %[[R:.+]] = df.reshape %[[P]] : tensor<1x8x1x1xf32> -> tensor<8xf32>
// CHECK:         %[[B:.+]] = df.add %[[B0]], %[[R]] : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
// CHECK:         %[[Y:.+]] = df.conv2d %[[X]], %[[W]], %[[B]]
// CHECK-SAME:      -> tensor<1x8x8x8xf32>
// CHECK-NOT:     df.add
// CHECK:         return %[[Y]]
func.func @conv_bias_add_bias(%x: tensor<1x3x8x8xf32>) -> tensor<1x8x8x8xf32> {
  %w = df.param "conv.weight" : tensor<8x3x3x3xf32>
  %b = df.param "conv.bias" : tensor<8xf32>
  %p = df.param "extra.bias" : tensor<1x8x1x1xf32>
  %c = df.conv2d %x, %w, %b strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>, tensor<8xf32>) -> tensor<1x8x8x8xf32>
  %y = df.add %c, %p : (tensor<1x8x8x8xf32>, tensor<1x8x1x1xf32>) -> tensor<1x8x8x8xf32>
  return %y : tensor<1x8x8x8xf32>
}

// -----

// A [C, H, W] parameter differs per pixel: it is not a bias.
// CHECK-LABEL: func.func @conv_add_not_per_channel
// CHECK-NOT:     df.reshape
// CHECK:         %[[C:.+]] = df.conv2d %{{[^,]+}}, %{{[^,]+}} strides
// CHECK-SAME:      : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>) -> tensor<1x8x8x8xf32>
// CHECK:         %[[Y:.+]] = df.add %[[C]], %{{.+}} : (tensor<1x8x8x8xf32>, tensor<8x8x8xf32>) -> tensor<1x8x8x8xf32>
// CHECK:         return %[[Y]]
func.func @conv_add_not_per_channel(%x: tensor<1x3x8x8xf32>) -> tensor<1x8x8x8xf32> {
  %w = df.param "conv.weight" : tensor<8x3x3x3xf32>
  %p = df.param "offsets" : tensor<8x8x8xf32>
  %c = df.conv2d %x, %w strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>) -> tensor<1x8x8x8xf32>
  %y = df.add %c, %p : (tensor<1x8x8x8xf32>, tensor<8x8x8xf32>) -> tensor<1x8x8x8xf32>
  return %y : tensor<1x8x8x8xf32>
}

// -----

// A rank-1 [C] parameter aligns with the width (here W = C = 8), not the
// channels: it is not a bias.
// CHECK-LABEL: func.func @conv_add_vector_is_not_per_channel
// CHECK:         %[[C:.+]] = df.conv2d %{{[^,]+}}, %{{[^,]+}} strides
// CHECK:         %[[Y:.+]] = df.add %[[C]], %{{.+}} : (tensor<1x8x8x8xf32>, tensor<8xf32>) -> tensor<1x8x8x8xf32>
// CHECK:         return %[[Y]]
func.func @conv_add_vector_is_not_per_channel(%x: tensor<1x3x8x8xf32>) -> tensor<1x8x8x8xf32> {
  %w = df.param "conv.weight" : tensor<8x3x3x3xf32>
  %p = df.param "row" : tensor<8xf32>
  %c = df.conv2d %x, %w strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>) -> tensor<1x8x8x8xf32>
  %y = df.add %c, %p : (tensor<1x8x8x8xf32>, tensor<8xf32>) -> tensor<1x8x8x8xf32>
  return %y : tensor<1x8x8x8xf32>
}

// -----

// The conv result has a second user: the add stays.
// CHECK-LABEL: func.func @conv_two_users_add
// CHECK-NOT:     df.reshape
// CHECK:         %[[C:.+]] = df.conv2d %{{[^,]+}}, %{{[^,]+}} strides
// CHECK:         %[[Y:.+]] = df.add %[[C]], %{{.+}} : (tensor<1x8x8x8xf32>, tensor<1x8x1x1xf32>) -> tensor<1x8x8x8xf32>
// CHECK:         return %[[C]], %[[Y]]
func.func @conv_two_users_add(%x: tensor<1x3x8x8xf32>) -> (tensor<1x8x8x8xf32>, tensor<1x8x8x8xf32>) {
  %w = df.param "conv.weight" : tensor<8x3x3x3xf32>
  %p = df.param "conv.bias" : tensor<1x8x1x1xf32>
  %c = df.conv2d %x, %w strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>) -> tensor<1x8x8x8xf32>
  %y = df.add %c, %p : (tensor<1x8x8x8xf32>, tensor<1x8x1x1xf32>) -> tensor<1x8x8x8xf32>
  return %c, %y : tensor<1x8x8x8xf32>, tensor<1x8x8x8xf32>
}

// -----

// Adding an activation (a residual connection) is not a bias, even when its
// shape is per-channel.
// CHECK-LABEL: func.func @conv_add_activation
// CHECK-SAME:    (%[[X:[^:]+]]: tensor<1x3x8x8xf32>, %[[S:[^:]+]]: tensor<1x8x1x1xf32>)
// CHECK-NOT:     df.reshape
// CHECK:         %[[C:.+]] = df.conv2d %[[X]], %{{[^,]+}} strides
// CHECK:         %[[Y:.+]] = df.add %[[C]], %[[S]]
// CHECK:         return %[[Y]]
func.func @conv_add_activation(%x: tensor<1x3x8x8xf32>, %s: tensor<1x8x1x1xf32>) -> tensor<1x8x8x8xf32> {
  %w = df.param "conv.weight" : tensor<8x3x3x3xf32>
  %c = df.conv2d %x, %w strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>) -> tensor<1x8x8x8xf32>
  %y = df.add %c, %s : (tensor<1x8x8x8xf32>, tensor<1x8x1x1xf32>) -> tensor<1x8x8x8xf32>
  return %y : tensor<1x8x8x8xf32>
}

// -----

// The add of two conv outputs (a residual) stays: neither side is a parameter.
// CHECK-LABEL: func.func @conv_add_conv
// CHECK:         %[[A:.+]] = df.conv2d
// CHECK:         %[[B:.+]] = df.conv2d
// CHECK:         %[[Y:.+]] = df.add %[[A]], %[[B]]
// CHECK:         return %[[Y]]
func.func @conv_add_conv(%x: tensor<1x3x8x8xf32>) -> tensor<1x8x8x8xf32> {
  %w1 = df.param "a.weight" : tensor<8x3x3x3xf32>
  %w2 = df.param "b.weight" : tensor<8x3x3x3xf32>
  %a = df.conv2d %x, %w1 strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>) -> tensor<1x8x8x8xf32>
  %b = df.conv2d %x, %w2 strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>) -> tensor<1x8x8x8xf32>
  %y = df.add %a, %b : (tensor<1x8x8x8xf32>, tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32>
  return %y : tensor<1x8x8x8xf32>
}

// -----

// CHECK-LABEL: func.func @matmul_add_bias
// CHECK-SAME:    (%[[X:.+]]: tensor<1x32xf32>)
// CHECK-DAG:     %[[W:.+]] = df.param "fc.weight"
// CHECK-DAG:     %[[B:.+]] = df.param "fc.bias" : tensor<10xf32>
// CHECK-NOT:     df.reshape
// CHECK:         %[[Y:.+]] = df.matmul %[[X]], %[[W]], %[[B]] transpose_rhs
// CHECK-SAME:      : (tensor<1x32xf32>, tensor<10x32xf32>, tensor<10xf32>) -> tensor<1x10xf32>
// CHECK-NOT:     df.add
// CHECK:         return %[[Y]]

// NOBIAS-LABEL: func.func @matmul_add_bias
// NOBIAS:         %[[M:.+]] = df.matmul %{{[^,]+}}, %{{[^,]+}} transpose_rhs : (tensor<1x32xf32>, tensor<10x32xf32>) -> tensor<1x10xf32>
// NOBIAS:         %[[Y:.+]] = df.add %[[M]], %{{.+}} : (tensor<1x10xf32>, tensor<10xf32>) -> tensor<1x10xf32>
// NOBIAS:         return %[[Y]]
func.func @matmul_add_bias(%x: tensor<1x32xf32>) -> tensor<1x10xf32> {
  %w = df.param "fc.weight" : tensor<10x32xf32>
  %b = df.param "fc.bias" : tensor<10xf32>
  %m = df.matmul %x, %w transpose_rhs : (tensor<1x32xf32>, tensor<10x32xf32>) -> tensor<1x10xf32>
  %y = df.add %m, %b : (tensor<1x10xf32>, tensor<10xf32>) -> tensor<1x10xf32>
  return %y : tensor<1x10xf32>
}

// -----

// A [1, N] bias becomes a [N] vector.
// CHECK-LABEL: func.func @matmul_add_bias_2d
// CHECK-DAG:     %[[P:.+]] = df.param "fc.bias" : tensor<1x10xf32>
// CHECK:         %[[B:.+]] = df.reshape %[[P]] : tensor<1x10xf32> -> tensor<10xf32>
// CHECK:         %[[Y:.+]] = df.matmul %{{[^,]+}}, %{{[^,]+}}, %[[B]] :
// CHECK-SAME:      (tensor<4x32xf32>, tensor<32x10xf32>, tensor<10xf32>) -> tensor<4x10xf32>
// CHECK-NOT:     df.add
// CHECK:         return %[[Y]]
func.func @matmul_add_bias_2d(%x: tensor<4x32xf32>) -> tensor<4x10xf32> {
  %w = df.param "fc.weight" : tensor<32x10xf32>
  %b = df.param "fc.bias" : tensor<1x10xf32>
  %m = df.matmul %x, %w : (tensor<4x32xf32>, tensor<32x10xf32>) -> tensor<4x10xf32>
  %y = df.add %b, %m : (tensor<1x10xf32>, tensor<4x10xf32>) -> tensor<4x10xf32>
  return %y : tensor<4x10xf32>
}

// -----

// An [M, 1] parameter varies along the rows: not a bias.
// CHECK-LABEL: func.func @matmul_add_column
// CHECK:         %[[M:.+]] = df.matmul %{{[^,]+}}, %{{[^,]+}} :
// CHECK:         %[[Y:.+]] = df.add %[[M]], %{{.+}} : (tensor<4x10xf32>, tensor<4x1xf32>) -> tensor<4x10xf32>
// CHECK:         return %[[Y]]
func.func @matmul_add_column(%x: tensor<4x32xf32>) -> tensor<4x10xf32> {
  %w = df.param "fc.weight" : tensor<32x10xf32>
  %b = df.param "column" : tensor<4x1xf32>
  %m = df.matmul %x, %w : (tensor<4x32xf32>, tensor<32x10xf32>) -> tensor<4x10xf32>
  %y = df.add %m, %b : (tensor<4x10xf32>, tensor<4x1xf32>) -> tensor<4x10xf32>
  return %y : tensor<4x10xf32>
}

// -----

// CHECK-LABEL: func.func @matmul_bias_add_bias
// CHECK-SAME:    (%[[X:.+]]: tensor<1x32xf32>)
// CHECK-DAG:     %[[W:.+]] = df.param "fc.weight"
// CHECK-DAG:     %[[B0:.+]] = df.param "fc.bias"
// CHECK-DAG:     %[[B1:.+]] = df.param "extra.bias"
// CHECK:         %[[B:.+]] = df.add %[[B0]], %[[B1]] : (tensor<10xf32>, tensor<10xf32>) -> tensor<10xf32>
// CHECK:         %[[Y:.+]] = df.matmul %[[X]], %[[W]], %[[B]] transpose_rhs
// CHECK-SAME:      : (tensor<1x32xf32>, tensor<10x32xf32>, tensor<10xf32>) -> tensor<1x10xf32>
// CHECK-NOT:     df.add
// CHECK:         return %[[Y]]
func.func @matmul_bias_add_bias(%x: tensor<1x32xf32>) -> tensor<1x10xf32> {
  %w = df.param "fc.weight" : tensor<10x32xf32>
  %b0 = df.param "fc.bias" : tensor<10xf32>
  %b1 = df.param "extra.bias" : tensor<10xf32>
  %m = df.matmul %x, %w, %b0 transpose_rhs
      : (tensor<1x32xf32>, tensor<10x32xf32>, tensor<10xf32>) -> tensor<1x10xf32>
  %y = df.add %m, %b1 : (tensor<1x10xf32>, tensor<10xf32>) -> tensor<1x10xf32>
  return %y : tensor<1x10xf32>
}

// -----

// CHECK-LABEL: func.func @identity_reshape
// CHECK-SAME:    (%[[X:.+]]: tensor<1x32xf32>)
// CHECK-NOT:     df.reshape
// CHECK:         return %[[X]]

// NOID-LABEL:  func.func @identity_reshape
// NOID-SAME:     (%[[X:.+]]: tensor<1x32xf32>)
// NOID:          %[[Y:.+]] = df.reshape %[[X]] : tensor<1x32xf32> -> tensor<1x32xf32>
// NOID:          return %[[Y]]
func.func @identity_reshape(%x: tensor<1x32xf32>) -> tensor<1x32xf32> {
  %y = df.reshape %x : tensor<1x32xf32> -> tensor<1x32xf32>
  return %y : tensor<1x32xf32>
}

// -----

// CHECK-LABEL: func.func @identity_flatten
// CHECK-SAME:    (%[[X:.+]]: tensor<4x32xf32>)
// CHECK-NOT:     df.flatten
// CHECK:         %[[Y:.+]] = df.activation relu %[[X]]
// CHECK:         return %[[Y]]

// NOID-LABEL:  func.func @identity_flatten
// NOID:          %[[F:.+]] = df.flatten %{{.+}} axis 1 : tensor<4x32xf32> -> tensor<4x32xf32>
// NOID:          df.activation relu %[[F]]
func.func @identity_flatten(%x: tensor<4x32xf32>) -> tensor<4x32xf32> {
  %f = df.flatten %x axis 1 : tensor<4x32xf32> -> tensor<4x32xf32>
  %y = df.activation relu %f : tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// -----

// A flatten that changes the type stays.
// CHECK-LABEL: func.func @flatten_kept
// CHECK:         %[[F:.+]] = df.flatten %{{.+}} axis 1 : tensor<1x32x1x1xf32> -> tensor<1x32xf32>
// CHECK:         return %[[F]]
func.func @flatten_kept(%x: tensor<1x32x1x1xf32>) -> tensor<1x32xf32> {
  %f = df.flatten %x axis 1 : tensor<1x32x1x1xf32> -> tensor<1x32xf32>
  return %f : tensor<1x32xf32>
}

// -----

// CHECK-LABEL: func.func @reshape_of_reshape
// CHECK-SAME:    (%[[X:.+]]: tensor<2x3x4xf32>)
// CHECK:         %[[Y:.+]] = df.reshape %[[X]] : tensor<2x3x4xf32> -> tensor<4x6xf32>
// CHECK-NOT:     df.reshape
// CHECK:         return %[[Y]]

// NOID-LABEL:  func.func @reshape_of_reshape
// NOID:          %[[A:.+]] = df.reshape %{{.+}} : tensor<2x3x4xf32> -> tensor<24xf32>
// NOID:          %[[B:.+]] = df.reshape %[[A]] : tensor<24xf32> -> tensor<4x6xf32>
// NOID:          return %[[B]]
func.func @reshape_of_reshape(%x: tensor<2x3x4xf32>) -> tensor<4x6xf32> {
  %a = df.reshape %x : tensor<2x3x4xf32> -> tensor<24xf32>
  %b = df.reshape %a : tensor<24xf32> -> tensor<4x6xf32>
  return %b : tensor<4x6xf32>
}

// -----

// The inner reshape has another user: it stays for that user.
// CHECK-LABEL: func.func @reshape_of_shared_reshape
// CHECK-SAME:    (%[[X:.+]]: tensor<2x3x4xf32>)
// CHECK-DAG:     %[[A:.+]] = df.reshape %[[X]] : tensor<2x3x4xf32> -> tensor<24xf32>
// CHECK-DAG:     %[[B:.+]] = df.reshape %[[X]] : tensor<2x3x4xf32> -> tensor<4x6xf32>
// CHECK:         return %[[A]], %[[B]]
func.func @reshape_of_shared_reshape(%x: tensor<2x3x4xf32>) -> (tensor<24xf32>, tensor<4x6xf32>) {
  %a = df.reshape %x : tensor<2x3x4xf32> -> tensor<24xf32>
  %b = df.reshape %a : tensor<24xf32> -> tensor<4x6xf32>
  return %a, %b : tensor<24xf32>, tensor<4x6xf32>
}

// -----

// CHECK-LABEL: func.func @reshape_of_flatten
// CHECK-SAME:    (%[[X:.+]]: tensor<1x8x2x2xf32>)
// CHECK-NOT:     df.flatten
// CHECK:         %[[Y:.+]] = df.reshape %[[X]] : tensor<1x8x2x2xf32> -> tensor<32xf32>
// CHECK-NOT:     df.flatten
// CHECK:         return %[[Y]]
func.func @reshape_of_flatten(%x: tensor<1x8x2x2xf32>) -> tensor<32xf32> {
  %f = df.flatten %x axis 1 : tensor<1x8x2x2xf32> -> tensor<1x32xf32>
  %r = df.reshape %f : tensor<1x32xf32> -> tensor<32xf32>
  return %r : tensor<32xf32>
}

// -----

// A flatten of a reshape is not merged: only reshapes absorb their input.
// CHECK-LABEL: func.func @flatten_of_reshape
// CHECK:         %[[R:.+]] = df.reshape %{{.+}} : tensor<32xf32> -> tensor<2x16xf32>
// CHECK:         %[[F:.+]] = df.flatten %[[R]] axis 0 : tensor<2x16xf32> -> tensor<1x32xf32>
// CHECK:         return %[[F]]
func.func @flatten_of_reshape(%x: tensor<32xf32>) -> tensor<1x32xf32> {
  %r = df.reshape %x : tensor<32xf32> -> tensor<2x16xf32>
  %f = df.flatten %r axis 0 : tensor<2x16xf32> -> tensor<1x32xf32>
  return %f : tensor<1x32xf32>
}

// -----

// A chain of reshapes back to the input type disappears entirely.
// CHECK-LABEL: func.func @reshape_round_trip
// CHECK-SAME:    (%[[X:.+]]: tensor<1x2048x1x1xf32>)
// CHECK-NOT:     df.reshape
// CHECK:         return %[[X]] : tensor<1x2048x1x1xf32>
func.func @reshape_round_trip(%x: tensor<1x2048x1x1xf32>) -> tensor<1x2048x1x1xf32> {
  %a = df.reshape %x : tensor<1x2048x1x1xf32> -> tensor<1x2048xf32>
  %b = df.reshape %a : tensor<1x2048xf32> -> tensor<2048xf32>
  %c = df.reshape %b : tensor<2048xf32> -> tensor<1x2048x1x1xf32>
  return %c : tensor<1x2048x1x1xf32>
}

// -----

// Rewrites inside a fusion region apply too.
// CHECK-LABEL: func.func @inside_fusion_region
// CHECK:         df.fusion_region
// CHECK:         ^bb0(%[[A:.+]]: tensor<1x3x8x8xf32>):
// CHECK-DAG:       %[[W:.+]] = df.param "conv.weight"
// CHECK-DAG:       %[[S:.+]] = df.param "bn.stat"
// CHECK:           %[[NW:.+]], %[[NB:.+]] = df.fold_batch_norm %[[W]] with %[[S]], %[[S]], %[[S]], %[[S]]
// CHECK:           %[[Y:.+]] = df.conv2d %[[A]], %[[NW]], %[[NB]]
// CHECK-NOT:       df.batch_norm
// CHECK:           df.yield %[[Y]]
func.func @inside_fusion_region(%x: tensor<1x3x8x8xf32>) -> tensor<1x8x8x8xf32> {
  %r = df.fusion_region(%x) : (tensor<1x3x8x8xf32>) -> tensor<1x8x8x8xf32> {
  ^bb0(%a: tensor<1x3x8x8xf32>):
    %w = df.param "conv.weight" : tensor<8x3x3x3xf32>
    %s = df.param "bn.stat" : tensor<8xf32>
    %c = df.conv2d %a, %w strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
        : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>) -> tensor<1x8x8x8xf32>
    %y = df.batch_norm %c, %s, %s, %s, %s epsilon 0.125
        : (tensor<1x8x8x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<1x8x8x8xf32>
    df.yield %y : tensor<1x8x8x8xf32>
  }
  return %r : tensor<1x8x8x8xf32>
}

// -----

// Values that enter a fusion region as block arguments are not known to be
// parameters: nothing folds.
// CHECK-LABEL: func.func @fusion_region_arguments_are_not_parameters
// CHECK-NOT:     df.fold_batch_norm
// CHECK:         df.batch_norm
func.func @fusion_region_arguments_are_not_parameters(%x: tensor<1x3x8x8xf32>) -> tensor<1x8x8x8xf32> {
  %w = df.param "conv.weight" : tensor<8x3x3x3xf32>
  %s = df.param "bn.stat" : tensor<8xf32>
  %r = df.fusion_region(%x, %w, %s) : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>, tensor<8xf32>) -> tensor<1x8x8x8xf32> {
  ^bb0(%a: tensor<1x3x8x8xf32>, %ww: tensor<8x3x3x3xf32>, %ss: tensor<8xf32>):
    %c = df.conv2d %a, %ww strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
        : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>) -> tensor<1x8x8x8xf32>
    %y = df.batch_norm %c, %ss, %ss, %ss, %ss epsilon 0.125
        : (tensor<1x8x8x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<1x8x8x8xf32>
    df.yield %y : tensor<1x8x8x8xf32>
  }
  return %r : tensor<1x8x8x8xf32>
}

// -----

// conv, batch_norm, then a bias add: both fold, over two rounds. The folded
// bias counts as a parameter, so the add's bias is added to it.
// CHECK-LABEL: func.func @conv_batch_norm_add_bias
// CHECK-SAME:    (%[[X:.+]]: tensor<1x3x8x8xf32>)
// CHECK-DAG:     %[[W:.+]] = df.param "conv.weight"
// CHECK-DAG:     %[[S:.+]] = df.param "bn.stat"
// CHECK-DAG:     %[[P:.+]] = df.param "extra.bias"
// CHECK:         %[[NW:.+]], %[[NB:.+]] = df.fold_batch_norm %[[W]] with %[[S]], %[[S]], %[[S]], %[[S]]
// CHECK:         %[[R:.+]] = df.reshape %[[P]] : tensor<1x8x1x1xf32> -> tensor<8xf32>
// CHECK:         %[[B:.+]] = df.add %[[NB]], %[[R]] : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
// CHECK:         %[[Y:.+]] = df.conv2d %[[X]], %[[NW]], %[[B]]
// CHECK-NOT:     df.batch_norm
// CHECK-NOT:     df.add
// CHECK:         return %[[Y]]
func.func @conv_batch_norm_add_bias(%x: tensor<1x3x8x8xf32>) -> tensor<1x8x8x8xf32> {
  %w = df.param "conv.weight" : tensor<8x3x3x3xf32>
  %s = df.param "bn.stat" : tensor<8xf32>
  %p = df.param "extra.bias" : tensor<1x8x1x1xf32>
  %c = df.conv2d %x, %w strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>) -> tensor<1x8x8x8xf32>
  %n = df.batch_norm %c, %s, %s, %s, %s epsilon 0.125
      : (tensor<1x8x8x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<1x8x8x8xf32>
  %y = df.add %n, %p : (tensor<1x8x8x8xf32>, tensor<1x8x1x1xf32>) -> tensor<1x8x8x8xf32>
  return %y : tensor<1x8x8x8xf32>
}

// -----

// Two batch norms in a row fold one after the other: the second folds into
// the conv built by the first, whose weights are folded parameters. The
// element type (here f16) carries over to the new bias.
// CHECK-LABEL: func.func @double_batch_norm_f16
// CHECK-SAME:    (%[[X:.+]]: tensor<1x3x8x8xf16>)
// CHECK-DAG:     %[[W:.+]] = df.param "conv.weight"
// CHECK-DAG:     %[[S:.+]] = df.param "bn1.stat"
// CHECK-DAG:     %[[T:.+]] = df.param "bn2.stat"
// CHECK:         %[[W1:.+]], %[[B1:.+]] = df.fold_batch_norm %[[W]] with %[[S]], %[[S]], %[[S]], %[[S]] epsilon 1.250000e-01
// CHECK:         %[[W2:.+]], %[[B2:.+]] = df.fold_batch_norm %[[W1]] bias %[[B1]] with %[[T]], %[[T]], %[[T]], %[[T]] epsilon 2.500000e-01
// CHECK-SAME:      -> (tensor<8x3x3x3xf16>, tensor<8xf16>)
// CHECK:         %[[Y:.+]] = df.conv2d %[[X]], %[[W2]], %[[B2]]
// CHECK-NOT:     df.batch_norm
// CHECK:         return %[[Y]]
func.func @double_batch_norm_f16(%x: tensor<1x3x8x8xf16>) -> tensor<1x8x8x8xf16> {
  %w = df.param "conv.weight" : tensor<8x3x3x3xf16>
  %s = df.param "bn1.stat" : tensor<8xf16>
  %t = df.param "bn2.stat" : tensor<8xf16>
  %c = df.conv2d %x, %w strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x3x8x8xf16>, tensor<8x3x3x3xf16>) -> tensor<1x8x8x8xf16>
  %y = df.batch_norm %c, %s, %s, %s, %s epsilon 0.125
      : (tensor<1x8x8x8xf16>, tensor<8xf16>, tensor<8xf16>, tensor<8xf16>, tensor<8xf16>) -> tensor<1x8x8x8xf16>
  %z = df.batch_norm %y, %t, %t, %t, %t epsilon 0.25
      : (tensor<1x8x8x8xf16>, tensor<8xf16>, tensor<8xf16>, tensor<8xf16>, tensor<8xf16>) -> tensor<1x8x8x8xf16>
  return %z : tensor<1x8x8x8xf16>
}

// -----

// The tiny network of src/examples/tiny_cnn.mlir, as an exporter leaves it:
// both batch norms fold, both bias adds become conv biases, the fc bias
// becomes the matmul's, the identity reshape goes; the residual add stays.
// CHECK-LABEL: func.func @tiny_cnn
// CHECK-SAME:    (%[[X:.+]]: tensor<1x3x32x32xf32>)
// CHECK-NOT:     df.batch_norm
// CHECK:         %[[W1:.+]], %[[B1:.+]] = df.fold_batch_norm
// CHECK:         %[[C1:.+]] = df.conv2d %[[X]], %[[W1]], %[[B1]]
// CHECK-NOT:     df.batch_norm
// CHECK:         %[[R1:.+]] = df.activation relu %[[C1]]
// CHECK:         %[[P1:.+]] = df.pool2d max %[[R1]]
// CHECK:         %[[W2:.+]], %[[B2:.+]] = df.fold_batch_norm
// CHECK:         %[[C2:.+]] = df.conv2d %[[P1]], %[[W2]], %[[B2]]
// CHECK-NOT:     df.batch_norm
// CHECK:         %[[R2:.+]] = df.activation relu %[[C2]]
// CHECK:         %[[BIAS3:.+]] = df.param "block.conv2.bias"
// CHECK:         %[[V3:.+]] = df.reshape %[[BIAS3]] : tensor<1x16x1x1xf32> -> tensor<16xf32>
// CHECK:         %[[C3:.+]] = df.conv2d %[[R2]], %{{[^,]+}}, %[[V3]]
// CHECK:         %[[S3:.+]] = df.add %[[C3]], %[[P1]]
// CHECK:         %[[R3:.+]] = df.activation relu %[[S3]]
// CHECK:         %[[BIAS4:.+]] = df.param "conv4.bias"
// CHECK:         %[[V4:.+]] = df.reshape %[[BIAS4]] : tensor<32x1x1xf32> -> tensor<32xf32>
// CHECK:         %[[C4:.+]] = df.conv2d %[[R3]], %{{[^,]+}}, %[[V4]] strides [2, 2]
// CHECK:         %[[R4:.+]] = df.activation clip %[[C4]]
// CHECK:         %[[GP:.+]] = df.global_pool avg %[[R4]]
// CHECK:         %[[FL:.+]] = df.flatten %[[GP]] axis 1
// CHECK-DAG:     %[[WF:.+]] = df.param "fc.weight"
// CHECK-DAG:     %[[BF:.+]] = df.param "fc.bias"
// CHECK:         %[[FC:.+]] = df.matmul %[[FL]], %[[WF]], %[[BF]] transpose_rhs
// CHECK:         %[[Y:.+]] = df.softmax %[[FC]] axis 1
// CHECK:         return %[[Y]]
// CHECK-NOT:     df.batch_norm

// The options switch their rewrites off one by one.
// NOBIAS-LABEL: func.func @tiny_cnn
// NOBIAS-COUNT-2: df.fold_batch_norm
// NOBIAS-NOT:     df.batch_norm
// NOBIAS-COUNT-3: df.add
// NOBIAS-NOT:     df.reshape
// NOBIAS:         df.matmul %{{[^,]+}}, %{{[^,]+}} transpose_rhs
// NOBIAS:         df.add

// NOBN-LABEL:  func.func @tiny_cnn
// NOBN-NOT:      df.fold_batch_norm
// NOBN-COUNT-2:  df.batch_norm
// NOBN-NOT:      df.fold_batch_norm

// NOID-LABEL:  func.func @tiny_cnn
// NOID-COUNT-2:  df.fold_batch_norm
// NOID:          df.flatten
// NOID-NEXT:     df.reshape %{{.+}} : tensor<1x32xf32> -> tensor<1x32xf32>
func.func @tiny_cnn(%x: tensor<1x3x32x32xf32>) -> tensor<1x10xf32> {
  %w1 = df.param "conv1.weight" : tensor<16x3x3x3xf32>
  %g1 = df.param "bn1.scale" : tensor<16xf32>
  %b1 = df.param "bn1.offset" : tensor<16xf32>
  %m1 = df.param "bn1.mean" : tensor<16xf32>
  %v1 = df.param "bn1.variance" : tensor<16xf32>
  %c1 = df.conv2d %x, %w1 strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x3x32x32xf32>, tensor<16x3x3x3xf32>) -> tensor<1x16x32x32xf32>
  %n1 = df.batch_norm %c1, %g1, %b1, %m1, %v1 epsilon 1.0e-05
      : (tensor<1x16x32x32xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<1x16x32x32xf32>
  %r1 = df.activation relu %n1 : tensor<1x16x32x32xf32>
  %p1 = df.pool2d max %r1 kernel [2, 2] strides [2, 2] pads [0, 0, 0, 0]
      : tensor<1x16x32x32xf32> -> tensor<1x16x16x16xf32>

  %w2 = df.param "block.conv1.weight" : tensor<16x16x3x3xf32>
  %g2 = df.param "block.bn1.scale" : tensor<16xf32>
  %b2 = df.param "block.bn1.offset" : tensor<16xf32>
  %m2 = df.param "block.bn1.mean" : tensor<16xf32>
  %v2 = df.param "block.bn1.variance" : tensor<16xf32>
  %c2 = df.conv2d %p1, %w2 strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x16x16x16xf32>, tensor<16x16x3x3xf32>) -> tensor<1x16x16x16xf32>
  %n2 = df.batch_norm %c2, %g2, %b2, %m2, %v2 epsilon 1.0e-05
      : (tensor<1x16x16x16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<1x16x16x16xf32>
  %r2 = df.activation relu %n2 : tensor<1x16x16x16xf32>
  %w3 = df.param "block.conv2.weight" : tensor<16x16x3x3xf32>
  %bias3 = df.param "block.conv2.bias" : tensor<1x16x1x1xf32>
  %c3 = df.conv2d %r2, %w3 strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x16x16x16xf32>, tensor<16x16x3x3xf32>) -> tensor<1x16x16x16xf32>
  %a3 = df.add %c3, %bias3 : (tensor<1x16x16x16xf32>, tensor<1x16x1x1xf32>) -> tensor<1x16x16x16xf32>
  %s3 = df.add %a3, %p1 : (tensor<1x16x16x16xf32>, tensor<1x16x16x16xf32>) -> tensor<1x16x16x16xf32>
  %r3 = df.activation relu %s3 : tensor<1x16x16x16xf32>

  %w4 = df.param "conv4.weight" : tensor<32x16x3x3xf32>
  %bias4 = df.param "conv4.bias" : tensor<32x1x1xf32>
  %c4 = df.conv2d %r3, %w4 strides [2, 2] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x16x16x16xf32>, tensor<32x16x3x3xf32>) -> tensor<1x32x8x8xf32>
  %a4 = df.add %c4, %bias4 : (tensor<1x32x8x8xf32>, tensor<32x1x1xf32>) -> tensor<1x32x8x8xf32>
  %r4 = df.activation clip %a4 {max = 6.0 : f32, min = 0.0 : f32} : tensor<1x32x8x8xf32>

  %gp = df.global_pool avg %r4 : tensor<1x32x8x8xf32> -> tensor<1x32x1x1xf32>
  %fl = df.flatten %gp axis 1 : tensor<1x32x1x1xf32> -> tensor<1x32xf32>
  %id = df.reshape %fl : tensor<1x32xf32> -> tensor<1x32xf32>
  %wf = df.param "fc.weight" : tensor<10x32xf32>
  %bf = df.param "fc.bias" : tensor<10xf32>
  %mm = df.matmul %id, %wf transpose_rhs : (tensor<1x32xf32>, tensor<10x32xf32>) -> tensor<1x10xf32>
  %fc = df.add %mm, %bf : (tensor<1x10xf32>, tensor<10xf32>) -> tensor<1x10xf32>
  %y = df.softmax %fc axis 1 : tensor<1x10xf32>
  return %y : tensor<1x10xf32>
}
