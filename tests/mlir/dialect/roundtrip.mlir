// RUN: deepfuse-opt %s --split-input-file | FileCheck %s
// Custom form re-parses:
// RUN: deepfuse-opt %s --split-input-file | deepfuse-opt --split-input-file | FileCheck %s
// Generic form re-parses to the same custom text:
// RUN: deepfuse-opt %s --split-input-file --mlir-print-op-generic | deepfuse-opt --split-input-file | FileCheck %s
// Printing is a fixpoint, in custom and generic form:
// RUN: deepfuse-opt %s --split-input-file > %t.1 && deepfuse-opt %t.1 --split-input-file > %t.2 && diff %t.1 %t.2
// RUN: deepfuse-opt %s --split-input-file --mlir-print-op-generic > %t.g1 && deepfuse-opt %t.g1 --split-input-file --mlir-print-op-generic > %t.g2 && diff %t.g1 %t.g2

// CHECK-LABEL: func.func @param
// CHECK:         %[[P:.+]] = df.param "layer1.conv.weight" : tensor<64x3x7x7xf32>
// CHECK:         return %[[P]] : tensor<64x3x7x7xf32>
func.func @param() -> tensor<64x3x7x7xf32> {
  %w = df.param "layer1.conv.weight" : tensor<64x3x7x7xf32>
  return %w : tensor<64x3x7x7xf32>
}

// -----

// CHECK-LABEL: func.func @param_f16_rank1
// CHECK:         df.param "fc.bias" : tensor<10xf16>
func.func @param_f16_rank1() -> tensor<10xf16> {
  %b = df.param "fc.bias" : tensor<10xf16>
  return %b : tensor<10xf16>
}

// -----

// CHECK-LABEL: func.func @fold_batch_norm
// CHECK-DAG:     %[[W:.+]] = df.param "w"
// CHECK-DAG:     %[[S:.+]] = df.param "scale"
// CHECK-DAG:     %[[O:.+]] = df.param "offset"
// CHECK-DAG:     %[[M:.+]] = df.param "mean"
// CHECK-DAG:     %[[V:.+]] = df.param "var"
// CHECK:         %[[NW:.+]], %[[NB:.+]] = df.fold_batch_norm %[[W]] with %[[S]], %[[O]], %[[M]], %[[V]] epsilon 1.250000e-01
// CHECK-SAME:      : (tensor<8x3x3x3xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<8x3x3x3xf32>, tensor<8xf32>)
// CHECK:         return %[[NW]], %[[NB]]
func.func @fold_batch_norm() -> (tensor<8x3x3x3xf32>, tensor<8xf32>) {
  %w = df.param "w" : tensor<8x3x3x3xf32>
  %s = df.param "scale" : tensor<8xf32>
  %o = df.param "offset" : tensor<8xf32>
  %m = df.param "mean" : tensor<8xf32>
  %v = df.param "var" : tensor<8xf32>
  %nw, %nb = df.fold_batch_norm %w with %s, %o, %m, %v epsilon 0.125
      : (tensor<8x3x3x3xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>)
      -> (tensor<8x3x3x3xf32>, tensor<8xf32>)
  return %nw, %nb : tensor<8x3x3x3xf32>, tensor<8xf32>
}

// -----

// CHECK-LABEL: func.func @fold_batch_norm_with_bias
// CHECK-DAG:     %[[W:.+]] = df.param "w"
// CHECK-DAG:     %[[B:.+]] = df.param "b"
// CHECK-DAG:     %[[S:.+]] = df.param "scale"
// CHECK-DAG:     %[[O:.+]] = df.param "offset"
// CHECK-DAG:     %[[M:.+]] = df.param "mean"
// CHECK-DAG:     %[[V:.+]] = df.param "var"
// CHECK:         df.fold_batch_norm %[[W]] bias %[[B]] with %[[S]], %[[O]], %[[M]], %[[V]] epsilon 1.250000e-01
// CHECK-SAME:      : (tensor<8x3x3x3xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<8x3x3x3xf32>, tensor<8xf32>)
func.func @fold_batch_norm_with_bias() -> (tensor<8x3x3x3xf32>, tensor<8xf32>) {
  %w = df.param "w" : tensor<8x3x3x3xf32>
  %b = df.param "b" : tensor<8xf32>
  %s = df.param "scale" : tensor<8xf32>
  %o = df.param "offset" : tensor<8xf32>
  %m = df.param "mean" : tensor<8xf32>
  %v = df.param "var" : tensor<8xf32>
  %nw, %nb = df.fold_batch_norm %w bias %b with %s, %o, %m, %v epsilon 0.125
      : (tensor<8x3x3x3xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>)
      -> (tensor<8x3x3x3xf32>, tensor<8xf32>)
  return %nw, %nb : tensor<8x3x3x3xf32>, tensor<8xf32>
}

// -----

// CHECK-LABEL: func.func @conv2d
// CHECK-SAME:    (%[[X:.+]]: tensor<1x3x224x224xf32>)
// CHECK:         %[[W:.+]] = df.param "conv1.weight"
// CHECK:         df.conv2d %[[X]], %[[W]] strides [2, 2] pads [3, 3, 3, 3] dilations [1, 1]
// CHECK-SAME:      : (tensor<1x3x224x224xf32>, tensor<64x3x7x7xf32>) -> tensor<1x64x112x112xf32>
func.func @conv2d(%x: tensor<1x3x224x224xf32>) -> tensor<1x64x112x112xf32> {
  %w = df.param "conv1.weight" : tensor<64x3x7x7xf32>
  %y = df.conv2d %x, %w strides [2, 2] pads [3, 3, 3, 3] dilations [1, 1]
      : (tensor<1x3x224x224xf32>, tensor<64x3x7x7xf32>) -> tensor<1x64x112x112xf32>
  return %y : tensor<1x64x112x112xf32>
}

// -----

// CHECK-LABEL: func.func @conv2d_bias
// CHECK-SAME:    (%[[X:.+]]: tensor<1x3x224x224xf32>)
// CHECK:         %[[W:.+]] = df.param "conv1.weight"
// CHECK:         %[[B:.+]] = df.param "conv1.bias"
// CHECK:         df.conv2d %[[X]], %[[W]], %[[B]] strides [2, 2] pads [3, 3, 3, 3] dilations [1, 1]
// CHECK-SAME:      : (tensor<1x3x224x224xf32>, tensor<64x3x7x7xf32>, tensor<64xf32>) -> tensor<1x64x112x112xf32>
func.func @conv2d_bias(%x: tensor<1x3x224x224xf32>) -> tensor<1x64x112x112xf32> {
  %w = df.param "conv1.weight" : tensor<64x3x7x7xf32>
  %b = df.param "conv1.bias" : tensor<64xf32>
  %y = df.conv2d %x, %w, %b strides [2, 2] pads [3, 3, 3, 3] dilations [1, 1]
      : (tensor<1x3x224x224xf32>, tensor<64x3x7x7xf32>, tensor<64xf32>) -> tensor<1x64x112x112xf32>
  return %y : tensor<1x64x112x112xf32>
}

// -----

// CHECK-LABEL: func.func @conv2d_groups
// CHECK-SAME:    (%[[X:.+]]: tensor<1x8x16x16xf32>)
// CHECK:         %[[W:.+]] = df.param "grouped.weight"
// CHECK:         df.conv2d %[[X]], %[[W]] strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1] {groups = 2 : i64}
// CHECK-SAME:      : (tensor<1x8x16x16xf32>, tensor<12x4x3x3xf32>) -> tensor<1x12x16x16xf32>
func.func @conv2d_groups(%x: tensor<1x8x16x16xf32>) -> tensor<1x12x16x16xf32> {
  %w = df.param "grouped.weight" : tensor<12x4x3x3xf32>
  %y = df.conv2d %x, %w strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1] {groups = 2 : i64}
      : (tensor<1x8x16x16xf32>, tensor<12x4x3x3xf32>) -> tensor<1x12x16x16xf32>
  return %y : tensor<1x12x16x16xf32>
}

// -----

// CHECK-LABEL: func.func @conv2d_depthwise
// CHECK-SAME:    (%[[X:.+]]: tensor<1x32x56x56xf32>)
// CHECK-DAG:     %[[W:.+]] = df.param "dw.weight"
// CHECK-DAG:     %[[B:.+]] = df.param "dw.bias"
// CHECK:         df.conv2d %[[X]], %[[W]], %[[B]] strides [2, 2] pads [1, 1, 1, 1] dilations [1, 1] {groups = 32 : i64}
// CHECK-SAME:      : (tensor<1x32x56x56xf32>, tensor<32x1x3x3xf32>, tensor<32xf32>) -> tensor<1x32x28x28xf32>
func.func @conv2d_depthwise(%x: tensor<1x32x56x56xf32>) -> tensor<1x32x28x28xf32> {
  %w = df.param "dw.weight" : tensor<32x1x3x3xf32>
  %b = df.param "dw.bias" : tensor<32xf32>
  %y = df.conv2d %x, %w, %b strides [2, 2] pads [1, 1, 1, 1] dilations [1, 1] {groups = 32 : i64}
      : (tensor<1x32x56x56xf32>, tensor<32x1x3x3xf32>, tensor<32xf32>) -> tensor<1x32x28x28xf32>
  return %y : tensor<1x32x28x28xf32>
}

// -----

// A dilated 3x3 window covers 5x5 (dilation 2) and 7x7 (dilation 3) pixels.
// CHECK-LABEL: func.func @conv2d_dilation
// CHECK:         df.conv2d %{{.+}}, %{{.+}} strides [1, 1] pads [2, 3, 2, 3] dilations [2, 3]
// CHECK-SAME:      : (tensor<1x4x20x20xf32>, tensor<4x4x3x3xf32>) -> tensor<1x4x20x20xf32>
func.func @conv2d_dilation(%x: tensor<1x4x20x20xf32>) -> tensor<1x4x20x20xf32> {
  %w = df.param "dilated.weight" : tensor<4x4x3x3xf32>
  %y = df.conv2d %x, %w strides [1, 1] pads [2, 3, 2, 3] dilations [2, 3]
      : (tensor<1x4x20x20xf32>, tensor<4x4x3x3xf32>) -> tensor<1x4x20x20xf32>
  return %y : tensor<1x4x20x20xf32>
}

// -----

// pads are [top, left, bottom, right]: H = (9 + 0 + 1 - 3) / 2 + 1 = 4,
// W = (10 + 2 + 0 - 3) / 1 + 1 = 10.
// CHECK-LABEL: func.func @conv2d_asymmetric_pads
// CHECK:         df.conv2d %{{.+}}, %{{.+}} strides [2, 1] pads [0, 2, 1, 0] dilations [1, 1]
// CHECK-SAME:      : (tensor<2x3x9x10xf32>, tensor<5x3x3x3xf32>) -> tensor<2x5x4x10xf32>
func.func @conv2d_asymmetric_pads(%x: tensor<2x3x9x10xf32>) -> tensor<2x5x4x10xf32> {
  %w = df.param "asym.weight" : tensor<5x3x3x3xf32>
  %y = df.conv2d %x, %w strides [2, 1] pads [0, 2, 1, 0] dilations [1, 1]
      : (tensor<2x3x9x10xf32>, tensor<5x3x3x3xf32>) -> tensor<2x5x4x10xf32>
  return %y : tensor<2x5x4x10xf32>
}

// -----

// CHECK-LABEL: func.func @pool2d_max
// CHECK-SAME:    (%[[X:.+]]: tensor<1x64x112x112xf32>)
// CHECK:         %[[Y:.+]] = df.pool2d max %[[X]] kernel [3, 3] strides [2, 2] pads [1, 1, 1, 1]
// CHECK-SAME:      : tensor<1x64x112x112xf32> -> tensor<1x64x56x56xf32>
// CHECK-NOT:     ceil_mode
// CHECK:         return %[[Y]]
func.func @pool2d_max(%x: tensor<1x64x112x112xf32>) -> tensor<1x64x56x56xf32> {
  %y = df.pool2d max %x kernel [3, 3] strides [2, 2] pads [1, 1, 1, 1]
      : tensor<1x64x112x112xf32> -> tensor<1x64x56x56xf32>
  return %y : tensor<1x64x56x56xf32>
}

// -----

// ceil_mode: (112 - 3) / 2 rounded up, + 1 = 56 rather than 55.
// CHECK-LABEL: func.func @pool2d_max_ceil_mode
// CHECK:         df.pool2d max %{{.+}} kernel [3, 3] strides [2, 2] pads [0, 0, 0, 0] ceil_mode
// CHECK-SAME:      : tensor<1x64x112x112xf32> -> tensor<1x64x56x56xf32>
func.func @pool2d_max_ceil_mode(%x: tensor<1x64x112x112xf32>) -> tensor<1x64x56x56xf32> {
  %y = df.pool2d max %x kernel [3, 3] strides [2, 2] pads [0, 0, 0, 0] ceil_mode
      : tensor<1x64x112x112xf32> -> tensor<1x64x56x56xf32>
  return %y : tensor<1x64x56x56xf32>
}

// -----

// CHECK-LABEL: func.func @pool2d_avg
// CHECK-SAME:    (%[[X:.+]]: tensor<1x16x7x7xf32>)
// CHECK:         df.pool2d avg %[[X]] kernel [2, 2] strides [2, 2] pads [1, 1, 1, 1] ceil_mode count_include_pad
// CHECK-SAME:      : tensor<1x16x7x7xf32> -> tensor<1x16x4x4xf32>
func.func @pool2d_avg(%x: tensor<1x16x7x7xf32>) -> tensor<1x16x4x4xf32> {
  %y = df.pool2d avg %x kernel [2, 2] strides [2, 2] pads [1, 1, 1, 1] ceil_mode count_include_pad
      : tensor<1x16x7x7xf32> -> tensor<1x16x4x4xf32>
  return %y : tensor<1x16x4x4xf32>
}

// -----

// CHECK-LABEL: func.func @pool2d_avg_count_include_pad
// CHECK:         df.pool2d avg %{{.+}} kernel [3, 3] strides [1, 1] pads [1, 1, 1, 1] count_include_pad
// CHECK-SAME:      : tensor<1x16x7x7xf32> -> tensor<1x16x7x7xf32>
func.func @pool2d_avg_count_include_pad(%x: tensor<1x16x7x7xf32>) -> tensor<1x16x7x7xf32> {
  %y = df.pool2d avg %x kernel [3, 3] strides [1, 1] pads [1, 1, 1, 1] count_include_pad
      : tensor<1x16x7x7xf32> -> tensor<1x16x7x7xf32>
  return %y : tensor<1x16x7x7xf32>
}

// -----

// CHECK-LABEL: func.func @resize
// CHECK-SAME:    (%[[X:.+]]: tensor<1x8x4x5xf32>)
// CHECK:         df.resize %[[X]] scales [2, 3] : tensor<1x8x4x5xf32> -> tensor<1x8x8x15xf32>
func.func @resize(%x: tensor<1x8x4x5xf32>) -> tensor<1x8x8x15xf32> {
  %y = df.resize %x scales [2, 3] : tensor<1x8x4x5xf32> -> tensor<1x8x8x15xf32>
  return %y : tensor<1x8x8x15xf32>
}

// -----

// CHECK-LABEL: func.func @pad
// CHECK-SAME:    (%[[X:.+]]: tensor<1x8x4x4xf32>)
// CHECK:         df.pad %[[X]] pads [0, 0, 1, 2, 0, 0, 3, 0] value -2.500000e-01
// CHECK-SAME:      : tensor<1x8x4x4xf32> -> tensor<1x8x8x6xf32>
func.func @pad(%x: tensor<1x8x4x4xf32>) -> tensor<1x8x8x6xf32> {
  %y = df.pad %x pads [0, 0, 1, 2, 0, 0, 3, 0] value -0.25
      : tensor<1x8x4x4xf32> -> tensor<1x8x8x6xf32>
  return %y : tensor<1x8x8x6xf32>
}

// -----

// CHECK-LABEL: func.func @pad_rank2
// CHECK:         df.pad %{{.+}} pads [1, 0, 1, 4] value 0.000000e+00 : tensor<3x5xf32> -> tensor<5x9xf32>
func.func @pad_rank2(%x: tensor<3x5xf32>) -> tensor<5x9xf32> {
  %y = df.pad %x pads [1, 0, 1, 4] value 0.0 : tensor<3x5xf32> -> tensor<5x9xf32>
  return %y : tensor<5x9xf32>
}

// -----

// CHECK-LABEL: func.func @batch_norm
// CHECK-SAME:    (%[[X:.+]]: tensor<1x8x4x4xf32>)
// CHECK-DAG:     %[[S:.+]] = df.param "bn.scale"
// CHECK-DAG:     %[[O:.+]] = df.param "bn.offset"
// CHECK-DAG:     %[[M:.+]] = df.param "bn.mean"
// CHECK-DAG:     %[[V:.+]] = df.param "bn.var"
// CHECK:         df.batch_norm %[[X]], %[[S]], %[[O]], %[[M]], %[[V]] epsilon 1.250000e-01
// CHECK-SAME:      : (tensor<1x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<1x8x4x4xf32>
func.func @batch_norm(%x: tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32> {
  %s = df.param "bn.scale" : tensor<8xf32>
  %o = df.param "bn.offset" : tensor<8xf32>
  %m = df.param "bn.mean" : tensor<8xf32>
  %v = df.param "bn.var" : tensor<8xf32>
  %y = df.batch_norm %x, %s, %o, %m, %v epsilon 0.125
      : (tensor<1x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>)
      -> tensor<1x8x4x4xf32>
  return %y : tensor<1x8x4x4xf32>
}

// -----

// CHECK-LABEL: func.func @activation_relu
// CHECK-SAME:    (%[[X:.+]]: tensor<1x8x4x4xf32>)
// CHECK:         df.activation relu %[[X]] : tensor<1x8x4x4xf32>
func.func @activation_relu(%x: tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32> {
  %y = df.activation relu %x : tensor<1x8x4x4xf32>
  return %y : tensor<1x8x4x4xf32>
}

// -----

// CHECK-LABEL: func.func @activation_clip
// CHECK-SAME:    (%[[X:.+]]: tensor<1x8x4x4xf32>)
// CHECK:         df.activation clip %[[X]] {max = 6.000000e+00 : f32, min = -5.000000e-01 : f32} : tensor<1x8x4x4xf32>
func.func @activation_clip(%x: tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32> {
  %y = df.activation clip %x {min = -0.5 : f32, max = 6.0 : f32} : tensor<1x8x4x4xf32>
  return %y : tensor<1x8x4x4xf32>
}

// -----

// CHECK-LABEL: func.func @activation_leaky_relu
// CHECK:         df.activation leaky_relu %{{.+}} {alpha = 1.250000e-01 : f32} : tensor<2x10xf32>
func.func @activation_leaky_relu(%x: tensor<2x10xf32>) -> tensor<2x10xf32> {
  %y = df.activation leaky_relu %x {alpha = 0.125 : f32} : tensor<2x10xf32>
  return %y : tensor<2x10xf32>
}

// -----

// CHECK-LABEL: func.func @activation_sigmoid
// CHECK:         df.activation sigmoid %{{.+}} : tensor<10xf32>
func.func @activation_sigmoid(%x: tensor<10xf32>) -> tensor<10xf32> {
  %y = df.activation sigmoid %x : tensor<10xf32>
  return %y : tensor<10xf32>
}

// -----

// CHECK-LABEL: func.func @activation_tanh
// CHECK:         df.activation tanh %{{.+}} : tensor<1x8x4x4xf16>
func.func @activation_tanh(%x: tensor<1x8x4x4xf16>) -> tensor<1x8x4x4xf16> {
  %y = df.activation tanh %x : tensor<1x8x4x4xf16>
  return %y : tensor<1x8x4x4xf16>
}

// -----

// CHECK-LABEL: func.func @activation_hard_sigmoid
// CHECK:         df.activation hard_sigmoid %{{.+}} {alpha = 2.500000e-01 : f32, beta = 5.000000e-01 : f32} : tensor<1x8x4x4xf32>
func.func @activation_hard_sigmoid(%x: tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32> {
  %y = df.activation hard_sigmoid %x {alpha = 0.25 : f32, beta = 0.5 : f32} : tensor<1x8x4x4xf32>
  return %y : tensor<1x8x4x4xf32>
}

// -----

// CHECK-LABEL: func.func @activation_hard_swish
// CHECK:         df.activation hard_swish %{{.+}} : tensor<1x8x4x4xf32>
func.func @activation_hard_swish(%x: tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32> {
  %y = df.activation hard_swish %x : tensor<1x8x4x4xf32>
  return %y : tensor<1x8x4x4xf32>
}

// -----

// CHECK-LABEL: func.func @activation_silu
// CHECK:         df.activation silu %{{.+}} : tensor<1x8x4x4xbf16>
func.func @activation_silu(%x: tensor<1x8x4x4xbf16>) -> tensor<1x8x4x4xbf16> {
  %y = df.activation silu %x : tensor<1x8x4x4xbf16>
  return %y : tensor<1x8x4x4xbf16>
}

// -----

// CHECK-LABEL: func.func @add_broadcast
// CHECK-SAME:    (%[[A:.+]]: tensor<1x8x4x4xf32>)
// CHECK:         %[[B:.+]] = df.param "bias"
// CHECK:         df.add %[[A]], %[[B]] : (tensor<1x8x4x4xf32>, tensor<1x8x1x1xf32>) -> tensor<1x8x4x4xf32>
func.func @add_broadcast(%a: tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32> {
  %b = df.param "bias" : tensor<1x8x1x1xf32>
  %y = df.add %a, %b : (tensor<1x8x4x4xf32>, tensor<1x8x1x1xf32>) -> tensor<1x8x4x4xf32>
  return %y : tensor<1x8x4x4xf32>
}

// -----

// Both operands broadcast, and the lower-rank one aligns from the right.
// CHECK-LABEL: func.func @add_broadcast_both_ways
// CHECK-SAME:    (%[[A:[^:]+]]: tensor<8x1xf32>, %[[B:[^:]+]]: tensor<2x1x5xf32>)
// CHECK:         df.add %[[A]], %[[B]] : (tensor<8x1xf32>, tensor<2x1x5xf32>) -> tensor<2x8x5xf32>
func.func @add_broadcast_both_ways(%a: tensor<8x1xf32>, %b: tensor<2x1x5xf32>) -> tensor<2x8x5xf32> {
  %y = df.add %a, %b : (tensor<8x1xf32>, tensor<2x1x5xf32>) -> tensor<2x8x5xf32>
  return %y : tensor<2x8x5xf32>
}

// -----

// CHECK-LABEL: func.func @mul_broadcast
// CHECK-SAME:    (%[[A:[^:]+]]: tensor<1x8x4x4xf32>, %[[B:[^:]+]]: tensor<4xf32>)
// CHECK:         df.mul %[[A]], %[[B]] : (tensor<1x8x4x4xf32>, tensor<4xf32>) -> tensor<1x8x4x4xf32>
func.func @mul_broadcast(%a: tensor<1x8x4x4xf32>, %b: tensor<4xf32>) -> tensor<1x8x4x4xf32> {
  %y = df.mul %a, %b : (tensor<1x8x4x4xf32>, tensor<4xf32>) -> tensor<1x8x4x4xf32>
  return %y : tensor<1x8x4x4xf32>
}

// -----

// CHECK-LABEL: func.func @mul_same_shape
// CHECK-SAME:    (%[[A:[^:]+]]: tensor<1x8x4x4xf32>, %[[B:[^:]+]]: tensor<1x8x4x4xf32>)
// CHECK:         df.mul %[[A]], %[[B]] : (tensor<1x8x4x4xf32>, tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32>
func.func @mul_same_shape(%a: tensor<1x8x4x4xf32>, %b: tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32> {
  %y = df.mul %a, %b : (tensor<1x8x4x4xf32>, tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32>
  return %y : tensor<1x8x4x4xf32>
}

// -----

// CHECK-LABEL: func.func @global_pool_avg
// CHECK-SAME:    (%[[X:.+]]: tensor<1x2048x7x7xf32>)
// CHECK:         df.global_pool avg %[[X]] : tensor<1x2048x7x7xf32> -> tensor<1x2048x1x1xf32>
func.func @global_pool_avg(%x: tensor<1x2048x7x7xf32>) -> tensor<1x2048x1x1xf32> {
  %y = df.global_pool avg %x : tensor<1x2048x7x7xf32> -> tensor<1x2048x1x1xf32>
  return %y : tensor<1x2048x1x1xf32>
}

// -----

// CHECK-LABEL: func.func @global_pool_max
// CHECK-SAME:    (%[[X:.+]]: tensor<2x16x5x3xf32>)
// CHECK:         df.global_pool max %[[X]] : tensor<2x16x5x3xf32> -> tensor<2x16x1x1xf32>
func.func @global_pool_max(%x: tensor<2x16x5x3xf32>) -> tensor<2x16x1x1xf32> {
  %y = df.global_pool max %x : tensor<2x16x5x3xf32> -> tensor<2x16x1x1xf32>
  return %y : tensor<2x16x1x1xf32>
}

// -----

// CHECK-LABEL: func.func @matmul
// CHECK-SAME:    (%[[X:.+]]: tensor<4x32xf32>)
// CHECK:         %[[W:.+]] = df.param "fc.weight"
// CHECK:         df.matmul %[[X]], %[[W]] : (tensor<4x32xf32>, tensor<32x10xf32>) -> tensor<4x10xf32>
func.func @matmul(%x: tensor<4x32xf32>) -> tensor<4x10xf32> {
  %w = df.param "fc.weight" : tensor<32x10xf32>
  %y = df.matmul %x, %w : (tensor<4x32xf32>, tensor<32x10xf32>) -> tensor<4x10xf32>
  return %y : tensor<4x10xf32>
}

// -----

// CHECK-LABEL: func.func @matmul_bias_transpose_rhs
// CHECK-SAME:    (%[[X:.+]]: tensor<1x2048xf32>)
// CHECK-DAG:     %[[W:.+]] = df.param "fc.weight"
// CHECK-DAG:     %[[B:.+]] = df.param "fc.bias"
// CHECK:         df.matmul %[[X]], %[[W]], %[[B]] transpose_rhs
// CHECK-SAME:      : (tensor<1x2048xf32>, tensor<1000x2048xf32>, tensor<1000xf32>) -> tensor<1x1000xf32>
func.func @matmul_bias_transpose_rhs(%x: tensor<1x2048xf32>) -> tensor<1x1000xf32> {
  %w = df.param "fc.weight" : tensor<1000x2048xf32>
  %b = df.param "fc.bias" : tensor<1000xf32>
  %y = df.matmul %x, %w, %b transpose_rhs
      : (tensor<1x2048xf32>, tensor<1000x2048xf32>, tensor<1000xf32>) -> tensor<1x1000xf32>
  return %y : tensor<1x1000xf32>
}

// -----

// CHECK-LABEL: func.func @matmul_transpose_lhs
// CHECK:         df.matmul %{{.+}}, %{{.+}} transpose_lhs : (tensor<32x4xf32>, tensor<32x10xf32>) -> tensor<4x10xf32>
func.func @matmul_transpose_lhs(%x: tensor<32x4xf32>, %w: tensor<32x10xf32>) -> tensor<4x10xf32> {
  %y = df.matmul %x, %w transpose_lhs : (tensor<32x4xf32>, tensor<32x10xf32>) -> tensor<4x10xf32>
  return %y : tensor<4x10xf32>
}

// -----

// CHECK-LABEL: func.func @matmul_bias_2d_transpose_both
// CHECK-SAME:    (%[[X:[^:]+]]: tensor<32x4xf32>, %[[W:[^:]+]]: tensor<10x32xf32>, %[[B:[^:]+]]: tensor<1x10xf32>)
// CHECK:         df.matmul %[[X]], %[[W]], %[[B]] transpose_lhs transpose_rhs
// CHECK-SAME:      : (tensor<32x4xf32>, tensor<10x32xf32>, tensor<1x10xf32>) -> tensor<4x10xf32>
func.func @matmul_bias_2d_transpose_both(%x: tensor<32x4xf32>, %w: tensor<10x32xf32>, %b: tensor<1x10xf32>) -> tensor<4x10xf32> {
  %y = df.matmul %x, %w, %b transpose_lhs transpose_rhs
      : (tensor<32x4xf32>, tensor<10x32xf32>, tensor<1x10xf32>) -> tensor<4x10xf32>
  return %y : tensor<4x10xf32>
}

// -----

// CHECK-LABEL: func.func @softmax
// CHECK-SAME:    (%[[X:.+]]: tensor<1x1000xf32>)
// CHECK:         df.softmax %[[X]] axis 1 : tensor<1x1000xf32>
func.func @softmax(%x: tensor<1x1000xf32>) -> tensor<1x1000xf32> {
  %y = df.softmax %x axis 1 : tensor<1x1000xf32>
  return %y : tensor<1x1000xf32>
}

// -----

// CHECK-LABEL: func.func @concat
// CHECK-SAME:    (%[[A:[^:]+]]: tensor<1x64x28x28xf32>, %[[B:[^:]+]]: tensor<1x32x28x28xf32>, %[[C:[^:]+]]: tensor<1x16x28x28xf32>)
// CHECK:         df.concat %[[A]], %[[B]], %[[C]] axis 1
// CHECK-SAME:      : (tensor<1x64x28x28xf32>, tensor<1x32x28x28xf32>, tensor<1x16x28x28xf32>) -> tensor<1x112x28x28xf32>
func.func @concat(%a: tensor<1x64x28x28xf32>, %b: tensor<1x32x28x28xf32>, %c: tensor<1x16x28x28xf32>) -> tensor<1x112x28x28xf32> {
  %y = df.concat %a, %b, %c axis 1
      : (tensor<1x64x28x28xf32>, tensor<1x32x28x28xf32>, tensor<1x16x28x28xf32>) -> tensor<1x112x28x28xf32>
  return %y : tensor<1x112x28x28xf32>
}

// -----

// CHECK-LABEL: func.func @reshape
// CHECK-SAME:    (%[[X:.+]]: tensor<1x2048x1x1xf32>)
// CHECK:         df.reshape %[[X]] : tensor<1x2048x1x1xf32> -> tensor<1x2048xf32>
func.func @reshape(%x: tensor<1x2048x1x1xf32>) -> tensor<1x2048xf32> {
  %y = df.reshape %x : tensor<1x2048x1x1xf32> -> tensor<1x2048xf32>
  return %y : tensor<1x2048xf32>
}

// -----

// CHECK-LABEL: func.func @flatten
// CHECK-SAME:    (%[[X:.+]]: tensor<1x512x7x7xf32>)
// CHECK:         df.flatten %[[X]] axis 1 : tensor<1x512x7x7xf32> -> tensor<1x25088xf32>
func.func @flatten(%x: tensor<1x512x7x7xf32>) -> tensor<1x25088xf32> {
  %y = df.flatten %x axis 1 : tensor<1x512x7x7xf32> -> tensor<1x25088xf32>
  return %y : tensor<1x25088xf32>
}

// -----

// CHECK-LABEL: func.func @flatten_axis_2
// CHECK:         df.flatten %{{.+}} axis 2 : tensor<2x3x4x5xf32> -> tensor<6x20xf32>
func.func @flatten_axis_2(%x: tensor<2x3x4x5xf32>) -> tensor<6x20xf32> {
  %y = df.flatten %x axis 2 : tensor<2x3x4x5xf32> -> tensor<6x20xf32>
  return %y : tensor<6x20xf32>
}

// -----

// CHECK-LABEL: func.func @fusion_region
// CHECK-SAME:    (%[[X:.+]]: tensor<1x8x8x8xf32>)
// CHECK:         %[[W:.+]] = df.param "conv.weight"
// CHECK:         %[[R:.+]]:2 = df.fusion_region(%[[X]], %[[W]])
// CHECK-SAME:      : (tensor<1x8x8x8xf32>, tensor<8x8x3x3xf32>) -> (tensor<1x8x8x8xf32>, tensor<1x8x4x4xf32>)
// CHECK-SAME:      attributes {schedule = {rows_per_tile = 2 : i64, tile = [4, 8]}} {
// CHECK-NEXT:    ^bb0(%[[A:.+]]: tensor<1x8x8x8xf32>, %[[B:.+]]: tensor<8x8x3x3xf32>):
// CHECK-NEXT:      %[[C:.+]] = df.conv2d %[[A]], %[[B]] strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
// CHECK-NEXT:      %[[P:.+]] = df.pool2d max %[[C]] kernel [2, 2] strides [2, 2] pads [0, 0, 0, 0]
// CHECK-NEXT:      df.yield %[[C]], %[[P]] : tensor<1x8x8x8xf32>, tensor<1x8x4x4xf32>
// CHECK-NEXT:    }
// CHECK:         return %[[R]]#0, %[[R]]#1 : tensor<1x8x8x8xf32>, tensor<1x8x4x4xf32>
func.func @fusion_region(%x: tensor<1x8x8x8xf32>) -> (tensor<1x8x8x8xf32>, tensor<1x8x4x4xf32>) {
  %w = df.param "conv.weight" : tensor<8x8x3x3xf32>
  %r:2 = df.fusion_region(%x, %w) : (tensor<1x8x8x8xf32>, tensor<8x8x3x3xf32>) -> (tensor<1x8x8x8xf32>, tensor<1x8x4x4xf32>)
      attributes {schedule = {tile = [4, 8], rows_per_tile = 2 : i64}} {
  ^bb0(%a: tensor<1x8x8x8xf32>, %b: tensor<8x8x3x3xf32>):
    %c = df.conv2d %a, %b strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
        : (tensor<1x8x8x8xf32>, tensor<8x8x3x3xf32>) -> tensor<1x8x8x8xf32>
    %p = df.pool2d max %c kernel [2, 2] strides [2, 2] pads [0, 0, 0, 0]
        : tensor<1x8x8x8xf32> -> tensor<1x8x4x4xf32>
    df.yield %c, %p : tensor<1x8x8x8xf32>, tensor<1x8x4x4xf32>
  }
  return %r#0, %r#1 : tensor<1x8x8x8xf32>, tensor<1x8x4x4xf32>
}

// -----

// A region without a schedule prints no attribute dictionary.
// CHECK-LABEL: func.func @fusion_region_no_schedule
// CHECK:         df.fusion_region(%{{.+}}) : (tensor<4xf32>) -> tensor<4xf32> {
// CHECK:           df.yield %{{.+}} : tensor<4xf32>
func.func @fusion_region_no_schedule(%x: tensor<4xf32>) -> tensor<4xf32> {
  %r = df.fusion_region(%x) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<4xf32>):
    %y = df.activation relu %a : tensor<4xf32>
    df.yield %y : tensor<4xf32>
  }
  return %r : tensor<4xf32>
}
