//! `Add` and `Mul` with broadcasting as `df.add` and `df.mul`; `Sub` of a
//! constant as the addition of its negation (exact in IEEE arithmetic).
//! Any of them, and `Div`, on constants only is folded.

use std::rc::Rc;

pub use super::super::fold::BinaryOp;
use super::super::{
    emit::tensor_type,
    error::Result,
    fold::{self, Const},
    graph::{Converter, Value},
    node::Node,
};

/// Converts `Add`, `Sub`, `Mul` or `Div`.
pub fn convert_binary(cx: &mut Converter, node: &Node, op: BinaryOp) -> Result<()> {
    node.expect_attributes(&[])?;
    node.expect_inputs(2)?;
    let lhs = cx.value(node, 0)?;
    let rhs = cx.value(node, 1)?;
    if let (Value::Const(a), Value::Const(b)) = (&lhs, &rhs) {
        let folded = fold::binary(op, a, b).map_err(|reason| node.error(reason))?;
        cx.bind_const(node, 0, folded);
        return Ok(());
    }
    let (mnemonic, lhs, rhs) = match op {
        BinaryOp::Add => ("df.add", cx.tensor(node, 0)?, cx.tensor(node, 1)?),
        BinaryOp::Mul => ("df.mul", cx.tensor(node, 0)?, cx.tensor(node, 1)?),
        BinaryOp::Sub => {
            let Value::Const(constant) = rhs else {
                return Err(node.error(
                    "subtracting a run-time tensor is not supported (df has no subtraction; only tensor - constant)",
                ));
            };
            let negated: Vec<f32> = constant
                .f32s()
                .map_err(|reason| node.error(format!("input #1 {reason}")))?
                .iter()
                .map(|&v| -v)
                .collect();
            let negated = Const {
                data: fold::ConstData::F32(Rc::new(negated)),
                ..(*constant).clone()
            };
            let name = format!("{}.negated", node.input_name(1).unwrap_or_default());
            let rhs = cx.param(node, &name, &negated)?;
            ("df.add", cx.tensor(node, 0)?, rhs)
        }
        BinaryOp::Div => {
            return Err(
                node.error("dividing a run-time tensor is not supported (df has no division)")
            );
        }
    };
    let shape = fold::broadcast_shapes(&lhs.shape, &rhs.shape)
        .map_err(|reason| node.error(format!("operands do not broadcast: {reason}")))?;
    let text = format!(
        "{mnemonic} {}, {} : ({}, {}) -> {}",
        lhs.ssa,
        rhs.ssa,
        lhs.ty(),
        rhs.ty(),
        tensor_type(&shape)
    );
    cx.define(node, 0, &text, shape)
}
