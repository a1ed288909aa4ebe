// ONNX import of what has no df op of its own: shape arithmetic folded into
// one static df.reshape, Gemm's alpha and beta folded into its weights,
// opset-11 Softmax over the input flattened at its axis, and the location
// of a node without a name (op_type#index).
//
// RUN: deepfuse import %S/../../fixtures/onnx/reshape_shape_arithmetic.onnx -o %t.df && deepfuse-opt %t.df --mlir-print-debuginfo | FileCheck %s --check-prefix=SHAPE
// RUN: deepfuse import %S/../../fixtures/onnx/gemm_alpha_beta.onnx -o %t.df && deepfuse-opt %t.df | FileCheck %s --check-prefix=GEMM
// RUN: deepfuse import %S/../../fixtures/onnx/softmax_opset11_coerced.onnx -o %t.df && deepfuse-opt %t.df | FileCheck %s --check-prefix=SOFTMAX
// RUN: deepfuse import %S/../../fixtures/onnx/conv_valid_unnamed.onnx -o %t.df && deepfuse-opt %t.df --mlir-print-debuginfo | FileCheck %s --check-prefix=UNNAMED

// Shape -> Gather -> Unsqueeze -> Concat -> Cast -> Reshape, as PyTorch
// exports x.view(x.size(0), -1), leaves one reshape.
// SHAPE-LABEL: func.func @reshape_shape_arithmetic(
// SHAPE-SAME:      %[[X:.+]]: tensor<1x2x4x4xf32> loc("x")) -> tensor<1x8xf32> {
// SHAPE-NEXT:    %[[R:.+]] = df.reshape %[[X]] : tensor<1x2x4x4xf32> -> tensor<1x32xf32> loc(#[[RESHAPE:loc[0-9]+]])
// SHAPE-NEXT:    %[[W:.+]] = df.param "w" : tensor<8x32xf32> loc(#[[FC:loc[0-9]+]])
// SHAPE-NEXT:    %[[Y:.+]] = df.matmul %[[R]], %[[W]] transpose_rhs : (tensor<1x32xf32>, tensor<8x32xf32>) -> tensor<1x8xf32> loc(#[[FC]])
// SHAPE-NEXT:    return %[[Y]] : tensor<1x8xf32>
// SHAPE-DAG:   #[[RESHAPE]] = loc("/Reshape")
// SHAPE-DAG:   #[[FC]] = loc("/fc/Gemm")

// GEMM-LABEL: func.func @gemm_alpha_beta(
// GEMM:         %[[FLAT:.+]] = df.flatten %{{.+}} axis 1 : tensor<1x2x4x4xf32> -> tensor<1x32xf32>
// GEMM-NEXT:    %[[W:.+]] = df.param "fc.weight.alpha_scaled" : tensor<10x32xf32>
// GEMM-NEXT:    %[[B:.+]] = df.param "fc.bias.beta_scaled" : tensor<10xf32>
// GEMM-NEXT:    df.matmul %[[FLAT]], %[[W]], %[[B]] transpose_rhs : (tensor<1x32xf32>, tensor<10x32xf32>, tensor<10xf32>) -> tensor<1x10xf32>

// SOFTMAX-LABEL: func.func @softmax_opset11_coerced(
// SOFTMAX-SAME:      %[[X:.+]]: tensor<1x3x2x2xf32>) -> tensor<1x3x2x2xf32> {
// SOFTMAX-NEXT:    %[[F:.+]] = df.flatten %[[X]] axis 1 : tensor<1x3x2x2xf32> -> tensor<1x12xf32>
// SOFTMAX-NEXT:    %[[S:.+]] = df.softmax %[[F]] axis 1 : tensor<1x12xf32>
// SOFTMAX-NEXT:    %[[Y:.+]] = df.reshape %[[S]] : tensor<1x12xf32> -> tensor<1x3x2x2xf32>
// SOFTMAX-NEXT:    return %[[Y]]

// UNNAMED-LABEL: func.func @conv_valid_unnamed(
// UNNAMED:         df.conv2d %{{.+}}, %{{.+}} strides [1, 2] pads [0, 0, 0, 0] dilations [1, 1] : {{.*}} -> tensor<1x5x4x3xf32> loc(#[[CONV:loc[0-9]+]])
// UNNAMED:       #[[CONV]] = loc("Conv#0")
