// RUN: deepfuse compile %s --scratchpad 96KiB --emit affine | FileCheck %s

// A bottleneck block with a strided shortcut, in one region of two steps
// (64 output channels each). Its weights stream by output channels, each
// layer's slices as wide as the arena's spare room buys, widened one layer
// at a time, the smallest slices first: a uniform width would stop at 8
// channels for all, held back by the 3x3 filter's 1152-byte slices.
// Each layer's loop over its channels steps by its own slice, whose bytes
// per channel (the DMA's row size) the loop multiplies by.
// CHECK-LABEL: func.func @deepfuse_forward(
// The first 1x1 conv: 256 bytes per channel, all 32 channels in one load.
// CHECK: scf.for %{{.*}} = %c0 to %{{.*}} step %c32 {
// CHECK: arith.muli %{{.*}}, %c256_i64 : i64
// CHECK: func.call @df_tile_0_conv2d({{.*}}) : (memref<1x64x14x14xf32>, memref<32x64x1x1xf32>, memref<32xf32>,
// The 3x3 conv: 1152 bytes per channel, 8 at a time (16 do not fit).
// CHECK: scf.for %{{.*}} = %c0 to %{{.*}} step %c8 {
// CHECK: arith.muli %{{.*}}, %c1152_i64 : i64
// CHECK: func.call @df_tile_2_conv2d({{.*}}) : (memref<1x32x14x14xf32>, memref<8x32x3x3xf32>, memref<8xf32>,
// The last 1x1 conv and the shortcut: a whole step's 64 channels per load.
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c64 {
// CHECK: arith.muli %{{.*}}, %c128_i64 : i64
// CHECK: func.call @df_tile_4_conv2d({{.*}}) : (memref<1x32x7x7xf32>, memref<64x32x1x1xf32>, memref<64xf32>,
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c64 {
// CHECK: arith.muli %{{.*}}, %c256_i64 : i64
// CHECK: func.call @df_tile_5_conv2d({{.*}}) : (memref<1x64x14x14xf32>, memref<64x64x1x1xf32>, memref<64xf32>,
func.func @net(%x: tensor<1x64x14x14xf32>) -> tensor<1x128x7x7xf32> {
  %w1 = df.param "c1.w" : tensor<32x64x1x1xf32>
  %b1 = df.param "c1.b" : tensor<32xf32>
  %c1 = df.conv2d %x, %w1, %b1 strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1]
      : (tensor<1x64x14x14xf32>, tensor<32x64x1x1xf32>, tensor<32xf32>) -> tensor<1x32x14x14xf32>
  %r1 = df.activation relu %c1 : tensor<1x32x14x14xf32>
  %w2 = df.param "c2.w" : tensor<32x32x3x3xf32>
  %b2 = df.param "c2.b" : tensor<32xf32>
  %c2 = df.conv2d %r1, %w2, %b2 strides [2, 2] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x32x14x14xf32>, tensor<32x32x3x3xf32>, tensor<32xf32>) -> tensor<1x32x7x7xf32>
  %r2 = df.activation relu %c2 : tensor<1x32x7x7xf32>
  %w3 = df.param "c3.w" : tensor<128x32x1x1xf32>
  %b3 = df.param "c3.b" : tensor<128xf32>
  %c3 = df.conv2d %r2, %w3, %b3 strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1]
      : (tensor<1x32x7x7xf32>, tensor<128x32x1x1xf32>, tensor<128xf32>) -> tensor<1x128x7x7xf32>
  %wd = df.param "ds.w" : tensor<128x64x1x1xf32>
  %bd = df.param "ds.b" : tensor<128xf32>
  %d = df.conv2d %x, %wd, %bd strides [2, 2] pads [0, 0, 0, 0] dilations [1, 1]
      : (tensor<1x64x14x14xf32>, tensor<128x64x1x1xf32>, tensor<128xf32>) -> tensor<1x128x7x7xf32>
  %s = df.add %c3, %d : (tensor<1x128x7x7xf32>, tensor<1x128x7x7xf32>) -> tensor<1x128x7x7xf32>
  %y = df.activation relu %s : tensor<1x128x7x7xf32>
  return %y : tensor<1x128x7x7xf32>
}
