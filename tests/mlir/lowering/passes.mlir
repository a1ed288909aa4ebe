// The lowering as deepfuse-opt passes: df-lower-to-affine replaces the
// scheduled df function by the init and forward functions, and the
// df-lower-to-llvm pipeline takes them to the LLVM dialect.
// RUN: deepfuse-opt %s --df-canonicalize --df-form-fusion-regions="scratchpad=1KiB strategy=layer" --df-lower-to-affine | FileCheck %s
// RUN: deepfuse-opt %s --df-canonicalize --df-form-fusion-regions="scratchpad=1KiB strategy=layer" --df-lower-to-affine="scratchpad=4KiB" | FileCheck %s --check-prefix=ARENA
// RUN: deepfuse-opt %s --df-canonicalize --df-form-fusion-regions="scratchpad=1KiB strategy=layer" --df-lower-to-affine="staging=false" | FileCheck %s --check-prefix=UNSTAGED
// The LLVM dialect is checked, not pinned by a snapshot: it is upstream's.
// RUN: deepfuse-opt %s --pass-pipeline="builtin.module(df-canonicalize, df-form-fusion-regions{scratchpad=1KiB strategy=layer}, df-lower-to-affine, df-lower-to-llvm)" -o %t.llvm.mlir
// RUN: FileCheck %s --check-prefix=LLVM --input-file %t.llvm.mlir

// Parameters: w (288 bytes) at 0, b at 320 (64-byte aligned): 384 bytes.
// Activations: the input (512 bytes) and the relu output (1024); the conv
// output lives in the arena only (both regions are staged), and the pool's
// output reuses the input's buffer: 1536 bytes. The arena is the 1 KiB the
// regions were scheduled for.
// CHECK-NOT: df.
// CHECK: func.func private @deepfuse_rt_dma(
// The conv + relu region runs in four bands of two rows and keeps the input
// rows that its 3x3 halo shares between bands (a cached overlap): at the
// second band, the 2 channels x 2 rows of 32 bytes at window row 1 (arena
// byte 32) move up to row 0 (byte 0, the same at every step, so not in
// the table).
// CHECK: memref.global "private" constant @df_region_0_steps : memref<4x20xi64> = dense<{{\[\[}}0, 0, 0, 0, 0, 0, 0, 0, 0, {{.*}}], [32, 2, 2, 32, 128, 32, 128, 32,
// CHECK: memref.global "private" constant @df_region_1_steps : memref<2x6xi64>
// CHECK: func.func @deepfuse_init(%{{.*}}: memref<384xi8>)
// CHECK-LABEL: func.func @deepfuse_forward(%{{.*}}: memref<1536xi8>, %{{.*}}: memref<384xi8>, %{{.*}}: memref<1024xi8>)
// Each band first shifts the kept rows (kind 3, an on-chip move that
// counts no traffic), then loads the rows the band before did not (kind
// 0), computes and stores its two rows (kind 2). The pool's region: two
// steps, each loading a window and storing a piece.
// CHECK: affine.for %{{.*}} = 0 to 4 {
// CHECK: func.call @deepfuse_rt_dma(%c3_i64, %c0_i64,
// CHECK: func.call @deepfuse_rt_dma(%c0_i64, %c0_i64,
// CHECK: func.call @df_tile_0_conv2d(
// CHECK: func.call @df_tile_1_activation(
// CHECK: func.call @deepfuse_rt_dma(%c2_i64, %c0_i64,
// CHECK: affine.for %{{.*}} = 0 to 2 {
// CHECK: func.call @deepfuse_rt_dma(%c0_i64, %c1_i64,
// CHECK: func.call @df_tile_2_pool2d(
// CHECK: func.call @deepfuse_rt_dma(%c2_i64, %c1_i64,
// CHECK-NOT: df.

// ARENA: func.func @deepfuse_forward(%{{.*}}: memref<1536xi8>, %{{.*}}: memref<384xi8>, %{{.*}}: memref<4096xi8>)

// Without staging every op is a kernel call and nothing moves by DMA.
// UNSTAGED-NOT: deepfuse_rt_dma
// UNSTAGED-LABEL: func.func @deepfuse_forward(
// UNSTAGED: call @df_kernel_0_conv2d(
// UNSTAGED-NEXT: call @df_kernel_1_activation(
// UNSTAGED-NEXT: call @df_kernel_2_pool2d(
// UNSTAGED-NEXT: return

// Entry functions take bare pointers; only the LLVM dialect is left.
// LLVM-NOT: affine.
// LLVM: llvm.mlir.global private constant @df_region_1_steps(
// LLVM: llvm.func @deepfuse_init(%{{.*}}: !llvm.ptr)
// LLVM: llvm.func @deepfuse_forward(%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr)
// LLVM-NOT: {{ (affine|memref|arith|scf|func)\.}}
func.func @net(%x: tensor<1x2x8x8xf32>) -> tensor<1x4x4x4xf32> {
  %w = df.param "w" : tensor<4x2x3x3xf32>
  %b = df.param "b" : tensor<4xf32>
  %c = df.conv2d %x, %w, %b strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x2x8x8xf32>, tensor<4x2x3x3xf32>, tensor<4xf32>) -> tensor<1x4x8x8xf32>
  %r = df.activation relu %c : tensor<1x4x8x8xf32>
  %p = df.pool2d max %r kernel [2, 2] strides [2, 2] pads [0, 0, 0, 0]
      : tensor<1x4x8x8xf32> -> tensor<1x4x4x4xf32>
  return %p : tensor<1x4x4x4xf32>
}
