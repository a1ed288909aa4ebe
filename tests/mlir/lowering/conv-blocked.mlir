// RUN: deepfuse compile %s --no-staging --emit affine | FileCheck %s

// A 3x3 conv with padding 1 on rows of 20 columns: 4 output channels in
// registers, three vectors per row. The first (columns 0-7) loads tap 0
// without lane 0, which would read the left padding; the middle one
// (columns 4-11, overlapping the first) reads inside the row with plain
// loads in a loop over the taps; the last (12-19) loads tap 2 without lane
// 7. Every vector is stored once, after the reduction over input channels
// and taps.
// CHECK-LABEL: func.func private @df_kernel_0_conv2d(
// CHECK-DAG: %[[LEFT:.*]] = arith.constant dense<[false, true, true, true, true, true, true, true]> : vector<8xi1>
// CHECK-DAG: %[[RIGHT:.*]] = arith.constant dense<[true, true, true, true, true, true, true, false]> : vector<8xi1>
// CHECK: affine.for %[[Y:.*]] = 0 to 7 {
// CHECK: %[[FIRST:.*]]:4 = affine.for %{{.*}} = 0 to 2 iter_args(
// CHECK: affine.for %{{.*}} = max #{{.*}}(%[[Y]]) to min #{{.*}}(%[[Y]]) iter_args(
// CHECK: vector.maskedload %{{.*}}, %[[LEFT]], %{{.*}} : memref<1x2x7x20xf32>, vector<8xi1>, vector<8xf32> into vector<8xf32>
// CHECK-COUNT-4: vector.fma
// CHECK: affine.vector_load %{{.*}} : memref<1x2x7x20xf32>, vector<8xf32>
// CHECK-COUNT-4: vector.fma
// CHECK: affine.vector_store %[[FIRST]]#0, %{{.*}}[%{{.*}}, %{{.*}}, %[[Y]], 0]
// CHECK: %[[MIDDLE:.*]]:4 = affine.for
// CHECK: affine.for %[[KX:.*]] = 0 to 3 iter_args(
// CHECK-NEXT: affine.vector_load %{{.*}}[%{{.*}}, {{.*}}, %[[Y]] + %{{.*}} - 1, %[[KX]] + 3] : memref<1x2x7x20xf32>, vector<8xf32>
// CHECK: affine.vector_store %[[MIDDLE]]#3, %{{.*}}[%{{.*}}, %{{.*}}, %[[Y]], 4]
// CHECK: vector.maskedload %{{.*}}, %[[RIGHT]], %{{.*}}
// CHECK: affine.vector_store %{{.*}}#3, %{{.*}}[%{{.*}}, %{{.*}}, %[[Y]], 12]

// A 1x1 conv without padding is a product of matrices: its 7 rows of 20
// are one row of 140, covered by a vector, a loop of 7 pairs (8-119), and
// vectors at 120 and 132.
// CHECK-LABEL: func.func private @df_kernel_1_conv2d(
// CHECK: memref.collapse_shape %{{.*}} {{\[\[}}0], [1], [2, 3]] : memref<1x4x7x20xf32> into memref<1x4x140xf32>
// CHECK: affine.vector_store %{{.*}}#3, %{{.*}}[%{{.*}}, %{{.*}}, 0] : memref<1x8x140xf32>
// CHECK: affine.for %[[P:.*]] = 0 to 7 {
// CHECK: affine.vector_load %{{.*}}[%{{.*}}, {{.*}}, %[[P]] * 16 + 16] : memref<1x4x140xf32>
// CHECK: affine.vector_store %{{.*}}#7, %{{.*}}[%{{.*}}, %{{.*}}, %[[P]] * 16 + 16] : memref<1x8x140xf32>
// CHECK: affine.vector_store %{{.*}}#3, %{{.*}}[%{{.*}}, %{{.*}}, 120] : memref<1x8x140xf32>
// CHECK: affine.vector_store %{{.*}}#3, %{{.*}}[%{{.*}}, %{{.*}}, 132] : memref<1x8x140xf32>
// CHECK-NOT: maskedload
// CHECK-LABEL: func.func @deepfuse_init
func.func @net(%x: tensor<1x2x7x20xf32>) -> tensor<1x8x7x20xf32> {
  %w = df.param "w" : tensor<4x2x3x3xf32>
  %b = df.param "b" : tensor<4xf32>
  %c = df.conv2d %x, %w, %b strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x2x7x20xf32>, tensor<4x2x3x3xf32>, tensor<4xf32>) -> tensor<1x4x7x20xf32>
  %v = df.param "v" : tensor<8x4x1x1xf32>
  %d = df.conv2d %c, %v strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1]
      : (tensor<1x4x7x20xf32>, tensor<8x4x1x1xf32>) -> tensor<1x8x7x20xf32>
  return %d : tensor<1x8x7x20xf32>
}
