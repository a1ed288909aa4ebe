// `deepfuse import` refuses what it cannot import exactly, with a non-zero
// exit and a message naming the node and operator (or the graph input, or
// the file) and the reason.
//
// RUN: not deepfuse import %S/../../fixtures/onnx/error_unsupported_op.onnx -o %t.df 2>&1 | FileCheck %s --check-prefix=UNKNOWN-OP
// UNKNOWN-OP: deepfuse: error: node 'norm1' (LRN): operator 'LRN' is not supported
//
// RUN: not deepfuse import %S/../../fixtures/onnx/error_maxpool_dilation.onnx -o %t.df 2>&1 | FileCheck %s --check-prefix=ATTRIBUTE
// ATTRIBUTE: deepfuse: error: node 'pool' (MaxPool): dilations [2, 2] are not supported (df.pool2d has no dilation)
//
// RUN: not deepfuse import %S/../../fixtures/onnx/error_dynamic_dim.onnx -o %t.df 2>&1 | FileCheck %s --check-prefix=DYNAMIC
// DYNAMIC: deepfuse: error: graph input 'x' has dynamic dimension 0 ('batch'); only static shapes are supported, pin it with --input-shape x=...
//
// A pinned dynamic dimension imports.
// RUN: deepfuse import %S/../../fixtures/onnx/error_dynamic_dim.onnx --input-shape x=2x4x8x8 -o %t.df | FileCheck %s --check-prefix=PINNED
// PINNED: imported {{.*}}error_dynamic_dim.onnx (opset 13, deepfuse-fixtures) in {{.*}}: 1 nodes -> 2 ops, 0 parameters
//
// RUN: not deepfuse import %S/../../fixtures/onnx/error_int64_input.onnx -o %t.df 2>&1 | FileCheck %s --check-prefix=TYPE
// TYPE: deepfuse: error: graph input 'x' has element type INT64; only float32 inputs are supported
//
// RUN: head -c 300 %S/../../fixtures/onnx/net_residual_block.onnx > %t.onnx && not deepfuse import %t.onnx -o %t.df 2>&1 | FileCheck %s --check-prefix=TRUNCATED
// TRUNCATED: deepfuse: error: {{.*}}.onnx: not a valid ONNX model (protobuf decoding failed: {{.*}}); is the file truncated or not ONNX?
//
// This file is not ONNX.
// RUN: not deepfuse import %s -o %t.df 2>&1 | FileCheck %s --check-prefix=NOT-ONNX
// NOT-ONNX: deepfuse: error: {{.*}}errors.mlir: not a valid ONNX model
