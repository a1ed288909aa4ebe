// RUN: deepfuse compile %s --strategy naive --scratchpad 32KiB --emit affine --vector-registers 16 | FileCheck %s

// At 32 KiB the conv's region runs in one step with its weights streamed
// by output channels and its 40 input channels streamed in chunks. The
// arena has room beyond the cost model's buffers (8 input channels, one
// output channel), so the chunks are 32 channels wide (32, then 8) and the
// weights load 8 output channels at a time: 20 channels in groups of 8, 8
// and 4 (affine.min). The same bytes move, in fewer transfers.
// CHECK: #[[GROUP:.*]] = affine_map<(d0) -> (8, -d0 + 20)>
// CHECK-LABEL: func.func @deepfuse_forward(
// CHECK: affine.for %[[CHUNK:.*]] = 0 to 2 {
// CHECK-NEXT: %[[SKIP:.*]] = arith.muli %[[CHUNK]], %c32 : index
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
// chunk's input channels x 36 bytes, 1152 bytes apart in the arena (32
// input channels) and back to back off-chip, in the filter's chunk-major
// copy (packed-filters.mlir).
// CHECK: %[[OFFSET:.*]] = arith.muli %{{.*}}, %c36_i64 : i64
// CHECK: %[[ROW:.*]] = arith.muli %{{.*}}, %c36_i64 : i64
// CHECK: func.call @deepfuse_rt_dma(%c1_i64, %c0_i64, %{{.*}}, %{{.*}}, %c1_i64, %[[ROWS]], %[[ROW]], %c0_i64, %c1152_i64, %c0_i64, %[[ROW]])
// The kernel computes the group's channels [k, min(k + 8, 20)).
// CHECK-NEXT: %[[FROM:.*]] = arith.maxsi %[[K]], %c0 : index
// CHECK-NEXT: %[[NEXT:.*]] = arith.addi %[[K]], %c8 : index
// CHECK-NEXT: %[[TO:.*]] = arith.minsi %[[NEXT]], %c20 : index
// CHECK-NEXT: func.call @df_tile_0_conv2d(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[FROM]], %[[TO]],
// CHECK-SAME: memref<1x32x10x10xf32>, memref<8x32x3x3xf32>, memref<8xf32>
func.func @net(%x: tensor<1x40x10x10xf32>) -> tensor<1x20x10x10xf32> {
  %wa = df.param "a.w" : tensor<20x40x3x3xf32>
  %ba = df.param "a.b" : tensor<20xf32>
  %a = df.conv2d %x, %wa, %ba strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x40x10x10xf32>, tensor<20x40x3x3xf32>, tensor<20xf32>) -> tensor<1x20x10x10xf32>
  %r = df.activation relu %a : tensor<1x20x10x10xf32>
  return %r : tensor<1x20x10x10xf32>
}
