// RUN: deepfuse compile %s --strategy naive --scratchpad 16KiB --emit affine | FileCheck %s

// At 16 KiB the first conv's region runs in one step with its weights
// streamed by output channels and its 12 input channels in chunks of 8.
// The arena has room for 8 output channels' slices, so the weights load 8
// channels at a time: 20 channels in groups of 8, 8 and 4 (affine.min).
// CHECK: #[[GROUP:.*]] = affine_map<(d0) -> (8, -d0 + 20)>
// CHECK-LABEL: func.func @deepfuse_forward(
// CHECK: affine.for %[[CHUNK:.*]] = 0 to 2 {
// CHECK: %[[SKIP:.*]] = arith.muli %[[CHUNK]], %c8 : index
// CHECK: affine.for %[[K:.*]] = 0 to 20 step 8 {
// CHECK-NEXT: %[[COUNT:.*]] = affine.min #[[GROUP]](%[[K]])
// CHECK-NEXT: %[[ROWS:.*]] = arith.index_cast %[[COUNT]] : index to i64
// With the first chunk, the bias of the group: count x 4 contiguous bytes
// (kind 1 = weight, region 0), then the bias part of the kernel.
// CHECK: affine.if
// CHECK: %[[BIAS_BYTES:.*]] = arith.muli %[[ROWS]], %c4_i64 : i64
// CHECK: func.call @deepfuse_rt_dma(%c1_i64, %c0_i64, %{{.*}}, %{{.*}}, %c1_i64, %c1_i64, %[[BIAS_BYTES]], %c0_i64, %c0_i64, %c0_i64, %c0_i64)
// CHECK: func.call @df_tile_1_conv2d(
// The filter of the group and chunk: one row per output channel, of the
// chunk's input channels x 36 bytes, 288 bytes apart in the arena (8 input
// channels) and 432 off-chip (12 input channels).
// CHECK: %[[OFFSET:.*]] = arith.muli %{{.*}}, %c36_i64 : i64
// CHECK: %[[ROW:.*]] = arith.muli %{{.*}}, %c36_i64 : i64
// CHECK: func.call @deepfuse_rt_dma(%c1_i64, %c0_i64, %{{.*}}, %{{.*}}, %c1_i64, %[[ROWS]], %[[ROW]], %c0_i64, %c288_i64, %c0_i64, %c432_i64)
// The kernel computes the group's channels [k, min(k + 8, 20)).
// CHECK-NEXT: %[[FROM:.*]] = arith.maxsi %[[K]], %c0 : index
// CHECK-NEXT: %[[NEXT:.*]] = arith.addi %[[K]], %c8 : index
// CHECK-NEXT: %[[TO:.*]] = arith.minsi %[[NEXT]], %c20 : index
// CHECK-NEXT: func.call @df_tile_0_conv2d(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[FROM]], %[[TO]],
// CHECK-SAME: memref<8x8x3x3xf32>, memref<8xf32>
func.func @net(%x: tensor<1x12x10x10xf32>) -> tensor<1x20x5x5xf32> {
  %wa = df.param "a.w" : tensor<20x12x3x3xf32>
  %ba = df.param "a.b" : tensor<20xf32>
  %a = df.conv2d %x, %wa, %ba strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x12x10x10xf32>, tensor<20x12x3x3xf32>, tensor<20xf32>) -> tensor<1x20x10x10xf32>
  %r = df.activation relu %a : tensor<1x20x10x10xf32>
  %wb = df.param "b.w" : tensor<12x20x1x1xf32>
  %b = df.conv2d %r, %wb strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1]
      : (tensor<1x20x10x10xf32>, tensor<12x20x1x1xf32>) -> tensor<1x12x10x10xf32>
  %wc = df.param "c.w" : tensor<20x12x3x3xf32>
  %bc = df.param "c.b" : tensor<20xf32>
  %c = df.conv2d %b, %wc, %bc strides [2, 2] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x12x10x10xf32>, tensor<20x12x3x3xf32>, tensor<20xf32>) -> tensor<1x20x5x5xf32>
  return %c : tensor<1x20x5x5xf32>
}
