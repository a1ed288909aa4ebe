// RUN: deepfuse compile %s --strategy naive --scratchpad 4KiB --emit affine | FileCheck %s

// At 4 KiB the 1x1 conv is staged in steps of one row of 10 columns, its
// 16 input channels streamed in one chunk (the arena has room for wider
// chunks than the cost model's 8): a bias part (here zero), then per chunk
// an accumulating tile kernel. Its output channels go in register
// blocks of 4 (the resident filter holds all 32), then one at a time for
// what is left of the frame. Which columns of a step lie inside the frame,
// and which read inside the input row, depends on the step, so the masks
// are computed at run time, once per block of 2 vectors (the window's 10
// columns), outside the reduction.
// CHECK-LABEL: func.func private @df_tile_1_conv2d(
// CHECK-SAME: memref<1x16x1x10xf32> {llvm.noalias}, %{{.*}}: memref<32x16x1x1xf32> {llvm.noalias}, %{{.*}}: memref<1x32x1x10xf32> {llvm.noalias}
// CHECK-DAG: %[[LANES0:.*]] = arith.constant dense<[0, 1, 2, 3, 4, 5, 6, 7]> : vector<8xi32>
// CHECK-DAG: %[[WIDTH:.*]] = arith.constant dense<20> : vector<8xi32>
// CHECK: affine.for %[[KB:.*]] = 0 to #{{.*}}()[%[[K0:.*]], %[[K1:.*]]] {
// CHECK-COUNT-4: affine.apply #{{.*}}(%[[KB]])[%[[K0]]]
// CHECK: affine.for %[[BLOCK:.*]] = 0 to #{{.*}}()[%[[W0:.*]], %[[W1:.*]]] {
// CHECK-NEXT: %[[X0:.*]] = affine.apply #{{.*}}(%[[BLOCK]])[%[[W0]]]
// CHECK: %[[COLUMNS:.*]] = arith.addi %{{.*}}, %[[LANES0]] : vector<8xi32>
// CHECK-NEXT: %[[IN_FRAME:.*]] = arith.cmpi slt, %[[COLUMNS]], %{{.*}} : vector<8xi32>
// CHECK: arith.cmpi slt, %{{.*}}, %[[WIDTH]] : vector<8xi32>
// The partial sums of earlier chunks are the accumulators' start: 4
// channels x 2 vectors.
// CHECK: vector.maskedload %{{.*}}, %[[IN_FRAME]], %{{.*}} : memref<1x32x1x10xf32>, vector<8xi1>, vector<8xf32> into vector<8xf32>
// CHECK-COUNT-7: vector.maskedload %{{.*}} : memref<1x32x1x10xf32>
// CHECK: %{{.*}}:8 = affine.for %{{.*}} = %{{.*}} to %{{.*}} iter_args(
// Each input vector is loaded once for the 4 channels.
// CHECK-COUNT-2: vector.maskedload %{{.*}} : memref<1x16x1x10xf32>, vector<8xi1>, vector<8xf32> into vector<8xf32>
// CHECK-NEXT: affine.load %{{.*}} : memref<32x16x1x1xf32>
// CHECK-NEXT: vector.broadcast
// CHECK-NEXT: vector.fma
// CHECK-NEXT: vector.fma
// CHECK: vector.maskedstore %{{.*}}, %[[IN_FRAME]], %{{.*}} : memref<1x32x1x10xf32>, vector<8xi1>, vector<8xf32>
// CHECK-COUNT-7: vector.maskedstore %{{.*}} : memref<1x32x1x10xf32>
// The channels left over, one at a time.
// CHECK: affine.for %[[K:.*]] = #{{.*}}()[%[[K0]], %[[K1]]] to %[[K1]] {
// CHECK: %{{.*}}:2 = affine.for %{{.*}} iter_args(
// The bias part keeps the plain loop nest.
// CHECK-LABEL: func.func private @df_tile_2_conv2d(
// CHECK: affine.store %{{.*}} : memref<1x32x1x10xf32>
// CHECK-LABEL: func.func @deepfuse_forward(
// CHECK: call @df_tile_2_conv2d(
// CHECK: call @df_tile_1_conv2d(
func.func @net(%x: tensor<1x16x6x20xf32>) -> tensor<1x32x6x20xf32> {
  %w = df.param "w" : tensor<16x16x3x3xf32>
  %b = df.param "b" : tensor<16xf32>
  %c = df.conv2d %x, %w, %b strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x16x6x20xf32>, tensor<16x16x3x3xf32>, tensor<16xf32>) -> tensor<1x16x6x20xf32>
  %v = df.param "v" : tensor<32x16x1x1xf32>
  %d = df.conv2d %c, %v strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1]
      : (tensor<1x16x6x20xf32>, tensor<32x16x1x1xf32>) -> tensor<1x32x6x20xf32>
  return %d : tensor<1x32x6x20xf32>
}
