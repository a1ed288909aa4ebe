// RUN: deepfuse compile %s --no-staging --emit affine --vector-registers 16 | FileCheck %s
// RUN: deepfuse compile %s --no-staging --emit affine --vector-registers 16 | FileCheck %s --check-prefix=NOSHUFFLE

// A 3x3 conv of stride 2 and padding 1 on 7 rows of 20 columns, as a sum
// of products on the padded input's four phases (its even and odd rows and
// columns): each phase is 5 rows of 11 columns, phase (ry, rx) at rows (ry
// * 2 + rx) * 5 of one buffer, so that padded input (y, x) is phase row
// ((y mod 2) * 2 + x mod 2) * 5 + y floordiv 2, column x floordiv 2. The
// output is computed on a grid of 4 rows of 11 (the last column of a row
// is not a pixel): output column y * 11 + x at tap (ky, kx) reads phase
// (ky mod 2, kx mod 2) at its row y + ky floordiv 2 and column x + kx
// floordiv 2, a constant shift of the merged row: no load keeps every
// other lane (the blocked kernel's shuffles). The grid's 43 columns are
// one block of 24 and one masked block.
// CHECK-LABEL: func.func private @df_kernel_0_conv2d(
// CHECK: %[[PHASES:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x2x20x11xf32>
// CHECK: affine.store %{{.*}}, %[[PHASES]][%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}] : memref<1x2x20x11xf32>
// CHECK: affine.for %[[Y:.*]] = 0 to 7 {
// CHECK-NEXT: affine.for %[[X:.*]] = 0 to 20 {
// CHECK-NEXT: %[[V:.*]] = affine.load
// CHECK-NEXT: affine.store %[[V]], %[[PHASES]][%{{.*}}, %{{.*}}, (((%[[Y]] + 1) mod 2) * 2 + (%[[X]] + 1) mod 2) * 5 + (%[[Y]] + 1) floordiv 2, (%[[X]] + 1) floordiv 2] : memref<1x2x20x11xf32>
// CHECK: %[[GRID:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x8x4x11xf32>
// CHECK: %[[IN:.*]] = memref.collapse_shape %[[PHASES]] {{\[\[}}0], [1], [2, 3]] : memref<1x2x20x11xf32> into memref<1x2x220xf32>
// CHECK: %[[OUT:.*]] = memref.collapse_shape %[[GRID]] {{\[\[}}0], [1], [2, 3]] : memref<1x8x4x11xf32> into memref<1x8x44xf32>
// CHECK: affine.for %[[KY:.*]] = 0 to 3 iter_args(
// CHECK-NEXT: affine.for %[[KX:.*]] = 0 to 3 iter_args(
// CHECK-NEXT: affine.vector_load %[[IN]][%{{.*}}, %{{.*}}, %{{.*}} + (%[[KY]] mod 2) * 110 + (%[[KY]] floordiv 2) * 11 + (%[[KX]] mod 2) * 55 + %[[KX]] floordiv 2] : memref<1x2x220xf32>, vector<8xf32>
// CHECK-NEXT: affine.vector_load %[[IN]][{{.*}} + 8] : memref<1x2x220xf32>, vector<8xf32>
// CHECK-NEXT: affine.vector_load %[[IN]][{{.*}} + 16] : memref<1x2x220xf32>, vector<8xf32>
// CHECK-COUNT-12: vector.fma
// CHECK: vector.store %{{.*}}, %[[OUT]]
// The last block, masked.
// CHECK: vector.maskedload %[[IN]]
// The grid's pixels copied out.
// CHECK: affine.for %{{.*}} = 0 to 10 {
// CHECK-NEXT: affine.load %[[GRID]]
// CHECK-NEXT: affine.store %{{.*}}, %{{.*}} : memref<1x8x4x10xf32>
// CHECK-LABEL: func.func @deepfuse_init
// NOSHUFFLE-NOT: vector.shuffle
func.func @net(%x: tensor<1x2x7x20xf32>) -> tensor<1x8x4x10xf32> {
  %w = df.param "w" : tensor<8x2x3x3xf32>
  %b = df.param "b" : tensor<8xf32>
  %c = df.conv2d %x, %w, %b strides [2, 2] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x2x7x20xf32>, tensor<8x2x3x3xf32>, tensor<8xf32>) -> tensor<1x8x4x10xf32>
  return %c : tensor<1x8x4x10xf32>
}
