//! Nodes that produce no df op: `Identity` and inference `Dropout` pass their
//! input through; `Constant`, `ConstantOfShape`, and the shape arithmetic
//! exporters emit (`Shape`, `Gather`, `Cast`, `Slice`) fold to constants.
//! On run-time tensors (other than `Shape`, which only reads the static
//! shape, and a float-to-float `Cast`) they are refused.

use super::{
    super::{
        error::Result,
        fold::{self, Const, ConstData, ElemType},
        graph::{Converter, Value},
        model::{decode_tensor, elem_type},
        node::Node,
    },
    ints_from_attribute_or_input,
};

/// Converts `Identity`: output 0 is input 0.
pub fn convert_identity(cx: &mut Converter, node: &Node) -> Result<()> {
    node.expect_attributes(&[])?;
    node.expect_inputs(1)?;
    let value = cx.value(node, 0)?;
    cx.bind(node, 0, value);
    Ok(())
}

/// Converts `Dropout` in inference mode: output 0 is input 0. The mask
/// output must be unused, and a `training_mode` input (opset 12+) must be a
/// constant false.
pub fn convert_dropout(cx: &mut Converter, node: &Node) -> Result<()> {
    let known: &[&str] = if node.opset < 12 {
        &["ratio", "seed", "is_test"]
    } else {
        &["seed"]
    };
    node.expect_attributes(known)?;
    node.expect_inputs(if node.opset < 12 { 1 } else { 3 })?;
    cx.expect_unused_outputs(node, 1, "the mask")?;
    if let Some(training) = cx.opt_constant(node, 2, "training_mode")? {
        let training = training
            .ints()
            .map_err(|r| node.error(format!("input #2 (training_mode) {r}")))?;
        if training.iter().any(|&t| t != 0) {
            return Err(node.error("training_mode true is not supported (inference only)"));
        }
    }
    let value = cx.value(node, 0)?;
    cx.bind(node, 0, value);
    Ok(())
}

/// Converts `Constant`.
pub fn convert_constant(cx: &mut Converter, node: &Node) -> Result<()> {
    node.expect_attributes(&[
        "value",
        "value_float",
        "value_floats",
        "value_int",
        "value_ints",
    ])?;
    node.expect_inputs(0)?;
    if node.proto.attribute.len() != 1 {
        return Err(node.error("expected exactly one value attribute"));
    }
    let constant = if let Some(tensor) = node.tensor("value")? {
        decode_tensor(tensor, cx.model_path()).map_err(|r| node.error(format!("value {r}")))?
    } else if let Some(value) = node.float("value_float")? {
        Const::floats(vec![], vec![value])
    } else if let Some(values) = node.floats("value_floats")? {
        Const::floats(vec![values.len()], values)
    } else if let Some(value) = node.int("value_int")? {
        Const {
            elem: ElemType::I64,
            shape: vec![],
            data: ConstData::I64(vec![value]),
        }
    } else if let Some(values) = node.ints("value_ints")? {
        Const::int_vector(values)
    } else {
        return Err(node.error("expected exactly one value attribute"));
    };
    cx.bind_const(node, 0, constant);
    Ok(())
}

/// Converts `ConstantOfShape` with a constant shape.
pub fn convert_constant_of_shape(cx: &mut Converter, node: &Node) -> Result<()> {
    node.expect_attributes(&["value"])?;
    node.expect_inputs(1)?;
    let shape = cx.constant(node, 0, "the shape")?;
    let shape = shape
        .ints()
        .map_err(|r| node.error(format!("the shape {r}")))?
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| node.error(format!("dimension {d} is negative"))))
        .collect::<Result<Vec<usize>>>()?;
    let count = fold::checked_count(&shape).map_err(|r| node.error(r))?;
    let value = match node.tensor("value")? {
        Some(tensor) => {
            decode_tensor(tensor, cx.model_path()).map_err(|r| node.error(format!("value {r}")))?
        }
        None => Const::floats(vec![1], vec![0.0]),
    };
    let data = match &value.data {
        ConstData::F32(values) if values.len() == 1 => {
            ConstData::F32(vec![values[0]; count].into())
        }
        ConstData::I64(values) if values.len() == 1 => ConstData::I64(vec![values[0]; count]),
        _ => return Err(node.error("value must hold exactly one element")),
    };
    cx.bind_const(
        node,
        0,
        Const {
            elem: value.elem,
            shape,
            data,
        },
    );
    Ok(())
}

/// Converts `Shape`: the static shape of its input (with opset-15 `start`
/// and `end`).
pub fn convert_shape(cx: &mut Converter, node: &Node) -> Result<()> {
    node.expect_attributes(if node.opset >= 15 {
        &["start", "end"]
    } else {
        &[]
    })?;
    node.expect_inputs(1)?;
    let shape = match cx.value(node, 0)? {
        Value::Tensor(tensor) => tensor.shape,
        Value::Const(constant) => constant.shape.clone(),
    };
    let start = node.int_or("start", 0)?;
    let end = node.int("end")?;
    cx.bind_const(node, 0, fold::shape_of(&shape, start, end));
    Ok(())
}

/// Converts `Gather` on constants.
pub fn convert_gather(cx: &mut Converter, node: &Node) -> Result<()> {
    node.expect_attributes(&["axis"])?;
    node.expect_inputs(2)?;
    let data = cx.constant(node, 0, "the data")?;
    let indices = cx.constant(node, 1, "the indices")?;
    let axis = node.int_or("axis", 0)?;
    let gathered = fold::gather(&data, &indices, axis).map_err(|r| node.error(r))?;
    cx.bind_const(node, 0, gathered);
    Ok(())
}

/// Converts `Cast`: folded on constants; a cast of a run-time float tensor
/// to float is the identity, any other cast of one is refused.
pub fn convert_cast(cx: &mut Converter, node: &Node) -> Result<()> {
    node.expect_attributes(&["to", "saturate"])?;
    node.expect_inputs(1)?;
    let to = node
        .int("to")?
        .ok_or_else(|| node.error("the 'to' attribute is missing"))?;
    let to = elem_type(to as i32).map_err(|r| node.error(format!("target {r}")))?;
    match cx.value(node, 0)? {
        Value::Const(constant) => {
            let cast = fold::cast(&constant, to).map_err(|r| node.error(r))?;
            cx.bind_const(node, 0, cast);
        }
        Value::Tensor(tensor) if to == ElemType::F32 => cx.bind(node, 0, Value::Tensor(tensor)),
        Value::Tensor(_) => {
            return Err(node.error(format!(
                "casting a run-time float32 tensor to {} is not supported",
                to.name()
            )));
        }
    }
    Ok(())
}

/// Converts `Slice` on constants (starts, ends, axes and steps as
/// attributes before opset 10, as inputs from 10).
pub fn convert_slice(cx: &mut Converter, node: &Node) -> Result<()> {
    node.expect_attributes(if node.opset < 10 {
        &["starts", "ends", "axes"]
    } else {
        &[]
    })?;
    node.expect_inputs(if node.opset < 10 { 1 } else { 5 })?;
    let data = cx.constant(node, 0, "the data")?;
    let mut read =
        |name: &str, index: usize| ints_from_attribute_or_input(cx, node, name, index, 10);
    let starts = read("starts", 1)?.ok_or_else(|| node.error("starts are missing"))?;
    let ends = read("ends", 2)?.ok_or_else(|| node.error("ends are missing"))?;
    let axes = read("axes", 3)?;
    let steps = if node.opset < 10 {
        None
    } else {
        read("steps", 4)?
    };
    let sliced = fold::slice(&data, &starts, &ends, axes.as_deref(), steps.as_deref())
        .map_err(|r| node.error(r))?;
    cx.bind_const(node, 0, sliced);
    Ok(())
}
