// RUN: deepfuse compile %s --strategy naive --scratchpad 8KiB --emit affine | FileCheck %s

// At 8 KiB the 3x3 stride-2 conv is staged in steps of two output rows of
// 15 columns, 2 output channels and 8 input channels at a time; its tile
// kernel covers a row in one block of 2 vectors.
// CHECK-LABEL: func.func private @df_tile_0_conv2d(
// CHECK-SAME: memref<1x8x5x30xf32> {llvm.noalias}, %{{.*}}: memref<2x8x3x3xf32> {llvm.noalias}
// CHECK: %[[EVEN:.*]] = arith.constant dense<[true, false, true, false, true, false, true, false]> : vector<8xi1>

// The column blocks run outside the rows: a block's masks are computed
// once, before its rows. The last tap has no partner, so its loads read
// only the even elements.
// CHECK: affine.for %[[XB:.*]] = 0 to #{{.*}}()[%{{.*}}, %{{.*}}] {
// CHECK: arith.andi %{{.*}}, %[[EVEN]] : vector<8xi1>
// CHECK: affine.for %{{.*}} = %{{.*}} to %{{.*}} {

// The accumulators hold a vector's columns in the order in which one
// shuffle within each half keeps the even elements of two loads (output
// columns 0, 1, 4, 5, 2, 3, 6, 7): the partial sums are reordered when
// loaded and stored.
// CHECK: %[[PARTIAL:.*]] = vector.maskedload %{{.*}} : memref<1x16x2x15xf32>
// CHECK-NEXT: vector.shuffle %[[PARTIAL]], %[[PARTIAL]] [0, 1, 4, 5, 2, 3, 6, 7] : vector<8xf32>, vector<8xf32>
// CHECK: iter_args(
// CHECK: iter_args(

// Taps 0 and 1 share their loads (two per vector): tap 0 reads the even
// elements, tap 1 the odd ones.
// CHECK: %[[A:.*]] = vector.maskedload %arg0
// CHECK: %[[B:.*]] = vector.maskedload %arg0
// CHECK: %[[C:.*]] = vector.maskedload %arg0
// CHECK: %[[D:.*]] = vector.maskedload %arg0
// CHECK-NEXT: %[[E0:.*]] = vector.shuffle %[[A]], %[[B]] [0, 2, 8, 10, 4, 6, 12, 14]
// CHECK-NEXT: %[[E1:.*]] = vector.shuffle %[[C]], %[[D]] [0, 2, 8, 10, 4, 6, 12, 14]
// CHECK-NEXT: %[[O0:.*]] = vector.shuffle %[[A]], %[[B]] [1, 3, 9, 11, 5, 7, 13, 15]
// CHECK-NEXT: %[[O1:.*]] = vector.shuffle %[[C]], %[[D]] [1, 3, 9, 11, 5, 7, 13, 15]
// CHECK: memref.load %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}, %c0] : memref<2x8x3x3xf32>
// CHECK: vector.fma %{{.*}}, %[[E0]], %{{.*}} : vector<8xf32>
// CHECK-NEXT: vector.fma %{{.*}}, %[[E1]], %{{.*}} : vector<8xf32>
// CHECK: memref.load %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}, %c1] : memref<2x8x3x3xf32>
// CHECK: vector.fma %{{.*}}, %[[O0]], %{{.*}} : vector<8xf32>
// CHECK-NEXT: vector.fma %{{.*}}, %[[O1]], %{{.*}} : vector<8xf32>

// Tap 2 loads its own and keeps their even elements.
// CHECK-COUNT-4: vector.maskedload %arg0
// CHECK-NEXT: vector.shuffle %{{.*}}, %{{.*}} [0, 2, 8, 10, 4, 6, 12, 14]
// CHECK-NEXT: vector.shuffle %{{.*}}, %{{.*}} [0, 2, 8, 10, 4, 6, 12, 14]
// CHECK-NOT: [1, 3, 9, 11, 5, 7, 13, 15]
// CHECK: affine.yield

// The sums go back to the columns' order before they are stored.
// CHECK: %[[SUM:.*]] = vector.shuffle %{{.*}}, %{{.*}} [0, 1, 4, 5, 2, 3, 6, 7] : vector<8xf32>, vector<8xf32>
// CHECK: vector.maskedstore %{{.*}}, %{{.*}}, %[[SUM]] : memref<1x16x2x15xf32>
// CHECK-LABEL: func.func @deepfuse_forward(
func.func @net(%x: tensor<1x16x12x30xf32>) -> tensor<1x16x6x15xf32> {
  %w = df.param "w" : tensor<16x16x3x3xf32>
  %b = df.param "b" : tensor<16xf32>
  %c = df.conv2d %x, %w, %b strides [2, 2] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x16x12x30xf32>, tensor<16x16x3x3xf32>, tensor<16xf32>) -> tensor<1x16x6x15xf32>
  return %c : tensor<1x16x6x15xf32>
}
