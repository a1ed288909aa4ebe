// RUN: deepfuse-opt %s --split-input-file --verify-diagnostics --df-form-fusion-regions=scratchpad=256

// The smallest tile of the conv (one output pixel of one channel, one
// filter of weights, an input chunk) needs more than 256 bytes.
func.func @too_small(%x: tensor<1x8x16x16xf32>) -> tensor<1x8x16x16xf32> {
  %w = df.param "c.weight" : tensor<8x8x3x3xf32>
  // expected-error@+1 {{df-form-fusion-regions: 'c' cannot fit in a scratchpad of 256 bytes: its smallest tile needs 580 bytes}}
  %c = df.conv2d %x, %w strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x8x16x16xf32>, tensor<8x8x3x3xf32>) -> tensor<1x8x16x16xf32>
  %y = df.activation relu %c : tensor<1x8x16x16xf32>
  return %y : tensor<1x8x16x16xf32>
}

// -----

// The relu before fits; the error names the first op that does not: its
// smallest tile holds one filter of 16*9 weights (576 bytes), a 3x3 window
// of an 8-channel input chunk (288) and one output element (4).
func.func @names_the_op(%x: tensor<1x16x7x7xf32>) -> tensor<1x16x7x7xf32> {
  %r = df.activation relu %x : tensor<1x16x7x7xf32>
  %w = df.param "big.weight" : tensor<16x16x3x3xf32>
  // expected-error@+1 {{'big' cannot fit in a scratchpad of 256 bytes: its smallest tile needs 868 bytes}}
  %c = df.conv2d %r, %w strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x16x7x7xf32>, tensor<16x16x3x3xf32>) -> tensor<1x16x7x7xf32>
  return %c : tensor<1x16x7x7xf32>
}
