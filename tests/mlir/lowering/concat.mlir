// RUN: deepfuse compile %s --scratchpad 16KiB --strategy naive --emit affine | FileCheck %s --check-prefix=NAIVE
// RUN: deepfuse compile %s --scratchpad 16KiB --strategy dp --emit affine | FileCheck %s --check-prefix=DP

// A channel concat's streamed inputs are loaded straight into its output
// window, at their channels there: the cost model streams them through
// 8-channel buffers, so buffers of their own (as large as the output)
// would not fit 16 KiB.
//
// Naive: the concat's region has three row tiles' worth of steps and no
// kernel. Its output window is 56 channels x 3 rows x 16 columns (planes
// of 192 bytes); %x goes to channel 0, the relu's result (read back from
// off-chip) to channel 24 (byte 4608), %y to channel 40 (byte 7680).
// NAIVE-NOT: df_tile_{{[0-9]+}}_concat
// NAIVE-LABEL: func.func @deepfuse_forward(
// NAIVE: affine.for %{{.*}} = 0 to 6 {
// NAIVE-NEXT: %[[X:.*]] = arith.addi %[[ARENA:.*]], %c0_i64 : i64
// NAIVE: func.call @deepfuse_rt_dma(%c0_i64, %c1_i64, %[[X]], %{{.*}}, %c24_i64, %{{.*}}, %c64_i64, %c192_i64, %c64_i64, %c1024_i64, %c64_i64)
// NAIVE-NEXT: %[[R:.*]] = arith.addi %[[ARENA]], %c4608_i64 : i64
// NAIVE: func.call @deepfuse_rt_dma(%c0_i64, %c1_i64, %[[R]], %{{.*}}, %c16_i64, %{{.*}}, %c64_i64, %c192_i64, %c64_i64, %c1024_i64, %c64_i64)
// NAIVE-NEXT: %[[Y:.*]] = arith.addi %[[ARENA]], %c7680_i64 : i64
// NAIVE: func.call @deepfuse_rt_dma(%c0_i64, %c1_i64, %[[Y]], %{{.*}}, %c16_i64, %{{.*}}, %c64_i64, %c192_i64, %c64_i64, %c1024_i64, %c64_i64)
// Then the 56 channels are stored (kind 2).
// NAIVE-NEXT: memref.load
// NAIVE: func.call @deepfuse_rt_dma(%c2_i64, %c1_i64, %{{.*}}, %{{.*}}, %c56_i64,
// NAIVE-NEXT: }

// DP, one region in 8 steps of 2 rows: %x is loaded into the output window
// (planes of 128 bytes), while %y, read by the relu too, has a window of
// its own; the kernel copies the relu's result to channels [24, 40) and
// %y's window to [40, 56), and nothing for %x.
// DP-LABEL: func.func private @df_tile_1_concat(
// DP-SAME: %arg0: memref<1x16x2x16xf32> {llvm.noalias}, %arg1: memref<1x16x2x16xf32> {llvm.noalias}, %arg2: memref<1x56x2x16xf32> {llvm.noalias}
// DP: affine.load %arg0[%{{.*}}, %{{.*}} - %{{.*}} - 24, %{{.*}}, %{{.*}}]
// DP: affine.load %arg1[%{{.*}}, %{{.*}} - %{{.*}} - 40, %{{.*}}, %{{.*}}]
// DP-NOT: affine.load
// DP: return
// DP-LABEL: func.func @deepfuse_forward(
// DP: affine.for %{{.*}} = 0 to 8 {
// DP: call @df_tile_0_activation(
// DP: func.call @deepfuse_rt_dma(%c0_i64, %c0_i64, %{{.*}}, %{{.*}}, %c24_i64, %c2_i64, %c64_i64, %c128_i64, %c64_i64, %c1024_i64, %c64_i64)
// DP: call @df_tile_1_concat(
// DP: func.call @deepfuse_rt_dma(%c2_i64, %c0_i64, %{{.*}}, %{{.*}}, %c56_i64,
func.func @net(%x: tensor<1x24x16x16xf32>, %y: tensor<1x16x16x16xf32>) -> tensor<1x56x16x16xf32> {
  %r = df.activation relu %y : tensor<1x16x16x16xf32>
  %c = df.concat %x, %r, %y axis 1 : (tensor<1x24x16x16xf32>, tensor<1x16x16x16xf32>, tensor<1x16x16x16xf32>) -> tensor<1x56x16x16xf32>
  return %c : tensor<1x56x16x16xf32>
}
