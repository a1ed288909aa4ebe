//! `BatchNormalization` (inference) as `df.batch_norm`, and `Softmax` as
//! `df.softmax` (with the flatten-to-2-D semantics of opsets before 13).

use super::super::{
    emit::{f32_literal, tensor_type},
    error::Result,
    fold,
    graph::{Converter, Tensor, Value},
    node::Node,
};

/// Converts `BatchNormalization` in inference mode. Inputs of rank 2 or 3
/// (after a Flatten, or 1-D feature maps) are viewed as NCHW with unit
/// spatial dimensions around the df op, which is exact.
pub fn convert_batch_norm(cx: &mut Converter, node: &Node) -> Result<()> {
    node.expect_attributes(&["epsilon", "momentum", "spatial", "training_mode"])?;
    node.expect_inputs(5)?;
    if node.int_or("spatial", 1)? != 1 {
        return Err(node.error("spatial 0 (per-element statistics) is not supported"));
    }
    if node.flag("training_mode")? {
        return Err(node.error("training_mode 1 is not supported (inference only)"));
    }
    cx.expect_unused_outputs(node, 1, "running statistics of training mode")?;
    let x = cx.tensor(node, 0)?;
    let channels = match x.shape.as_slice() {
        [_, c, ..] if (2..=4).contains(&x.shape.len()) => *c,
        _ => {
            return Err(node.error(format!(
                "the input has shape {:?}; expected rank 2 to 4 with channels in dimension 1",
                x.shape
            )));
        }
    };
    let mut stats = Vec::new();
    for (index, what) in [(1, "scale"), (2, "bias"), (3, "mean"), (4, "variance")] {
        let tensor = cx.tensor(node, index)?;
        if tensor.shape != [channels] {
            return Err(node.error(format!(
                "the {what} has shape {:?}, expected [{channels}] (one per channel)",
                tensor.shape
            )));
        }
        stats.push(tensor);
    }
    let epsilon = node.float_or("epsilon", 1e-5)?;
    if epsilon.is_nan() || epsilon < 0.0 {
        return Err(node.error(format!("epsilon {epsilon} must not be negative")));
    }

    let mut nchw = x.shape.clone();
    nchw.resize(4, 1);
    let input = if x.shape.len() == 4 {
        x.clone()
    } else {
        reshape(cx, node, &x, nchw.clone())?
    };
    let text = format!(
        "df.batch_norm {}, {}, {}, {}, {} epsilon {} : ({}, {}, {}, {}, {}) -> {}",
        input.ssa,
        stats[0].ssa,
        stats[1].ssa,
        stats[2].ssa,
        stats[3].ssa,
        f32_literal(epsilon),
        input.ty(),
        stats[0].ty(),
        stats[1].ty(),
        stats[2].ty(),
        stats[3].ty(),
        input.ty()
    );
    let normalized = cx.emit(node, 0, &text, nchw)?;
    let output = if x.shape.len() == 4 {
        normalized
    } else {
        reshape(cx, node, &normalized, x.shape.clone())?
    };
    cx.bind(node, 0, Value::Tensor(output));
    Ok(())
}

/// Emits `df.reshape` of `input` to `shape` as part of `node`.
fn reshape(cx: &mut Converter, node: &Node, input: &Tensor, shape: Vec<usize>) -> Result<Tensor> {
    let text = format!(
        "df.reshape {} : {} -> {}",
        input.ssa,
        input.ty(),
        tensor_type(&shape)
    );
    cx.emit(node, 0, &text, shape)
}

/// Converts `Softmax`. From opset 13 it normalises along `axis` (default
/// -1). Before 13 it normalises over the input flattened to 2-D at `axis`
/// (default 1): that is one df.softmax when every dimension after `axis` is
/// 1, and flatten, softmax along axis 1, reshape back otherwise.
pub fn convert_softmax(cx: &mut Converter, node: &Node) -> Result<()> {
    node.expect_attributes(&["axis"])?;
    node.expect_inputs(1)?;
    let x = cx.tensor(node, 0)?;
    let rank = x.shape.len();
    let modern = node.opset >= 13;
    let axis = node.int_or("axis", if modern { -1 } else { 1 })?;
    let axis = fold::normalize_axis(axis, rank).map_err(|reason| node.error(reason))?;
    let softmax =
        |x: &Tensor, axis: usize| format!("df.softmax {} axis {axis} : {}", x.ssa, x.ty());
    if modern || x.shape[axis + 1..].iter().all(|&d| d == 1) {
        let text = softmax(&x, axis);
        return cx.define(node, 0, &text, x.shape.clone());
    }
    let flat_shape = fold::flatten_shape(&x.shape, axis as i64).map_err(|r| node.error(r))?;
    let text = format!(
        "df.flatten {} axis {axis} : {} -> {}",
        x.ssa,
        x.ty(),
        tensor_type(&flat_shape)
    );
    let flat = cx.emit(node, 0, &text, flat_shape.clone())?;
    let text = softmax(&flat, 1);
    let normalized = cx.emit(node, 0, &text, flat_shape)?;
    let output = reshape(cx, node, &normalized, x.shape.clone())?;
    cx.bind(node, 0, Value::Tensor(output));
    Ok(())
}
