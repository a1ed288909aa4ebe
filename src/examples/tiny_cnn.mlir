// A small residual CNN in the df dialect, as an ONNX exporter would leave it:
// batch norms after convs, biases as separate adds, an identity reshape.
func.func @tiny_cnn(%x: tensor<1x3x32x32xf32>) -> tensor<1x10xf32> {
  %w1 = df.param "conv1.weight" : tensor<16x3x3x3xf32>
  %g1 = df.param "bn1.scale" : tensor<16xf32>
  %b1 = df.param "bn1.offset" : tensor<16xf32>
  %m1 = df.param "bn1.mean" : tensor<16xf32>
  %v1 = df.param "bn1.variance" : tensor<16xf32>
  %c1 = df.conv2d %x, %w1 strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x3x32x32xf32>, tensor<16x3x3x3xf32>) -> tensor<1x16x32x32xf32>
  %n1 = df.batch_norm %c1, %g1, %b1, %m1, %v1 epsilon 1.0e-05
      : (tensor<1x16x32x32xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<1x16x32x32xf32>
  %r1 = df.activation relu %n1 : tensor<1x16x32x32xf32>
  %p1 = df.pool2d max %r1 kernel [2, 2] strides [2, 2] pads [0, 0, 0, 0]
      : tensor<1x16x32x32xf32> -> tensor<1x16x16x16xf32>

  %w2 = df.param "block.conv1.weight" : tensor<16x16x3x3xf32>
  %g2 = df.param "block.bn1.scale" : tensor<16xf32>
  %b2 = df.param "block.bn1.offset" : tensor<16xf32>
  %m2 = df.param "block.bn1.mean" : tensor<16xf32>
  %v2 = df.param "block.bn1.variance" : tensor<16xf32>
  %c2 = df.conv2d %p1, %w2 strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x16x16x16xf32>, tensor<16x16x3x3xf32>) -> tensor<1x16x16x16xf32>
  %n2 = df.batch_norm %c2, %g2, %b2, %m2, %v2 epsilon 1.0e-05
      : (tensor<1x16x16x16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<1x16x16x16xf32>
  %r2 = df.activation relu %n2 : tensor<1x16x16x16xf32>
  %w3 = df.param "block.conv2.weight" : tensor<16x16x3x3xf32>
  %bias3 = df.param "block.conv2.bias" : tensor<1x16x1x1xf32>
  %c3 = df.conv2d %r2, %w3 strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x16x16x16xf32>, tensor<16x16x3x3xf32>) -> tensor<1x16x16x16xf32>
  %a3 = df.add %c3, %bias3 : (tensor<1x16x16x16xf32>, tensor<1x16x1x1xf32>) -> tensor<1x16x16x16xf32>
  %s3 = df.add %a3, %p1 : (tensor<1x16x16x16xf32>, tensor<1x16x16x16xf32>) -> tensor<1x16x16x16xf32>
  %r3 = df.activation relu %s3 : tensor<1x16x16x16xf32>

  %w4 = df.param "conv4.weight" : tensor<32x16x3x3xf32>
  %bias4 = df.param "conv4.bias" : tensor<32x1x1xf32>
  %c4 = df.conv2d %r3, %w4 strides [2, 2] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x16x16x16xf32>, tensor<32x16x3x3xf32>) -> tensor<1x32x8x8xf32>
  %a4 = df.add %c4, %bias4 : (tensor<1x32x8x8xf32>, tensor<32x1x1xf32>) -> tensor<1x32x8x8xf32>
  %r4 = df.activation clip %a4 {max = 6.0 : f32, min = 0.0 : f32} : tensor<1x32x8x8xf32>

  %gp = df.global_pool avg %r4 : tensor<1x32x8x8xf32> -> tensor<1x32x1x1xf32>
  %fl = df.flatten %gp axis 1 : tensor<1x32x1x1xf32> -> tensor<1x32xf32>
  %id = df.reshape %fl : tensor<1x32xf32> -> tensor<1x32xf32>
  %wf = df.param "fc.weight" : tensor<10x32xf32>
  %bf = df.param "fc.bias" : tensor<10xf32>
  %mm = df.matmul %id, %wf transpose_rhs : (tensor<1x32xf32>, tensor<10x32xf32>) -> tensor<1x10xf32>
  %fc = df.add %mm, %bf : (tensor<1x10xf32>, tensor<10xf32>) -> tensor<1x10xf32>
  %y = df.softmax %fc axis 1 : tensor<1x10xf32>
  return %y : tensor<1x10xf32>
}
