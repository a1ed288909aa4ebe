//===- DfBase.td - the df dialect and its enums ------------*- tablegen -*-===//
//
// The df dialect describes inference networks as a graph of layer-level ops on
// NCHW tensors. Weights are named parameters (`df.param`): the IR carries
// their name, type and shape, never their data.
//
//===----------------------------------------------------------------------===//

#ifndef DF_BASE_TD
#define DF_BASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/IR/EnumAttr.td"

def Df_Dialect : Dialect {
  let name = "df";
  let cppNamespace = "::mlir::df";
  let summary = "Layer-level neural network ops for Deep Fusion scheduling";
  let description = [{
    Ops on ranked tensors in NCHW layout. Every op verifies its shapes fully:
    an output whose shape disagrees with the inputs and attributes is rejected
    with a message naming the dimension and the expected size.
  }];
}

def Df_PoolKind : I32EnumAttr<"PoolKind", "pooling reduction", [
  I32EnumAttrCase<"Max", 0, "max">,
  I32EnumAttrCase<"Avg", 1, "avg">
]> {
  let cppNamespace = "::mlir::df";
}

def Df_ActivationKind : I32EnumAttr<"ActivationKind", "elementwise activation", [
  I32EnumAttrCase<"Relu", 0, "relu">,
  I32EnumAttrCase<"Clip", 1, "clip">,
  I32EnumAttrCase<"LeakyRelu", 2, "leaky_relu">,
  I32EnumAttrCase<"Sigmoid", 3, "sigmoid">,
  I32EnumAttrCase<"Tanh", 4, "tanh">,
  I32EnumAttrCase<"HardSigmoid", 5, "hard_sigmoid">,
  I32EnumAttrCase<"HardSwish", 6, "hard_swish">,
  I32EnumAttrCase<"Silu", 7, "silu">
]> {
  let cppNamespace = "::mlir::df";
}

/// A statically shaped tensor of floating-point elements.
def Df_Tensor : Type<
    And<[TensorOf<[AnyFloat]>.predicate, HasAnyRankOfPred<[1, 2, 3, 4]>,
         HasStaticShapePred]>,
    "statically shaped float tensor of rank 1 to 4", "::mlir::RankedTensorType">;

/// A statically shaped NCHW tensor of floating-point elements.
def Df_Tensor4D : Type<
    And<[TensorOf<[AnyFloat]>.predicate, HasAnyRankOfPred<[4]>,
         HasStaticShapePred]>,
    "statically shaped 4-D (NCHW) float tensor", "::mlir::RankedTensorType">;

class Df_Op<string mnemonic, list<Trait> traits = []>
    : Op<Df_Dialect, mnemonic, traits>;

#endif // DF_BASE_TD
