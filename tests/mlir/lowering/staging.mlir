// RUN: deepfuse compile %s --scratchpad 1KiB --strategy layer --emit affine | FileCheck %s

// At 1 KiB the layer-by-layer schedule runs the pool in two steps of two
// output rows (four input rows). (The conv and relu's region keeps its
// halo rows between bands; lowering/passes.mlir checks it.)
//
// What changes between the steps is a row of the region's table: the
// input box's off-chip address (relu output at byte 512, 4 rows of 8
// floats = 128 bytes apart), the pool's output rows [0, 2) and [2, 4), the
// input window's first row (0, 4), the output window's first row (0, 2),
// and the output piece's off-chip address (2 rows of 4 floats = 32 bytes
// apart).
// CHECK: func.func private @deepfuse_rt_dma(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64)
// CHECK: memref.global "private" constant @df_region_1_steps : memref<2x6xi64> = dense<{{\[\[}}512, 0, 2, 0, 0, 0], [640, 2, 4, 4, 2, 32]]>
// The tile kernel indexes its arena windows relative to their origins:
// the input window's channel, row and column origins are subtracted.
// CHECK-LABEL: func.func private @df_tile_2_pool2d(
// CHECK-SAME: %[[IN:[^:]*]]: memref<1x4x4x8xf32> {llvm.noalias}, %{{[^:]*}}: memref<1x4x2x4xf32> {llvm.noalias}, %{{[^:]*}}: index, %{{[^:]*}}: index, %{{[^:]*}}: index, %{{[^:]*}}: index, %{{[^:]*}}: index, %{{[^:]*}}: index, %[[OC:[^:]*]]: index, %[[OH:[^:]*]]: index, %[[OW:[^:]*]]: index,
// CHECK: %[[C:.*]] = affine.apply #{{.*}}(%{{.*}}, %[[OC]])
// CHECK-NEXT: %[[R:.*]] = affine.apply #{{.*}}(%{{.*}}, %{{.*}}, %[[OH]])
// CHECK-NEXT: %[[X:.*]] = arith.subi %{{.*}}, %[[OW]] : index
// CHECK-NEXT: vector.maskedload %[[IN]][%{{.*}}, %[[C]], %[[R]], %[[X]]]
// CHECK-LABEL: func.func @deepfuse_forward(
// CHECK: affine.for %[[S:.*]] = 0 to 2 {
// The pool's input is streamed (single use), so it is loaded 8 channels at
// a time: one chunk of its 4 channels, whose count is min(8, 4 - 8j).
// CHECK-NEXT: affine.for %[[J:.*]] = 0 to 1 {
// CHECK-NEXT: %[[SKIP:.*]] = arith.muli %[[J]], %c8 : index
// CHECK: %[[LEFT:.*]] = arith.subi %c4, %[[SKIP]] : index
// CHECK-NEXT: %[[POS:.*]] = arith.maxsi %[[LEFT]], %c0 : index
// CHECK-NEXT: %[[COUNT:.*]] = arith.minsi %[[POS]], %c8 : index
// Load: the chunk's channels x 4 rows of 32 bytes, arena strides 128/32,
// off-chip 256/32 (kind 0 = input, region 1), from the table's address.
// CHECK: memref.load %{{.*}}[%[[S]], %{{.*}}] : memref<2x6xi64>
// CHECK: %[[PLANES:.*]] = arith.index_cast %[[COUNT]] : index to i64
// CHECK-NEXT: func.call @deepfuse_rt_dma(%c0_i64, %c1_i64, %{{.*}}, %{{.*}}, %[[PLANES]], %c4_i64, %c32_i64, %c128_i64, %c32_i64, %c256_i64, %c32_i64)
// CHECK: func.call @df_tile_2_pool2d(
// CHECK-NEXT: }
// Store after the chunks: 4 channels x 2 rows of 16 bytes (kind 2 = output).
// CHECK: func.call @deepfuse_rt_dma(%c2_i64, %c1_i64, %{{.*}}, %{{.*}}, %c4_i64, %c2_i64, %c16_i64, %c64_i64, %c16_i64, %c32_i64, %c16_i64)
// CHECK-NEXT: }
func.func @net(%x: tensor<1x2x8x8xf32>) -> tensor<1x4x4x4xf32> {
  %w = df.param "w" : tensor<4x2x3x3xf32>
  %b = df.param "b" : tensor<4xf32>
  %c = df.conv2d %x, %w, %b strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x2x8x8xf32>, tensor<4x2x3x3xf32>, tensor<4xf32>) -> tensor<1x4x8x8xf32>
  %r = df.activation relu %c : tensor<1x4x8x8xf32>
  %p = df.pool2d max %r kernel [2, 2] strides [2, 2] pads [0, 0, 0, 0]
      : tensor<1x4x8x8xf32> -> tensor<1x4x4x4xf32>
  return %p : tensor<1x4x4x4xf32>
}
