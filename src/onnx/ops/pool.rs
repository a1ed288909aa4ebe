//! `MaxPool` and `AveragePool` as `df.pool2d`; `GlobalMaxPool`,
//! `GlobalAveragePool`, and `ReduceMax` and `ReduceMean` over the two
//! spatial axes (as newer PyTorch exporters write global pooling) as
//! `df.global_pool`.

use super::{
    super::{
        emit::{list, tensor_type},
        error::Result,
        fold,
        graph::{Converter, Value},
        node::Node,
    },
    ints_from_attribute_or_input,
    window::{self, Geometry},
};

/// The reduction of a pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Maximum.
    Max,
    /// Average.
    Avg,
}

impl Kind {
    fn keyword(self) -> &'static str {
        match self {
            Self::Max => "max",
            Self::Avg => "avg",
        }
    }
}

/// Converts a `MaxPool` or `AveragePool` node.
pub fn convert_pool(cx: &mut Converter, node: &Node, kind: Kind) -> Result<()> {
    let common = [
        "auto_pad",
        "ceil_mode",
        "dilations",
        "kernel_shape",
        "pads",
        "strides",
    ];
    let extra = match kind {
        Kind::Max => "storage_order",
        Kind::Avg => "count_include_pad",
    };
    let mut known = common.to_vec();
    known.push(extra);
    node.expect_attributes(&known)?;
    node.expect_inputs(1)?;
    if kind == Kind::Max {
        cx.expect_unused_outputs(node, 1, "the indices")?;
        if node.int_or("storage_order", 0)? != 0 {
            return Err(
                node.error("storage_order 1 (column-major indices) is not supported".to_string())
            );
        }
    }
    let x = cx.tensor(node, 0)?;
    let &[n, c, h, w] = x.shape.as_slice() else {
        return Err(node.error(format!(
            "only 2-D pooling is supported: the input has shape {:?}, expected rank 4",
            x.shape
        )));
    };
    let kernel = match node.ints("kernel_shape")?.as_deref() {
        Some(&[kh, kw]) if kh >= 1 && kw >= 1 => [kh as usize, kw as usize],
        other => {
            return Err(node.error(format!(
                "kernel_shape is {other:?}; expected two values of at least 1"
            )));
        }
    };
    let dilations = window::pair(node, "dilations", 1)?;
    if dilations != [1, 1] {
        return Err(node.error(format!(
            "dilations {dilations:?} are not supported (df.pool2d has no dilation)"
        )));
    }
    let ceil_mode = node.flag("ceil_mode")?;
    let auto_pad = node.string_or("auto_pad", "NOTSET")?;
    if ceil_mode && auto_pad != "NOTSET" {
        return Err(node.error(format!(
            "ceil_mode with auto_pad '{auto_pad}' is not supported"
        )));
    }
    let count_include_pad = kind == Kind::Avg && node.flag("count_include_pad")?;
    let geometry = Geometry {
        input: [h, w],
        kernel,
        strides: window::pair(node, "strides", 1)?,
        dilations,
    };
    let pads = window::pads(node, &geometry)?;
    for (i, &pad) in pads.iter().enumerate() {
        if pad >= kernel[i % 2] {
            return Err(node.error(format!(
                "padding {pad} is not smaller than the kernel {} (pads {pads:?}): a window could cover only padding",
                kernel[i % 2]
            )));
        }
    }
    let [oh, ow] = window::output_hw(node, &geometry, &pads, ceil_mode)?;
    let shape = vec![n, c, oh, ow];
    let text = format!(
        "df.pool2d {} {} kernel {} strides {} pads {}{}{} : {} -> {}",
        kind.keyword(),
        x.ssa,
        list(&kernel),
        list(&geometry.strides),
        list(&pads),
        if ceil_mode { " ceil_mode" } else { "" },
        if count_include_pad {
            " count_include_pad"
        } else {
            ""
        },
        x.ty(),
        tensor_type(&shape)
    );
    cx.define(node, 0, &text, shape)
}

/// Converts a `GlobalMaxPool` or `GlobalAveragePool` node.
pub fn convert_global_pool(cx: &mut Converter, node: &Node, kind: Kind) -> Result<()> {
    node.expect_attributes(&[])?;
    node.expect_inputs(1)?;
    let x = cx.tensor(node, 0)?;
    let &[n, c, _, _] = x.shape.as_slice() else {
        return Err(node.error(format!(
            "only 2-D global pooling is supported: the input has shape {:?}, expected rank 4",
            x.shape
        )));
    };
    let shape = vec![n, c, 1, 1];
    let text = format!(
        "df.global_pool {} {} : {} -> {}",
        kind.keyword(),
        x.ssa,
        x.ty(),
        tensor_type(&shape)
    );
    cx.define(node, 0, &text, shape)
}

/// Converts `ReduceMax` or `ReduceMean` over the spatial axes of an NCHW
/// tensor (axes as an attribute before opset 18, an input from 18).
pub fn convert_reduce(cx: &mut Converter, node: &Node, kind: Kind) -> Result<()> {
    let modern = node.opset >= 18;
    node.expect_attributes(if modern {
        &["keepdims", "noop_with_empty_axes"]
    } else {
        &["axes", "keepdims"]
    })?;
    node.expect_inputs(if modern { 2 } else { 1 })?;
    let x = cx.tensor(node, 0)?;
    let axes = ints_from_attribute_or_input(cx, node, "axes", 1, 18)?.unwrap_or_default();
    let mut axes = axes
        .iter()
        .map(|&a| fold::normalize_axis(a, x.shape.len()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|r| node.error(r))?;
    axes.sort_unstable();
    if axes.is_empty() && node.flag("noop_with_empty_axes")? {
        cx.bind(node, 0, Value::Tensor(x));
        return Ok(());
    }
    let &[n, c, _, _] = x.shape.as_slice() else {
        return Err(node.error(format!(
            "only reductions over the spatial axes of an NCHW tensor are supported; the input has shape {:?}",
            x.shape
        )));
    };
    if axes != [2, 3] {
        return Err(node.error(format!(
            "only reductions over the spatial axes [2, 3] are supported, not {axes:?}"
        )));
    }
    let pooled = vec![n, c, 1, 1];
    let text = format!(
        "df.global_pool {} {} : {} -> {}",
        kind.keyword(),
        x.ssa,
        x.ty(),
        tensor_type(&pooled)
    );
    if node.int_or("keepdims", 1)? != 0 {
        return cx.define(node, 0, &text, pooled);
    }
    let pooled = cx.emit(node, 0, &text, pooled)?;
    let shape = vec![n, c];
    let text = format!(
        "df.reshape {} : {} -> {}",
        pooled.ssa,
        pooled.ty(),
        tensor_type(&shape)
    );
    cx.define(node, 0, &text, shape)
}
