// RUN: deepfuse-opt %s --split-input-file --df-form-fusion-regions | FileCheck %s
// RUN: deepfuse-opt %s --split-input-file --pass-pipeline='builtin.module(df-form-fusion-regions{scratchpad=24KiB})' | FileCheck %s --check-prefix=SMALL
// RUN: deepfuse-opt %s --split-input-file --df-form-fusion-regions='strategy=layer' | FileCheck %s --check-prefix=LAYER
// The regions verify and re-parse.
// RUN: deepfuse-opt %s --split-input-file --df-form-fusion-regions | deepfuse-opt --split-input-file --verify-diagnostics

// One group: the conv, its bias and its relu. Operands are the activation
// and the weights; one tile (1 MiB holds everything), so the traffic is
// compulsory: input 8x16x16x4 = 8192, weights (8*8*9 + 8)*4 = 2336, output
// 8192 bytes.
// CHECK-LABEL: func.func @conv_relu
// CHECK-SAME:    (%[[X:.+]]: tensor<1x8x16x16xf32>)
// CHECK-DAG:     %[[W:.+]] = df.param "c.weight"
// CHECK-DAG:     %[[B:.+]] = df.param "c.bias"
// CHECK:         %[[R:.+]] = df.fusion_region(%[[X]], %[[W]], %[[B]])
// CHECK-SAME:      : (tensor<1x8x16x16xf32>, tensor<8x8x3x3xf32>, tensor<8xf32>) -> tensor<1x8x16x16xf32>
// CHECK-SAME:      order = "spatial-outer", overlap = "recompute"
// CHECK-SAME:      tile = array<i64: 16, 16, 8>, tiles = array<i64: 1, 1, 1>
// CHECK-SAME:      traffic = {input = 8192 : i64, output = 8192 : i64, total = 18720 : i64, weight = 2336 : i64}
// CHECK-NEXT:    ^bb0(%[[A:.+]]: tensor<1x8x16x16xf32>, %[[F:.+]]: tensor<8x8x3x3xf32>, %[[G:.+]]: tensor<8xf32>):
// CHECK-NEXT:      %[[C:.+]] = df.conv2d %[[A]], %[[F]], %[[G]]
// CHECK-NEXT:      %[[Y:.+]] = df.activation relu %[[C]]
// CHECK-NEXT:      df.yield %[[Y]] : tensor<1x8x16x16xf32>
// CHECK-NEXT:    }
// CHECK-NEXT:    return %[[R]]

// SMALL-LABEL: func.func @conv_relu
// SMALL:         df.fusion_region
// SMALL-SAME:      capacity = 24576 : i64
func.func @conv_relu(%x: tensor<1x8x16x16xf32>) -> tensor<1x8x16x16xf32> {
  %w = df.param "c.weight" : tensor<8x8x3x3xf32>
  %b = df.param "c.bias" : tensor<8xf32>
  %c = df.conv2d %x, %w, %b strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x8x16x16xf32>, tensor<8x8x3x3xf32>, tensor<8xf32>) -> tensor<1x8x16x16xf32>
  %y = df.activation relu %c : tensor<1x8x16x16xf32>
  return %y : tensor<1x8x16x16xf32>
}

// -----

// A residual block is one group with its shortcut: the block input is read
// once (kept on chip from the first conv to the add).
// CHECK-LABEL: func.func @residual_block
// CHECK-SAME:    (%[[X:.+]]: tensor<1x16x32x32xf32>)
// CHECK:         %[[R:.+]] = df.fusion_region(%[[X]], %{{.+}}, %{{.+}})
// CHECK-SAME:      traffic = {input = 65536 : i64, output = 65536 : i64, total = 149504 : i64, weight = 18432 : i64}
// CHECK-NEXT:    ^bb0(%[[A:[^:]+]]: tensor<1x16x32x32xf32>,
// CHECK:           %[[C1:.+]] = df.conv2d %[[A]],
// CHECK:           %[[R1:.+]] = df.activation relu %[[C1]]
// CHECK:           %[[C2:.+]] = df.conv2d %[[R1]],
// CHECK:           %[[S:.+]] = df.add %[[C2]], %[[A]]
// CHECK:           %[[Y:.+]] = df.activation relu %[[S]]
// CHECK:           df.yield %[[Y]]
// CHECK:         return %[[R]]

// With 24 KiB the block no longer fits in one tile: it runs as 4 bands of
// 32 one-column tiles, caching the column overlaps (cache-h); the rows of
// the halo are read again by each band (90112 bytes instead of 65536).
// SMALL-LABEL: func.func @residual_block
// SMALL:         df.fusion_region
// SMALL-SAME:      overlap = "cache-h"
// SMALL-SAME:      tile = array<i64: 8, 1, 16>, tiles = array<i64: 4, 32, 1>
// SMALL-SAME:      traffic = {input = 90112 : i64, output = 65536 : i64, total = 174080 : i64, weight = 18432 : i64}

// Layer by layer: the first conv with its relu, then the second conv with
// the add and the relu (its epilogue).
// LAYER-LABEL: func.func @residual_block
// LAYER-SAME:    (%[[X:.+]]: tensor<1x16x32x32xf32>)
// LAYER:         %[[R1:.+]] = df.fusion_region(%[[X]], %{{.+}})
// LAYER:           df.conv2d
// LAYER-NEXT:      df.activation relu
// LAYER-NEXT:      df.yield
// LAYER:         %[[R2:.+]] = df.fusion_region(%[[R1]], %{{.+}}, %[[X]])
// LAYER:           df.conv2d
// LAYER-NEXT:      df.add
// LAYER-NEXT:      df.activation relu
// LAYER-NEXT:      df.yield
// LAYER:         return %[[R2]]
func.func @residual_block(%x: tensor<1x16x32x32xf32>) -> tensor<1x16x32x32xf32> {
  %w1 = df.param "block.conv1.weight" : tensor<16x16x3x3xf32>
  %c1 = df.conv2d %x, %w1 strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x16x32x32xf32>, tensor<16x16x3x3xf32>) -> tensor<1x16x32x32xf32>
  %r1 = df.activation relu %c1 : tensor<1x16x32x32xf32>
  %w2 = df.param "block.conv2.weight" : tensor<16x16x3x3xf32>
  %c2 = df.conv2d %r1, %w2 strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x16x32x32xf32>, tensor<16x16x3x3xf32>) -> tensor<1x16x32x32xf32>
  %s = df.add %c2, %x : (tensor<1x16x32x32xf32>, tensor<1x16x32x32xf32>) -> tensor<1x16x32x32xf32>
  %y = df.activation relu %s : tensor<1x16x32x32xf32>
  return %y : tensor<1x16x32x32xf32>
}

// -----

// An inception block (three branches and their concat) is one group.
// CHECK-LABEL: func.func @inception_block
// CHECK-SAME:    (%[[X:.+]]: tensor<1x32x16x16xf32>)
// CHECK:         %[[R:.+]] = df.fusion_region(%[[X]], %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}})
// CHECK-SAME:      -> tensor<1x48x16x16xf32>
// CHECK-NEXT:    ^bb0(%[[A:[^:]+]]: tensor<1x32x16x16xf32>,
// CHECK:           %[[BA:.+]] = df.conv2d %[[A]],
// CHECK:           %[[B1:.+]] = df.conv2d %[[A]],
// CHECK:           %[[BB:.+]] = df.conv2d %[[B1]],
// CHECK:           %[[P:.+]] = df.pool2d max %[[A]]
// CHECK:           %[[BC:.+]] = df.conv2d %[[P]],
// CHECK:           %[[Y:.+]] = df.concat %[[BA]], %[[BB]], %[[BC]] axis 1
// CHECK:           df.yield %[[Y]]
// CHECK-NOT:     df.fusion_region
// CHECK:         return %[[R]]
func.func @inception_block(%x: tensor<1x32x16x16xf32>) -> tensor<1x48x16x16xf32> {
  %wa = df.param "a.weight" : tensor<16x32x1x1xf32>
  %a = df.conv2d %x, %wa strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1]
      : (tensor<1x32x16x16xf32>, tensor<16x32x1x1xf32>) -> tensor<1x16x16x16xf32>
  %wb1 = df.param "b1.weight" : tensor<8x32x1x1xf32>
  %b1 = df.conv2d %x, %wb1 strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1]
      : (tensor<1x32x16x16xf32>, tensor<8x32x1x1xf32>) -> tensor<1x8x16x16xf32>
  %wb2 = df.param "b2.weight" : tensor<16x8x3x3xf32>
  %b2 = df.conv2d %b1, %wb2 strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x8x16x16xf32>, tensor<16x8x3x3xf32>) -> tensor<1x16x16x16xf32>
  %p = df.pool2d max %x kernel [3, 3] strides [1, 1] pads [1, 1, 1, 1]
      : tensor<1x32x16x16xf32> -> tensor<1x32x16x16xf32>
  %wc = df.param "c.weight" : tensor<16x32x1x1xf32>
  %c = df.conv2d %p, %wc strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1]
      : (tensor<1x32x16x16xf32>, tensor<16x32x1x1xf32>) -> tensor<1x16x16x16xf32>
  %y = df.concat %a, %b2, %c axis 1
      : (tensor<1x16x16x16xf32>, tensor<1x16x16x16xf32>, tensor<1x16x16x16xf32>) -> tensor<1x48x16x16xf32>
  return %y : tensor<1x48x16x16xf32>
}

// -----

// A global pool needs its whole input: it ends its group (accumulating over
// the group's tiles); the classifier and the softmax follow in their own
// groups (a matmul and a softmax end theirs too).
// CHECK-LABEL: func.func @global_pool_ends_group
// CHECK-SAME:    (%[[X:.+]]: tensor<1x16x8x8xf32>)
// CHECK:         %[[G:.+]] = df.fusion_region(%[[X]], %{{.+}}) : {{.*}} -> tensor<1x16x1x1xf32>
// CHECK:           df.conv2d
// CHECK-NEXT:      df.activation relu
// CHECK-NEXT:      %[[P:.+]] = df.global_pool avg
// CHECK-NEXT:      df.yield %[[P]]
// CHECK:         %[[M:.+]] = df.fusion_region(%[[G]], %{{.+}}) : {{.*}} -> tensor<1x10xf32>
// CHECK:           df.flatten
// CHECK-NEXT:      df.matmul
// CHECK:         %[[S:.+]] = df.fusion_region(%[[M]]) : (tensor<1x10xf32>) -> tensor<1x10xf32>
// CHECK:           df.softmax
// CHECK:         return %[[S]]
func.func @global_pool_ends_group(%x: tensor<1x16x8x8xf32>) -> tensor<1x10xf32> {
  %w = df.param "conv.weight" : tensor<16x16x3x3xf32>
  %c = df.conv2d %x, %w strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x16x8x8xf32>, tensor<16x16x3x3xf32>) -> tensor<1x16x8x8xf32>
  %r = df.activation relu %c : tensor<1x16x8x8xf32>
  %g = df.global_pool avg %r : tensor<1x16x8x8xf32> -> tensor<1x16x1x1xf32>
  %f = df.flatten %g axis 1 : tensor<1x16x1x1xf32> -> tensor<1x16xf32>
  %wf = df.param "fc.weight" : tensor<10x16xf32>
  %m = df.matmul %f, %wf transpose_rhs : (tensor<1x16xf32>, tensor<10x16xf32>) -> tensor<1x10xf32>
  %y = df.softmax %m axis 1 : tensor<1x10xf32>
  return %y : tensor<1x10xf32>
}

// -----

// A group with two outputs yields both; the function returns them swapped.
// CHECK-LABEL: func.func @two_results
// CHECK:         %[[R:.+]]:2 = df.fusion_region
// CHECK:           %[[A:.+]] = df.activation relu
// CHECK-NEXT:      %[[B:.+]] = df.activation sigmoid %[[A]]
// CHECK-NEXT:      %[[C:.+]] = df.activation tanh %[[A]]
// CHECK-NEXT:      df.yield %[[B]], %[[C]]
// CHECK:         return %[[R]]#1, %[[R]]#0
func.func @two_results(%x: tensor<1x8x16x16xf32>) -> (tensor<1x8x16x16xf32>, tensor<1x8x16x16xf32>) {
  %a = df.activation relu %x : tensor<1x8x16x16xf32>
  %b = df.activation sigmoid %a : tensor<1x8x16x16xf32>
  %c = df.activation tanh %a : tensor<1x8x16x16xf32>
  return %c, %b : tensor<1x8x16x16xf32>, tensor<1x8x16x16xf32>
}
