// RUN: deepfuse-opt %s --df-form-fusion-regions='max-group-ops=5' | FileCheck %s
// RUN: deepfuse-opt %s --df-form-fusion-regions='strategy=layer' | FileCheck %s --check-prefix=LAYER
// The outlined IR verifies (operands dominate their uses) and re-parses.
// RUN: deepfuse-opt %s --df-form-fusion-regions='max-group-ops=5' | deepfuse-opt --verify-diagnostics
// RUN: deepfuse-opt %s --df-form-fusion-regions='strategy=layer' | deepfuse-opt --verify-diagnostics

// A bottleneck written as torchvision writes it: the shortcut conv (ds)
// comes after conv3 and its relu in the text, but the groups follow a
// topological order of the layers, where ds runs before conv3's layer:
// c1 r1 c2 r2 ds | c3 r3 add y.
//
// With groups of at most 5 ops the first group is c1 .. r2 and ds. In the
// text, c3 and r3 (outside it) sit between r2 and ds, and read r2 (c3
// directly, r3 through c3): the region replaces the group at ds, both
// results (r2 and ds) leave it, and c3 and r3 move after it (in order), so
// the second group reads the first one's results after they are defined.
// CHECK-LABEL: func.func @bottleneck
// CHECK-SAME:    (%[[X:.+]]: tensor<1x32x16x16xf32>)
// CHECK-DAG:     %[[W1:.+]] = df.param "c1.weight"
// CHECK-DAG:     %[[W2:.+]] = df.param "c2.weight"
// CHECK-DAG:     %[[W3:.+]] = df.param "c3.weight"
// CHECK-DAG:     %[[WD:.+]] = df.param "ds.weight"
// CHECK:         %[[G:.+]]:2 = df.fusion_region(%[[X]], %[[W1]], %[[W2]], %[[WD]])
// CHECK-SAME:      -> (tensor<1x8x8x8xf32>, tensor<1x32x8x8xf32>)
// CHECK-NEXT:    ^bb0(%[[A:[^:]+]]: tensor<1x32x16x16xf32>, %[[F1:[^:]+]]: tensor<8x32x1x1xf32>, %[[F2:[^:]+]]: tensor<8x8x3x3xf32>, %[[FD:[^:]+]]: tensor<32x32x3x3xf32>):
// CHECK-NEXT:      %[[C1:.+]] = df.conv2d %[[A]], %[[F1]]
// CHECK-NEXT:      %[[R1:.+]] = df.activation relu %[[C1]]
// CHECK-NEXT:      %[[C2:.+]] = df.conv2d %[[R1]], %[[F2]]
// CHECK-NEXT:      %[[R2:.+]] = df.activation relu %[[C2]]
// CHECK-NEXT:      %[[DS:.+]] = df.conv2d %[[A]], %[[FD]]
// CHECK-NEXT:      df.yield %[[R2]], %[[DS]] : tensor<1x8x8x8xf32>, tensor<1x32x8x8xf32>
// CHECK-NEXT:    }
// CHECK-NEXT:    %[[H:.+]] = df.fusion_region(%[[G]]#0, %[[W3]], %[[G]]#1)
// CHECK-SAME:      -> tensor<1x32x8x8xf32>
// CHECK-NEXT:    ^bb0(%[[B:[^:]+]]: tensor<1x8x8x8xf32>, %[[F3:[^:]+]]: tensor<32x8x1x1xf32>, %[[D:[^:]+]]: tensor<1x32x8x8xf32>):
// CHECK-NEXT:      %[[C3:.+]] = df.conv2d %[[B]], %[[F3]]
// CHECK-NEXT:      %[[R3:.+]] = df.activation relu %[[C3]]
// CHECK-NEXT:      %[[S:.+]] = df.add %[[R3]], %[[D]]
// CHECK-NEXT:      %[[Y:.+]] = df.activation relu %[[S]]
// CHECK-NEXT:      df.yield %[[Y]] : tensor<1x32x8x8xf32>
// CHECK-NEXT:    }
// CHECK-NEXT:    return %[[H]]

// Layer by layer, ds is its own group, outlined where ds was: between c3
// (in the last group, c3 r3 add y) and the add. It only feeds that group,
// so nothing moves: the last region goes where y was, after ds's region,
// and reads its result.
// LAYER-LABEL: func.func @bottleneck
// LAYER-SAME:    (%[[X:.+]]: tensor<1x32x16x16xf32>)
// LAYER:         %[[G1:.+]] = df.fusion_region(%[[X]], %{{.+}}) : {{.*}} -> tensor<1x8x16x16xf32>
// LAYER:           df.conv2d
// LAYER-NEXT:      df.activation relu
// LAYER-NEXT:      df.yield
// LAYER:         %[[G2:.+]] = df.fusion_region(%[[G1]], %{{.+}}) : {{.*}} -> tensor<1x8x8x8xf32>
// LAYER:           df.conv2d
// LAYER-NEXT:      df.activation relu
// LAYER-NEXT:      df.yield
// LAYER:         %[[W3:.+]] = df.param "c3.weight"
// LAYER:         %[[WD:.+]] = df.param "ds.weight"
// LAYER-NEXT:    %[[GD:.+]] = df.fusion_region(%[[X]], %[[WD]]) : {{.*}} -> tensor<1x32x8x8xf32>
// LAYER-NEXT:    ^bb0(
// LAYER-NEXT:      df.conv2d
// LAYER-NEXT:      df.yield
// LAYER-NEXT:    }
// LAYER-NEXT:    %[[G3:.+]] = df.fusion_region(%[[G2]], %[[W3]], %[[GD]]) : {{.*}} -> tensor<1x32x8x8xf32>
// LAYER-NEXT:    ^bb0(
// LAYER-NEXT:      df.conv2d
// LAYER-NEXT:      df.activation relu
// LAYER-NEXT:      df.add
// LAYER-NEXT:      df.activation relu
// LAYER-NEXT:      df.yield
// LAYER-NEXT:    }
// LAYER-NEXT:    return %[[G3]]
func.func @bottleneck(%x: tensor<1x32x16x16xf32>) -> tensor<1x32x8x8xf32> {
  %w1 = df.param "c1.weight" : tensor<8x32x1x1xf32>
  %c1 = df.conv2d %x, %w1 strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1]
      : (tensor<1x32x16x16xf32>, tensor<8x32x1x1xf32>) -> tensor<1x8x16x16xf32>
  %r1 = df.activation relu %c1 : tensor<1x8x16x16xf32>
  %w2 = df.param "c2.weight" : tensor<8x8x3x3xf32>
  %c2 = df.conv2d %r1, %w2 strides [2, 2] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x8x16x16xf32>, tensor<8x8x3x3xf32>) -> tensor<1x8x8x8xf32>
  %r2 = df.activation relu %c2 : tensor<1x8x8x8xf32>
  %w3 = df.param "c3.weight" : tensor<32x8x1x1xf32>
  %c3 = df.conv2d %r2, %w3 strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1]
      : (tensor<1x8x8x8xf32>, tensor<32x8x1x1xf32>) -> tensor<1x32x8x8xf32>
  %r3 = df.activation relu %c3 : tensor<1x32x8x8xf32>
  %wd = df.param "ds.weight" : tensor<32x32x3x3xf32>
  %ds = df.conv2d %x, %wd strides [2, 2] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x32x16x16xf32>, tensor<32x32x3x3xf32>) -> tensor<1x32x8x8xf32>
  %s = df.add %r3, %ds : (tensor<1x32x8x8xf32>, tensor<1x32x8x8xf32>) -> tensor<1x32x8x8xf32>
  %y = df.activation relu %s : tensor<1x32x8x8xf32>
  return %y : tensor<1x32x8x8xf32>
}
