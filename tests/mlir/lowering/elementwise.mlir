// RUN: deepfuse compile %s --no-staging --emit affine | FileCheck %s --check-prefix=FLAT
// RUN: deepfuse compile %s --strategy dp --scratchpad 4KiB --stage-all --emit affine | FileCheck %s --check-prefix=ROWS

// Op by op, an activation and an add of operands of the result's shape
// are one loop over flat views of their tensors, which LLVM vectorises
// whole (rows of 13 columns would leave most of it to scalar remainders).
// FLAT-LABEL: func.func private @df_kernel_1_activation(
// FLAT-SAME: %{{.*}}: memref<1352xf32> {llvm.noalias}, %{{.*}}: memref<1352xf32> {llvm.noalias}
// FLAT: affine.for %[[I:.*]] = 0 to 1352 {
// FLAT-NEXT: affine.load %{{.*}}[%[[I]]] : memref<1352xf32>
// FLAT-LABEL: func.func private @df_kernel_2_add(
// FLAT-SAME: memref<1352xf32> {llvm.noalias}, %{{.*}}: memref<1352xf32> {llvm.noalias}, %{{.*}}: memref<1352xf32> {llvm.noalias}
// FLAT-LABEL: func.func @deepfuse_forward(
// FLAT: call @df_kernel_1_activation(%{{.*}}, %{{.*}}) : (memref<1352xf32>, memref<1352xf32>) -> ()
// FLAT-NEXT: call @df_kernel_2_add(

// Staged, their tile kernels run in vectors of 8 columns, the last one
// masked; the leaky relu selects lane by lane. Each view's rows are merged
// ([1, 8, 2]), and per channel a loop runs over runs: the frame's rows one
// by one (its bounds are arguments), or, when the frame spans whole rows
// of every window (its first column each window's and its width theirs:
// the selects), all its rows as one run.
// ROWS-DAG: #[[LANES:.*]] = affine_map<(d0)[s0] -> (8, -d0 + s0)>
// ROWS-DAG: #[[AT:.*]] = affine_map<(d0, d1)[s0] -> (d0 * 2 + d1 + s0)>
// ROWS-LABEL: func.func private @df_tile_{{[0-9]+}}_activation(
// ROWS: %[[ROWS:.*]] = affine.apply #{{.*}}()[%arg4, %arg5]
// ROWS-NEXT: %[[COLS:.*]] = affine.apply #{{.*}}()[%arg6, %arg7]
// ROWS-NEXT: %[[LEFT_IN:.*]] = arith.cmpi eq, %arg6, %arg10 : index
// ROWS-NEXT: %[[WIDE:.*]] = arith.cmpi eq, %[[COLS]], %c2 : index
// ROWS-NEXT: %[[LEFT_OUT:.*]] = arith.cmpi eq, %arg6, %arg13 : index
// ROWS-NEXT: %[[W1:.*]] = arith.andi %[[LEFT_IN]], %[[WIDE]] : i1
// ROWS-NEXT: %[[WHOLE:.*]] = arith.andi %[[W1]], %[[LEFT_OUT]] : i1
// ROWS-NEXT: %[[TRIPS:.*]] = arith.select %[[WHOLE]], %c1, %[[ROWS]] : index
// ROWS-NEXT: %[[MERGED:.*]] = affine.apply #{{.*}}()[%[[ROWS]]]
// ROWS-NEXT: %[[LEN:.*]] = arith.select %[[WHOLE]], %[[MERGED]], %[[COLS]] : index
// ROWS: memref.collapse_shape %{{.*}} {{\[\[}}0], [1], [2, 3]] : memref<1x8x1x2xf32> into memref<1x8x2xf32>
// ROWS: affine.for %[[R:.*]] = 0 to %[[TRIPS]] {
// ROWS-NEXT: affine.for %[[X:.*]] = 0 to %[[LEN]] step 8 {
// ROWS-NEXT: %[[N:.*]] = affine.min #[[LANES]](%[[X]])[%[[LEN]]]
// ROWS-NEXT: %[[MASK:.*]] = vector.create_mask %[[N]] : vector<8xi1>
// ROWS-NEXT: affine.apply #[[AT]](%[[R]], %[[X]])
// ROWS: vector.maskedload %{{.*}}, %[[MASK]], %{{.*}} : memref<1x8x2xf32>, vector<8xi1>, vector<8xf32> into vector<8xf32>
// ROWS: arith.cmpf oge, %{{.*}}, %{{.*}} : vector<8xf32>
// ROWS-NEXT: arith.select %{{.*}} : vector<8xi1>, vector<8xf32>
// ROWS: vector.maskedstore %{{.*}}, %[[MASK]], %{{.*}} : memref<1x8x2xf32>, vector<8xi1>, vector<8xf32>
// ROWS-LABEL: func.func private @df_tile_{{[0-9]+}}_add(
// ROWS: vector.create_mask
// ROWS: vector.maskedload
// ROWS: vector.maskedload
// ROWS-NEXT: arith.addf %{{.*}}, %{{.*}} : vector<8xf32>
// ROWS: vector.maskedstore
func.func @net(%x: tensor<1x8x13x13xf32>) -> tensor<1x8x13x13xf32> {
  %w = df.param "w" : tensor<8x8x3x3xf32>
  %b = df.param "b" : tensor<8xf32>
  %c = df.conv2d %x, %w, %b strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x8x13x13xf32>, tensor<8x8x3x3xf32>, tensor<8xf32>) -> tensor<1x8x13x13xf32>
  %r = df.activation leaky_relu %c {alpha = 0.125 : f32} : tensor<1x8x13x13xf32>
  %s = df.add %c, %r : (tensor<1x8x13x13xf32>, tensor<1x8x13x13xf32>) -> tensor<1x8x13x13xf32>
  return %s : tensor<1x8x13x13xf32>
}
