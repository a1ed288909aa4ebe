// RUN: deepfuse-opt %s --split-input-file --verify-diagnostics

//===----------------------------------------------------------------------===//
// Type constraints
//===----------------------------------------------------------------------===//

func.func @dynamic_shape(%x: tensor<?x8x4x4xf32>) {
  // expected-error@+1 {{'df.activation' op operand #0 must be statically shaped float tensor of rank 1 to 4, but got 'tensor<?x8x4x4xf32>'}}
  %y = df.activation relu %x : tensor<?x8x4x4xf32>
  return
}

// -----

func.func @dynamic_shape_4d(%x: tensor<1x8x?x4xf32>) {
  // expected-error@+1 {{'df.global_pool' op operand #0 must be statically shaped 4-D (NCHW) float tensor, but got 'tensor<1x8x?x4xf32>'}}
  %y = df.global_pool avg %x : tensor<1x8x?x4xf32> -> tensor<1x8x1x1xf32>
  return
}

// -----

func.func @unranked(%x: tensor<*xf32>) {
  // expected-error@+1 {{'df.softmax' op operand #0 must be statically shaped float tensor of rank 1 to 4, but got 'tensor<*xf32>'}}
  %y = "df.softmax"(%x) {axis = 0 : i64} : (tensor<*xf32>) -> tensor<*xf32>
  return
}

// -----

// The custom form already needs a ranked tensor type.
func.func @unranked_custom_form(%x: tensor<*xf32>) {
  // expected-error@+1 {{custom op 'df.softmax' invalid kind of type specified: expected builtin.tensor, but found 'tensor<*xf32>'}}
  %y = df.softmax %x axis 0 : tensor<*xf32>
  return
}

// -----

func.func @integer_elements(%x: tensor<4xi32>) {
  // expected-error@+1 {{'df.activation' op operand #0 must be statically shaped float tensor of rank 1 to 4, but got 'tensor<4xi32>'}}
  %y = df.activation relu %x : tensor<4xi32>
  return
}

// -----

func.func @rank_5(%x: tensor<1x2x3x4x5xf32>) {
  // expected-error@+1 {{'df.reshape' op operand #0 must be statically shaped float tensor of rank 1 to 4, but got 'tensor<1x2x3x4x5xf32>'}}
  %y = df.reshape %x : tensor<1x2x3x4x5xf32> -> tensor<120xf32>
  return
}

// -----

func.func @conv_not_nchw(%x: tensor<3x8x8xf32>) {
  %w = df.param "w" : tensor<4x3x3x3xf32>
  // expected-error@+1 {{'df.conv2d' op operand #0 must be statically shaped 4-D (NCHW) float tensor, but got 'tensor<3x8x8xf32>'}}
  %y = df.conv2d %x, %w strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x8x8xf32>
  return
}

// -----

func.func @element_type_mismatch(%x: tensor<1x3x8x8xf32>) {
  %w = df.param "w" : tensor<4x3x3x3xf16>
  // expected-error@+1 {{'df.conv2d' op operand #1 has element type 'f16', expected 'f32'}}
  %y = df.conv2d %x, %w strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf16>) -> tensor<1x4x8x8xf32>
  return
}

// -----

func.func @element_type_mismatch_result(%a: tensor<4xf32>, %b: tensor<4xf32>) {
  // expected-error@+1 {{'df.add' op result #0 has element type 'f16', expected 'f32'}}
  %y = df.add %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf16>
  return
}

// -----

//===----------------------------------------------------------------------===//
// df.param
//===----------------------------------------------------------------------===//

func.func @param_empty_name() {
  // expected-error@+1 {{'df.param' op parameter name must not be empty}}
  %w = df.param "" : tensor<4xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// df.fold_batch_norm
//===----------------------------------------------------------------------===//

func.func @fold_batch_norm_scale_length(%w: tensor<8x3x3x3xf32>, %v8: tensor<8xf32>, %v4: tensor<4xf32>) {
  // expected-error@+1 {{'df.fold_batch_norm' op scale must be a vector of 8 per-channel values, got 'tensor<4xf32>'}}
  %nw, %nb = df.fold_batch_norm %w with %v4, %v8, %v8, %v8 epsilon 0.125
      : (tensor<8x3x3x3xf32>, tensor<4xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>)
      -> (tensor<8x3x3x3xf32>, tensor<8xf32>)
  return
}

// -----

func.func @fold_batch_norm_bias_length(%w: tensor<8x3x3x3xf32>, %v8: tensor<8xf32>, %b: tensor<1x8xf32>) {
  // expected-error@+1 {{'df.fold_batch_norm' op bias must be a vector of 8 per-channel values, got 'tensor<1x8xf32>'}}
  %nw, %nb = df.fold_batch_norm %w bias %b with %v8, %v8, %v8, %v8 epsilon 0.125
      : (tensor<8x3x3x3xf32>, tensor<1x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>)
      -> (tensor<8x3x3x3xf32>, tensor<8xf32>)
  return
}

// -----

func.func @fold_batch_norm_variance_length(%w: tensor<8x3x3x3xf32>, %v8: tensor<8xf32>, %v9: tensor<9xf32>) {
  // expected-error@+1 {{'df.fold_batch_norm' op variance must be a vector of 8 per-channel values, got 'tensor<9xf32>'}}
  %nw, %nb = df.fold_batch_norm %w with %v8, %v8, %v8, %v9 epsilon 0.125
      : (tensor<8x3x3x3xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<9xf32>)
      -> (tensor<8x3x3x3xf32>, tensor<8xf32>)
  return
}

// -----

func.func @fold_batch_norm_new_bias(%w: tensor<8x3x3x3xf32>, %v8: tensor<8xf32>) {
  // expected-error@+1 {{'df.fold_batch_norm' op new bias must be a vector of 8 per-channel values, got 'tensor<1x8xf32>'}}
  %nw, %nb = df.fold_batch_norm %w with %v8, %v8, %v8, %v8 epsilon 0.125
      : (tensor<8x3x3x3xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>)
      -> (tensor<8x3x3x3xf32>, tensor<1x8xf32>)
  return
}

// -----

func.func @fold_batch_norm_new_filter(%w: tensor<8x3x3x3xf32>, %v8: tensor<8xf32>) {
  // expected-error@+1 {{'df.fold_batch_norm' op new filter type 'tensor<8x3x1x1xf32>' must equal the filter type 'tensor<8x3x3x3xf32>'}}
  %nw, %nb = df.fold_batch_norm %w with %v8, %v8, %v8, %v8 epsilon 0.125
      : (tensor<8x3x3x3xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>)
      -> (tensor<8x3x1x1xf32>, tensor<8xf32>)
  return
}

// -----

func.func @fold_batch_norm_negative_epsilon(%w: tensor<8x3x3x3xf32>, %v8: tensor<8xf32>) {
  // expected-error@+1 {{'df.fold_batch_norm' op epsilon must not be negative}}
  %nw, %nb = df.fold_batch_norm %w with %v8, %v8, %v8, %v8 epsilon -0.125
      : (tensor<8x3x3x3xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>)
      -> (tensor<8x3x3x3xf32>, tensor<8xf32>)
  return
}

// -----

func.func @fold_batch_norm_element_type(%w: tensor<8x3x3x3xf32>, %v8: tensor<8xf32>, %h8: tensor<8xf16>) {
  // expected-error@+1 {{'df.fold_batch_norm' op operand #2 has element type 'f16', expected 'f32'}}
  %nw, %nb = df.fold_batch_norm %w with %v8, %h8, %v8, %v8 epsilon 0.125
      : (tensor<8x3x3x3xf32>, tensor<8xf32>, tensor<8xf16>, tensor<8xf32>, tensor<8xf32>)
      -> (tensor<8x3x3x3xf32>, tensor<8xf32>)
  return
}

// -----

//===----------------------------------------------------------------------===//
// df.conv2d
//===----------------------------------------------------------------------===//

func.func @conv_output_height(%x: tensor<1x3x224x224xf32>, %w: tensor<64x3x7x7xf32>) {
  // expected-error@+1 {{'df.conv2d' op output dimension 2 (height) is 111, expected 112 from input height 224, kernel 7, stride 2, padding 3+3}}
  %y = df.conv2d %x, %w strides [2, 2] pads [3, 3, 3, 3] dilations [1, 1]
      : (tensor<1x3x224x224xf32>, tensor<64x3x7x7xf32>) -> tensor<1x64x111x112xf32>
  return
}

// -----

func.func @conv_output_width(%x: tensor<1x3x224x224xf32>, %w: tensor<64x3x7x7xf32>) {
  // expected-error@+1 {{'df.conv2d' op output dimension 3 (width) is 113, expected 112 from input width 224, kernel 7, stride 2, padding 3+3}}
  %y = df.conv2d %x, %w strides [2, 2] pads [3, 3, 3, 3] dilations [1, 1]
      : (tensor<1x3x224x224xf32>, tensor<64x3x7x7xf32>) -> tensor<1x64x112x113xf32>
  return
}

// -----

// pads are [top, left, bottom, right]: the width uses left 0 and right 2.
func.func @conv_output_width_asymmetric(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+1 {{'df.conv2d' op output dimension 3 (width) is 8, expected 4 from input width 8, kernel 3, stride 2, padding 0+2}}
  %y = df.conv2d %x, %w strides [1, 2] pads [1, 0, 1, 2] dilations [1, 1]
      : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x8x8xf32>
  return
}

// -----

func.func @conv_output_dilation(%x: tensor<1x4x20x20xf32>, %w: tensor<4x4x3x3xf32>) {
  // expected-error@+1 {{'df.conv2d' op output dimension 2 (height) is 20, expected 18 from input height 20, kernel 3, stride 1, padding 1+1, dilation 2}}
  %y = df.conv2d %x, %w strides [1, 1] pads [1, 1, 1, 1] dilations [2, 2]
      : (tensor<1x4x20x20xf32>, tensor<4x4x3x3xf32>) -> tensor<1x4x20x20xf32>
  return
}

// -----

func.func @conv_window_too_large(%x: tensor<1x3x4x4xf32>, %w: tensor<8x3x7x7xf32>) {
  // expected-error@+1 {{'df.conv2d' op window of 7 does not fit the padded input height 6 (input 4, padding 1+1)}}
  %y = df.conv2d %x, %w strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x3x4x4xf32>, tensor<8x3x7x7xf32>) -> tensor<1x8x1x1xf32>
  return
}

// -----

func.func @conv_output_batch(%x: tensor<2x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+1 {{'df.conv2d' op output dimension 0 (batch) is 1, expected 2 (the input batch)}}
  %y = df.conv2d %x, %w strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<2x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x8x8xf32>
  return
}

// -----

func.func @conv_output_channels(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+1 {{'df.conv2d' op output dimension 1 (channel) is 8, expected 4 (the filter's output channels)}}
  %y = df.conv2d %x, %w strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x8x8x8xf32>
  return
}

// -----

func.func @conv_filter_channels(%x: tensor<1x3x8x8xf32>, %w: tensor<4x4x3x3xf32>) {
  // expected-error@+1 {{'df.conv2d' op filter dimension 1 (input channels per group) is 4, expected 3 (input channels 3 / groups 1)}}
  %y = df.conv2d %x, %w strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x3x8x8xf32>, tensor<4x4x3x3xf32>) -> tensor<1x4x8x8xf32>
  return
}

// -----

func.func @conv_filter_channels_per_group(%x: tensor<1x8x8x8xf32>, %w: tensor<8x8x3x3xf32>) {
  // expected-error@+1 {{'df.conv2d' op filter dimension 1 (input channels per group) is 8, expected 4 (input channels 8 / groups 2)}}
  %y = df.conv2d %x, %w strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1] {groups = 2 : i64}
      : (tensor<1x8x8x8xf32>, tensor<8x8x3x3xf32>) -> tensor<1x8x8x8xf32>
  return
}

// -----

func.func @conv_input_channels_not_divisible(%x: tensor<1x6x8x8xf32>, %w: tensor<8x1x3x3xf32>) {
  // expected-error@+1 {{'df.conv2d' op input channels 6 are not divisible by groups 4}}
  %y = df.conv2d %x, %w strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1] {groups = 4 : i64}
      : (tensor<1x6x8x8xf32>, tensor<8x1x3x3xf32>) -> tensor<1x8x8x8xf32>
  return
}

// -----

func.func @conv_filter_channels_not_divisible(%x: tensor<1x8x8x8xf32>, %w: tensor<6x2x3x3xf32>) {
  // expected-error@+1 {{'df.conv2d' op filter output channels 6 are not divisible by groups 4}}
  %y = df.conv2d %x, %w strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1] {groups = 4 : i64}
      : (tensor<1x8x8x8xf32>, tensor<6x2x3x3xf32>) -> tensor<1x6x8x8xf32>
  return
}

// -----

func.func @conv_groups_zero(%x: tensor<1x8x8x8xf32>, %w: tensor<8x8x3x3xf32>) {
  // expected-error@+1 {{'df.conv2d' op groups must be at least 1, got 0}}
  %y = df.conv2d %x, %w strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1] {groups = 0 : i64}
      : (tensor<1x8x8x8xf32>, tensor<8x8x3x3xf32>) -> tensor<1x8x8x8xf32>
  return
}

// -----

func.func @conv_bias_length(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<3xf32>) {
  // expected-error@+1 {{'df.conv2d' op bias must be a vector of 4 per-channel values, got 'tensor<3xf32>'}}
  %y = df.conv2d %x, %w, %b strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<3xf32>) -> tensor<1x4x8x8xf32>
  return
}

// -----

func.func @conv_bias_not_vector(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<1x4x1x1xf32>) {
  // expected-error@+1 {{'df.conv2d' op bias must be a vector of 4 per-channel values, got 'tensor<1x4x1x1xf32>'}}
  %y = df.conv2d %x, %w, %b strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<1x4x1x1xf32>) -> tensor<1x4x8x8xf32>
  return
}

// -----

func.func @conv_strides_size(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+1 {{'df.conv2d' op 'strides' must have 2 values, got 3}}
  %y = df.conv2d %x, %w strides [1, 1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x8x8xf32>
  return
}

// -----

func.func @conv_stride_zero(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+1 {{'df.conv2d' op 'strides' value #1 is 0, must be at least 1}}
  %y = df.conv2d %x, %w strides [1, 0] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x8x8xf32>
  return
}

// -----

func.func @conv_pads_size(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+1 {{'df.conv2d' op 'pads' must have 4 values, got 2}}
  %y = df.conv2d %x, %w strides [1, 1] pads [1, 1] dilations [1, 1]
      : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x8x8xf32>
  return
}

// -----

func.func @conv_negative_pad(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+1 {{'df.conv2d' op 'pads' value #2 is -1, must be at least 0}}
  %y = df.conv2d %x, %w strides [1, 1] pads [1, 1, -1, 1] dilations [1, 1]
      : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x8xf32>
  return
}

// -----

func.func @conv_dilations_size(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+1 {{'df.conv2d' op 'dilations' must have 2 values, got 1}}
  %y = df.conv2d %x, %w strides [1, 1] pads [1, 1, 1, 1] dilations [1]
      : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x8x8xf32>
  return
}

// -----

func.func @conv_missing_attribute(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+1 {{'df.conv2d' op requires attribute 'dilations'}}
  %y = "df.conv2d"(%x, %w) {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>}
      : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x8x8xf32>
  return
}

// -----

func.func @conv_dilation_zero(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+1 {{'df.conv2d' op 'dilations' value #0 is 0, must be at least 1}}
  %y = df.conv2d %x, %w strides [1, 1] pads [1, 1, 1, 1] dilations [0, 1]
      : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x8x8xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// df.pool2d
//===----------------------------------------------------------------------===//

func.func @pool_pad_not_smaller_than_kernel(%x: tensor<1x8x8x8xf32>) {
  // expected-error@+1 {{'df.pool2d' op padding 2 must be smaller than the kernel 2, or a window would cover only padding}}
  %y = df.pool2d max %x kernel [2, 2] strides [2, 2] pads [0, 2, 0, 0]
      : tensor<1x8x8x8xf32> -> tensor<1x8x4x5xf32>
  return
}

// -----

func.func @pool_output_size(%x: tensor<1x64x112x112xf32>) {
  // expected-error@+1 {{'df.pool2d' op output dimension 2 (height) is 57, expected 56 from input height 112, kernel 3, stride 2, padding 1+1}}
  %y = df.pool2d max %x kernel [3, 3] strides [2, 2] pads [1, 1, 1, 1]
      : tensor<1x64x112x112xf32> -> tensor<1x64x57x56xf32>
  return
}

// -----

// Without ceil_mode, (112 - 3) / 2 + 1 = 55 (rounded down).
func.func @pool_output_without_ceil_mode(%x: tensor<1x64x112x112xf32>) {
  // expected-error@+1 {{'df.pool2d' op output dimension 2 (height) is 56, expected 55 from input height 112, kernel 3, stride 2, padding 0+0}}
  %y = df.pool2d max %x kernel [3, 3] strides [2, 2] pads [0, 0, 0, 0]
      : tensor<1x64x112x112xf32> -> tensor<1x64x56x56xf32>
  return
}

// -----

// With ceil_mode, (112 - 3) / 2 + 1 = 56 (rounded up).
func.func @pool_output_ceil_mode(%x: tensor<1x64x112x112xf32>) {
  // expected-error@+1 {{'df.pool2d' op output dimension 3 (width) is 55, expected 56 from input width 112, kernel 3, stride 2, padding 0+0, ceil mode}}
  %y = df.pool2d max %x kernel [3, 3] strides [2, 2] pads [0, 0, 0, 0] ceil_mode
      : tensor<1x64x112x112xf32> -> tensor<1x64x56x55xf32>
  return
}

// -----

// With ceil_mode, a last window that would start in the end padding is
// dropped: 7 + 1 + 1 padded, kernel 2, stride 2 gives 4 windows, not 5.
func.func @pool_ceil_mode_drops_window_in_padding(%x: tensor<1x16x7x7xf32>) {
  // expected-error@+1 {{'df.pool2d' op output dimension 2 (height) is 5, expected 4 from input height 7, kernel 2, stride 2, padding 1+1, ceil mode}}
  %y = df.pool2d avg %x kernel [2, 2] strides [2, 2] pads [1, 1, 1, 1] ceil_mode
      : tensor<1x16x7x7xf32> -> tensor<1x16x5x5xf32>
  return
}

// -----

func.func @pool_output_channels(%x: tensor<1x8x8x8xf32>) {
  // expected-error@+1 {{'df.pool2d' op output dimension 1 (channel) is 4, expected 8 (the input channels)}}
  %y = df.pool2d avg %x kernel [2, 2] strides [2, 2] pads [0, 0, 0, 0]
      : tensor<1x8x8x8xf32> -> tensor<1x4x4x4xf32>
  return
}

// -----

func.func @pool_pads_size(%x: tensor<1x8x8x8xf32>) {
  // expected-error@+1 {{'df.pool2d' op 'pads' must have 4 values, got 3}}
  %y = df.pool2d max %x kernel [2, 2] strides [2, 2] pads [0, 0, 0]
      : tensor<1x8x8x8xf32> -> tensor<1x8x4x4xf32>
  return
}

// -----

func.func @pool_negative_pad(%x: tensor<1x8x8x8xf32>) {
  // expected-error@+1 {{'df.pool2d' op 'pads' value #3 is -1, must be at least 0}}
  %y = df.pool2d max %x kernel [2, 2] strides [2, 2] pads [0, 0, 0, -1]
      : tensor<1x8x8x8xf32> -> tensor<1x8x4x4xf32>
  return
}

// -----

func.func @pool_kernel_size(%x: tensor<1x8x8x8xf32>) {
  // expected-error@+1 {{'df.pool2d' op 'kernel' must have 2 values, got 1}}
  %y = df.pool2d max %x kernel [2] strides [2, 2] pads [0, 0, 0, 0]
      : tensor<1x8x8x8xf32> -> tensor<1x8x4x4xf32>
  return
}

// -----

func.func @pool_kernel_larger_than_input(%x: tensor<1x8x2x2xf32>) {
  // expected-error@+1 {{'df.pool2d' op window of 3 does not fit the padded input height 2 (input 2, padding 0+0)}}
  %y = df.pool2d max %x kernel [3, 3] strides [1, 1] pads [0, 0, 0, 0]
      : tensor<1x8x2x2xf32> -> tensor<1x8x1x1xf32>
  return
}

// -----

func.func @pool_unknown_kind(%x: tensor<1x8x8x8xf32>) {
  // expected-error@+1 {{custom op 'df.pool2d' expected string or keyword containing one of the following enum values for attribute 'kind' [max, avg]}}
  %y = df.pool2d min %x kernel [2, 2] strides [2, 2] pads [0, 0, 0, 0]
      : tensor<1x8x8x8xf32> -> tensor<1x8x4x4xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// df.resize
//===----------------------------------------------------------------------===//

func.func @resize_output(%x: tensor<1x8x4x5xf32>) {
  // expected-error@+1 {{'df.resize' op output dimension 3 (width) is 10, expected 15 (input 5 x scale 3)}}
  %y = df.resize %x scales [2, 3] : tensor<1x8x4x5xf32> -> tensor<1x8x8x10xf32>
  return
}

// -----

func.func @resize_channels(%x: tensor<1x8x4x4xf32>) {
  // expected-error@+1 {{'df.resize' op output dimension 1 (channel) is 16, expected 8 (the input channels)}}
  %y = df.resize %x scales [2, 2] : tensor<1x8x4x4xf32> -> tensor<1x16x8x8xf32>
  return
}

// -----

func.func @resize_scales_size(%x: tensor<1x8x4x4xf32>) {
  // expected-error@+1 {{'df.resize' op 'scales' must have 2 values, got 4}}
  %y = df.resize %x scales [1, 1, 2, 2] : tensor<1x8x4x4xf32> -> tensor<1x8x8x8xf32>
  return
}

// -----

func.func @resize_scale_zero(%x: tensor<1x8x4x4xf32>) {
  // expected-error@+1 {{'df.resize' op 'scales' value #0 is 0, must be at least 1}}
  %y = df.resize %x scales [0, 2] : tensor<1x8x4x4xf32> -> tensor<1x8x1x8xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// df.pad
//===----------------------------------------------------------------------===//

func.func @pad_output(%x: tensor<1x8x4x4xf32>) {
  // expected-error@+1 {{'df.pad' op output dimension 3 (width) is 6, expected 7 (input 4 + padding 2+1)}}
  %y = df.pad %x pads [0, 0, 1, 2, 0, 0, 1, 1] value 0.0 : tensor<1x8x4x4xf32> -> tensor<1x8x6x6xf32>
  return
}

// -----

func.func @pad_size(%x: tensor<1x8x4x4xf32>) {
  // expected-error@+1 {{'df.pad' op 'pads' must have 8 values, got 4}}
  %y = df.pad %x pads [1, 1, 1, 1] value 0.0 : tensor<1x8x4x4xf32> -> tensor<1x8x6x6xf32>
  return
}

// -----

func.func @pad_negative(%x: tensor<3x5xf32>) {
  // expected-error@+1 {{'df.pad' op 'pads' value #3 is -1, must be at least 0}}
  %y = df.pad %x pads [0, 0, 0, -1] value 0.0 : tensor<3x5xf32> -> tensor<3x4xf32>
  return
}

// -----

func.func @pad_rank(%x: tensor<3x5xf32>) {
  // expected-error@+1 {{'df.pad' op output must have rank 2, got 3}}
  %y = df.pad %x pads [0, 0, 0, 0] value 0.0 : tensor<3x5xf32> -> tensor<1x3x5xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// df.batch_norm
//===----------------------------------------------------------------------===//

func.func @batch_norm_vector_length(%x: tensor<1x8x4x4xf32>, %v8: tensor<8xf32>, %v16: tensor<16xf32>) {
  // expected-error@+1 {{'df.batch_norm' op mean must be a vector of 8 per-channel values, got 'tensor<16xf32>'}}
  %y = df.batch_norm %x, %v8, %v8, %v16, %v8 epsilon 0.125
      : (tensor<1x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>, tensor<16xf32>, tensor<8xf32>) -> tensor<1x8x4x4xf32>
  return
}

// -----

func.func @batch_norm_vector_rank(%x: tensor<1x8x4x4xf32>, %v8: tensor<8xf32>, %m: tensor<1x8x1x1xf32>) {
  // expected-error@+1 {{'df.batch_norm' op scale must be a vector of 8 per-channel values, got 'tensor<1x8x1x1xf32>'}}
  %y = df.batch_norm %x, %m, %v8, %v8, %v8 epsilon 0.125
      : (tensor<1x8x4x4xf32>, tensor<1x8x1x1xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<1x8x4x4xf32>
  return
}

// -----

func.func @batch_norm_result_type(%x: tensor<1x8x4x4xf32>, %v8: tensor<8xf32>) {
  // expected-error@+1 {{'df.batch_norm' op result type 'tensor<1x8x2x2xf32>' must equal the input type 'tensor<1x8x4x4xf32>'}}
  %y = df.batch_norm %x, %v8, %v8, %v8, %v8 epsilon 0.125
      : (tensor<1x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<1x8x2x2xf32>
  return
}

// -----

func.func @batch_norm_negative_epsilon(%x: tensor<1x8x4x4xf32>, %v8: tensor<8xf32>) {
  // expected-error@+1 {{'df.batch_norm' op epsilon must not be negative}}
  %y = df.batch_norm %x, %v8, %v8, %v8, %v8 epsilon -1.0
      : (tensor<1x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<1x8x4x4xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// df.activation
//===----------------------------------------------------------------------===//

func.func @clip_missing_max(%x: tensor<4xf32>) {
  // expected-error@+1 {{'df.activation' op 'clip' requires the attribute 'max'}}
  %y = df.activation clip %x {min = 0.0 : f32} : tensor<4xf32>
  return
}

// -----

func.func @clip_missing_min(%x: tensor<4xf32>) {
  // expected-error@+1 {{'df.activation' op 'clip' requires the attribute 'min'}}
  %y = df.activation clip %x {max = 6.0 : f32} : tensor<4xf32>
  return
}

// -----

func.func @clip_inverted(%x: tensor<4xf32>) {
  // expected-error@+1 {{'df.activation' op clip bounds are inverted: min 6.000000e+00 > max 0.000000e+00}}
  %y = df.activation clip %x {min = 6.0 : f32, max = 0.0 : f32} : tensor<4xf32>
  return
}

// -----

func.func @clip_extra_alpha(%x: tensor<4xf32>) {
  // expected-error@+1 {{'df.activation' op 'clip' takes no attribute 'alpha'}}
  %y = df.activation clip %x {min = 0.0 : f32, max = 6.0 : f32, alpha = 1.0 : f32} : tensor<4xf32>
  return
}

// -----

func.func @relu_extra_attribute(%x: tensor<4xf32>) {
  // expected-error@+1 {{'df.activation' op 'relu' takes no attribute 'alpha'}}
  %y = df.activation relu %x {alpha = 0.125 : f32} : tensor<4xf32>
  return
}

// -----

func.func @silu_extra_attribute(%x: tensor<4xf32>) {
  // expected-error@+1 {{'df.activation' op 'silu' takes no attribute 'max'}}
  %y = df.activation silu %x {max = 1.0 : f32} : tensor<4xf32>
  return
}

// -----

func.func @leaky_relu_missing_alpha(%x: tensor<4xf32>) {
  // expected-error@+1 {{'df.activation' op 'leaky_relu' requires the attribute 'alpha'}}
  %y = df.activation leaky_relu %x : tensor<4xf32>
  return
}

// -----

func.func @leaky_relu_extra_beta(%x: tensor<4xf32>) {
  // expected-error@+1 {{'df.activation' op 'leaky_relu' takes no attribute 'beta'}}
  %y = df.activation leaky_relu %x {alpha = 0.125 : f32, beta = 0.5 : f32} : tensor<4xf32>
  return
}

// -----

func.func @hard_sigmoid_missing_beta(%x: tensor<4xf32>) {
  // expected-error@+1 {{'df.activation' op 'hard_sigmoid' requires the attribute 'beta'}}
  %y = df.activation hard_sigmoid %x {alpha = 0.25 : f32} : tensor<4xf32>
  return
}

// -----

func.func @hard_swish_extra_alpha(%x: tensor<4xf32>) {
  // expected-error@+1 {{'df.activation' op 'hard_swish' takes no attribute 'alpha'}}
  %y = df.activation hard_swish %x {alpha = 0.25 : f32} : tensor<4xf32>
  return
}

// -----

func.func @activation_attribute_not_f32(%x: tensor<4xf32>) {
  // expected-error@+1 {{'df.activation' op attribute 'alpha' failed to satisfy constraint: 32-bit float attribute}}
  %y = df.activation leaky_relu %x {alpha = 1 : i32} : tensor<4xf32>
  return
}

// -----

func.func @activation_unknown_kind(%x: tensor<4xf32>) {
  // expected-error@+1 {{custom op 'df.activation' expected string or keyword containing one of the following enum values for attribute 'kind' [relu, clip, leaky_relu, sigmoid, tanh, hard_sigmoid, hard_swish, silu]}}
  %y = df.activation gelu %x : tensor<4xf32>
  return
}

// -----

func.func @activation_result_type(%x: tensor<4xf32>) {
  // expected-error@+1 {{'df.activation' op requires the same type for all operands and results}}
  %y = "df.activation"(%x) {kind = 0 : i32} : (tensor<4xf32>) -> tensor<8xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// df.add, df.mul
//===----------------------------------------------------------------------===//

func.func @add_not_broadcastable(%a: tensor<1x8x4x4xf32>, %b: tensor<1x4x1x1xf32>) {
  // expected-error@+1 {{'df.add' op operand shapes do not broadcast: dimension 1 is 8 in the left operand and 4 in the right}}
  %y = df.add %a, %b : (tensor<1x8x4x4xf32>, tensor<1x4x1x1xf32>) -> tensor<1x8x4x4xf32>
  return
}

// -----

// A rank-1 operand aligns with the last dimension, not the channels.
func.func @add_not_broadcastable_rank1(%a: tensor<1x8x4x4xf32>, %b: tensor<8xf32>) {
  // expected-error@+1 {{'df.add' op operand shapes do not broadcast: dimension 3 is 4 in the left operand and 8 in the right}}
  %y = df.add %a, %b : (tensor<1x8x4x4xf32>, tensor<8xf32>) -> tensor<1x8x4x4xf32>
  return
}

// -----

func.func @add_wrong_output(%a: tensor<8x1xf32>, %b: tensor<1x5xf32>) {
  // expected-error@+1 {{'df.add' op output dimension 1 is 1, expected 5 (broadcast of 1 and 5)}}
  %y = df.add %a, %b : (tensor<8x1xf32>, tensor<1x5xf32>) -> tensor<8x1xf32>
  return
}

// -----

func.func @add_wrong_output_rank(%a: tensor<1x8x4x4xf32>, %b: tensor<4xf32>) {
  // expected-error@+1 {{'df.add' op output must have rank 4, got 3}}
  %y = df.add %a, %b : (tensor<1x8x4x4xf32>, tensor<4xf32>) -> tensor<8x4x4xf32>
  return
}

// -----

func.func @mul_not_broadcastable(%a: tensor<2x3xf32>, %b: tensor<3x3xf32>) {
  // expected-error@+1 {{'df.mul' op operand shapes do not broadcast: dimension 0 is 2 in the left operand and 3 in the right}}
  %y = df.mul %a, %b : (tensor<2x3xf32>, tensor<3x3xf32>) -> tensor<3x3xf32>
  return
}

// -----

func.func @mul_wrong_output(%a: tensor<1x8x4x4xf32>, %b: tensor<1x8x1x1xf32>) {
  // expected-error@+1 {{'df.mul' op output dimension 2 (height) is 1, expected 4 (broadcast of 4 and 1)}}
  %y = df.mul %a, %b : (tensor<1x8x4x4xf32>, tensor<1x8x1x1xf32>) -> tensor<1x8x1x1xf32>
  return
}

// -----

func.func @mul_element_type(%a: tensor<4xf32>, %b: tensor<4xf16>) {
  // expected-error@+1 {{'df.mul' op operand #1 has element type 'f16', expected 'f32'}}
  %y = df.mul %a, %b : (tensor<4xf32>, tensor<4xf16>) -> tensor<4xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// df.global_pool
//===----------------------------------------------------------------------===//

func.func @global_pool_not_pooled(%x: tensor<1x8x7x7xf32>) {
  // expected-error@+1 {{'df.global_pool' op output dimension 2 (height) is 7, expected 1 (pooled)}}
  %y = df.global_pool avg %x : tensor<1x8x7x7xf32> -> tensor<1x8x7x7xf32>
  return
}

// -----

func.func @global_pool_width(%x: tensor<1x8x7x7xf32>) {
  // expected-error@+1 {{'df.global_pool' op output dimension 3 (width) is 7, expected 1 (pooled)}}
  %y = df.global_pool max %x : tensor<1x8x7x7xf32> -> tensor<1x8x1x7xf32>
  return
}

// -----

func.func @global_pool_channels(%x: tensor<1x8x7x7xf32>) {
  // expected-error@+1 {{'df.global_pool' op output dimension 1 (channel) is 16, expected 8 (the input channels)}}
  %y = df.global_pool max %x : tensor<1x8x7x7xf32> -> tensor<1x16x1x1xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// df.matmul
//===----------------------------------------------------------------------===//

func.func @matmul_contraction(%x: tensor<1x2048xf32>, %w: tensor<1000x2048xf32>) {
  // expected-error@+1 {{'df.matmul' op contraction sizes differ: lhs has 2048, rhs has 1000}}
  %y = df.matmul %x, %w : (tensor<1x2048xf32>, tensor<1000x2048xf32>) -> tensor<1x2048xf32>
  return
}

// -----

func.func @matmul_contraction_transpose_lhs(%x: tensor<4x32xf32>, %w: tensor<32x10xf32>) {
  // expected-error@+1 {{'df.matmul' op contraction sizes differ: lhs has 4, rhs has 32}}
  %y = df.matmul %x, %w transpose_lhs : (tensor<4x32xf32>, tensor<32x10xf32>) -> tensor<32x10xf32>
  return
}

// -----

func.func @matmul_output_columns(%x: tensor<1x2048xf32>, %w: tensor<1000x2048xf32>) {
  // expected-error@+1 {{'df.matmul' op output dimension 1 is 2048, expected 1000 (columns of rhs)}}
  %y = df.matmul %x, %w transpose_rhs : (tensor<1x2048xf32>, tensor<1000x2048xf32>) -> tensor<1x2048xf32>
  return
}

// -----

func.func @matmul_output_rows(%x: tensor<4x32xf32>, %w: tensor<32x10xf32>) {
  // expected-error@+1 {{'df.matmul' op output dimension 0 is 1, expected 4 (rows of lhs)}}
  %y = df.matmul %x, %w : (tensor<4x32xf32>, tensor<32x10xf32>) -> tensor<1x10xf32>
  return
}

// -----

func.func @matmul_lhs_rank(%x: tensor<2x4x32xf32>, %w: tensor<32x10xf32>) {
  // expected-error@+1 {{'df.matmul' op lhs must have rank 2, got 3}}
  %y = df.matmul %x, %w : (tensor<2x4x32xf32>, tensor<32x10xf32>) -> tensor<4x10xf32>
  return
}

// -----

func.func @matmul_bad_bias(%x: tensor<4x32xf32>, %w: tensor<32x10xf32>, %b: tensor<4xf32>) {
  // expected-error@+1 {{'df.matmul' op bias of type 'tensor<4xf32>' does not broadcast to the output 'tensor<4x10xf32>'}}
  %y = df.matmul %x, %w, %b : (tensor<4x32xf32>, tensor<32x10xf32>, tensor<4xf32>) -> tensor<4x10xf32>
  return
}

// -----

func.func @matmul_bias_rank_3(%x: tensor<4x32xf32>, %w: tensor<32x10xf32>, %b: tensor<1x1x10xf32>) {
  // expected-error@+1 {{'df.matmul' op bias of type 'tensor<1x1x10xf32>' does not broadcast to the output 'tensor<4x10xf32>'}}
  %y = df.matmul %x, %w, %b : (tensor<4x32xf32>, tensor<32x10xf32>, tensor<1x1x10xf32>) -> tensor<4x10xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// df.softmax
//===----------------------------------------------------------------------===//

func.func @softmax_axis(%x: tensor<1x1000xf32>) {
  // expected-error@+1 {{'df.softmax' op axis 2 is out of range [0, 2)}}
  %y = df.softmax %x axis 2 : tensor<1x1000xf32>
  return
}

// -----

func.func @softmax_negative_axis(%x: tensor<1x1000xf32>) {
  // expected-error@+1 {{'df.softmax' op axis -1 is out of range [0, 2)}}
  %y = df.softmax %x axis -1 : tensor<1x1000xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// df.concat
//===----------------------------------------------------------------------===//

func.func @concat_non_axis_dim(%a: tensor<1x64x28x28xf32>, %b: tensor<1x32x14x14xf32>) {
  // expected-error@+1 {{'df.concat' op input #1 dimension 2 (height) is 14, expected 28 (only the axis may differ)}}
  %y = df.concat %a, %b axis 1
      : (tensor<1x64x28x28xf32>, tensor<1x32x14x14xf32>) -> tensor<1x96x28x28xf32>
  return
}

// -----

func.func @concat_wrong_sum(%a: tensor<1x64x28x28xf32>, %b: tensor<1x32x28x28xf32>, %c: tensor<1x16x28x28xf32>) {
  // expected-error@+1 {{'df.concat' op output dimension 1 (channel) is 96, expected 112 (the sum of the inputs along axis 1)}}
  %y = df.concat %a, %b, %c axis 1
      : (tensor<1x64x28x28xf32>, tensor<1x32x28x28xf32>, tensor<1x16x28x28xf32>) -> tensor<1x96x28x28xf32>
  return
}

// -----

func.func @concat_axis(%a: tensor<2x3xf32>, %b: tensor<2x3xf32>) {
  // expected-error@+1 {{'df.concat' op axis 2 is out of range [0, 2)}}
  %y = df.concat %a, %b axis 2 : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x6xf32>
  return
}

// -----

func.func @concat_negative_axis(%a: tensor<2x3xf32>, %b: tensor<2x3xf32>) {
  // expected-error@+1 {{'df.concat' op axis -1 is out of range [0, 2)}}
  %y = df.concat %a, %b axis -1 : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x6xf32>
  return
}

// -----

func.func @concat_rank(%a: tensor<2x3xf32>, %b: tensor<3xf32>) {
  // expected-error@+1 {{'df.concat' op input #1 has rank 1, expected 2}}
  %y = df.concat %a, %b axis 1 : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x6xf32>
  return
}

// -----

func.func @concat_no_input() {
  // expected-error@+1 {{'df.concat' op needs at least one input}}
  %y = "df.concat"() {axis = 0 : i64} : () -> tensor<4xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// df.reshape, df.flatten
//===----------------------------------------------------------------------===//

func.func @reshape_element_count(%x: tensor<1x2048x1x1xf32>) {
  // expected-error@+1 {{'df.reshape' op cannot reshape 2048 elements into 1024}}
  %y = df.reshape %x : tensor<1x2048x1x1xf32> -> tensor<2x512xf32>
  return
}

// -----

func.func @reshape_element_type(%x: tensor<4xf32>) {
  // expected-error@+1 {{'df.reshape' op result #0 has element type 'f16', expected 'f32'}}
  %y = df.reshape %x : tensor<4xf32> -> tensor<2x2xf16>
  return
}

// -----

func.func @flatten_output(%x: tensor<1x512x7x7xf32>) {
  // expected-error@+1 {{'df.flatten' op output dimension 1 is 512, expected 25088 (product of the dimensions from axis 1 on)}}
  %y = df.flatten %x axis 1 : tensor<1x512x7x7xf32> -> tensor<1x512xf32>
  return
}

// -----

func.func @flatten_outer(%x: tensor<2x3x4x5xf32>) {
  // expected-error@+1 {{'df.flatten' op output dimension 0 is 2, expected 6 (product of the dimensions before axis 2)}}
  %y = df.flatten %x axis 2 : tensor<2x3x4x5xf32> -> tensor<2x60xf32>
  return
}

// -----

func.func @flatten_axis(%x: tensor<2x3x4x5xf32>) {
  // expected-error@+1 {{'df.flatten' op axis 5 is out of range [0, 4]}}
  %y = df.flatten %x axis 5 : tensor<2x3x4x5xf32> -> tensor<120x1xf32>
  return
}

// -----

func.func @flatten_negative_axis(%x: tensor<2x3x4x5xf32>) {
  // expected-error@+1 {{'df.flatten' op axis -1 is out of range [0, 4]}}
  %y = df.flatten %x axis -1 : tensor<2x3x4x5xf32> -> tensor<24x5xf32>
  return
}

// -----

func.func @flatten_rank(%x: tensor<2x3x4x5xf32>) {
  // expected-error@+1 {{'df.flatten' op output must have rank 2, got 1}}
  %y = df.flatten %x axis 1 : tensor<2x3x4x5xf32> -> tensor<120xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// df.fusion_region, df.yield
//===----------------------------------------------------------------------===//

func.func @fusion_region_arg_count(%x: tensor<4xf32>, %w: tensor<8xf32>) {
  // expected-error@+1 {{'df.fusion_region' op body has 1 arguments, expected one per operand (2)}}
  %r = df.fusion_region(%x, %w) : (tensor<4xf32>, tensor<8xf32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<4xf32>):
    df.yield %a : tensor<4xf32>
  }
  return
}

// -----

func.func @fusion_region_arg_type(%x: tensor<4xf32>, %w: tensor<8xf32>) {
  // expected-error@+1 {{'df.fusion_region' op body argument #1 has type 'tensor<4xf32>', expected the operand type 'tensor<8xf32>'}}
  %r = df.fusion_region(%x, %w) : (tensor<4xf32>, tensor<8xf32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<4xf32>, %b: tensor<4xf32>):
    df.yield %a : tensor<4xf32>
  }
  return
}

// -----

func.func @fusion_region_yield_type(%x: tensor<4xf32>, %w: tensor<8xf32>) {
  %r:2 = df.fusion_region(%x, %w) : (tensor<4xf32>, tensor<8xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  ^bb0(%a: tensor<4xf32>, %b: tensor<8xf32>):
    // expected-error@+1 {{'df.yield' op value #1 has type 'tensor<8xf32>', the region result is 'tensor<4xf32>'}}
    df.yield %a, %b : tensor<4xf32>, tensor<8xf32>
  }
  return
}

// -----

func.func @fusion_region_yield_count(%x: tensor<4xf32>, %w: tensor<8xf32>) {
  %r:2 = df.fusion_region(%x, %w) : (tensor<4xf32>, tensor<8xf32>) -> (tensor<4xf32>, tensor<8xf32>) {
  ^bb0(%a: tensor<4xf32>, %b: tensor<8xf32>):
    // expected-error@+1 {{'df.yield' op yields 1 values, the region has 2 results}}
    df.yield %a : tensor<4xf32>
  }
  return
}

// -----

func.func @fusion_region_without_yield(%x: tensor<4xf32>) {
  // expected-error@+1 {{'df.fusion_region' op body must end with 'df.yield'}}
  %r = df.fusion_region(%x) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<4xf32>):
    %y = df.activation relu %a : tensor<4xf32>
  }
  return
}

// -----

func.func @fusion_region_uses_value_from_above(%x: tensor<4xf32>) {
  // expected-note@+1 {{required by region isolation constraints}}
  %r = df.fusion_region(%x) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%a: tensor<4xf32>):
    // expected-error@+1 {{'df.add' op using value defined outside the region}}
    %y = df.add %a, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    df.yield %y : tensor<4xf32>
  }
  return
}

// -----

func.func @fusion_region_schedule_not_dictionary(%x: tensor<4xf32>) {
  // expected-error@+1 {{'df.fusion_region' op attribute 'schedule' failed to satisfy constraint: dictionary of named attribute values}}
  %r = df.fusion_region(%x) : (tensor<4xf32>) -> tensor<4xf32> attributes {schedule = [1, 2]} {
  ^bb0(%a: tensor<4xf32>):
    df.yield %a : tensor<4xf32>
  }
  return
}

// -----

func.func @yield_outside_fusion_region(%x: tensor<4xf32>) {
  // expected-error@+1 {{'df.yield' op expects parent op 'df.fusion_region'}}
  df.yield %x : tensor<4xf32>
}

// -----

func.func @fusion_region_empty_body(%x: tensor<4xf32>) {
  // expected-error@+1 {{'df.fusion_region' op expects a non-empty block}}
  %r = df.fusion_region(%x) : (tensor<4xf32>) -> tensor<4xf32> {
  }
  return
}

// -----

func.func @fusion_region_two_blocks(%x: tensor<4xf32>) {
  // expected-error@+1 {{'df.fusion_region' op expects region #0 to have 0 or 1 blocks}}
  %r = "df.fusion_region"(%x) ({
  ^bb0(%a: tensor<4xf32>):
    "df.yield"(%a) : (tensor<4xf32>) -> ()
  ^bb1:
    "df.yield"(%a) : (tensor<4xf32>) -> ()
  }) : (tensor<4xf32>) -> tensor<4xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// Parse errors of the custom forms
//===----------------------------------------------------------------------===//

func.func @unknown_op(%x: tensor<4xf32>) {
  // expected-error@+1 {{custom op 'df.conv3d' is unknown}}
  %y = df.conv3d %x : tensor<4xf32>
  return
}

// -----

func.func @missing_result_type(%x: tensor<1x8x4x4xf32>) {
  // expected-error@+1 {{expected '->'}}
  %y = df.pool2d max %x kernel [2, 2] strides [2, 2] pads [0, 0, 0, 0] : tensor<1x8x4x4xf32>
  return
}

// -----

func.func @missing_keyword(%x: tensor<1x8x4x4xf32>) {
  // expected-error@+1 {{expected 'pads'}}
  %y = df.pool2d max %x kernel [2, 2] strides [2, 2] : tensor<1x8x4x4xf32> -> tensor<1x8x2x2xf32>
  return
}

// -----

func.func @activation_kind_out_of_range(%x: tensor<1x8x4x4xf32>) {
  // expected-error@+1 {{'df.activation' op attribute 'kind' failed to satisfy constraint: elementwise activation}}
  %y = "df.activation"(%x) {kind = 9 : i32} : (tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32>
  return
}
