// ONNX import of a small residual network (tests/fixtures/onnx/
// net_residual_block.onnx, made by scripts/make_onnx_fixtures.py): the df
// ops and their attributes, weights as df.param named after the ONNX
// initializers, and on every op a location naming its ONNX node.
//
// RUN: deepfuse import %S/../../fixtures/onnx/net_residual_block.onnx -o %t.df && deepfuse-opt %t.df --mlir-print-debuginfo | FileCheck %s

// CHECK-LABEL: func.func @net_residual_block(
// CHECK-SAME:      %[[X:.+]]: tensor<1x3x16x16xf32> loc("x")) -> tensor<1x10xf32> {
// CHECK-NEXT:    %[[W:.+]] = df.param "stem.weight" : tensor<8x3x3x3xf32> loc(#[[STEM_CONV:loc[0-9]+]])
// CHECK-NEXT:    %[[CONV:.+]] = df.conv2d %[[X]], %[[W]] strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1] : (tensor<1x3x16x16xf32>, tensor<8x3x3x3xf32>) -> tensor<1x8x16x16xf32> loc(#[[STEM_CONV]])
// CHECK-NEXT:    %[[SCALE:.+]] = df.param "stem/bn.scale" : tensor<8xf32> loc(#[[STEM_BN:loc[0-9]+]])
// CHECK-NEXT:    %[[OFFSET:.+]] = df.param "stem/bn.bias" : tensor<8xf32> loc(#[[STEM_BN]])
// CHECK-NEXT:    %[[MEAN:.+]] = df.param "stem/bn.mean" : tensor<8xf32> loc(#[[STEM_BN]])
// CHECK-NEXT:    %[[VAR:.+]] = df.param "stem/bn.var" : tensor<8xf32> loc(#[[STEM_BN]])
// CHECK-NEXT:    %[[BN:.+]] = df.batch_norm %[[CONV]], %[[SCALE]], %[[OFFSET]], %[[MEAN]], %[[VAR]] epsilon 9.99999974E-6 : {{.*}} loc(#[[STEM_BN]])
// CHECK-NEXT:    %[[RELU:.+]] = df.activation relu %[[BN]] : tensor<1x8x16x16xf32> loc(#[[STEM_RELU:loc[0-9]+]])
// CHECK-NEXT:    %[[POOL:.+]] = df.pool2d max %[[RELU]] kernel [3, 3] strides [2, 2] pads [1, 1, 1, 1] : tensor<1x8x16x16xf32> -> tensor<1x8x8x8xf32> loc(#[[STEM_POOL:loc[0-9]+]])
// CHECK:         %[[W2:.+]] = df.param "block/conv2.weight" : tensor<8x8x3x3xf32> loc(#[[CONV2:loc[0-9]+]])
// CHECK-NEXT:    %[[B2:.+]] = df.param "block/conv2.bias" : tensor<8xf32> loc(#[[CONV2]])
// CHECK-NEXT:    %[[C2:.+]] = df.conv2d %{{.+}}, %[[W2]], %[[B2]] strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1] : {{.*}} -> tensor<1x8x8x8xf32> loc(#[[CONV2]])
// The skip connection adds the pool's output.
// CHECK-NEXT:    %[[SUM:.+]] = df.add %[[C2]], %[[POOL]] : (tensor<1x8x8x8xf32>, tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32> loc(#[[ADD:loc[0-9]+]])
// CHECK-NEXT:    %[[R:.+]] = df.activation relu %[[SUM]]
// CHECK-NEXT:    %[[GAP:.+]] = df.global_pool avg %[[R]] : tensor<1x8x8x8xf32> -> tensor<1x8x1x1xf32>
// CHECK-NEXT:    %[[FLAT:.+]] = df.flatten %[[GAP]] axis 1 : tensor<1x8x1x1xf32> -> tensor<1x8xf32>
// CHECK-NEXT:    %[[FW:.+]] = df.param "fc.weight" : tensor<10x8xf32> loc(#[[FC:loc[0-9]+]])
// CHECK-NEXT:    %[[FB:.+]] = df.param "fc.bias" : tensor<10xf32> loc(#[[FC]])
// CHECK-NEXT:    %[[MM:.+]] = df.matmul %[[FLAT]], %[[FW]], %[[FB]] transpose_rhs : (tensor<1x8xf32>, tensor<10x8xf32>, tensor<10xf32>) -> tensor<1x10xf32> loc(#[[FC]])
// CHECK-NEXT:    %[[Y:.+]] = df.softmax %[[MM]] axis 1 : tensor<1x10xf32> loc(#[[SOFTMAX:loc[0-9]+]])
// CHECK-NEXT:    return %[[Y]] : tensor<1x10xf32>
// CHECK-DAG:   #[[STEM_CONV]] = loc("stem/conv")
// CHECK-DAG:   #[[STEM_BN]] = loc("stem/bn")
// CHECK-DAG:   #[[STEM_RELU]] = loc("stem/relu")
// CHECK-DAG:   #[[STEM_POOL]] = loc("stem/pool")
// CHECK-DAG:   #[[CONV2]] = loc("block/conv2")
// CHECK-DAG:   #[[ADD]] = loc("block/add")
// CHECK-DAG:   #[[FC]] = loc("head/fc")
// CHECK-DAG:   #[[SOFTMAX]] = loc("head/softmax")
