// RUN: deepfuse compile %s --no-staging --emit affine | FileCheck %s

// A strided, padded conv reads inside its input only: the output rows and
// columns each tap reaches are the loop bounds, no test per element. (Its
// column stride, 3, and its row dilation keep it on the plain kernel:
// strides 1 and 2 take the register-blocked one, tested in
// conv-blocked.mlir, and undilated ones the products of product.mlir.)
// CHECK-DAG: #[[ROWS_LO:.*]] = affine_map<(d0) -> (0, (d0 * -2 + 1) ceildiv 2)>
// CHECK-DAG: #[[ROWS_HI:.*]] = affine_map<(d0) -> (3, -d0 + 5)>
// CHECK-DAG: #[[COLS_LO:.*]] = affine_map<(d0) -> (0, (-d0 + 1) ceildiv 3)>
// CHECK-DAG: #[[COLS_HI:.*]] = affine_map<(d0) -> (3, (-d0 + 8) floordiv 3 + 1)>
// A padded pool of stride 2 computes 8 output columns per vector
// (pool.rs): the window's rows inside the input are the tap loop's bounds,
// and each tap loads two vectors of its input row, the lanes outside it
// masked off, and keeps the even lanes.
// CHECK-DAG: #[[POOL_ROWS_LO:.*]] = affine_map<(d0) -> (0, d0 * -2 + 1)>
// CHECK-DAG: #[[POOL_ROWS_HI:.*]] = affine_map<(d0) -> (3, d0 * -2 + 4)>
// One private kernel per distinct configuration; operands never alias.
// CHECK-LABEL: func.func private @df_kernel_0_conv2d(
// CHECK-SAME: %{{.*}}: memref<1x2x8x8xf32> {llvm.noalias}
// CHECK-SAME: attributes {passthrough = ["noinline"]}
// Bias first, then each tap over the output rows and columns it reaches.
// CHECK: affine.for %{{.*}} = max #[[ROWS_LO]](%{{.*}}) to min #[[ROWS_HI]](%{{.*}})
// CHECK: affine.for %{{.*}} = max #[[COLS_LO]](%{{.*}}) to min #[[COLS_HI]](%{{.*}})
// CHECK: arith.mulf
// CHECK-NEXT: arith.addf
// CHECK-LABEL: func.func private @df_kernel_1_activation(
// CHECK: arith.maximumf
// CHECK-LABEL: func.func private @df_kernel_2_add(
// CHECK-LABEL: func.func private @df_kernel_3_pool2d(
// CHECK: affine.for %[[PY:.*]] = 0 to 2 {
// CHECK-NEXT: affine.for %{{.*}} = 0 to 2 step 8 {
// The masks of the taps' loads and the count the average divides by (the
// taps inside the input, no count_include_pad: the window's rows times its
// columns) are computed once for all channels, the channel loop inside.
// CHECK: %[[COUNT:.*]] = arith.mulf %{{.*}}, %{{.*}} : vector<8xf32>
// CHECK-NEXT: affine.for %{{.*}} = 0 to 3 {
// CHECK-NEXT: affine.for %{{.*}} = max #[[POOL_ROWS_LO]](%[[PY]]) to min #[[POOL_ROWS_HI]](%[[PY]]) iter_args(
// Each of the 3 taps of a row loads two vectors and keeps the even lanes.
// CHECK: %[[LOW0:.*]] = vector.maskedload
// CHECK: %[[HIGH0:.*]] = vector.maskedload
// CHECK-NEXT: %[[EVEN0:.*]] = vector.shuffle %[[LOW0]], %[[HIGH0]] [0, 2, 4, 6, 8, 10, 12, 14]
// CHECK-NEXT: %[[SUM0:.*]] = arith.addf %{{.*}}, %[[EVEN0]] : vector<8xf32>
// CHECK: %[[LOW1:.*]] = vector.maskedload
// CHECK: %[[HIGH1:.*]] = vector.maskedload
// CHECK-NEXT: %[[EVEN1:.*]] = vector.shuffle %[[LOW1]], %[[HIGH1]] [0, 2, 4, 6, 8, 10, 12, 14]
// CHECK-NEXT: %[[SUM1:.*]] = arith.addf %[[SUM0]], %[[EVEN1]] : vector<8xf32>
// CHECK: %[[LOW2:.*]] = vector.maskedload
// CHECK: %[[HIGH2:.*]] = vector.maskedload
// CHECK-NEXT: %[[EVEN2:.*]] = vector.shuffle %[[LOW2]], %[[HIGH2]] [0, 2, 4, 6, 8, 10, 12, 14]
// CHECK-NEXT: %[[SUM2:.*]] = arith.addf %[[SUM1]], %[[EVEN2]] : vector<8xf32>
// CHECK-NEXT: affine.yield %[[SUM2]]
// CHECK: %[[MEAN:.*]] = arith.divf %{{.*}}, %[[COUNT]] : vector<8xf32>
// CHECK-NEXT: vector.maskedstore %{{.*}}, %{{.*}}, %[[MEAN]]
// CHECK-NOT: func.func private

// CHECK-LABEL: func.func @deepfuse_init(
// CHECK-LABEL: func.func @deepfuse_forward(
// CHECK-SAME: %{{.*}}: memref<{{[0-9]+}}xi8>, %{{.*}}: memref<{{[0-9]+}}xi8>, %{{.*}}: memref<1048576xi8>)
// Every tensor is a view of the activation or the parameter buffer.
// CHECK: memref.view {{.*}} to memref<1x2x8x8xf32>
// CHECK: call @df_kernel_0_conv2d(
// The two relus share one kernel.
// CHECK-NEXT: call @df_kernel_1_activation(
// CHECK-NEXT: call @df_kernel_1_activation(
// CHECK-NEXT: call @df_kernel_2_add(
// CHECK-NEXT: call @df_kernel_3_pool2d(
// CHECK-NEXT: return
func.func @net(%x: tensor<1x2x8x8xf32>) -> tensor<1x3x2x2xf32> {
  %w = df.param "w" : tensor<3x2x3x3xf32>
  %b = df.param "b" : tensor<3xf32>
  %c = df.conv2d %x, %w, %b strides [2, 3] pads [1, 1, 1, 1] dilations [2, 1]
      : (tensor<1x2x8x8xf32>, tensor<3x2x3x3xf32>, tensor<3xf32>) -> tensor<1x3x3x3xf32>
  %r = df.activation relu %c : tensor<1x3x3x3xf32>
  %r2 = df.activation relu %r : tensor<1x3x3x3xf32>
  %s = df.add %r, %r2 : (tensor<1x3x3x3xf32>, tensor<1x3x3x3xf32>) -> tensor<1x3x3x3xf32>
  %p = df.pool2d avg %s kernel [3, 3] strides [2, 2] pads [1, 1, 1, 1]
      : tensor<1x3x3x3xf32> -> tensor<1x3x2x2xf32>
  return %p : tensor<1x3x2x2xf32>
}
