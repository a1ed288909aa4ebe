//! Elementwise activations as `df.activation`: Relu, Sigmoid, Tanh,
//! HardSwish, LeakyRelu, HardSigmoid and Clip (bounds as attributes before
//! opset 11, as constant inputs from 11 on).

use super::super::{emit::f32_literal, error::Result, graph::Converter, node::Node};

/// Emits `df.activation <kind>` on input 0 with the attribute dictionary
/// `attributes` (name, value), sorted as MLIR prints them.
fn emit(cx: &mut Converter, node: &Node, kind: &str, attributes: &[(&str, f32)]) -> Result<()> {
    let x = cx.tensor(node, 0)?;
    let mut attributes = attributes.to_vec();
    attributes.sort_by_key(|&(name, _)| name);
    let dictionary = if attributes.is_empty() {
        String::new()
    } else {
        let entries: Vec<String> = attributes
            .iter()
            .map(|(name, value)| format!("{name} = {} : f32", f32_literal(*value)))
            .collect();
        format!(" {{{}}}", entries.join(", "))
    };
    let text = format!("df.activation {kind} {}{dictionary} : {}", x.ssa, x.ty());
    cx.define(node, 0, &text, x.shape.clone())
}

/// Converts an activation without parameters (Relu, Sigmoid, Tanh, HardSwish).
pub fn convert_plain(cx: &mut Converter, node: &Node, kind: &str) -> Result<()> {
    node.expect_attributes(&[])?;
    node.expect_inputs(1)?;
    emit(cx, node, kind, &[])
}

/// Converts `LeakyRelu` (alpha defaults to 0.01).
pub fn convert_leaky_relu(cx: &mut Converter, node: &Node) -> Result<()> {
    node.expect_attributes(&["alpha"])?;
    node.expect_inputs(1)?;
    let alpha = node.float_or("alpha", 0.01)?;
    emit(cx, node, "leaky_relu", &[("alpha", alpha)])
}

/// Converts `HardSigmoid` (alpha 0.2 and beta 0.5 by default).
pub fn convert_hard_sigmoid(cx: &mut Converter, node: &Node) -> Result<()> {
    node.expect_attributes(&["alpha", "beta"])?;
    node.expect_inputs(1)?;
    let alpha = node.float_or("alpha", 0.2)?;
    let beta = node.float_or("beta", 0.5)?;
    emit(
        cx,
        node,
        "hard_sigmoid",
        &[("alpha", alpha), ("beta", beta)],
    )
}

/// Converts `Clip`. A missing bound is the lowest or highest float32, as in
/// the ONNX spec (Clip-6) and onnxruntime (Clip-11+).
pub fn convert_clip(cx: &mut Converter, node: &Node) -> Result<()> {
    let (min, max) = if node.opset < 11 {
        node.expect_attributes(&["min", "max"])?;
        node.expect_inputs(1)?;
        (
            node.float_or("min", f32::MIN)?,
            node.float_or("max", f32::MAX)?,
        )
    } else {
        node.expect_attributes(&[])?;
        node.expect_inputs(3)?;
        let mut bound = |index: usize, what: &str, default: f32| -> Result<f32> {
            match cx.opt_constant(node, index, what)? {
                None => Ok(default),
                Some(constant) => constant
                    .f32_scalar()
                    .map_err(|reason| node.error(format!("input #{index} ({what}) {reason}"))),
            }
        };
        (bound(1, "min", f32::MIN)?, bound(2, "max", f32::MAX)?)
    };
    if min.is_nan() || max.is_nan() || min > max {
        return Err(node.error(format!(
            "bounds min {min} and max {max} are not supported (min must not exceed max)"
        )));
    }
    emit(cx, node, "clip", &[("min", min), ("max", max)])
}
