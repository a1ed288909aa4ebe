// RUN: deepfuse compile %s --scratchpad 32KiB --strategy layer --emit affine | FileCheck %s

// A depthwise convolution's streamed input comes in chunks of channels,
// and each chunk's output channels are computed from it alone: the cost
// model streams the 16x16 input through a buffer of 8 channels and the
// weights one channel at a time, so the 40 channels of input (40 KiB)
// never need to be on chip at once. The arena's spare room widens the
// chunks to 16 channels (3 chunks, the last of 8) and then the weight
// loads to a whole chunk's 16 channels (never wider: a depthwise layer
// computes only its chunk's channels).
// CHECK-LABEL: func.func @deepfuse_forward(
// CHECK: affine.for %{{.*}} = 0 to 1 {
// CHECK-NEXT: affine.for %[[J:.*]] = 0 to 3 {
// CHECK-NEXT: %[[SKIP:.*]] = arith.muli %[[J]], %c16 : index
// CHECK-NEXT: %[[START:.*]] = arith.addi %c0, %[[SKIP]] : index
// CHECK: %[[COUNT:.*]] = arith.minsi %{{.*}}, %c16 : index
// CHECK-NEXT: %[[END:.*]] = arith.addi %[[START]], %[[COUNT]] : index
// The chunk: its channels x 16 rows of 64 bytes (kind 0 = input, region 1).
// CHECK: %[[PLANES:.*]] = arith.index_cast %[[COUNT]] : index to i64
// CHECK-NEXT: func.call @deepfuse_rt_dma(%c0_i64, %c1_i64, %{{.*}}, %{{.*}}, %[[PLANES]], %c16_i64, %c64_i64, %c1024_i64, %c64_i64, %c1024_i64, %c64_i64)
// Its output channels, 16 at a time: their filters (36 bytes each) and
// biases (kind 1 = weight), then the kernel on channels [k, min(k + 16, 40)).
// CHECK-NEXT: scf.for %[[K:.*]] = %[[START]] to %[[END]] step %c16 {
// CHECK: arith.muli %{{.*}}, %c36_i64 : i64
// CHECK: func.call @deepfuse_rt_dma(%c1_i64, %c1_i64,
// CHECK: arith.muli %{{.*}}, %c4_i64 : i64
// CHECK: func.call @deepfuse_rt_dma(%c1_i64, %c1_i64,
// CHECK: %[[NEXT:.*]] = arith.addi %[[K]], %c16 : index
// CHECK-NEXT: %[[TO:.*]] = arith.minsi %[[NEXT]], %c40 : index
// CHECK-NEXT: func.call @df_tile_1_conv2d(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[TO]],
// CHECK-SAME: (memref<1x16x16x16xf32>, memref<16x1x3x3xf32>, memref<16xf32>, memref<1x40x8x8xf32>,
// CHECK-NEXT: }
// CHECK-NEXT: }
// The whole output once the chunks are done: 40 channels x 8 rows of 32 bytes.
// CHECK: func.call @deepfuse_rt_dma(%c2_i64, %c1_i64, %{{.*}}, %{{.*}}, %c40_i64, %c8_i64, %c32_i64, %c256_i64, %c32_i64, %c256_i64, %c32_i64)
func.func @net(%x: tensor<1x40x16x16xf32>) -> tensor<1x40x8x8xf32> {
  %r = df.activation relu %x : tensor<1x40x16x16xf32>
  %w = df.param "dw.w" : tensor<40x1x3x3xf32>
  %b = df.param "dw.b" : tensor<40xf32>
  %y = df.conv2d %r, %w, %b strides [2, 2] pads [1, 1, 1, 1] dilations [1, 1] {groups = 40 : i64}
      : (tensor<1x40x16x16xf32>, tensor<40x1x3x3xf32>, tensor<40xf32>) -> tensor<1x40x8x8xf32>
  return %y : tensor<1x40x8x8xf32>
}
