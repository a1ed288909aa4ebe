//! `df.pool2d` (max or average over sliding windows) and `df.global_pool`
//! (over the whole plane), with PyTorch's semantics: padding never wins a
//! max; an average divides by the valid elements unless `count_include_pad`,
//! and then by the window clipped to the padded input (a ceil-mode window
//! hanging past the end padding does not count the overhang).

use melior::ir::OperationRef;

use super::{
    Tensor,
    attributes::{flag, i64_attr, usize_array},
    window::Window,
};

/// The reduction of a pooling op, in the order of `Df_PoolKind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolKind {
    /// Maximum.
    Max,
    /// Arithmetic mean.
    Avg,
}

impl PoolKind {
    /// The kind stored in an `I32EnumAttr` (0 = max, 1 = avg).
    pub fn from_attr(value: i64) -> Result<Self, String> {
        match value {
            0 => Ok(Self::Max),
            1 => Ok(Self::Avg),
            _ => Err(format!("unknown pool kind {value}")),
        }
    }
}

/// The attributes of a `df.pool2d`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool2dAttrs {
    /// Max or average.
    pub kind: PoolKind,
    /// Window height and width.
    pub kernel: [usize; 2],
    /// Vertical and horizontal stride.
    pub strides: [usize; 2],
    /// Padding `[top, left, bottom, right]`.
    pub pads: [usize; 4],
    /// Round output sizes up.
    pub ceil_mode: bool,
    /// Averages divide by the whole (padded) window.
    pub count_include_pad: bool,
}

impl Pool2dAttrs {
    /// A pool of `kernel` with `stride`, no padding, floor mode.
    pub fn new(kind: PoolKind, kernel: usize, stride: usize) -> Self {
        Self {
            kind,
            kernel: [kernel; 2],
            strides: [stride; 2],
            pads: [0; 4],
            ceil_mode: false,
            count_include_pad: false,
        }
    }

    fn window(&self, dim: usize) -> Window {
        Window {
            kernel: self.kernel[dim],
            stride: self.strides[dim],
            pad_begin: self.pads[dim],
            pad_end: self.pads[dim + 2],
            dilation: 1,
            ceil_mode: self.ceil_mode,
        }
    }
}

/// Evaluates a `df.pool2d` operation.
pub fn eval_pool2d(op: &OperationRef, operands: &[&Tensor]) -> Result<Tensor, String> {
    let [input] = operands else {
        return Err(format!("expects 1 operand, got {}", operands.len()));
    };
    let attrs = Pool2dAttrs {
        kind: PoolKind::from_attr(i64_attr(op, "kind")?)?,
        kernel: usize_array(op, "kernel")?,
        strides: usize_array(op, "strides")?,
        pads: usize_array(op, "pads")?,
        ceil_mode: flag(op, "ceil_mode"),
        count_include_pad: flag(op, "count_include_pad"),
    };
    pool2d(input, &attrs)
}

/// Evaluates a `df.global_pool` operation.
pub fn eval_global_pool(op: &OperationRef, operands: &[&Tensor]) -> Result<Tensor, String> {
    let [input] = operands else {
        return Err(format!("expects 1 operand, got {}", operands.len()));
    };
    global_pool(input, PoolKind::from_attr(i64_attr(op, "kind")?)?)
}

/// The input range `[start, end)` a window covers along one dimension, and
/// the size of that window clipped to the padded input (the divisor of an
/// average that counts padding).
fn window_range(index: usize, window: &Window, input: usize) -> (usize, usize, usize) {
    // Positions in padded coordinates, where the input starts at pad_begin.
    let start = index * window.stride;
    let end = (start + window.kernel).min(input + window.pad_begin + window.pad_end);
    let padded_size = end - start;
    let start = start.saturating_sub(window.pad_begin).min(input);
    let end = end.saturating_sub(window.pad_begin).min(input);
    (start, end, padded_size)
}

/// Max or average pooling over sliding windows.
pub fn pool2d(input: &Tensor, attrs: &Pool2dAttrs) -> Result<Tensor, String> {
    let [batch, channels, height, width] = input.dims4("the input")?;
    let (window_h, window_w) = (attrs.window(0), attrs.window(1));
    let out_h = window_h.output_size(height)?;
    let out_w = window_w.output_size(width)?;
    let mut output = Vec::with_capacity(batch * channels * out_h * out_w);
    for plane in input.data().chunks_exact(height * width) {
        for oy in 0..out_h {
            let (y0, y1, padded_h) = window_range(oy, &window_h, height);
            for ox in 0..out_w {
                let (x0, x1, padded_w) = window_range(ox, &window_w, width);
                let rows = (y0..y1).map(|y| &plane[y * width + x0..y * width + x1]);
                let value = match attrs.kind {
                    PoolKind::Max => rows.flatten().fold(f32::NEG_INFINITY, |m, &x| m.max(x)),
                    PoolKind::Avg => {
                        let sum: f32 = rows.flatten().sum();
                        let count = if attrs.count_include_pad {
                            padded_h * padded_w
                        } else {
                            (y1 - y0) * (x1 - x0)
                        };
                        // The verifier keeps every window on some input
                        // element; a zero count can only come from a bad op.
                        if count == 0 {
                            return Err("an average window covers no element".into());
                        }
                        sum / count as f32
                    }
                };
                output.push(value);
            }
        }
    }
    Tensor::new(vec![batch, channels, out_h, out_w], output)
}

/// Max or average over each whole plane: `NxCxHxW -> NxCx1x1`.
pub fn global_pool(input: &Tensor, kind: PoolKind) -> Result<Tensor, String> {
    let [batch, channels, height, width] = input.dims4("the input")?;
    if height * width == 0 {
        return Err("cannot pool an empty plane".into());
    }
    let output = input
        .data()
        .chunks_exact(height * width)
        .map(|plane| match kind {
            PoolKind::Max => plane.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x)),
            PoolKind::Avg => plane.iter().sum::<f32>() / plane.len() as f32,
        })
        .collect();
    Tensor::new(vec![batch, channels, 1, 1], output)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(shape: &[usize]) -> Tensor {
        Tensor::from_fn(shape.to_vec(), |i| (i + 1) as f32)
    }

    #[test]
    fn max_2x2_stride_2() {
        let out = pool2d(&ramp(&[1, 1, 4, 4]), &Pool2dAttrs::new(PoolKind::Max, 2, 2)).unwrap();
        assert_eq!(out.shape(), &[1, 1, 2, 2]);
        assert_eq!(out.data(), &[6.0, 8.0, 14.0, 16.0]);
    }

    #[test]
    fn max_ignores_padding_even_for_negative_inputs() {
        let input = Tensor::from_fn(vec![1, 1, 2, 2], |i| -((i + 1) as f32));
        let attrs = Pool2dAttrs {
            pads: [1; 4],
            ..Pool2dAttrs::new(PoolKind::Max, 2, 2)
        };
        let out = pool2d(&input, &attrs).unwrap();
        // Each 2x2 window holds one input element and three pads.
        assert_eq!(out.data(), &[-1.0, -2.0, -3.0, -4.0]);
    }

    #[test]
    fn average_excludes_padding_by_default() {
        // 3x3 input 1..9, kernel 3, stride 1, padding 1: the corner window
        // holds 1, 2, 4, 5.
        let attrs = Pool2dAttrs {
            pads: [1; 4],
            ..Pool2dAttrs::new(PoolKind::Avg, 3, 1)
        };
        let out = pool2d(&ramp(&[1, 1, 3, 3]), &attrs).unwrap();
        assert_eq!(out.data()[0], 12.0 / 4.0);
        assert_eq!(out.data()[4], 45.0 / 9.0);
        let with_pad = Pool2dAttrs {
            count_include_pad: true,
            ..attrs
        };
        let out = pool2d(&ramp(&[1, 1, 3, 3]), &with_pad).unwrap();
        assert_eq!(out.data()[0], 12.0 / 9.0);
    }

    #[test]
    fn ceil_mode_keeps_the_partial_window() {
        // 1x5 row 1..5, kernel 2, stride 2: floor gives 2 windows, ceil 3;
        // the last covers only element 5.
        let input = ramp(&[1, 1, 1, 5]);
        let attrs = Pool2dAttrs {
            kernel: [1, 2],
            strides: [1, 2],
            ceil_mode: true,
            ..Pool2dAttrs::new(PoolKind::Avg, 1, 1)
        };
        let out = pool2d(&input, &attrs).unwrap();
        assert_eq!(out.data(), &[1.5, 3.5, 5.0]);
        // Counting padding, the overhang past the input (there is no end
        // padding) is still not counted, as in PyTorch.
        let out = pool2d(
            &input,
            &Pool2dAttrs {
                count_include_pad: true,
                ..attrs
            },
        )
        .unwrap();
        assert_eq!(out.data(), &[1.5, 3.5, 5.0]);
        let max = pool2d(
            &input,
            &Pool2dAttrs {
                kind: PoolKind::Max,
                ..attrs
            },
        )
        .unwrap();
        assert_eq!(max.data(), &[2.0, 4.0, 5.0]);
    }

    #[test]
    fn ceil_mode_with_padding_counts_the_pad_but_not_the_overhang() {
        // 1x4 row 1..4, kernel 3, stride 2, padding 1+1, ceil mode: padded
        // width 6, windows start at 0, 2, 4 (4 < 4 + 1, kept). The last
        // window covers padded [4, 7) clipped to [4, 6): element 4 and one
        // pad, so with count_include_pad it divides by 2.
        let attrs = Pool2dAttrs {
            kind: PoolKind::Avg,
            kernel: [1, 3],
            strides: [1, 2],
            pads: [0, 1, 0, 1],
            ceil_mode: true,
            count_include_pad: true,
        };
        let out = pool2d(&ramp(&[1, 1, 1, 4]), &attrs).unwrap();
        assert_eq!(out.data(), &[3.0 / 3.0, 9.0 / 3.0, 4.0 / 2.0]);
    }

    #[test]
    fn global_average_and_max() {
        let input = ramp(&[1, 2, 2, 2]);
        let avg = global_pool(&input, PoolKind::Avg).unwrap();
        assert_eq!(avg.shape(), &[1, 2, 1, 1]);
        assert_eq!(avg.data(), &[2.5, 6.5]);
        let max = global_pool(&input, PoolKind::Max).unwrap();
        assert_eq!(max.data(), &[4.0, 8.0]);
    }
}
