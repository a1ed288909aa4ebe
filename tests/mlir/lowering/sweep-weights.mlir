// RUN: deepfuse compile %s --scratchpad 48KiB --strategy layer --emit affine | FileCheck %s

// At 48 KiB the layer schedule runs the convolution in 2 chunks of 32
// output channels outside 4 spatial tiles (8 steps), and the cost model
// keeps the weights of each chunk's first 2 channels for the chunk's
// sweep. Every step starts with the loads of those 2 channels' filter
// (2x64x3x3) and bias into their kept buffers (kind 1 = weight, region 0):
// the step table gives them their bytes at a sweep's first tile and none
// at the others. The input streams in chunks of 8 channels; on each, the
// kept channels' kernel (its bias stored with the first chunk) and then
// the other channels', slice group by slice group, accumulate.
// CHECK-LABEL: func.func @deepfuse_forward(
// CHECK: affine.for %[[S:.*]] = 0 to 8 {
// CHECK: func.call @deepfuse_rt_dma(%c1_i64, %c0_i64, %{{.*}}, %{{.*}}, %c1_i64, %c1_i64, %{{.*}}, %c0_i64, %c0_i64, %c0_i64, %c0_i64)
// CHECK: func.call @deepfuse_rt_dma(%c1_i64, %c0_i64, %{{.*}}, %{{.*}}, %c1_i64, %c1_i64, %{{.*}}, %c0_i64, %c0_i64, %c0_i64, %c0_i64)
// CHECK-NEXT: affine.for %[[J:.*]] = 0 to 8 {
// CHECK: func.call @deepfuse_rt_dma(%c0_i64, %c0_i64,
// CHECK: affine.if #{{.*}}(%[[J]]) {
// CHECK: func.call @df_tile_{{[0-9]+}}_conv2d({{.*}}) : (memref<1x8x17x17xf32>, memref<2x64x3x3xf32>, memref<2xf32>,
// CHECK: func.call @df_tile_{{[0-9]+}}_conv2d({{.*}}) : (memref<1x8x17x17xf32>, memref<2x64x3x3xf32>, memref<2xf32>,
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c8 {
// CHECK: func.call @df_tile_{{[0-9]+}}_conv2d({{.*}}) : (memref<1x8x17x17xf32>, memref<8x8x3x3xf32>,
func.func @net(%x: tensor<1x64x32x32xf32>) -> tensor<1x64x32x32xf32> {
  %w = df.param "w" : tensor<64x64x3x3xf32>
  %b = df.param "b" : tensor<64xf32>
  %c = df.conv2d %x, %w, %b strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x64x32x32xf32>, tensor<64x64x3x3xf32>, tensor<64xf32>) -> tensor<1x64x32x32xf32>
  %r = df.activation relu %c : tensor<1x64x32x32xf32>
  return %r : tensor<1x64x32x32xf32>
}
