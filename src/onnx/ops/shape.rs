//! Shape ops: `Flatten` as `df.flatten`; `Reshape`, `Squeeze` and
//! `Unsqueeze` as `df.reshape`; `Concat` as `df.concat`; `Pad` (constant
//! mode) as `df.pad`. On constants they fold instead.

use super::{
    super::{
        emit::{f32_literal, list, tensor_type},
        error::Result,
        fold,
        graph::{Converter, Tensor, Value},
        node::Node,
    },
    ints_from_attribute_or_input,
};

/// Binds output 0 to `input` reshaped to `shape`: a folded constant, or a
/// `df.reshape`.
fn reshape_to(cx: &mut Converter, node: &Node, input: Value, shape: Vec<usize>) -> Result<()> {
    match input {
        Value::Const(constant) => {
            let reshaped = constant.reshaped(shape).map_err(|r| node.error(r))?;
            cx.bind_const(node, 0, reshaped);
            Ok(())
        }
        Value::Tensor(x) => {
            let text = format!(
                "df.reshape {} : {} -> {}",
                x.ssa,
                x.ty(),
                tensor_type(&shape)
            );
            cx.define(node, 0, &text, shape)
        }
    }
}

/// The shape of a value.
fn shape_of(value: &Value) -> &[usize] {
    match value {
        Value::Tensor(tensor) => &tensor.shape,
        Value::Const(constant) => &constant.shape,
    }
}

/// Converts `Flatten` (axis defaults to 1).
pub fn convert_flatten(cx: &mut Converter, node: &Node) -> Result<()> {
    node.expect_attributes(&["axis"])?;
    node.expect_inputs(1)?;
    let input = cx.value(node, 0)?;
    let axis = node.int_or("axis", 1)?;
    let shape = fold::flatten_shape(shape_of(&input), axis).map_err(|r| node.error(r))?;
    let Value::Tensor(x) = input else {
        return reshape_to(cx, node, input, shape);
    };
    let axis = if axis < 0 {
        axis + x.shape.len() as i64
    } else {
        axis
    };
    let text = format!(
        "df.flatten {} axis {axis} : {} -> {}",
        x.ssa,
        x.ty(),
        tensor_type(&shape)
    );
    cx.define(node, 0, &text, shape)
}

/// Converts `Reshape` with a constant target shape.
pub fn convert_reshape(cx: &mut Converter, node: &Node) -> Result<()> {
    node.expect_attributes(&["allowzero"])?;
    node.expect_inputs(2)?;
    let input = cx.value(node, 0)?;
    let spec = cx.constant(node, 1, "the target shape")?;
    let spec = spec
        .ints()
        .map_err(|r| node.error(format!("the target shape {r}")))?;
    let allow_zero = node.flag("allowzero")?;
    let shape =
        fold::reshape_target(shape_of(&input), spec, allow_zero).map_err(|r| node.error(r))?;
    reshape_to(cx, node, input, shape)
}

/// Converts `Squeeze` (axes as an attribute before opset 13, an input from 13).
pub fn convert_squeeze(cx: &mut Converter, node: &Node) -> Result<()> {
    node.expect_attributes(if node.opset < 13 { &["axes"] } else { &[] })?;
    node.expect_inputs(2)?;
    let input = cx.value(node, 0)?;
    let axes = ints_from_attribute_or_input(cx, node, "axes", 1, 13)?;
    let shape =
        fold::squeeze_shape(shape_of(&input), axes.as_deref()).map_err(|r| node.error(r))?;
    reshape_to(cx, node, input, shape)
}

/// Converts `Unsqueeze` (axes as an attribute before opset 13, an input from 13).
pub fn convert_unsqueeze(cx: &mut Converter, node: &Node) -> Result<()> {
    node.expect_attributes(if node.opset < 13 { &["axes"] } else { &[] })?;
    node.expect_inputs(2)?;
    let input = cx.value(node, 0)?;
    let axes = ints_from_attribute_or_input(cx, node, "axes", 1, 13)?
        .ok_or_else(|| node.error("axes are missing"))?;
    let shape = fold::unsqueeze_shape(shape_of(&input), &axes).map_err(|r| node.error(r))?;
    reshape_to(cx, node, input, shape)
}

/// Converts `Concat`: folded when every input is a constant.
pub fn convert_concat(cx: &mut Converter, node: &Node) -> Result<()> {
    node.expect_attributes(&["axis"])?;
    let axis = node
        .int("axis")?
        .ok_or_else(|| node.error("the axis attribute is missing"))?;
    let count = node.proto.input.len();
    let mut values = Vec::with_capacity(count);
    for index in 0..count {
        values.push(cx.value(node, index)?);
    }
    let constants: Option<Vec<&fold::Const>> = values
        .iter()
        .map(|value| match value {
            Value::Const(constant) => Some(constant.as_ref()),
            Value::Tensor(_) => None,
        })
        .collect();
    if let Some(constants) = constants {
        let folded = fold::concat(&constants, axis).map_err(|r| node.error(r))?;
        cx.bind_const(node, 0, folded);
        return Ok(());
    }
    let mut tensors: Vec<Tensor> = Vec::with_capacity(count);
    for index in 0..count {
        tensors.push(cx.tensor(node, index)?);
    }
    let first = &tensors[0].shape;
    let axis = fold::normalize_axis(axis, first.len()).map_err(|r| node.error(r))?;
    let mut shape = first.clone();
    shape[axis] = 0;
    for (index, tensor) in tensors.iter().enumerate() {
        let fits = tensor.shape.len() == first.len()
            && (0..first.len()).all(|d| d == axis || tensor.shape[d] == first[d]);
        if !fits {
            return Err(node.error(format!(
                "input #{index} has shape {:?}, which does not concatenate with {first:?} along axis {axis}",
                tensor.shape
            )));
        }
        shape[axis] += tensor.shape[axis];
    }
    let operands: Vec<&str> = tensors.iter().map(|t| t.ssa.as_str()).collect();
    let types: Vec<String> = tensors.iter().map(Tensor::ty).collect();
    let text = format!(
        "df.concat {} axis {axis} : ({}) -> {}",
        operands.join(", "),
        types.join(", "),
        tensor_type(&shape)
    );
    cx.define(node, 0, &text, shape)
}

/// Converts `Pad` in constant mode (pads and value as attributes before
/// opset 11, as inputs from 11, with optional axes from 18).
pub fn convert_pad(cx: &mut Converter, node: &Node) -> Result<()> {
    let modern = node.opset >= 11;
    node.expect_attributes(if modern {
        &["mode"]
    } else {
        &["mode", "pads", "value"]
    })?;
    node.expect_inputs(match node.opset {
        18.. => 4,
        11..=17 => 3,
        _ => 1,
    })?;
    let mode = node.string_or("mode", "constant")?;
    if mode != "constant" {
        return Err(node.error(format!(
            "mode '{mode}' is not supported (constant padding only)"
        )));
    }
    let x = cx.tensor(node, 0)?;
    let rank = x.shape.len();
    let given = ints_from_attribute_or_input(cx, node, "pads", 1, 11)?
        .ok_or_else(|| node.error("pads are missing"))?;
    let value = if modern {
        match cx.opt_constant(node, 2, "constant_value")? {
            Some(constant) => constant
                .f32_scalar()
                .map_err(|r| node.error(format!("input #2 (constant_value) {r}")))?,
            None => 0.0,
        }
    } else {
        node.float_or("value", 0.0)?
    };
    let axes = match ints_from_attribute_or_input(cx, node, "axes", 3, 18)? {
        Some(axes) if modern => axes
            .iter()
            .map(|&a| fold::normalize_axis(a, rank))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|r| node.error(r))?,
        _ => (0..rank).collect(),
    };
    if given.len() != 2 * axes.len() {
        return Err(node.error(format!(
            "pads {given:?} must hold a begin and an end for each of the {} axes",
            axes.len()
        )));
    }
    if let Some(negative) = given.iter().find(|&&p| p < 0) {
        return Err(node.error(format!(
            "negative padding {negative} (cropping) is not supported"
        )));
    }
    if let Some(huge) = given.iter().find(|&&p| p > super::window::MAX_WINDOW) {
        return Err(node.error(format!("padding {huge} is too large")));
    }
    let mut pads = vec![0usize; 2 * rank];
    for (i, &axis) in axes.iter().enumerate() {
        pads[axis] = given[i] as usize;
        pads[rank + axis] = given[axes.len() + i] as usize;
    }
    let shape: Vec<usize> = (0..rank)
        .map(|d| x.shape[d] + pads[d] + pads[rank + d])
        .collect();
    let text = format!(
        "df.pad {} pads {} value {} : {} -> {}",
        x.ssa,
        list(&pads),
        f32_literal(value),
        x.ty(),
        tensor_type(&shape)
    );
    cx.define(node, 0, &text, shape)
}
