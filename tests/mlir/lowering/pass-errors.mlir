// df-lower-to-affine reports what it cannot lower at the op at fault.
// RUN: deepfuse-opt %s --split-input-file --verify-diagnostics --df-lower-to-affine="scratchpad=64"
// RUN: not deepfuse-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(df-lower-to-affine))" 2>&1 | FileCheck %s --check-prefix=NESTED

// NESTED: error: df-lower-to-affine runs on the module: nest it in 'builtin.module(...)'

func.func @not_df(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  // expected-error@+1 {{df-lower-to-affine: 'tensor.empty' cannot be lowered: only df ops can be compiled}}
  %e = tensor.empty() : tensor<1x2x4x4xf32>
  %y = df.add %x, %e : (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  return %y : tensor<1x2x4x4xf32>
}

// -----

func.func @returns_input(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  // expected-error@+1 {{df-lower-to-affine: 'func.return' returns an input or a parameter; only computed activations can be returned}}
  return %x : tensor<1x2x4x4xf32>
}

// -----

// A region staged in 640 bytes of arena, given 64.
// expected-error@+1 {{df-lower-to-affine: the scratchpad arena of 64 bytes is smaller than the}}
func.func @small_arena(%x: tensor<1x4x8x8xf32>) -> tensor<1x4x4x4xf32> {
  %p = df.fusion_region(%x) : (tensor<1x4x8x8xf32>) -> tensor<1x4x4x4xf32>
      attributes {schedule = {capacity = 1024 : i64, footprint = 640 : i64, order = "spatial-outer", overlap = "recompute", resident_weights = 0 : i64, strategy = "layer", stream_inputs = false, tile = array<i64: 2, 4, 4>, tiles = array<i64: 2, 1, 1>, traffic = {input = 1024 : i64, output = 256 : i64, total = 1280 : i64, weight = 0 : i64}}} {
  ^bb0(%a: tensor<1x4x8x8xf32>):
    %q = df.pool2d max %a kernel [2, 2] strides [2, 2] pads [0, 0, 0, 0]
        : tensor<1x4x8x8xf32> -> tensor<1x4x4x4xf32>
    df.yield %q : tensor<1x4x4x4xf32>
  }
  return %p : tensor<1x4x4x4xf32>
}
