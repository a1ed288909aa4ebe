// RUN: deepfuse compile %s --no-staging --emit affine --vector-registers 16 | FileCheck %s

// The register-blocked kernel on what the products (product.mlir) leave
// to it: a grouped 3x3 conv of stride 2 and padding 1 (2 groups of 8 input
// channels), 20 input columns to 10 output columns. 8 output channels in
// registers, summed over their group's input channels, two vectors per row: the
// first (columns 0-7) and the last, shifted left to end at the row's end
// (2-9, overlapping the first). An output vector reads 16 input columns as
// two loads and keeps the even lanes. The first vector's tap 0 loads
// without lane 0 (input column -1, the left padding); the last one's tap 2
// loads its second half without lane 7 (input column 20, the right
// padding). Every vector is stored once, after the reduction over input
// channels and taps.
// CHECK-LABEL: func.func private @df_kernel_0_conv2d(
// CHECK-DAG: %[[LEFT:.*]] = arith.constant dense<[false, true, true, true, true, true, true, true]> : vector<8xi1>
// CHECK-DAG: %[[RIGHT:.*]] = arith.constant dense<[true, true, true, true, true, true, true, false]> : vector<8xi1>
// CHECK: affine.for %[[Y:.*]] = 0 to 3 {
// CHECK: %[[FIRST:.*]]:8 = affine.for %{{.*}} = 0 to 8 iter_args(
// CHECK: affine.for %{{.*}} = max #{{.*}}(%[[Y]]) to min #{{.*}}(%[[Y]]) iter_args(
// CHECK: %[[LOW:.*]] = vector.maskedload %{{.*}}, %[[LEFT]], %{{.*}} : memref<1x16x6x20xf32>, vector<8xi1>, vector<8xf32> into vector<8xf32>
// CHECK-NEXT: %[[HIGH:.*]] = affine.vector_load %{{.*}}[{{.*}}, %[[Y]] * 2 + %{{.*}} - 1, 7] : memref<1x16x6x20xf32>, vector<8xf32>
// CHECK-NEXT: vector.shuffle %[[LOW]], %[[HIGH]] [0, 2, 4, 6, 8, 10, 12, 14] : vector<8xf32>, vector<8xf32>
// CHECK-COUNT-8: vector.fma
// CHECK: affine.vector_store %[[FIRST]]#0, %{{.*}}[%{{.*}}, %{{.*}}, %[[Y]], 0] : memref<1x32x3x10xf32>, vector<8xf32>
// CHECK: %[[LAST:.*]]:8 = affine.for %{{.*}} = 0 to 8 iter_args(
// CHECK: vector.maskedload %{{.*}}, %[[RIGHT]], %{{.*}} : memref<1x16x6x20xf32>
// CHECK: affine.vector_store %[[LAST]]#7, %{{.*}}[%{{.*}}, %{{.*}}, %[[Y]], 2] : memref<1x32x3x10xf32>, vector<8xf32>
// CHECK-LABEL: func.func @deepfuse_init
func.func @net(%x: tensor<1x16x6x20xf32>) -> tensor<1x32x3x10xf32> {
  %w = df.param "w" : tensor<32x8x3x3xf32>
  %c = df.conv2d %x, %w strides [2, 2] pads [1, 1, 1, 1] dilations [1, 1] {groups = 2 : i64}
      : (tensor<1x16x6x20xf32>, tensor<32x8x3x3xf32>) -> tensor<1x32x3x10xf32>
  return %c : tensor<1x32x3x10xf32>
}
