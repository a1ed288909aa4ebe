//! The layer graph: plain Rust data describing a network's layers, built once
//! from a `func.func` of df ops (after `df-canonicalize`), so that the
//! receptive-field functions, the cost model and the scheduler never touch
//! MLIR and can be unit-tested with hand-built graphs.
//!
//! - A **node** is an op with at least one activation operand (conv, pool,
//!   add, concat, ...). Nodes are stored in topological order (the order of
//!   the function body, which SSA dominance makes topological).
//! - A **value** is an activation tensor: a function argument (a network
//!   input) or the result of a node.
//! - **Weights** are everything computed from parameters only (`df.param`,
//!   `df.fold_batch_norm`, reshapes or adds of parameters, constants): they
//!   are not nodes, but bytes charged to the node that reads them.
//!
//! Every tensor also has a canonical 4-D view [`Dims`] (`n, c, h, w`) so that
//! rank-2 matmul data and rank-4 feature maps share one region algebra:
//! rank 4 is NCHW, rank 3 is CHW, rank 2 `[M, N]` is `n = M, c = N`, rank 1
//! is `c`.
//!
//! [`from_ir`] reads a function into a [`LayerGraph`]; [`GraphBuilder`]
//! builds one by hand (tests, synthetic networks).

pub mod from_ir;

use serde::Serialize;
use thiserror::Error;

use crate::receptive_field::window_output_size;

/// Index of a node in [`LayerGraph::nodes`].
pub type NodeId = usize;
/// Index of a value in [`LayerGraph::values`].
pub type ValueId = usize;

/// One of the four canonical dimensions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Dim {
    /// Batch (or the rows `M` of a matmul operand).
    N,
    /// Channels (or the columns `N` of a matmul operand).
    C,
    /// Height (rows of a feature map).
    H,
    /// Width (columns of a feature map).
    W,
}

impl Dim {
    /// All four, in NCHW order.
    pub const ALL: [Dim; 4] = [Dim::N, Dim::C, Dim::H, Dim::W];

    /// The canonical dimension of axis `axis` of a rank-`rank` tensor.
    pub fn of_axis(axis: usize, rank: usize) -> Option<Dim> {
        let table: &[Dim] = match rank {
            4 => &[Dim::N, Dim::C, Dim::H, Dim::W],
            3 => &[Dim::C, Dim::H, Dim::W],
            2 => &[Dim::N, Dim::C],
            1 => &[Dim::C],
            _ => return None,
        };
        table.get(axis).copied()
    }

    /// Position in NCHW order.
    pub fn index(self) -> usize {
        match self {
            Dim::N => 0,
            Dim::C => 1,
            Dim::H => 2,
            Dim::W => 3,
        }
    }
}

/// The canonical 4-D view of a tensor shape (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Dims {
    /// Batch.
    pub n: i64,
    /// Channels.
    pub c: i64,
    /// Height.
    pub h: i64,
    /// Width.
    pub w: i64,
}

impl Dims {
    /// `n x c x h x w`.
    pub const fn new(n: i64, c: i64, h: i64, w: i64) -> Self {
        Self { n, c, h, w }
    }

    /// The view of a tensor of shape `shape` (rank 0 to 4); `None` for other
    /// ranks or negative sizes.
    pub fn from_shape(shape: &[i64]) -> Option<Self> {
        if shape.len() > 4 || shape.iter().any(|&s| s < 0) {
            return None;
        }
        let mut dims = Dims::new(1, 1, 1, 1);
        for (axis, &size) in shape.iter().enumerate() {
            dims.set(Dim::of_axis(axis, shape.len())?, size);
        }
        Some(dims)
    }

    /// The view of `shape` right-aligned (NumPy broadcasting) against a
    /// tensor of rank `rank`: missing leading dimensions are 1.
    pub fn aligned(shape: &[i64], rank: usize) -> Option<Self> {
        if shape.len() > rank {
            return None;
        }
        let mut padded = vec![1; rank - shape.len()];
        padded.extend_from_slice(shape);
        Self::from_shape(&padded)
    }

    /// The size along `dim`.
    pub fn get(&self, dim: Dim) -> i64 {
        match dim {
            Dim::N => self.n,
            Dim::C => self.c,
            Dim::H => self.h,
            Dim::W => self.w,
        }
    }

    /// Sets the size along `dim`.
    pub fn set(&mut self, dim: Dim, size: i64) {
        match dim {
            Dim::N => self.n = size,
            Dim::C => self.c = size,
            Dim::H => self.h = size,
            Dim::W => self.w = size,
        }
    }

    /// The number of elements.
    pub fn elements(&self) -> u64 {
        (self.n.max(0) as u64)
            * (self.c.max(0) as u64)
            * (self.h.max(0) as u64)
            * (self.w.max(0) as u64)
    }
}

/// Max or average pooling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum PoolKind {
    /// Maximum over the window.
    Max,
    /// Average over the window.
    Avg,
}

/// The geometry of a sliding window along height and width.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Window {
    /// Kernel height and width.
    pub kernel: [i64; 2],
    /// Strides along height and width.
    pub strides: [i64; 2],
    /// Paddings `[top, left, bottom, right]`.
    pub pads: [i64; 4],
    /// Dilations along height and width.
    pub dilations: [i64; 2],
}

impl Window {
    /// A square window: kernel `k`, stride `s`, padding `p` on every side.
    pub const fn square(k: i64, s: i64, p: i64) -> Self {
        Self {
            kernel: [k, k],
            strides: [s, s],
            pads: [p, p, p, p],
            dilations: [1, 1],
        }
    }
}

/// What a node computes, with the attributes its receptive field needs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum OpKind {
    /// `df.conv2d` (its filter and bias are weights).
    Conv2d {
        /// Window geometry.
        window: Window,
        /// Channel groups (input channels for a depthwise conv).
        groups: i64,
    },
    /// `df.pool2d`.
    Pool2d {
        /// Max or average.
        kind: PoolKind,
        /// Window geometry (dilation 1).
        window: Window,
        /// Output size rounded up.
        ceil_mode: bool,
    },
    /// `df.global_pool`: reduces height and width to 1.
    GlobalPool {
        /// Max or average.
        kind: PoolKind,
    },
    /// `df.resize`: nearest upsampling by integer scales.
    Resize {
        /// Height and width scales.
        scales: [i64; 2],
    },
    /// `df.pad`: constant padding, canonical begin paddings then end paddings
    /// in NCHW order.
    Pad {
        /// `[n, c, h, w]` begin, then `[n, c, h, w]` end paddings.
        pads: [i64; 8],
    },
    /// A unary elementwise op (`df.activation`, `df.batch_norm`).
    Elementwise {
        /// The op, such as `relu` or `batch_norm`.
        op: String,
    },
    /// `df.add` / `df.mul` with broadcasting.
    Binary {
        /// `add` or `mul`.
        op: String,
    },
    /// `df.concat` along a canonical dimension.
    Concat {
        /// The concatenation dimension.
        dim: Dim,
    },
    /// `df.matmul` (a parameter right-hand side and bias are weights).
    MatMul {
        /// The left operand is transposed.
        transpose_lhs: bool,
        /// The right operand is transposed.
        transpose_rhs: bool,
    },
    /// `df.softmax` along a canonical dimension.
    Softmax {
        /// The normalised dimension.
        dim: Dim,
    },
    /// `df.reshape` / `df.flatten`.
    Reshape,
    /// Anything else: assumed to need its whole input.
    Opaque {
        /// The operation name.
        name: String,
    },
}

impl OpKind {
    /// A short name for reports, such as `conv2d` or `relu`.
    pub fn short_name(&self) -> String {
        match self {
            OpKind::Conv2d { groups, window } => {
                if *groups > 1 {
                    format!("conv{}x{}/g{}", window.kernel[0], window.kernel[1], groups)
                } else {
                    format!("conv{}x{}", window.kernel[0], window.kernel[1])
                }
            }
            OpKind::Pool2d { kind, .. } => match kind {
                PoolKind::Max => "maxpool".into(),
                PoolKind::Avg => "avgpool".into(),
            },
            OpKind::GlobalPool { .. } => "global_pool".into(),
            OpKind::Resize { .. } => "resize".into(),
            OpKind::Pad { .. } => "pad".into(),
            OpKind::Elementwise { op } | OpKind::Binary { op } => op.clone(),
            OpKind::Concat { .. } => "concat".into(),
            OpKind::MatMul { .. } => "matmul".into(),
            OpKind::Softmax { .. } => "softmax".into(),
            OpKind::Reshape => "reshape".into(),
            OpKind::Opaque { name } => name.clone(),
        }
    }

    /// Whether this is a conv, pool or matmul: the ops that anchor a layer in
    /// the layer-by-layer baseline (elementwise ops after them join them).
    pub fn is_anchor(&self) -> bool {
        matches!(
            self,
            OpKind::Conv2d { .. }
                | OpKind::Pool2d { .. }
                | OpKind::GlobalPool { .. }
                | OpKind::MatMul { .. }
        )
    }

    /// Whether this is elementwise (unary or broadcasting binary): such ops
    /// form a layer's epilogue and may compute in place.
    pub fn is_elementwise(&self) -> bool {
        matches!(self, OpKind::Elementwise { .. } | OpKind::Binary { .. })
    }
}

/// An activation operand of a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Operand {
    /// The tensor read.
    pub value: ValueId,
    /// The operand's position among the op's operands (weights included).
    pub slot: usize,
    /// Its canonical view as the node sees it: for broadcasting ops the
    /// shape is right-aligned to the output rank first, so a `[C, 1, 1]`
    /// operand of a rank-4 add is `1 x C x 1 x 1`.
    pub view: Dims,
}

/// A weight tensor read by a node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Weight {
    /// The parameter's name (of the `df.param` it derives from).
    pub name: String,
    /// Number of elements.
    pub elements: u64,
    /// Bytes per element.
    pub elem_bytes: u64,
}

/// A layer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Node {
    /// A unique, readable name (such as `conv2d_3`, or the op's name
    /// location when it has one).
    pub label: String,
    /// What it computes.
    pub kind: OpKind,
    /// Its activation operands, in operand order.
    pub inputs: Vec<Operand>,
    /// Its result.
    pub output: ValueId,
    /// Its weights, in operand order.
    pub weights: Vec<Weight>,
}

impl Node {
    /// Total bytes of its weights.
    pub fn weight_bytes(&self) -> u64 {
        self.weights.iter().map(|w| w.elements * w.elem_bytes).sum()
    }
}

/// An activation tensor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Value {
    /// The shape as written in the IR.
    pub shape: Vec<i64>,
    /// Its canonical view.
    pub dims: Dims,
    /// Bytes per element.
    pub elem_bytes: u64,
    /// The node computing it; `None` for a network input.
    pub producer: Option<NodeId>,
    /// The nodes reading it, each once, in topological order.
    pub consumers: Vec<NodeId>,
}

impl Value {
    /// Size in bytes.
    pub fn bytes(&self) -> u64 {
        self.dims.elements() * self.elem_bytes
    }
}

/// A network as a DAG of layers.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LayerGraph {
    /// The function's name.
    pub name: String,
    /// Layers, in topological order.
    pub nodes: Vec<Node>,
    /// Activation tensors.
    pub values: Vec<Value>,
    /// Network inputs (function arguments), in argument order.
    pub inputs: Vec<ValueId>,
    /// Network outputs (returned activations), in result order.
    pub outputs: Vec<ValueId>,
}

/// Why a graph could not be built.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum GraphError {
    /// A tensor the graph cannot describe.
    #[error("{what}: unsupported tensor shape {shape:?} (expected a static shape of rank 0 to 4)")]
    Shape {
        /// Where.
        what: String,
        /// The shape.
        shape: Vec<i64>,
    },
    /// A reference to a value that does not exist (yet).
    #[error("{what}: operand refers to an unknown value {value}")]
    UnknownValue {
        /// Where.
        what: String,
        /// The value index.
        value: ValueId,
    },
    /// An op the graph cannot describe.
    #[error("{what}: {reason}")]
    Unsupported {
        /// Where.
        what: String,
        /// Why.
        reason: String,
    },
}

impl LayerGraph {
    /// The nodes producing the activation operands of `node` (each once).
    pub fn producers(&self, node: NodeId) -> Vec<NodeId> {
        let mut producers: Vec<NodeId> = self.nodes[node]
            .inputs
            .iter()
            .filter_map(|operand| self.values[operand.value].producer)
            .collect();
        producers.sort_unstable();
        producers.dedup();
        producers
    }

    /// The nodes reading the result of `node`.
    pub fn consumers(&self, node: NodeId) -> &[NodeId] {
        &self.values[self.nodes[node].output].consumers
    }

    /// The result value of `node`.
    pub fn output_value(&self, node: NodeId) -> &Value {
        &self.values[self.nodes[node].output]
    }

    /// Whether `value` is returned by the function.
    pub fn is_network_output(&self, value: ValueId) -> bool {
        self.outputs.contains(&value)
    }

    /// Total bytes of all weights (each node's own reads).
    pub fn weight_bytes(&self) -> u64 {
        self.nodes.iter().map(Node::weight_bytes).sum()
    }

    /// A copy where every activation and weight has `elem_bytes` bytes per
    /// element (a what-if for narrower data types).
    pub fn with_elem_bytes(&self, elem_bytes: u64) -> LayerGraph {
        let mut graph = self.clone();
        for value in &mut graph.values {
            value.elem_bytes = elem_bytes;
        }
        for node in &mut graph.nodes {
            for weight in &mut node.weights {
                weight.elem_bytes = elem_bytes;
            }
        }
        graph
    }
}

/// Builds a [`LayerGraph`] node by node, in topological order. Shape helpers
/// (`conv2d`, `pool2d`, ...) compute output shapes as the df verifiers do.
#[derive(Clone, Debug, Default)]
pub struct GraphBuilder {
    graph: LayerGraph,
    elem_bytes: u64,
}

impl GraphBuilder {
    /// An empty graph named `name` whose tensors have `elem_bytes` bytes per
    /// element.
    pub fn new(name: &str, elem_bytes: u64) -> Self {
        Self {
            graph: LayerGraph {
                name: name.into(),
                ..LayerGraph::default()
            },
            elem_bytes,
        }
    }

    /// The shape of `value`.
    pub fn shape(&self, value: ValueId) -> &[i64] {
        &self.graph.values[value].shape
    }

    /// Adds a network input.
    pub fn input(&mut self, shape: &[i64]) -> Result<ValueId, GraphError> {
        let dims = Dims::from_shape(shape).ok_or_else(|| GraphError::Shape {
            what: "network input".into(),
            shape: shape.to_vec(),
        })?;
        self.graph.values.push(Value {
            shape: shape.to_vec(),
            dims,
            elem_bytes: self.elem_bytes,
            producer: None,
            consumers: Vec::new(),
        });
        let id = self.graph.values.len() - 1;
        self.graph.inputs.push(id);
        Ok(id)
    }

    /// Adds a node reading `inputs`, producing a tensor of `output_shape`,
    /// reading `weights` (`(name, elements)` pairs); returns its result.
    /// Operand views are right-aligned to the output rank for broadcasting
    /// ops.
    pub fn node(
        &mut self,
        label: &str,
        kind: OpKind,
        inputs: &[ValueId],
        output_shape: &[i64],
        weights: &[(&str, u64)],
    ) -> Result<ValueId, GraphError> {
        let what = || format!("node '{label}'");
        let dims = Dims::from_shape(output_shape).ok_or_else(|| GraphError::Shape {
            what: what(),
            shape: output_shape.to_vec(),
        })?;
        let node_id = self.graph.nodes.len();
        let mut operands = Vec::new();
        for (slot, &value) in inputs.iter().enumerate() {
            let Some(v) = self.graph.values.get(value) else {
                return Err(GraphError::UnknownValue {
                    what: what(),
                    value,
                });
            };
            let view = if matches!(kind, OpKind::Binary { .. }) {
                Dims::aligned(&v.shape, output_shape.len()).ok_or_else(|| GraphError::Shape {
                    what: what(),
                    shape: v.shape.clone(),
                })?
            } else {
                v.dims
            };
            operands.push(Operand { value, view, slot });
        }
        for operand in &operands {
            let consumers = &mut self.graph.values[operand.value].consumers;
            if consumers.last() != Some(&node_id) {
                consumers.push(node_id);
            }
        }
        self.graph.values.push(Value {
            shape: output_shape.to_vec(),
            dims,
            elem_bytes: self.elem_bytes,
            producer: Some(node_id),
            consumers: Vec::new(),
        });
        let output = self.graph.values.len() - 1;
        self.graph.nodes.push(Node {
            label: label.into(),
            kind,
            inputs: operands,
            output,
            weights: weights
                .iter()
                .map(|&(name, elements)| Weight {
                    name: name.into(),
                    elements,
                    elem_bytes: self.elem_bytes,
                })
                .collect(),
        });
        Ok(output)
    }

    /// Marks `value` as a network output.
    pub fn output(&mut self, value: ValueId) {
        self.graph.outputs.push(value);
    }

    /// The finished graph.
    pub fn finish(self) -> LayerGraph {
        self.graph
    }

    fn nchw(&self, value: ValueId) -> Result<[i64; 4], GraphError> {
        let shape = self.shape(value);
        <[i64; 4]>::try_from(shape).map_err(|_| GraphError::Shape {
            what: "NCHW operand".into(),
            shape: shape.to_vec(),
        })
    }

    fn window_out(
        &self,
        label: &str,
        input: [i64; 4],
        window: &Window,
        ceil_mode: bool,
    ) -> Result<[i64; 2], GraphError> {
        let mut out = [0; 2];
        for d in 0..2 {
            out[d] = window_output_size(
                input[2 + d],
                window.kernel[d],
                window.strides[d],
                window.pads[d],
                window.pads[2 + d],
                window.dilations[d],
                ceil_mode,
            )
            .ok_or_else(|| GraphError::Unsupported {
                what: format!("node '{label}'"),
                reason: "the window does not fit the padded input".into(),
            })?;
        }
        Ok(out)
    }

    /// A conv with `out_channels` filters (weights `O x I/g x kh x kw` plus a
    /// bias of `O`).
    pub fn conv2d(
        &mut self,
        label: &str,
        input: ValueId,
        out_channels: i64,
        window: Window,
        groups: i64,
    ) -> Result<ValueId, GraphError> {
        let [n, c, _, _] = self.nchw(input)?;
        let [h, w] = self.window_out(label, self.nchw(input)?, &window, false)?;
        let filter =
            (out_channels * (c / groups.max(1)) * window.kernel[0] * window.kernel[1]) as u64;
        self.node(
            label,
            OpKind::Conv2d { window, groups },
            &[input],
            &[n, out_channels, h, w],
            &[("filter", filter), ("bias", out_channels as u64)],
        )
    }

    /// A max or average pooling.
    pub fn pool2d(
        &mut self,
        label: &str,
        input: ValueId,
        kind: PoolKind,
        window: Window,
        ceil_mode: bool,
    ) -> Result<ValueId, GraphError> {
        let [n, c, _, _] = self.nchw(input)?;
        let [h, w] = self.window_out(label, self.nchw(input)?, &window, ceil_mode)?;
        self.node(
            label,
            OpKind::Pool2d {
                kind,
                window,
                ceil_mode,
            },
            &[input],
            &[n, c, h, w],
            &[],
        )
    }

    /// A unary elementwise op such as `relu`.
    pub fn unary(&mut self, label: &str, op: &str, input: ValueId) -> Result<ValueId, GraphError> {
        let shape = self.shape(input).to_vec();
        self.node(
            label,
            OpKind::Elementwise { op: op.into() },
            &[input],
            &shape,
            &[],
        )
    }

    /// `add` or `mul` of two activations with broadcasting.
    pub fn binary(
        &mut self,
        label: &str,
        op: &str,
        lhs: ValueId,
        rhs: ValueId,
    ) -> Result<ValueId, GraphError> {
        let (a, b) = (self.shape(lhs).to_vec(), self.shape(rhs).to_vec());
        let rank = a.len().max(b.len());
        let pad = |s: &[i64]| {
            let mut p = vec![1; rank - s.len()];
            p.extend_from_slice(s);
            p
        };
        let (a, b) = (pad(&a), pad(&b));
        let shape: Vec<i64> = a.iter().zip(&b).map(|(&x, &y)| x.max(y)).collect();
        self.node(
            label,
            OpKind::Binary { op: op.into() },
            &[lhs, rhs],
            &shape,
            &[],
        )
    }

    /// Concatenation along channels.
    pub fn concat(&mut self, label: &str, inputs: &[ValueId]) -> Result<ValueId, GraphError> {
        let first = self.nchw(*inputs.first().ok_or_else(|| GraphError::Unsupported {
            what: format!("node '{label}'"),
            reason: "concat needs an input".into(),
        })?)?;
        let mut channels = 0;
        for &input in inputs {
            channels += self.nchw(input)?[1];
        }
        self.node(
            label,
            OpKind::Concat { dim: Dim::C },
            inputs,
            &[first[0], channels, first[2], first[3]],
            &[],
        )
    }

    /// Global pooling to `N x C x 1 x 1`.
    pub fn global_pool(&mut self, label: &str, input: ValueId) -> Result<ValueId, GraphError> {
        let [n, c, _, _] = self.nchw(input)?;
        self.node(
            label,
            OpKind::GlobalPool {
                kind: PoolKind::Avg,
            },
            &[input],
            &[n, c, 1, 1],
            &[],
        )
    }

    /// Flattens `N x C x H x W` to `N x CHW`.
    pub fn flatten(&mut self, label: &str, input: ValueId) -> Result<ValueId, GraphError> {
        let [n, c, h, w] = self.nchw(input)?;
        self.node(label, OpKind::Reshape, &[input], &[n, c * h * w], &[])
    }

    /// A fully connected layer `[M, K] x [K, N] + b` with parameter weights.
    pub fn matmul(&mut self, label: &str, input: ValueId, n: i64) -> Result<ValueId, GraphError> {
        let shape = self.shape(input).to_vec();
        let [m, k] = <[i64; 2]>::try_from(shape.as_slice()).map_err(|_| GraphError::Shape {
            what: format!("node '{label}'"),
            shape: shape.clone(),
        })?;
        self.node(
            label,
            OpKind::MatMul {
                transpose_lhs: false,
                transpose_rhs: true,
            },
            &[input],
            &[m, n],
            &[("weight", (n * k) as u64), ("bias", n as u64)],
        )
    }

    /// Softmax along the last axis of a rank-2 tensor.
    pub fn softmax(&mut self, label: &str, input: ValueId) -> Result<ValueId, GraphError> {
        let shape = self.shape(input).to_vec();
        self.node(
            label,
            OpKind::Softmax { dim: Dim::C },
            &[input],
            &shape,
            &[],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_views() {
        assert_eq!(Dims::from_shape(&[1, 3, 8, 9]), Some(Dims::new(1, 3, 8, 9)));
        assert_eq!(Dims::from_shape(&[3, 8, 9]), Some(Dims::new(1, 3, 8, 9)));
        assert_eq!(Dims::from_shape(&[2, 10]), Some(Dims::new(2, 10, 1, 1)));
        assert_eq!(Dims::from_shape(&[10]), Some(Dims::new(1, 10, 1, 1)));
        assert_eq!(Dims::from_shape(&[1, 2, 3, 4, 5]), None);
        // A [C, 1, 1] bias against a rank-4 tensor is 1 x C x 1 x 1.
        assert_eq!(Dims::aligned(&[8, 1, 1], 4), Some(Dims::new(1, 8, 1, 1)));
        // A [W] vector against a rank-4 tensor aligns with the width.
        assert_eq!(Dims::aligned(&[8], 4), Some(Dims::new(1, 1, 1, 8)));
        assert_eq!(Dims::new(1, 2, 3, 4).elements(), 24);
    }

    #[test]
    fn builder_links_producers_and_consumers() {
        let mut b = GraphBuilder::new("residual", 4);
        let x = b.input(&[1, 8, 16, 16]).unwrap();
        let c1 = b.conv2d("c1", x, 8, Window::square(3, 1, 1), 1).unwrap();
        let r1 = b.unary("r1", "relu", c1).unwrap();
        let c2 = b.conv2d("c2", r1, 8, Window::square(3, 2, 1), 1).unwrap();
        let p = b
            .pool2d("p", x, PoolKind::Max, Window::square(2, 2, 0), false)
            .unwrap();
        let s = b.binary("s", "add", c2, p).unwrap();
        b.output(s);
        let g = b.finish();
        assert_eq!(g.nodes.len(), 5);
        assert_eq!(g.values[c2].shape, vec![1, 8, 8, 8]);
        assert_eq!(g.values[x].consumers, vec![0, 3]);
        assert_eq!(g.producers(4), vec![2, 3]);
        assert_eq!(g.consumers(0), &[1]);
        assert!(g.is_network_output(s));
        // 8*8*3*3 filter + 8 bias, twice, at 4 bytes.
        assert_eq!(g.weight_bytes(), 2 * (576 + 8) * 4);
        assert_eq!(g.with_elem_bytes(2).weight_bytes(), 2 * (576 + 8) * 2);
        assert_eq!(g.output_value(0).bytes(), 8 * 16 * 16 * 4);
    }

    #[test]
    fn builder_rejects_bad_input() {
        let mut b = GraphBuilder::new("bad", 4);
        assert!(b.input(&[1, 2, 3, 4, 5]).is_err());
        let x = b.input(&[1, 3, 4, 4]).unwrap();
        assert!(matches!(
            b.node("n", OpKind::Reshape, &[x + 7], &[48], &[]),
            Err(GraphError::UnknownValue { .. })
        ));
        // A 5x5 window does not fit a 4x4 input without padding.
        assert!(b.conv2d("c", x, 4, Window::square(5, 1, 0), 1).is_err());
    }
}
