//! Local independence: for every op, the exact input region each activation
//! operand needs to compute a given output region.
//!
//! Regions are boxes in the canonical `n x c x h x w` view of a tensor
//! ([`crate::graph::Dims`]), one half-open [`Interval`] per dimension. The
//! functions here are pure: they read a node's attributes and operand views
//! and never touch MLIR.
//!
//! - sliding windows (`conv2d`, `pool2d`): rows `[a, b)` of the output need
//!   input rows `[a*s - pad_top, (b-1)*s - pad_top + d*(k-1) + 1)`, clamped to
//!   the input (padding is not data). Ceil-mode pooling needs nothing special:
//!   its last window may hang over the end, and the clamp drops the overhang.
//! - channels: a conv with `groups == 1` needs every input channel; a grouped
//!   or depthwise conv needs the input channels of the groups its output
//!   channels belong to; elementwise ops, pooling and resize map channels
//!   one to one; concat maps them through its offsets.
//! - `resize` (nearest, integer scales): output row `r` reads input row
//!   `r / scale`.
//! - `pad`: the output region shifted by the begin padding, clamped; a region
//!   that lies in the padding needs nothing.
//! - broadcasting `add`/`mul`: a dimension where the operand has size 1 and
//!   the output does not needs `[0, 1)`.
//! - `global_pool`, `matmul`, `softmax`, reshapes that move data across
//!   dimensions, and unknown ops need their whole input along the dimensions
//!   they reduce or mix; [`ends_group`] marks them as ending a fusion group.

use serde::Serialize;

use crate::graph::{Dim, Dims, LayerGraph, NodeId, OpKind};

/// A half-open range `[start, end)` of indices; empty when `end <= start`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Interval {
    /// First index.
    pub start: i64,
    /// One past the last index.
    pub end: i64,
}

impl Interval {
    /// `[start, end)`.
    pub const fn new(start: i64, end: i64) -> Self {
        Self { start, end }
    }

    /// The canonical empty interval.
    pub const EMPTY: Interval = Interval { start: 0, end: 0 };

    /// `[0, size)`.
    pub const fn full(size: i64) -> Self {
        Self {
            start: 0,
            end: size,
        }
    }

    /// Whether it holds no index.
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    /// The number of indices it holds.
    pub fn len(&self) -> i64 {
        (self.end - self.start).max(0)
    }

    /// The intersection with `[0, size)`; empty intervals become
    /// [`Interval::EMPTY`].
    pub fn clamp(&self, size: i64) -> Self {
        let clamped = Interval::new(self.start.max(0), self.end.min(size));
        if clamped.is_empty() {
            Interval::EMPTY
        } else {
            clamped
        }
    }

    /// The indices in both; [`Interval::EMPTY`] when none.
    pub fn intersect(&self, other: &Interval) -> Self {
        let both = Interval::new(self.start.max(other.start), self.end.min(other.end));
        if both.is_empty() {
            Interval::EMPTY
        } else {
            both
        }
    }

    /// The smallest interval holding both (an empty one is ignored).
    pub fn hull(&self, other: &Interval) -> Self {
        match (self.is_empty(), other.is_empty()) {
            (true, _) => *other,
            (_, true) => *self,
            _ => Interval::new(self.start.min(other.start), self.end.max(other.end)),
        }
    }
}

/// A box in the canonical `n x c x h x w` view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Region {
    /// Batch.
    pub n: Interval,
    /// Channels.
    pub c: Interval,
    /// Rows.
    pub h: Interval,
    /// Columns.
    pub w: Interval,
}

impl Region {
    /// The whole of a tensor.
    pub fn full(dims: Dims) -> Self {
        Self {
            n: Interval::full(dims.n),
            c: Interval::full(dims.c),
            h: Interval::full(dims.h),
            w: Interval::full(dims.w),
        }
    }

    /// Nothing.
    pub const EMPTY: Region = Region {
        n: Interval::EMPTY,
        c: Interval::EMPTY,
        h: Interval::EMPTY,
        w: Interval::EMPTY,
    };

    /// The interval along `dim`.
    pub fn get(&self, dim: Dim) -> Interval {
        match dim {
            Dim::N => self.n,
            Dim::C => self.c,
            Dim::H => self.h,
            Dim::W => self.w,
        }
    }

    /// Sets the interval along `dim`.
    pub fn set(&mut self, dim: Dim, interval: Interval) {
        match dim {
            Dim::N => self.n = interval,
            Dim::C => self.c = interval,
            Dim::H => self.h = interval,
            Dim::W => self.w = interval,
        }
    }

    /// Whether some dimension is empty.
    pub fn is_empty(&self) -> bool {
        Dim::ALL.iter().any(|&d| self.get(d).is_empty())
    }

    /// The number of elements.
    pub fn elements(&self) -> u64 {
        if self.is_empty() {
            return 0;
        }
        Dim::ALL.iter().map(|&d| self.get(d).len() as u64).product()
    }

    /// Every dimension clamped to `dims`; empty if any becomes empty.
    pub fn clamp(&self, dims: Dims) -> Self {
        let mut out = *self;
        for dim in Dim::ALL {
            out.set(dim, self.get(dim).clamp(dims.get(dim)));
        }
        if out.is_empty() { Region::EMPTY } else { out }
    }
}

/// The output size of a sliding window along one dimension, as the df
/// verifiers compute it (`None` when the window does not fit). In ceil mode,
/// a last window that would start in the end padding is dropped (PyTorch,
/// ONNX opset 19+).
pub fn window_output_size(
    input: i64,
    kernel: i64,
    stride: i64,
    pad_begin: i64,
    pad_end: i64,
    dilation: i64,
    ceil_mode: bool,
) -> Option<i64> {
    if stride < 1 || kernel < 1 || dilation < 1 || input < 0 {
        return None;
    }
    let padded = input + pad_begin + pad_end;
    let window = dilation * (kernel - 1) + 1;
    if padded < window {
        return None;
    }
    let span = padded - window;
    let mut out = if ceil_mode {
        (span + stride - 1) / stride
    } else {
        span / stride
    } + 1;
    if ceil_mode && (out - 1) * stride >= input + pad_begin {
        out -= 1;
    }
    Some(out)
}

/// The input interval a sliding window reads for output interval `out`:
/// `[a*s - pad_begin, (b-1)*s - pad_begin + d*(k-1) + 1)`, clamped to
/// `[0, input)`.
pub fn window_input_interval(
    out: Interval,
    kernel: i64,
    stride: i64,
    pad_begin: i64,
    dilation: i64,
    input: i64,
) -> Interval {
    if out.is_empty() {
        return Interval::EMPTY;
    }
    Interval::new(
        out.start * stride - pad_begin,
        (out.end - 1) * stride - pad_begin + dilation * (kernel - 1) + 1,
    )
    .clamp(input)
}

/// Whether node `node` ends a fusion group: its result must not be read by
/// another op of the same group, because it needs its whole input along a
/// dimension that groups tile (`global_pool`, `matmul`, `softmax`, a reshape
/// that moves data across dimensions, an unknown op).
pub fn ends_group(graph: &LayerGraph, node: NodeId) -> bool {
    let node = &graph.nodes[node];
    match &node.kind {
        OpKind::GlobalPool { .. }
        | OpKind::MatMul { .. }
        | OpKind::Softmax { .. }
        | OpKind::Opaque { .. } => true,
        OpKind::Reshape => !is_view_identity(graph, node.inputs.first().map(|o| o.view), node),
        _ => false,
    }
}

/// A reshape whose canonical view does not change (such as `[1, C, 1, 1]` to
/// `[1, C]`) moves no data between dimensions.
fn is_view_identity(graph: &LayerGraph, input: Option<Dims>, node: &crate::graph::Node) -> bool {
    input == Some(graph.values[node.output].dims)
}

/// The input region operand `operand` (an index into the node's activation
/// operands) of node `node` needs to compute output region `out`.
pub fn input_region(graph: &LayerGraph, node: NodeId, operand: usize, out: &Region) -> Region {
    let n = &graph.nodes[node];
    let Some(op) = n.inputs.get(operand) else {
        return Region::EMPTY;
    };
    let input = op.view;
    let output = graph.values[n.output].dims;
    if out.is_empty() {
        return Region::EMPTY;
    }
    let full = Region::full(input);
    let same = |dim: Dim| out.get(dim).clamp(input.get(dim));
    let region = match &n.kind {
        OpKind::Conv2d { window, groups } => Region {
            n: same(Dim::N),
            c: conv_channels(out.c, *groups, output.c, input.c),
            h: window_input_interval(
                out.h,
                window.kernel[0],
                window.strides[0],
                window.pads[0],
                window.dilations[0],
                input.h,
            ),
            w: window_input_interval(
                out.w,
                window.kernel[1],
                window.strides[1],
                window.pads[1],
                window.dilations[1],
                input.w,
            ),
        },
        OpKind::Pool2d { window, .. } => Region {
            n: same(Dim::N),
            c: same(Dim::C),
            h: window_input_interval(
                out.h,
                window.kernel[0],
                window.strides[0],
                window.pads[0],
                1,
                input.h,
            ),
            w: window_input_interval(
                out.w,
                window.kernel[1],
                window.strides[1],
                window.pads[1],
                1,
                input.w,
            ),
        },
        OpKind::GlobalPool { .. } => Region {
            n: same(Dim::N),
            c: same(Dim::C),
            ..full
        },
        OpKind::Resize { scales } => {
            let scale = |interval: Interval, s: i64, size: i64| {
                let s = s.max(1);
                Interval::new(interval.start / s, (interval.end - 1) / s + 1).clamp(size)
            };
            Region {
                n: same(Dim::N),
                c: same(Dim::C),
                h: scale(out.h, scales[0], input.h),
                w: scale(out.w, scales[1], input.w),
            }
        }
        OpKind::Pad { pads } => {
            let mut region = Region::EMPTY;
            for dim in Dim::ALL {
                let begin = pads[dim.index()];
                let interval = out.get(dim);
                region.set(
                    dim,
                    Interval::new(interval.start - begin, interval.end - begin)
                        .clamp(input.get(dim)),
                );
            }
            region
        }
        OpKind::Elementwise { .. } => Region {
            n: same(Dim::N),
            c: same(Dim::C),
            h: same(Dim::H),
            w: same(Dim::W),
        },
        OpKind::Binary { .. } => broadcast(out, input, output),
        OpKind::Concat { dim } => {
            let offset: i64 = n.inputs[..operand].iter().map(|o| o.view.get(*dim)).sum();
            let along = out.get(*dim);
            let mut region = Region {
                n: same(Dim::N),
                c: same(Dim::C),
                h: same(Dim::H),
                w: same(Dim::W),
            };
            region.set(
                *dim,
                Interval::new(along.start - offset, along.end - offset).clamp(input.get(*dim)),
            );
            region
        }
        OpKind::MatMul {
            transpose_lhs,
            transpose_rhs,
        } => {
            // Output `[M, N]` is viewed as n = M, c = N.
            let (rows, columns) = match op.slot {
                // lhs `[M, K]` (or `[K, M]`): the output's rows, every K.
                0 if !transpose_lhs => (same(Dim::N), full.c),
                0 => (full.n, out.n.clamp(input.c)),
                // rhs `[K, N]` (or `[N, K]`): every K, the output's columns.
                1 if !transpose_rhs => (full.n, same(Dim::C)),
                1 => (out.c.clamp(input.n), full.c),
                _ => return broadcast(out, input, output),
            };
            Region {
                n: rows,
                c: columns,
                h: full.h,
                w: full.w,
            }
        }
        OpKind::Softmax { dim } => {
            let mut region = Region {
                n: same(Dim::N),
                c: same(Dim::C),
                h: same(Dim::H),
                w: same(Dim::W),
            };
            region.set(*dim, full.get(*dim));
            region
        }
        OpKind::Reshape if input == output => *out,
        OpKind::Reshape | OpKind::Opaque { .. } => full,
    };
    if region.is_empty() {
        Region::EMPTY
    } else {
        region
    }
}

/// How one dimension of an operand's region follows from the same dimension
/// of the output region, when the batch dimension is whole (as in the cost
/// model, which never tiles it): a fast, per-dimension form of
/// [`input_region`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DimMap {
    /// The same indices, clamped to `size`.
    Same {
        /// The operand's size.
        size: i64,
    },
    /// A sliding window.
    Window {
        /// Kernel extent.
        kernel: i64,
        /// Stride.
        stride: i64,
        /// Begin padding.
        pad: i64,
        /// Dilation.
        dilation: i64,
        /// The operand's size.
        size: i64,
    },
    /// Nearest upsampling: output index `i` reads `i / scale`.
    Scale {
        /// Integer scale.
        scale: i64,
        /// The operand's size.
        size: i64,
    },
    /// Shifted by `offset` (concat offsets, begin paddings), clamped.
    Offset {
        /// Subtracted from output indices.
        offset: i64,
        /// The operand's size.
        size: i64,
    },
    /// Broadcast: index 0 only.
    First,
    /// The whole operand.
    Full {
        /// The operand's size.
        size: i64,
    },
    /// Channels of a grouped conv.
    Groups {
        /// Output channels per group.
        out_per_group: i64,
        /// Input channels per group.
        in_per_group: i64,
        /// The operand's size.
        size: i64,
    },
}

impl DimMap {
    /// The operand interval needed for output interval `out`.
    pub fn apply(&self, out: Interval) -> Interval {
        if out.is_empty() {
            return Interval::EMPTY;
        }
        match *self {
            DimMap::Same { size } => out.clamp(size),
            DimMap::Window {
                kernel,
                stride,
                pad,
                dilation,
                size,
            } => window_input_interval(out, kernel, stride, pad, dilation, size),
            DimMap::Scale { scale, size } => {
                let s = scale.max(1);
                Interval::new(out.start / s, (out.end - 1) / s + 1).clamp(size)
            }
            DimMap::Offset { offset, size } => {
                Interval::new(out.start - offset, out.end - offset).clamp(size)
            }
            DimMap::First => Interval::new(0, 1),
            DimMap::Full { size } => Interval::full(size),
            DimMap::Groups {
                out_per_group,
                in_per_group,
                size,
            } => Interval::new(
                out.start / out_per_group * in_per_group,
                ((out.end - 1) / out_per_group + 1) * in_per_group,
            )
            .clamp(size),
        }
    }
}

/// The [`DimMap`] of dimension `dim` (not the batch) of operand `operand`
/// of node `node`.
pub fn dim_map(graph: &LayerGraph, node: NodeId, operand: usize, dim: Dim) -> DimMap {
    let n = &graph.nodes[node];
    let Some(op) = n.inputs.get(operand) else {
        return DimMap::Full { size: 0 };
    };
    let input = op.view;
    let output = graph.values[n.output].dims;
    let size = input.get(dim);
    let spatial = |window: &crate::graph::Window, dilated: bool| {
        let d = if dim == Dim::H { 0 } else { 1 };
        DimMap::Window {
            kernel: window.kernel[d],
            stride: window.strides[d],
            pad: window.pads[d],
            dilation: if dilated { window.dilations[d] } else { 1 },
            size,
        }
    };
    match (&n.kind, dim) {
        (OpKind::Conv2d { groups, .. }, Dim::C) if *groups > 1 => DimMap::Groups {
            out_per_group: (output.c / groups).max(1),
            in_per_group: (input.c / groups).max(1),
            size,
        },
        (OpKind::Conv2d { .. }, Dim::C) => DimMap::Full { size },
        (OpKind::Conv2d { window, .. }, Dim::H | Dim::W) => spatial(window, true),
        (OpKind::Pool2d { window, .. }, Dim::H | Dim::W) => spatial(window, false),
        (OpKind::GlobalPool { .. }, Dim::H | Dim::W) => DimMap::Full { size },
        (OpKind::Resize { scales }, Dim::H | Dim::W) => DimMap::Scale {
            scale: scales[if dim == Dim::H { 0 } else { 1 }],
            size,
        },
        (OpKind::Pad { pads }, _) => DimMap::Offset {
            offset: pads[dim.index()],
            size,
        },
        (OpKind::Binary { .. }, _) if size == 1 && output.get(dim) != 1 => DimMap::First,
        (OpKind::Concat { dim: along }, _) if *along == dim => DimMap::Offset {
            offset: n.inputs[..operand].iter().map(|o| o.view.get(dim)).sum(),
            size,
        },
        (OpKind::MatMul { .. }, _) => match (op.slot, dim) {
            // The output columns select rhs columns; everything else of an
            // operand (its K, or rows given a whole batch) is needed whole.
            (1, Dim::C)
                if !matches!(
                    n.kind,
                    OpKind::MatMul {
                        transpose_rhs: true,
                        ..
                    }
                ) =>
            {
                DimMap::Same { size }
            }
            (slot, _) if slot >= 2 => {
                if size == 1 && output.get(dim) != 1 {
                    DimMap::First
                } else {
                    DimMap::Same { size }
                }
            }
            _ => DimMap::Full { size },
        },
        (OpKind::Softmax { dim: along }, _) if *along == dim => DimMap::Full { size },
        (OpKind::Reshape, _) if input == output => DimMap::Same { size },
        (OpKind::Reshape | OpKind::Opaque { .. }, _) => DimMap::Full { size },
        _ => DimMap::Same { size },
    }
}

/// The input channels a conv with `groups` groups, `out_channels` outputs and
/// `in_channels` inputs reads for output channels `out`.
fn conv_channels(out: Interval, groups: i64, out_channels: i64, in_channels: i64) -> Interval {
    if out.is_empty() {
        return Interval::EMPTY;
    }
    if groups <= 1 {
        return Interval::full(in_channels);
    }
    let out_per_group = (out_channels / groups).max(1);
    let in_per_group = (in_channels / groups).max(1);
    let first = out.start / out_per_group;
    let last = (out.end - 1) / out_per_group;
    Interval::new(first * in_per_group, (last + 1) * in_per_group).clamp(in_channels)
}

/// NumPy broadcasting: a dimension of size 1 in the operand and not in the
/// output reads index 0.
fn broadcast(out: &Region, input: Dims, output: Dims) -> Region {
    let mut region = Region::EMPTY;
    for dim in Dim::ALL {
        let interval = if input.get(dim) == 1 && output.get(dim) != 1 {
            Interval::new(0, 1)
        } else {
            out.get(dim).clamp(input.get(dim))
        };
        region.set(dim, interval);
    }
    region
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{GraphBuilder, PoolKind, Window};

    fn rows(start: i64, end: i64) -> Interval {
        Interval::new(start, end)
    }

    /// The input rows node 0 of a one-conv graph needs for output rows
    /// `out` (every channel and column requested).
    fn conv_rows(input_h: i64, window: Window, out: Interval) -> Interval {
        let mut b = GraphBuilder::new("t", 4);
        let x = b.input(&[1, 4, input_h, input_h]).unwrap();
        let y = b.conv2d("c", x, 4, window, 1).unwrap();
        let g = b.finish();
        let mut region = Region::full(g.values[y].dims);
        region.h = out;
        input_region(&g, 0, 0, &region).h
    }

    #[test]
    fn output_sizes_match_the_verifier() {
        // 224, k7 s2 p3: (224 + 6 - 7) / 2 + 1 = 112.
        assert_eq!(window_output_size(224, 7, 2, 3, 3, 1, false), Some(112));
        // Ceil mode, 8, k3 s2 p0: ceil(5 / 2) + 1 = 4; window 3 starts at 6 < 8.
        assert_eq!(window_output_size(8, 3, 2, 0, 0, 1, true), Some(4));
        assert_eq!(window_output_size(8, 3, 2, 0, 0, 1, false), Some(3));
        // Ceil mode drops a window starting in the end padding: 6, k2 s2 p0+1:
        // ceil(5 / 2) + 1 = 4, but window 3 would start at 6 >= 6 + 0.
        assert_eq!(window_output_size(6, 2, 2, 0, 1, 1, true), Some(3));
        // Dilation 2, k3: window 5; 8 + 2 + 2 - 5 = 7, + 1 = 8.
        assert_eq!(window_output_size(8, 3, 1, 2, 2, 2, false), Some(8));
        assert_eq!(window_output_size(2, 5, 1, 0, 0, 1, false), None);
    }

    #[test]
    fn strided_conv_rows() {
        // k3 s2 p1: out rows [1, 3) -> [1*2 - 1, 2*2 - 1 + 2 + 1) = [1, 6).
        assert_eq!(
            conv_rows(8, Window::square(3, 2, 1), rows(1, 3)),
            rows(1, 6)
        );
        // out row 0 -> [-1, 2), clamped to [0, 2): padding is not data.
        assert_eq!(
            conv_rows(8, Window::square(3, 2, 1), rows(0, 1)),
            rows(0, 2)
        );
        // out row 3 (the last of 4) -> [5, 8), clamped to [5, 8).
        assert_eq!(
            conv_rows(8, Window::square(3, 2, 1), rows(3, 4)),
            rows(5, 8)
        );
    }

    #[test]
    fn asymmetric_padding() {
        // TF "SAME" on an odd input: k2 s2, pads top 0, bottom 1, H = 7:
        // (7 + 1 - 2) / 2 + 1 = 4 rows; the last one reads [6, 8) -> [6, 7).
        let window = Window {
            kernel: [2, 2],
            strides: [2, 2],
            pads: [0, 0, 1, 1],
            dilations: [1, 1],
        };
        assert_eq!(conv_rows(7, window, rows(3, 4)), rows(6, 7));
        assert_eq!(conv_rows(7, window, rows(0, 2)), rows(0, 4));
        // Pads top 2, bottom 0, k3 s1, H = 6: 6 + 2 - 3 + 1 = 6 rows; out
        // rows [0, 2) read [-2, 2) -> [0, 2); out row 5 reads [3, 6).
        let window = Window {
            kernel: [3, 3],
            strides: [1, 1],
            pads: [2, 0, 0, 0],
            dilations: [1, 1],
        };
        assert_eq!(conv_rows(6, window, rows(0, 2)), rows(0, 2));
        assert_eq!(conv_rows(6, window, rows(5, 6)), rows(3, 6));
    }

    #[test]
    fn dilation() {
        // k3 d2 p2: window 5. out [0, 1) -> [-2, 3) -> [0, 3);
        // out [4, 6) -> [2, 5 - 2 + 4 + 1) = [2, 8).
        let window = Window {
            dilations: [2, 2],
            ..Window::square(3, 1, 2)
        };
        assert_eq!(conv_rows(8, window, rows(0, 1)), rows(0, 3));
        assert_eq!(conv_rows(8, window, rows(4, 6)), rows(2, 8));
    }

    #[test]
    fn ceil_mode_pooling() {
        // k3 s2 p0 on 8 rows, ceil mode: 4 output rows; the last window
        // [6, 9) hangs over the end and is clamped to [6, 8).
        let mut b = GraphBuilder::new("t", 4);
        let x = b.input(&[1, 2, 8, 8]).unwrap();
        let y = b
            .pool2d("p", x, PoolKind::Max, Window::square(3, 2, 0), true)
            .unwrap();
        let g = b.finish();
        assert_eq!(g.values[y].dims, Dims::new(1, 2, 4, 4));
        let mut out = Region::full(g.values[y].dims);
        out.h = rows(3, 4);
        out.c = rows(1, 2);
        let need = input_region(&g, 0, 0, &out);
        assert_eq!(need.h, rows(6, 8));
        assert_eq!(need.c, rows(1, 2));
        assert_eq!(need.w, rows(0, 8));
    }

    #[test]
    fn grouped_and_depthwise_channels() {
        let mut b = GraphBuilder::new("t", 4);
        let x = b.input(&[1, 8, 4, 4]).unwrap();
        // Depthwise: 8 groups of one channel.
        let dw = b.conv2d("dw", x, 8, Window::square(3, 1, 1), 8).unwrap();
        // 2 groups: outputs 0..8 read inputs 0..4, outputs 8..16 read 4..8.
        let _g2 = b.conv2d("g2", dw, 16, Window::square(1, 1, 0), 2).unwrap();
        let g = b.finish();
        let mut out = Region::full(g.values[dw].dims);
        out.c = rows(4, 6);
        assert_eq!(input_region(&g, 0, 0, &out).c, rows(4, 6));
        let mut out = Region::full(Dims::new(1, 16, 4, 4));
        out.c = rows(0, 3);
        assert_eq!(input_region(&g, 1, 0, &out).c, rows(0, 4));
        out.c = rows(7, 9);
        assert_eq!(input_region(&g, 1, 0, &out).c, rows(0, 8));
        out.c = rows(8, 16);
        assert_eq!(input_region(&g, 1, 0, &out).c, rows(4, 8));
    }

    #[test]
    fn concat_resize_pad_broadcast() {
        let mut b = GraphBuilder::new("t", 4);
        let x = b.input(&[1, 4, 4, 4]).unwrap();
        let y = b.input(&[1, 6, 4, 4]).unwrap();
        let cat = b.concat("cat", &[x, y]).unwrap();
        let up = b
            .node(
                "up",
                OpKind::Resize { scales: [2, 2] },
                &[cat],
                &[1, 10, 8, 8],
                &[],
            )
            .unwrap();
        let padded = b
            .node(
                "pad",
                OpKind::Pad {
                    pads: [0, 0, 1, 1, 0, 0, 1, 1],
                },
                &[up],
                &[1, 10, 10, 10],
                &[],
            )
            .unwrap();
        let s = b.input(&[1, 10, 1, 1]).unwrap();
        let _m = b.binary("m", "mul", padded, s).unwrap();
        let g = b.finish();

        // Concat: output channels [3, 7) -> x [3, 4), y [0, 3).
        let mut out = Region::full(g.values[cat].dims);
        out.c = rows(3, 7);
        assert_eq!(input_region(&g, 0, 0, &out).c, rows(3, 4));
        assert_eq!(input_region(&g, 0, 1, &out).c, rows(0, 3));
        // Output channels [0, 4) need nothing of y.
        out.c = rows(0, 4);
        assert!(input_region(&g, 0, 1, &out).is_empty());

        // Resize x2: output rows [3, 6) copy input rows 1, 2.
        let mut out = Region::full(g.values[up].dims);
        out.h = rows(3, 6);
        assert_eq!(input_region(&g, 1, 0, &out).h, rows(1, 3));

        // Pad 1+1: output rows [0, 2) -> [-1, 1) -> [0, 1); row 9 is padding.
        let mut out = Region::full(g.values[padded].dims);
        out.h = rows(0, 2);
        assert_eq!(input_region(&g, 2, 0, &out).h, rows(0, 1));
        out.h = rows(9, 10);
        assert!(input_region(&g, 2, 0, &out).is_empty());

        // Broadcast: the 1 x 10 x 1 x 1 scale reads row 0, column 0.
        let mut out = Region::full(Dims::new(1, 10, 10, 10));
        out.h = rows(1, 3);
        out.c = rows(2, 5);
        let need = input_region(&g, 3, 1, &out);
        assert_eq!(
            (need.h, need.w, need.c),
            (rows(0, 1), rows(0, 1), rows(2, 5))
        );
        assert_eq!(input_region(&g, 3, 0, &out).h, rows(1, 3));
    }

    #[test]
    fn whole_input_ops_end_groups() {
        let mut b = GraphBuilder::new("t", 4);
        let x = b.input(&[1, 16, 7, 7]).unwrap();
        let gp = b.global_pool("gp", x).unwrap();
        let flat = b.flatten("flat", gp).unwrap();
        let fc = b.matmul("fc", flat, 10).unwrap();
        let sm = b.softmax("sm", fc).unwrap();
        let flat2 = b.flatten("flat2", x).unwrap();
        b.output(sm);
        b.output(flat2);
        let g = b.finish();
        assert!(ends_group(&g, 0));
        // [1, 16, 1, 1] -> [1, 16] keeps the view: not a group end.
        assert!(!ends_group(&g, 1));
        assert!(ends_group(&g, 2));
        assert!(ends_group(&g, 3));
        assert!(ends_group(&g, 4));
        // Global pool: any output needs every row and column.
        let mut out = Region::full(g.values[gp].dims);
        out.c = rows(2, 4);
        let need = input_region(&g, 0, 0, &out);
        assert_eq!(
            (need.c, need.h, need.w),
            (rows(2, 4), rows(0, 7), rows(0, 7))
        );
        // Matmul: output columns [0, 5) need every input feature.
        let mut out = Region::full(g.values[fc].dims);
        out.c = rows(0, 5);
        assert_eq!(input_region(&g, 2, 0, &out).c, rows(0, 16));
        // Flatten across space needs everything.
        let mut out = Region::full(g.values[flat2].dims);
        out.c = rows(0, 1);
        assert_eq!(input_region(&g, 4, 0, &out), Region::full(g.values[x].dims));
    }

    /// The fast per-dimension maps agree with [`input_region`] on every op
    /// kind of these tests, for every output interval of every dimension.
    #[test]
    fn dim_maps_agree_with_regions() {
        let mut b = GraphBuilder::new("t", 4);
        let x = b.input(&[1, 8, 9, 9]).unwrap();
        let y = b.input(&[1, 4, 9, 9]).unwrap();
        let s = b.input(&[1, 8, 1, 1]).unwrap();
        let window = Window {
            kernel: [3, 2],
            strides: [2, 1],
            pads: [1, 0, 2, 1],
            dilations: [2, 1],
        };
        let c = b.conv2d("c", x, 8, window, 2).unwrap();
        let _ = b.conv2d("dw", x, 8, Window::square(3, 1, 1), 8).unwrap();
        let _ = b
            .pool2d("p", x, PoolKind::Avg, Window::square(3, 2, 1), true)
            .unwrap();
        let _ = b.concat("cat", &[x, y]).unwrap();
        let _ = b.binary("m", "mul", x, s).unwrap();
        let _ = b
            .node(
                "up",
                OpKind::Resize { scales: [3, 2] },
                &[c],
                &[1, 8, 18, 18],
                &[],
            )
            .unwrap();
        let _ = b
            .node(
                "pad",
                OpKind::Pad {
                    pads: [0, 1, 2, 0, 0, 0, 1, 3],
                },
                &[x],
                &[1, 9, 12, 12],
                &[],
            )
            .unwrap();
        let gp = b.global_pool("gp", x).unwrap();
        let flat = b.flatten("flat", gp).unwrap();
        let _ = b.matmul("fc", flat, 5).unwrap();
        let g = b.finish();
        for node in 0..g.nodes.len() {
            let out = g.values[g.nodes[node].output].dims;
            for operand in 0..g.nodes[node].inputs.len() {
                for dim in [Dim::C, Dim::H, Dim::W] {
                    let map = dim_map(&g, node, operand, dim);
                    for start in 0..out.get(dim) {
                        for end in start + 1..=out.get(dim) {
                            let mut region = Region::full(out);
                            region.set(dim, rows(start, end));
                            let expected = input_region(&g, node, operand, &region).get(dim);
                            assert_eq!(
                                map.apply(rows(start, end)),
                                expected,
                                "{} operand {operand} {dim:?} [{start}, {end})",
                                g.nodes[node].label
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn intervals() {
        assert_eq!(rows(3, 1).len(), 0);
        assert_eq!(rows(-2, 5).clamp(4), rows(0, 4));
        assert_eq!(rows(5, 9).clamp(4), Interval::EMPTY);
        assert_eq!(rows(1, 2).hull(&rows(5, 6)), rows(1, 6));
        assert_eq!(Interval::EMPTY.hull(&rows(5, 6)), rows(5, 6));
    }
}
