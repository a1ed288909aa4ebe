//! `Conv` (2-D: grouped, dilated, asymmetric or automatic padding, optional
//! bias) as `df.conv2d`.

use super::{
    super::{emit::list, error::Result, graph::Converter, node::Node},
    window::{self, Geometry},
};

/// Converts a `Conv` node.
pub fn convert_conv(cx: &mut Converter, node: &Node) -> Result<()> {
    node.expect_attributes(&[
        "auto_pad",
        "dilations",
        "group",
        "kernel_shape",
        "pads",
        "strides",
    ])?;
    node.expect_inputs(3)?;
    let x = cx.tensor(node, 0)?;
    let w = cx.tensor(node, 1)?;
    let bias = cx.opt_tensor(node, 2)?;
    let (&[n, c, h, wd], &[o, ci, kh, kw]) = (x.shape.as_slice(), w.shape.as_slice()) else {
        return Err(node.error(format!(
            "only 2-D convolutions are supported: input {:?} and weight {:?} must both have rank 4",
            x.shape, w.shape
        )));
    };
    if let Some(kernel) = node.ints("kernel_shape")?
        && kernel != [kh as i64, kw as i64]
    {
        return Err(node.error(format!(
            "kernel_shape {kernel:?} disagrees with the weight's spatial shape [{kh}, {kw}]"
        )));
    }
    let groups = node.int_or("group", 1)?;
    if groups < 1 || c as i64 % groups != 0 || o as i64 % groups != 0 {
        return Err(node.error(format!(
            "group {groups} must divide the input channels {c} and the output channels {o}"
        )));
    }
    if ci as i64 != c as i64 / groups {
        return Err(node.error(format!(
            "the weight has {ci} input channels per group, expected {} (input channels {c} / group {groups})",
            c as i64 / groups
        )));
    }
    if let Some(bias) = &bias
        && bias.shape != [o]
    {
        return Err(node.error(format!(
            "the bias has shape {:?}, expected [{o}] (one per output channel)",
            bias.shape
        )));
    }
    let geometry = Geometry {
        input: [h, wd],
        kernel: [kh, kw],
        strides: window::pair(node, "strides", 1)?,
        dilations: window::pair(node, "dilations", 1)?,
    };
    let pads = window::pads(node, &geometry)?;
    let [oh, ow] = window::output_hw(node, &geometry, &pads, false)?;

    let mut operands = vec![x.ssa.as_str(), w.ssa.as_str()];
    let mut types = vec![x.ty(), w.ty()];
    if let Some(bias) = &bias {
        operands.push(&bias.ssa);
        types.push(bias.ty());
    }
    let shape = vec![n, o, oh, ow];
    let groups = if groups == 1 {
        String::new()
    } else {
        format!(" {{groups = {groups} : i64}}")
    };
    let text = format!(
        "df.conv2d {} strides {} pads {} dilations {}{groups} : ({}) -> {}",
        operands.join(", "),
        list(&geometry.strides),
        list(&pads),
        list(&geometry.dilations),
        types.join(", "),
        super::super::emit::tensor_type(&shape)
    );
    cx.define(node, 0, &text, shape)
}
