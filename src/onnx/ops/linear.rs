//! `Gemm` and 2-D `MatMul` as `df.matmul`. Gemm's `alpha` and `beta` are
//! folded into the data of B (or A) and C when those are constants; with
//! run-time operands only 1 (or a beta of 0) can be expressed, so anything
//! else is refused.

use std::rc::Rc;

use super::super::{
    emit::tensor_type,
    error::Result,
    fold::{Const, ConstData},
    graph::{Converter, Tensor, Value},
    node::Node,
};

/// `constant * factor`, as a parameter named after input `index` of `node`.
fn scaled(
    cx: &mut Converter,
    node: &Node,
    index: usize,
    constant: &Const,
    factor: f32,
    what: &str,
) -> Result<Tensor> {
    let data = constant
        .f32s()
        .map_err(|reason| node.error(format!("input #{index} {reason}")))?;
    let scaled = Const {
        data: ConstData::F32(Rc::new(
            data.iter().map(|&v| v * factor).collect::<Vec<_>>(),
        )),
        ..constant.clone()
    };
    let name = format!(
        "{}.{what}_scaled",
        node.input_name(index).unwrap_or_default()
    );
    cx.param(node, &name, &scaled)
}

/// Converts `Gemm`: `alpha * op(A) x op(B) + beta * C`.
pub fn convert_gemm(cx: &mut Converter, node: &Node) -> Result<()> {
    node.expect_attributes(&["alpha", "beta", "transA", "transB"])?;
    node.expect_inputs(3)?;
    let alpha = node.float_or("alpha", 1.0)?;
    let beta = node.float_or("beta", 1.0)?;
    let trans_a = node.flag("transA")?;
    let trans_b = node.flag("transB")?;

    let (a, b) = if alpha == 1.0 {
        (cx.tensor(node, 0)?, cx.tensor(node, 1)?)
    } else {
        match (cx.value(node, 0)?, cx.value(node, 1)?) {
            (_, Value::Const(b)) => (
                cx.tensor(node, 0)?,
                scaled(cx, node, 1, &b, alpha, "alpha")?,
            ),
            (Value::Const(a), _) => (
                scaled(cx, node, 0, &a, alpha, "alpha")?,
                cx.tensor(node, 1)?,
            ),
            _ => {
                return Err(node.error(format!(
                    "alpha {alpha} cannot be folded: A and B are both computed at run time"
                )));
            }
        }
    };
    let (&[a0, a1], &[b0, b1]) = (a.shape.as_slice(), b.shape.as_slice()) else {
        return Err(node.error(format!(
            "A {:?} and B {:?} must be matrices",
            a.shape, b.shape
        )));
    };
    let (m, k) = if trans_a { (a1, a0) } else { (a0, a1) };
    let (kb, n) = if trans_b { (b1, b0) } else { (b0, b1) };
    if k != kb {
        return Err(node.error(format!(
            "contraction sizes differ: op(A) is {m}x{k}, op(B) is {kb}x{n}"
        )));
    }

    // beta 0 makes C irrelevant by definition; it is not read.
    let bias = match cx.opt_value(node, 2)? {
        None => None,
        Some(_) if beta == 0.0 => None,
        Some(_) if beta == 1.0 => Some(cx.tensor(node, 2)?),
        Some(Value::Const(c)) => Some(scaled(cx, node, 2, &c, beta, "beta")?),
        Some(Value::Tensor(_)) => {
            return Err(node.error(format!(
                "beta {beta} cannot be folded: C is computed at run time"
            )));
        }
    };
    if let Some(bias) = &bias {
        let fits = bias.shape.len() <= 2
            && bias
                .shape
                .iter()
                .zip(&[m, n][2 - bias.shape.len()..])
                .all(|(&c, &target)| c == 1 || c == target);
        if !fits {
            return Err(node.error(format!(
                "C has shape {:?}, which does not broadcast to the output [{m}, {n}]",
                bias.shape
            )));
        }
    }
    emit_matmul(
        cx,
        node,
        &a,
        &b,
        bias.as_ref(),
        (trans_a, trans_b),
        vec![m, n],
    )
}

/// Converts `MatMul` of two matrices.
pub fn convert_matmul(cx: &mut Converter, node: &Node) -> Result<()> {
    node.expect_attributes(&[])?;
    node.expect_inputs(2)?;
    let a = cx.tensor(node, 0)?;
    let b = cx.tensor(node, 1)?;
    let (&[m, k], &[kb, n]) = (a.shape.as_slice(), b.shape.as_slice()) else {
        return Err(node.error(format!(
            "only 2-D MatMul is supported; the operands have shapes {:?} and {:?}",
            a.shape, b.shape
        )));
    };
    if k != kb {
        return Err(node.error(format!("contraction sizes differ: {m}x{k} times {kb}x{n}")));
    }
    emit_matmul(cx, node, &a, &b, None, (false, false), vec![m, n])
}

fn emit_matmul(
    cx: &mut Converter,
    node: &Node,
    a: &Tensor,
    b: &Tensor,
    bias: Option<&Tensor>,
    (trans_a, trans_b): (bool, bool),
    shape: Vec<usize>,
) -> Result<()> {
    let mut operands = vec![a.ssa.as_str(), b.ssa.as_str()];
    let mut types = vec![a.ty(), b.ty()];
    if let Some(bias) = bias {
        operands.push(&bias.ssa);
        types.push(bias.ty());
    }
    let text = format!(
        "df.matmul {}{}{} : ({}) -> {}",
        operands.join(", "),
        if trans_a { " transpose_lhs" } else { "" },
        if trans_b { " transpose_rhs" } else { "" },
        types.join(", "),
        tensor_type(&shape)
    );
    cx.define(node, 0, &text, shape)
}
