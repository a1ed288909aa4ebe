// RUN: deepfuse compile %s --emit affine --vector-registers 16 | FileCheck %s

// A 1x1 convolution whose output is one pixel: the tile kernel computes
// dot products over the input channels (the input's 20 channels streamed
// in one chunk and the weights of all 12 output channels at once, as the
// arena has room). A block of 8 output channels keeps one
// accumulator each; three rounds of shuffles and adds sum each across its
// lanes into one vector, which is added to the partial sums and stored
// whole.
// CHECK-LABEL: func.func private @df_tile_0_conv2d(
// CHECK-SAME: memref<1x20x1x1xf32> {llvm.noalias}, %{{.*}}: memref<12x20x1x1xf32> {llvm.noalias}, %{{.*}}: memref<12xf32> {llvm.noalias}, %{{.*}}: memref<1x12x1x1xf32> {llvm.noalias}
// CHECK: %[[PARTIAL:.*]] = affine.vector_load %{{.*}} : memref<1x12xf32>, vector<8xf32>
// CHECK: %[[ACCS:.*]]:8 = affine.for %{{.*}} step 8 iter_args(
// CHECK: %[[IN:.*]] = affine.vector_load %{{.*}} : memref<1x20xf32>, vector<8xf32>
// CHECK-COUNT-8: vector.fma %[[IN]], %{{.*}}, %{{.*}} : vector<8xf32>
// CHECK: vector.shuffle %[[ACCS]]#0, %[[ACCS]]#1 [0, 8, 2, 10, 4, 12, 6, 14]
// CHECK-NEXT: vector.shuffle %[[ACCS]]#0, %[[ACCS]]#1 [1, 9, 3, 11, 5, 13, 7, 15]
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [0, 1, 8, 9, 4, 5, 12, 13]
// CHECK: vector.shuffle %[[L2A:.*]], %[[L2B:.*]] [0, 1, 2, 3, 8, 9, 10, 11]
// CHECK-NEXT: vector.shuffle %[[L2A]], %[[L2B]] [4, 5, 6, 7, 12, 13, 14, 15]
// CHECK-NEXT: %[[SUMS:.*]] = arith.addf
// CHECK-NEXT: %[[HEAD:.*]] = arith.addf %[[PARTIAL]], %[[SUMS]] : vector<8xf32>
// Input channels past the last full vector: a broadcast input times the
// block's 8 weights.
// CHECK-NEXT: %[[TOTAL:.*]] = affine.for %{{.*}} iter_args(%{{.*}} = %[[HEAD]]) -> (vector<8xf32>) {
// CHECK: vector.from_elements
// CHECK: affine.vector_store %[[TOTAL]], %{{.*}} : memref<1x12xf32>, vector<8xf32>
// The 4 output channels left, one at a time.
// CHECK: vector.reduction <add>
func.func @net(%x: tensor<1x20x1x1xf32>) -> tensor<1x12x1x1xf32> {
  %w = df.param "w" : tensor<12x20x1x1xf32>
  %b = df.param "b" : tensor<12xf32>
  %c = df.conv2d %x, %w, %b strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1]
      : (tensor<1x20x1x1xf32>, tensor<12x20x1x1xf32>, tensor<12xf32>) -> tensor<1x12x1x1xf32>
  return %c : tensor<1x12x1x1xf32>
}
