// RUN: deepfuse compile %s --strategy naive --scratchpad 4KiB --emit affine --vector-registers 16 | FileCheck %s

// At 4 KiB the 1x1 conv is staged in steps of one row of 10 columns, its
// 16 input channels streamed in one chunk (the arena has room for wider
// chunks than the cost model's 8): a bias part (here zero), then per chunk
// an accumulating tile kernel. When a step's frame spans whole rows of the
// output buffer, and the input window has the same columns (checked at run
// time on the frame and the windows' origins), the frame's rows are one
// stretch of columns in both buffers, shifted by whole rows where the
// windows start at different rows, and the kernel is a product of
// matrices on them: blocks of 3 vectors by 4 output channels (12
// accumulators, starting from the partial sums of earlier chunks; channels
// past the frame's end repeat its last one), then one block masked at the
// stretch's end. Other steps run the plain loops.
// CHECK: #[[ROWS:.*]] = affine_map<()[s0, s1] -> ((s0 - s1) * 10)>
// CHECK: #[[WHOLE_ROWS:.*]] = affine_set<()[s0, s1, s2, s3] : (s0 - s2 == 0, s1 - s2 - 10 == 0, s3 - s2 == 0)>
// CHECK-LABEL: func.func private @df_tile_1_conv2d(
// CHECK-SAME: memref<1x16x1x10xf32> {llvm.noalias}, %{{.*}}: memref<32x16x1x1xf32> {llvm.noalias}, %{{.*}}: memref<1x32x1x10xf32> {llvm.noalias}
// The frame's output channels, rows, columns and input channels, then the
// input window's and the output buffer's origins (channel, row, column).
// CHECK-SAME: %{{[a-z0-9]+}}: index, %{{[a-z0-9]+}}: index, %{{[a-z0-9]+}}: index, %{{[a-z0-9]+}}: index, %[[W0:[a-z0-9]+]]: index, %[[W1:[a-z0-9]+]]: index, %{{[a-z0-9]+}}: index, %{{[a-z0-9]+}}: index,
// CHECK-SAME: %{{[a-z0-9]+}}: index, %[[IN_ROW:[a-z0-9]+]]: index, %[[IN_COL:[a-z0-9]+]]: index, %{{[a-z0-9]+}}: index, %[[OUT_ROW:[a-z0-9]+]]: index, %[[OUT_COL:[a-z0-9]+]]: index)
// CHECK: affine.if #[[WHOLE_ROWS]]()[%[[W0]], %[[W1]], %[[OUT_COL]], %[[IN_COL]]] {
// The frame's first and last pixels in the output's stretch, and the
// input's rows before the output's.
// CHECK-NEXT: affine.apply #[[ROWS]]()[%{{.*}}, %[[OUT_ROW]]]
// CHECK-NEXT: affine.apply #[[ROWS]]()[%{{.*}}, %[[OUT_ROW]]]
// CHECK-NEXT: %[[SHIFT:.*]] = affine.apply #[[ROWS]]()[%[[IN_ROW]], %[[OUT_ROW]]]
// CHECK: %[[IN:.*]] = memref.collapse_shape %{{.*}} {{\[\[}}0], [1], [2, 3]] : memref<1x16x1x10xf32> into memref<1x16x10xf32>
// CHECK: %[[OUT:.*]] = memref.collapse_shape %{{.*}} {{\[\[}}0], [1], [2, 3]] : memref<1x32x1x10xf32> into memref<1x32x10xf32>
// Passes over the chunk's input channels, blocks of columns, blocks of
// output channels.
// CHECK: affine.for %{{.*}} = 0 to #{{.*}}()[%{{.*}}, %{{.*}}] {
// CHECK: affine.for %{{.*}} = 0 to #{{.*}}()[%{{.*}}, %{{.*}}] {
// CHECK: affine.for %[[KB:.*]] = 0 to #{{.*}}()[%[[K0:.*]], %[[K1:.*]]] {
// CHECK-COUNT-4: affine.min #{{.*}}(%[[KB]])[%[[K0]], %[[K1]]]
// CHECK-COUNT-12: vector.load %[[OUT]]
// CHECK: %{{.*}}:12 = affine.for %{{.*}} = #{{.*}} to min #{{.*}} iter_args(
// CHECK-NEXT: affine.vector_load %[[IN]][%{{.*}}, %{{.*}}, %{{.*}} - %[[SHIFT]]]
// CHECK-NEXT: affine.vector_load %[[IN]][%{{.*}}, %{{.*}}, %{{.*}} - %[[SHIFT]] + 8]
// CHECK-NEXT: affine.vector_load %[[IN]][%{{.*}}, %{{.*}}, %{{.*}} - %[[SHIFT]] + 16]
// CHECK-NEXT: memref.load %{{.*}} : memref<32x16x1x1xf32>
// CHECK-NEXT: vector.broadcast
// CHECK-COUNT-3: vector.fma
// CHECK-COUNT-12: vector.store %{{.*}}, %[[OUT]]
// The masked block.
// CHECK: vector.create_mask
// CHECK: vector.maskedload %[[IN]]
// CHECK: vector.maskedstore %[[OUT]]
// CHECK: } else {
// CHECK: arith.mulf
// The bias part keeps the plain loop nest.
// CHECK-LABEL: func.func private @df_tile_2_conv2d(
// CHECK: affine.store %{{.*}} : memref<1x32x1x10xf32>
// CHECK-LABEL: func.func @deepfuse_forward(
// CHECK: call @df_tile_2_conv2d(
// CHECK: call @df_tile_1_conv2d(
func.func @net(%x: tensor<1x16x6x20xf32>) -> tensor<1x32x6x20xf32> {
  %w = df.param "w" : tensor<16x16x3x3xf32>
  %b = df.param "b" : tensor<16xf32>
  %c = df.conv2d %x, %w, %b strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x16x6x20xf32>, tensor<16x16x3x3xf32>, tensor<16xf32>) -> tensor<1x16x6x20xf32>
  %v = df.param "v" : tensor<32x16x1x1xf32>
  %d = df.conv2d %c, %v strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1]
      : (tensor<1x16x6x20xf32>, tensor<32x16x1x1xf32>) -> tensor<1x32x6x20xf32>
  return %d : tensor<1x32x6x20xf32>
}
