//! Node conversion: the one dispatch on `op_type`, and a module per op
//! family with a `convert_<op>` function per operator. Each converter reads
//! the node's attributes (refusing unknown ones), checks and infers shapes
//! with the df verifier formulas, and emits df ops or folds the node into a
//! constant.

mod activation;
mod arith;
mod constant;
mod conv;
mod linear;
mod norm;
mod pool;
mod resize;
mod shape;
mod window;

use super::{error::Result, graph::Converter, node::Node};

/// Converts one node: the importer's single dispatch point.
pub fn convert(cx: &mut Converter, node: &Node) -> Result<()> {
    match node.op() {
        "Conv" => conv::convert_conv(cx, node),
        "MaxPool" => pool::convert_pool(cx, node, pool::Kind::Max),
        "AveragePool" => pool::convert_pool(cx, node, pool::Kind::Avg),
        "GlobalMaxPool" => pool::convert_global_pool(cx, node, pool::Kind::Max),
        "GlobalAveragePool" => pool::convert_global_pool(cx, node, pool::Kind::Avg),
        "ReduceMax" => pool::convert_reduce(cx, node, pool::Kind::Max),
        "ReduceMean" => pool::convert_reduce(cx, node, pool::Kind::Avg),
        "Relu" => activation::convert_plain(cx, node, "relu"),
        "Sigmoid" => activation::convert_plain(cx, node, "sigmoid"),
        "Tanh" => activation::convert_plain(cx, node, "tanh"),
        "HardSwish" => activation::convert_plain(cx, node, "hard_swish"),
        "LeakyRelu" => activation::convert_leaky_relu(cx, node),
        "HardSigmoid" => activation::convert_hard_sigmoid(cx, node),
        "Clip" => activation::convert_clip(cx, node),
        "Add" => arith::convert_binary(cx, node, arith::BinaryOp::Add),
        "Sub" => arith::convert_binary(cx, node, arith::BinaryOp::Sub),
        "Mul" => arith::convert_binary(cx, node, arith::BinaryOp::Mul),
        "Div" => arith::convert_binary(cx, node, arith::BinaryOp::Div),
        "BatchNormalization" => norm::convert_batch_norm(cx, node),
        "Softmax" => norm::convert_softmax(cx, node),
        "Gemm" => linear::convert_gemm(cx, node),
        "MatMul" => linear::convert_matmul(cx, node),
        "Flatten" => shape::convert_flatten(cx, node),
        "Reshape" => shape::convert_reshape(cx, node),
        "Squeeze" => shape::convert_squeeze(cx, node),
        "Unsqueeze" => shape::convert_unsqueeze(cx, node),
        "Concat" => shape::convert_concat(cx, node),
        "Pad" => shape::convert_pad(cx, node),
        "Resize" => resize::convert_resize(cx, node),
        "Upsample" => resize::convert_upsample(cx, node),
        "Identity" => constant::convert_identity(cx, node),
        "Dropout" => constant::convert_dropout(cx, node),
        "Constant" => constant::convert_constant(cx, node),
        "ConstantOfShape" => constant::convert_constant_of_shape(cx, node),
        "Shape" => constant::convert_shape(cx, node),
        "Gather" => constant::convert_gather(cx, node),
        "Cast" => constant::convert_cast(cx, node),
        "Slice" => constant::convert_slice(cx, node),
        other => Err(node.error(format!("operator '{other}' is not supported"))),
    }
}

/// An integer list that opset `since` moved from attribute `name` to input
/// `index` (Unsqueeze axes, Pad pads, Slice starts...): read from wherever
/// the node's opset keeps it.
fn ints_from_attribute_or_input(
    cx: &mut Converter,
    node: &Node,
    name: &str,
    index: usize,
    since: i64,
) -> Result<Option<Vec<i64>>> {
    if node.opset < since {
        return node.ints(name);
    }
    match cx.opt_constant(node, index, name)? {
        Some(constant) => constant
            .ints()
            .map(|values| Some(values.to_vec()))
            .map_err(|reason| node.error(format!("input #{index} ({name}) {reason}"))),
        None => Ok(None),
    }
}
