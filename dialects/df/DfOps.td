//===- DfOps.td - the df dialect's operations --------------*- tablegen -*-===//
//
// Layout conventions: activations are NCHW; conv filters are OIHW (O output
// channels, I = input channels / groups); 4-sided paddings are
// [top, left, bottom, right] as in ONNX.
//
//===----------------------------------------------------------------------===//

#ifndef DF_OPS_TD
#define DF_OPS_TD

include "DfBase.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

//===----------------------------------------------------------------------===//
// Parameters
//===----------------------------------------------------------------------===//

def Df_ParamOp : Df_Op<"param", [Pure]> {
  let summary = "a named network parameter (its data lives outside the IR)";
  let description = [{
    Names a weight tensor held in the network's parameter file. The IR keeps
    only the name, element type and shape.

    ```mlir
    %w = df.param "conv1.weight" : tensor<64x3x7x7xf32>
    ```
  }];
  let arguments = (ins StrAttr:$name);
  let results = (outs Df_Tensor:$result);
  let assemblyFormat = "$name attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def Df_FoldBatchNormOp : Df_Op<"fold_batch_norm", [Pure]> {
  let summary = "folds batch-normalisation statistics into a conv's filter and bias";
  let description = [{
    Computes, per output channel `o` with `s = scale[o] / sqrt(variance[o] + epsilon)`:
    `filter'[o] = filter[o] * s` and
    `bias'[o] = (bias[o] - mean[o]) * s + offset[o]` (bias is zero when absent).
    Its operands are parameters, so it is evaluated once when parameters are
    loaded, never per inference.

    ```mlir
    %w2, %b2 = df.fold_batch_norm %w bias %b with %scale, %offset, %mean, %var epsilon 1.0e-05
        : (tensor<8x3x3x3xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>)
        -> (tensor<8x3x3x3xf32>, tensor<8xf32>)
    ```
  }];
  let arguments = (ins Df_Tensor4D:$filter, Optional<Df_Tensor>:$bias, Df_Tensor:$scale,
                       Df_Tensor:$offset, Df_Tensor:$mean, Df_Tensor:$variance,
                       F32Attr:$epsilon);
  let results = (outs Df_Tensor4D:$new_filter, Df_Tensor:$new_bias);
  let assemblyFormat = [{
    $filter (`bias` $bias^)? `with` $scale `,` $offset `,` $mean `,` $variance
    `epsilon` $epsilon attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Windowed ops (locally independent)
//===----------------------------------------------------------------------===//

def Df_Conv2dOp : Df_Op<"conv2d", [Pure]> {
  let summary = "2-D convolution, grouped and dilated, with an optional bias";
  let description = [{
    `groups` equal to the input channels with one filter per channel is a
    depthwise convolution.

    ```mlir
    %y = df.conv2d %x, %w, %b strides [2, 2] pads [3, 3, 3, 3] dilations [1, 1]
        : (tensor<1x3x224x224xf32>, tensor<64x3x7x7xf32>, tensor<64xf32>) -> tensor<1x64x112x112xf32>
    ```
  }];
  let arguments = (ins Df_Tensor4D:$input, Df_Tensor4D:$filter, Optional<Df_Tensor>:$bias,
                       DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$pads,
                       DenseI64ArrayAttr:$dilations,
                       DefaultValuedAttr<I64Attr, "1">:$groups);
  let results = (outs Df_Tensor4D:$output);
  let assemblyFormat = [{
    $input `,` $filter (`,` $bias^)? `strides` $strides `pads` $pads `dilations` $dilations
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Df_Pool2dOp : Df_Op<"pool2d", [Pure]> {
  let summary = "2-D max or average pooling";
  let description = [{
    `ceil_mode` rounds the output size up; `count_include_pad` makes an
    average divide by the whole window, padding included.

    ```mlir
    %y = df.pool2d max %x kernel [3, 3] strides [2, 2] pads [1, 1, 1, 1]
        : tensor<1x64x112x112xf32> -> tensor<1x64x56x56xf32>
    ```
  }];
  let arguments = (ins Df_PoolKind:$kind, Df_Tensor4D:$input, DenseI64ArrayAttr:$kernel,
                       DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$pads,
                       UnitAttr:$ceil_mode, UnitAttr:$count_include_pad);
  let results = (outs Df_Tensor4D:$output);
  let assemblyFormat = [{
    $kind $input `kernel` $kernel `strides` $strides `pads` $pads
    (`ceil_mode` $ceil_mode^)? (`count_include_pad` $count_include_pad^)?
    attr-dict `:` type($input) `->` type($output)
  }];
  let hasVerifier = 1;
}

def Df_ResizeOp : Df_Op<"resize", [Pure]> {
  let summary = "nearest-neighbour upsampling by integer scales";
  let description = [{
    Output pixel `(h, w)` copies input pixel `(h / scales[0], w / scales[1])`.

    ```mlir
    %y = df.resize %x scales [2, 2] : tensor<1x8x4x4xf32> -> tensor<1x8x8x8xf32>
    ```
  }];
  let arguments = (ins Df_Tensor4D:$input, DenseI64ArrayAttr:$scales);
  let results = (outs Df_Tensor4D:$output);
  let assemblyFormat = "$input `scales` $scales attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

def Df_PadOp : Df_Op<"pad", [Pure]> {
  let summary = "constant padding";
  let description = [{
    `pads` holds the begin paddings of every dimension, then the end paddings
    (ONNX order).

    ```mlir
    %y = df.pad %x pads [0, 0, 1, 1, 0, 0, 1, 1] value 0.0
        : tensor<1x8x4x4xf32> -> tensor<1x8x6x6xf32>
    ```
  }];
  let arguments = (ins Df_Tensor:$input, DenseI64ArrayAttr:$pads, F32Attr:$value);
  let results = (outs Df_Tensor:$output);
  let assemblyFormat = [{
    $input `pads` $pads `value` $value attr-dict `:` type($input) `->` type($output)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Elementwise ops
//===----------------------------------------------------------------------===//

def Df_BatchNormOp : Df_Op<"batch_norm", [Pure]> {
  let summary = "inference batch normalisation over the channel dimension";
  let description = [{
    `y = (x - mean[c]) / sqrt(variance[c] + epsilon) * scale[c] + offset[c]`.

    ```mlir
    %y = df.batch_norm %x, %scale, %offset, %mean, %var epsilon 1.0e-05
        : (tensor<1x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>)
        -> tensor<1x8x4x4xf32>
    ```
  }];
  let arguments = (ins Df_Tensor4D:$input, Df_Tensor:$scale, Df_Tensor:$offset,
                       Df_Tensor:$mean, Df_Tensor:$variance, F32Attr:$epsilon);
  let results = (outs Df_Tensor4D:$output);
  let assemblyFormat = [{
    $input `,` $scale `,` $offset `,` $mean `,` $variance `epsilon` $epsilon
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Df_ActivationOp : Df_Op<"activation", [Pure, SameOperandsAndResultType]> {
  let summary = "elementwise activation function";
  let description = [{
    `clip` takes `min` and `max`; `leaky_relu` takes `alpha`; `hard_sigmoid`
    takes `alpha` and `beta` (`max(0, min(1, alpha * x + beta))`); the others
    take no attribute. `hard_swish` is `x * hard_sigmoid(x)` with alpha 1/6 and
    beta 1/2; `silu` is `x * sigmoid(x)`.

    ```mlir
    %y = df.activation clip %x {max = 6.0 : f32, min = 0.0 : f32} : tensor<1x8x4x4xf32>
    ```
  }];
  let arguments = (ins Df_ActivationKind:$kind, Df_Tensor:$input,
                       OptionalAttr<F32Attr>:$min, OptionalAttr<F32Attr>:$max,
                       OptionalAttr<F32Attr>:$alpha, OptionalAttr<F32Attr>:$beta);
  let results = (outs Df_Tensor:$output);
  let assemblyFormat = "$kind $input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

class Df_BroadcastBinaryOp<string mnemonic, string what> : Df_Op<mnemonic, [Pure]> {
  let summary = "elementwise " # what # " with NumPy broadcasting";
  let arguments = (ins Df_Tensor:$lhs, Df_Tensor:$rhs);
  let results = (outs Df_Tensor:$output);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Df_AddOp : Df_BroadcastBinaryOp<"add", "addition"> {
  let description = [{
    ```mlir
    %y = df.add %a, %b : (tensor<1x8x4x4xf32>, tensor<1x8x1x1xf32>) -> tensor<1x8x4x4xf32>
    ```
  }];
}

def Df_MulOp : Df_BroadcastBinaryOp<"mul", "multiplication"> {
  let description = [{
    ```mlir
    %y = df.mul %a, %b : (tensor<1x8x4x4xf32>, tensor<1x8x1x1xf32>) -> tensor<1x8x4x4xf32>
    ```
  }];
}

//===----------------------------------------------------------------------===//
// Ops that need their whole input (they end a fusion group)
//===----------------------------------------------------------------------===//

def Df_GlobalPoolOp : Df_Op<"global_pool", [Pure]> {
  let summary = "max or average over the whole spatial extent";
  let description = [{
    ```mlir
    %y = df.global_pool avg %x : tensor<1x2048x7x7xf32> -> tensor<1x2048x1x1xf32>
    ```
  }];
  let arguments = (ins Df_PoolKind:$kind, Df_Tensor4D:$input);
  let results = (outs Df_Tensor4D:$output);
  let assemblyFormat = "$kind $input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

def Df_MatMulOp : Df_Op<"matmul", [Pure]> {
  let summary = "2-D matrix product (fully connected layer) with an optional bias";
  let description = [{
    `output = op(lhs) x op(rhs) + bias`, where `op` transposes when the
    corresponding unit attribute is set and `bias` broadcasts to the output.

    ```mlir
    %y = df.matmul %x, %w, %b transpose_rhs
        : (tensor<1x2048xf32>, tensor<1000x2048xf32>, tensor<1000xf32>) -> tensor<1x1000xf32>
    ```
  }];
  let arguments = (ins Df_Tensor:$lhs, Df_Tensor:$rhs, Optional<Df_Tensor>:$bias,
                       UnitAttr:$transpose_lhs, UnitAttr:$transpose_rhs);
  let results = (outs Df_Tensor:$output);
  let assemblyFormat = [{
    $lhs `,` $rhs (`,` $bias^)? (`transpose_lhs` $transpose_lhs^)?
    (`transpose_rhs` $transpose_rhs^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Df_SoftmaxOp : Df_Op<"softmax", [Pure, SameOperandsAndResultType]> {
  let summary = "softmax along one axis";
  let description = [{
    ```mlir
    %y = df.softmax %x axis 1 : tensor<1x1000xf32>
    ```
  }];
  let arguments = (ins Df_Tensor:$input, I64Attr:$axis);
  let results = (outs Df_Tensor:$output);
  let assemblyFormat = "$input `axis` $axis attr-dict `:` type($input)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Shape ops
//===----------------------------------------------------------------------===//

def Df_ConcatOp : Df_Op<"concat", [Pure]> {
  let summary = "concatenation of any number of tensors along one axis";
  let description = [{
    ```mlir
    %y = df.concat %a, %b axis 1
        : (tensor<1x64x28x28xf32>, tensor<1x32x28x28xf32>) -> tensor<1x96x28x28xf32>
    ```
  }];
  let arguments = (ins Variadic<Df_Tensor>:$inputs, I64Attr:$axis);
  let results = (outs Df_Tensor:$output);
  let assemblyFormat = "$inputs `axis` $axis attr-dict `:` functional-type($inputs, $output)";
  let hasVerifier = 1;
}

def Df_ReshapeOp : Df_Op<"reshape", [Pure]> {
  let summary = "reshape to any static shape with the same number of elements";
  let description = [{
    ```mlir
    %y = df.reshape %x : tensor<1x2048x1x1xf32> -> tensor<1x2048xf32>
    ```
  }];
  let arguments = (ins Df_Tensor:$input);
  let results = (outs Df_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

def Df_FlattenOp : Df_Op<"flatten", [Pure]> {
  let summary = "flattens to 2-D: dimensions before `axis`, and from `axis` on";
  let description = [{
    ```mlir
    %y = df.flatten %x axis 1 : tensor<1x512x7x7xf32> -> tensor<1x25088xf32>
    ```
  }];
  let arguments = (ins Df_Tensor:$input, I64Attr:$axis);
  let results = (outs Df_Tensor:$output);
  let assemblyFormat = "$input `axis` $axis attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Fusion regions
//===----------------------------------------------------------------------===//

def Df_FusionRegionOp : Df_Op<"fusion_region", [IsolatedFromAbove, SingleBlock]> {
  let summary = "a group of layers executed tile by tile through the scratchpad";
  let description = [{
    Isolated from above: every value the group reads is an explicit operand,
    bound to the block argument at the same position. `df.yield` returns the
    group's results. The `schedule` attribute holds the chosen tiling.

    ```mlir
    %r = df.fusion_region(%x, %w) : (tensor<1x8x8x8xf32>, tensor<8x8x3x3xf32>) -> tensor<1x8x8x8xf32> {
    ^bb0(%a: tensor<1x8x8x8xf32>, %b: tensor<8x8x3x3xf32>):
      %c = df.conv2d %a, %b strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
          : (tensor<1x8x8x8xf32>, tensor<8x8x3x3xf32>) -> tensor<1x8x8x8xf32>
      df.yield %c : tensor<1x8x8x8xf32>
    }
    ```
  }];
  let arguments = (ins Variadic<AnyType>:$inputs, OptionalAttr<DictionaryAttr>:$schedule);
  let results = (outs Variadic<AnyType>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    `(` $inputs `)` `:` functional-type($inputs, $results) attr-dict-with-keyword $body
  }];
  let hasVerifier = 1;
}

def Df_YieldOp : Df_Op<"yield", [Pure, Terminator, HasParent<"FusionRegionOp">]> {
  let summary = "returns the results of a fusion region";
  let description = [{
    ```mlir
    df.yield %a, %b : tensor<1x8x8x8xf32>, tensor<1x8x4x4xf32>
    ```
  }];
  let arguments = (ins Variadic<AnyType>:$values);
  let assemblyFormat = "attr-dict ($values^ `:` type($values))?";
}

#endif // DF_OPS_TD
