// RUN: deepfuse compile %s --strategy naive --scratchpad 24KiB --emit affine | FileCheck %s

// At 24 KiB each conv streams its input in chunks of 16 channels (40 in
// 16, 16 and 8; 24 in 16 and 8) and loads its filter per chunk and pair
// of output channels. The init function copies both filters into
// chunk-major order: each chunk's 24 output channels one after the other,
// the full chunks in one nest, the last, narrower chunk in another.
// CHECK-LABEL: func.func @deepfuse_init(
// CHECK: %[[W:.*]] = memref.view %arg0[%{{.*}}][] : memref<{{[0-9]+}}xi8> to memref<24x40x9xf32>
// CHECK: %[[P:.*]] = memref.view %arg0[%{{.*}}][] : memref<{{[0-9]+}}xi8> to memref<8640xf32>
// CHECK: affine.for %[[K:.*]] = 0 to 24 {
// CHECK-NEXT: affine.for %[[C:.*]] = 0 to 32 {
// CHECK-NEXT: affine.for %[[T:.*]] = 0 to 9 {
// CHECK-NEXT: %[[X:.*]] = affine.load %[[W]][%[[K]], %[[C]], %[[T]]] : memref<24x40x9xf32>
// CHECK-NEXT: affine.store %[[X]], %[[P]][((%[[C]] floordiv 16) * 384 + %[[K]] * 16 + %[[C]] mod 16) * 9 + %[[T]]] : memref<8640xf32>
// CHECK: affine.for %[[K2:.*]] = 0 to 24 {
// CHECK-NEXT: affine.for %[[C2:.*]] = 32 to 40 {
// CHECK-NEXT: affine.for %[[T2:.*]] = 0 to 9 {
// CHECK-NEXT: %[[Y:.*]] = affine.load %[[W]][%[[K2]], %[[C2]], %[[T2]]] : memref<24x40x9xf32>
// CHECK-NEXT: affine.store %[[Y]], %[[P]][(%[[K2]] * 8 + %[[C2]] + 736) * 9 + %[[T2]]] : memref<8640xf32>
// CHECK: memref<24x24x1xf32>
// CHECK: affine.store %{{.*}}[(%{{.*}} floordiv 16) * 384 + %{{.*}} * 16 + %{{.*}} mod 16 + %{{.*}}] : memref<576xf32>

// A chunk's slice for output channels [k, k + 2) starts at channel
// start * 24 + k * count of the copy (36 bytes a channel), and its two
// rows of count channels are back to back: the source's row stride is
// the row's bytes, so the DMA is one copy. The arena buffer holds 16
// channels a row.
// CHECK-LABEL: func.func @deepfuse_forward(
// CHECK: %[[BEFORE:.*]] = arith.muli %{{.*}}, %c24 : index
// CHECK: %[[FIRST:.*]] = arith.addi %{{.*}}, %{{.*}} : i64
// CHECK-NEXT: %[[OFFSET:.*]] = arith.muli %[[FIRST]], %c36_i64 : i64
// CHECK: %[[ROW:.*]] = arith.muli %{{.*}}, %c36_i64 : i64
// CHECK: func.call @deepfuse_rt_dma(%c1_i64, %c0_i64, %{{.*}}, %{{.*}}, %c1_i64, %c2_i64, %[[ROW]], %c0_i64, %c576_i64, %c0_i64, %[[ROW]])
func.func @net(%x: tensor<1x40x12x12xf32>) -> tensor<1x24x12x12xf32> {
  %w = df.param "w" : tensor<24x40x3x3xf32>
  %b = df.param "b" : tensor<24xf32>
  %c = df.conv2d %x, %w, %b strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x40x12x12xf32>, tensor<24x40x3x3xf32>, tensor<24xf32>) -> tensor<1x24x12x12xf32>
  %r = df.activation relu %c : tensor<1x24x12x12xf32>
  %v = df.param "v" : tensor<24x24x1x1xf32>
  %d = df.conv2d %r, %v strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1]
      : (tensor<1x24x12x12xf32>, tensor<24x24x1x1xf32>) -> tensor<1x24x12x12xf32>
  return %d : tensor<1x24x12x12xf32>
}
