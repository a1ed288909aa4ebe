// RUN: deepfuse compile %s --no-staging --emit affine --vector-registers 32 | FileCheck %s

// A 1x1 convolution of 600 to 1003 channels on 7x7: a pass over 128 input
// channels reads 1003 x 128 x 4 = 513,536 bytes of filter and 128 x 49 x 4
// = 25,088 of input, so its blocks of 8 output channels run outside its
// blocks of 24 columns (two whole ones and a masked one): each block of
// filter rows stays in L1 while every block of columns reads it, instead
// of the whole filter streaming in once per block of columns.
// CHECK-LABEL: func.func private @df_kernel_0_conv2d(
// Passes over the input channels.
// CHECK: affine.for %[[PASS:.*]] = 0 to #{{.*}}()[%{{.*}}, %c600] {
// Blocks of 8 output channels, the last one repeating channel 1002.
// CHECK: affine.for %[[KB:.*]] = 0 to #{{.*}}()[%{{.*}}, %c1003] {
// CHECK-COUNT-8: affine.min #{{.*}}(%[[KB]])
// Inside them, the whole blocks of columns, then the masked one.
// CHECK: affine.for %{{.*}} = 0 to #{{.*}}()[%{{.*}}, %c49] {
// CHECK: %{{.*}}:24 = affine.for %{{.*}} = #{{.*}}(%[[PASS]])
// CHECK: affine.for %{{.*}} = 0 to #{{.*}}()[%{{.*}}, %c49] {
// CHECK: vector.create_mask
// CHECK: %{{.*}}:24 = affine.for %{{.*}} = #{{.*}}(%[[PASS]])
func.func @net(%x: tensor<1x600x7x7xf32>) -> tensor<1x1003x7x7xf32> {
  %w = df.param "w" : tensor<1003x600x1x1xf32>
  %b = df.param "b" : tensor<1003xf32>
  %a = df.conv2d %x, %w, %b strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1]
      : (tensor<1x600x7x7xf32>, tensor<1003x600x1x1xf32>, tensor<1003xf32>) -> tensor<1x1003x7x7xf32>
  return %a : tensor<1x1003x7x7xf32>
}
