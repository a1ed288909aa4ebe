// RUN: deepfuse compile %s --strategy naive --scratchpad 24KiB --emit affine | FileCheck %s

// At 24 KiB each conv streams its input in chunks of 16 channels (40 in
// 16, 16 and 8; 24 in 16 and 8) and loads its filter per chunk and pair
// of output channels. The init function copies both filters into
// chunk-major order, each chunk's 24 output channels one after the other,
// by calls of one packing kernel (the parameter buffer, the filter's and
// the copy's byte offsets, K, C, taps per channel, chunk width). Channel c
// of output channel k goes to row c0 * K + k * w + c - c0 of the copy,
// where c0 is its chunk's first channel and w the chunk's width (8 for the
// last chunk of 40).
// CHECK-LABEL: func.func private @df_kernel_{{[0-9]+}}_pack(%arg0: memref<{{[0-9]+}}xi8>, %arg1: index, %arg2: index, %arg3: index, %arg4: index, %arg5: index, %arg6: index)
// CHECK: %[[ROWS:.*]] = arith.muli %arg3, %arg4 : index
// CHECK-NEXT: %[[N:.*]] = arith.muli %[[ROWS]], %arg5 : index
// CHECK-NEXT: %[[FILTER:.*]] = memref.view %arg0[%arg1][%[[N]]] : memref<{{[0-9]+}}xi8> to memref<?xf32>
// CHECK-NEXT: %[[COPY:.*]] = memref.view %arg0[%arg2][%[[N]]] : memref<{{[0-9]+}}xi8> to memref<?xf32>
// CHECK: scf.for %[[K:.*]] = %c0 to %arg3 step %c1 {
// CHECK-NEXT: scf.for %[[C:.*]] = %c0 to %arg4 step %c1 {
// CHECK-NEXT: %[[J:.*]] = arith.divui %[[C]], %arg6 : index
// CHECK-NEXT: %[[C0:.*]] = arith.muli %[[J]], %arg6 : index
// CHECK-NEXT: %[[LEFT:.*]] = arith.subi %arg4, %[[C0]] : index
// CHECK-NEXT: %[[W:.*]] = arith.minui %[[LEFT]], %arg6 : index
// CHECK-NEXT: %[[BEFORE:.*]] = arith.muli %[[C0]], %arg3 : index
// CHECK-NEXT: %[[WITHIN:.*]] = arith.muli %[[K]], %[[W]] : index
// CHECK-NEXT: %[[IN:.*]] = arith.subi %[[C]], %[[C0]] : index
// CHECK-NEXT: %[[R0:.*]] = arith.addi %[[BEFORE]], %[[WITHIN]] : index
// CHECK-NEXT: %[[ROW:.*]] = arith.addi %[[R0]], %[[IN]] : index
// CHECK-NEXT: %[[TO:.*]] = arith.muli %[[ROW]], %arg5 : index
// CHECK: scf.for %[[T:.*]] = %c0 to %arg5 step %c1 {
// CHECK: %[[X:.*]] = memref.load %[[FILTER]][%{{.*}}] : memref<?xf32>
// CHECK-NEXT: %[[AT:.*]] = arith.addi %[[TO]], %[[T]] : index
// CHECK-NEXT: memref.store %[[X]], %[[COPY]][%[[AT]]] : memref<?xf32>
// CHECK-LABEL: func.func @deepfuse_init(
// CHECK: call @[[PACK:df_kernel_[0-9]+_pack]](%arg0, %c{{[0-9]+}}, %c{{[0-9]+}}, %c24, %c40, %c9, %c16)
// CHECK-NEXT: call @[[PACK]](%arg0, %c{{[0-9]+}}, %c{{[0-9]+}}, %c24, %c24, %c1, %c16)

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
