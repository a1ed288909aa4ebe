// RUN: deepfuse compile %s --no-staging --emit affine --vector-registers 16 | FileCheck %s
// RUN: deepfuse compile %s --no-staging --emit affine --vector-registers 32 | FileCheck %s --check-prefix=WIDE

// A 3x3 conv with padding 1 on 7 rows of 20 columns, as a sum of shifted
// products: the input is copied into a 9x22 buffer with its padding
// written out as zeros, the output is computed on a grid of 7 rows of 22
// (the last two columns of a row are not pixels), so that output column
// y * 22 + x at tap (ky, kx) reads input column y * 22 + x + ky * 22 + kx.
// The grid's 152 columns (6 rows of 22 and 20) are 6 blocks of 24 with 4
// output channels x 3 vectors in 12 accumulators, then one masked block.
// CHECK-LABEL: func.func private @df_kernel_0_conv2d(
// CHECK: %[[PADDED:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x2x9x22xf32>
// CHECK: affine.store %{{.*}}, %[[PADDED]][%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}] : memref<1x2x9x22xf32>
// CHECK: affine.store %{{.*}}, %[[PADDED]][%{{.*}}, %{{.*}}, %{{.*}} + 1, %{{.*}} + 1] : memref<1x2x9x22xf32>
// CHECK: %[[GRID:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x4x7x22xf32>
// CHECK: %[[IN:.*]] = memref.collapse_shape %[[PADDED]] {{\[\[}}0], [1], [2, 3]] : memref<1x2x9x22xf32> into memref<1x2x198xf32>
// CHECK: %[[OUT:.*]] = memref.collapse_shape %[[GRID]] {{\[\[}}0], [1], [2, 3]] : memref<1x4x7x22xf32> into memref<1x4x154xf32>
// CHECK: affine.for %{{.*}} = 0 to #{{.*}}()[%{{.*}}, %[[END:c152]]] {
// Blocks of 4 output channels; in the last block, the channels past the
// end would repeat the last one (here there are none).
// CHECK: affine.for %[[KB:.*]] = 0 to #{{.*}}()[%{{.*}}, %{{.*}}] {
// CHECK-NEXT: %[[K0:.*]] = affine.min #{{.*}}(%[[KB]])[%{{.*}}, %{{.*}}]
// CHECK-COUNT-3: affine.min #{{.*}}(%[[KB]])
// CHECK: %{{.*}}:12 = affine.for %[[C:.*]] = %{{.*}} to %{{.*}} iter_args(
// CHECK: affine.for %[[KY:.*]] = 0 to 3 iter_args(
// CHECK: affine.for %[[KX:.*]] = 0 to 3 iter_args(
// CHECK-NEXT: affine.vector_load %[[IN]][%{{.*}}, %[[C]], %[[X:.*]] + %[[KY]] * 22 + %[[KX]]] : memref<1x2x198xf32>, vector<8xf32>
// CHECK-NEXT: affine.vector_load %[[IN]][%{{.*}}, %[[C]], %[[X]] + %[[KY]] * 22 + %[[KX]] + 8] : memref<1x2x198xf32>, vector<8xf32>
// CHECK-NEXT: affine.vector_load %[[IN]][%{{.*}}, %[[C]], %[[X]] + %[[KY]] * 22 + %[[KX]] + 16] : memref<1x2x198xf32>, vector<8xf32>
// CHECK-NEXT: memref.load %{{.*}}[%[[K0]], %[[C]], %[[KY]], %[[KX]]] : memref<4x2x3x3xf32>
// CHECK-NEXT: vector.broadcast
// CHECK-COUNT-12: vector.fma
// CHECK: vector.store %{{.*}}#11, %[[OUT]][%{{.*}}, %{{.*}}, %{{.*}}] : memref<1x4x154xf32>, vector<8xf32>
// The last block: lanes before column 152 only.
// CHECK: affine.for %{{.*}} = 0 to #{{.*}}()[%{{.*}}, %[[END]]] {
// CHECK: %[[MASK:.*]] = vector.create_mask %{{.*}} : vector<8xi1>
// CHECK: vector.maskedload %[[IN]][{{.*}}], %[[MASK]], %{{.*}} : memref<1x2x198xf32>
// CHECK: vector.maskedstore %[[OUT]][{{.*}}], %[[MASK]], %{{.*}} : memref<1x4x154xf32>
// The grid's pixels are copied out, and the buffers freed.
// CHECK: affine.load %[[GRID]][%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}] : memref<1x4x7x22xf32>
// CHECK: memref.dealloc %[[PADDED]] : memref<1x2x9x22xf32>
// CHECK: memref.dealloc %[[GRID]] : memref<1x4x7x22xf32>

// A 1x1 conv without padding is one product: its 7 rows of 20 are one row
// of 140 in place, 5 blocks of 24 and a masked one of 20 columns, with no
// copies.
// CHECK-LABEL: func.func private @df_kernel_1_conv2d(
// CHECK-NOT: memref.alloc
// CHECK: %[[IN1:.*]] = memref.collapse_shape %{{.*}} {{\[\[}}0], [1], [2, 3]] : memref<1x4x7x20xf32> into memref<1x4x140xf32>
// CHECK: affine.for %{{.*}} = 0 to #{{.*}}()[%{{.*}}, %c140] {
// One tap: no tap loops, no shift.
// CHECK: affine.vector_load %[[IN1]][%{{.*}}, %{{.*}}, %[[X1:.*]] + 16] : memref<1x4x140xf32>, vector<8xf32>
// CHECK: vector.create_mask
// CHECK-NOT: memref.dealloc
// CHECK-LABEL: func.func @deepfuse_init

// With AVX-512's 32 vector registers, blocks of output channels hold 8
// (24 accumulators) where there are 8 channels, and stay at 4 for the
// 4-channel 3x3 conv rather than compute 4 channels twice.
// WIDE-LABEL: func.func private @df_kernel_0_conv2d(
// WIDE: %{{.*}}:12 = affine.for
// WIDE-LABEL: func.func private @df_kernel_1_conv2d(
// WIDE-COUNT-8: affine.min
// WIDE: %{{.*}}:24 = affine.for %{{.*}} = %{{.*}} to %{{.*}} iter_args(
// WIDE-COUNT-3: affine.vector_load
// WIDE-NEXT: memref.load %{{.*}} : memref<8x4x1x1xf32>
// WIDE-NEXT: vector.broadcast
// WIDE-COUNT-3: vector.fma
// WIDE-COUNT-24: vector.store
// WIDE-LABEL: func.func @deepfuse_init
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
