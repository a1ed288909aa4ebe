// Operations of unknown dialects are rejected unless
// --allow-unregistered-dialect is given; df passes then run around them.
// RUN: not deepfuse-opt %s 2>&1 | FileCheck %s --check-prefix=ERR
// RUN: deepfuse-opt %s --allow-unregistered-dialect | FileCheck %s --check-prefix=KEEP
// RUN: deepfuse-opt %s --allow-unregistered-dialect --df-canonicalize | FileCheck %s
// RUN: deepfuse-opt %s --allow-unregistered-dialect --mlir-print-op-generic | deepfuse-opt --allow-unregistered-dialect | FileCheck %s --check-prefix=KEEP

// ERR: unregistered.mlir:[[@LINE+12]]:{{[0-9]+}}: error: operation being parsed with an unregistered dialect

// KEEP-LABEL: func.func @mixed
// KEEP:         "foo.source"()
// KEEP:         df.reshape

// CHECK-LABEL: func.func @mixed
// CHECK:         %[[S:.+]] = "foo.source"() : () -> tensor<1x32xf32>
// CHECK-NOT:     df.reshape
// CHECK:         %[[Y:.+]] = df.softmax %[[S]] axis 1 : tensor<1x32xf32>
// CHECK:         "foo.sink"(%[[Y]]) : (tensor<1x32xf32>) -> ()
func.func @mixed() {
  %s = "foo.source"() : () -> tensor<1x32xf32>
  %r = df.reshape %s : tensor<1x32xf32> -> tensor<1x32xf32>
  %y = df.softmax %r axis 1 : tensor<1x32xf32>
  "foo.sink"(%y) : (tensor<1x32xf32>) -> ()
  return
}
