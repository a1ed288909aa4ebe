//! `df.conv2d`: grouped, dilated 2-D convolution with asymmetric padding and
//! an optional bias, on NCHW inputs and OIHW filters.
//!
//! Each group is computed as a matrix product: its input windows are unrolled
//! once into a (taps x pixels) matrix (im2col, padding as zeros), stored in
//! panels of 8 pixels as GEMM libraries pack their operands, then a
//! cache-tiled, register-blocked loop multiplies the filter rows by it (see
//! `multiply`), a loop nest the compiler vectorises. Output channels are split across threads; each
//! thread owns its unrolled buffer, so nothing is allocated per element and
//! nothing is shared mutably.

use melior::ir::OperationRef;

use super::{
    Tensor,
    attributes::{i64_attr_or, usize_array},
    tensor::format_shape,
    window::Window,
};

/// The attributes of a `df.conv2d`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dAttrs {
    /// Vertical and horizontal stride.
    pub strides: [usize; 2],
    /// Padding `[top, left, bottom, right]`.
    pub pads: [usize; 4],
    /// Vertical and horizontal dilation.
    pub dilations: [usize; 2],
    /// Number of channel groups.
    pub groups: usize,
}

impl Default for Conv2dAttrs {
    fn default() -> Self {
        Self {
            strides: [1, 1],
            pads: [0; 4],
            dilations: [1, 1],
            groups: 1,
        }
    }
}

impl Conv2dAttrs {
    fn window(&self, dim: usize, kernel: usize) -> Window {
        Window {
            kernel,
            stride: self.strides[dim],
            pad_begin: self.pads[dim],
            pad_end: self.pads[dim + 2],
            dilation: self.dilations[dim],
            ceil_mode: false,
        }
    }
}

/// Evaluates a `df.conv2d` operation on its operands.
pub fn eval_conv2d(op: &OperationRef, operands: &[&Tensor]) -> Result<Tensor, String> {
    let groups = i64_attr_or(op, "groups", 1)?;
    let attrs = Conv2dAttrs {
        strides: usize_array(op, "strides")?,
        pads: usize_array(op, "pads")?,
        dilations: usize_array(op, "dilations")?,
        groups: usize::try_from(groups).map_err(|_| format!("groups {groups} is negative"))?,
    };
    match operands {
        [input, filter] => conv2d(input, filter, None, &attrs),
        [input, filter, bias] => conv2d(input, filter, Some(bias), &attrs),
        _ => Err(format!("expects 2 or 3 operands, got {}", operands.len())),
    }
}

/// Everything one thread needs to compute output planes.
struct Geometry {
    in_channels_per_group: usize,
    out_channels_per_group: usize,
    in_height: usize,
    in_width: usize,
    out_height: usize,
    out_width: usize,
    kernel: [usize; 2],
    attrs: Conv2dAttrs,
}

impl Geometry {
    fn taps(&self) -> usize {
        self.in_channels_per_group * self.kernel[0] * self.kernel[1]
    }

    fn pixels(&self) -> usize {
        self.out_height * self.out_width
    }
}

/// `conv2d(input, filter) + bias`, checked against the op's shape rules.
pub fn conv2d(
    input: &Tensor,
    filter: &Tensor,
    bias: Option<&Tensor>,
    attrs: &Conv2dAttrs,
) -> Result<Tensor, String> {
    let [batch, channels, height, width] = input.dims4("the input")?;
    let [out_channels, in_per_group, kernel_h, kernel_w] = filter.dims4("the filter")?;
    let groups = attrs.groups;
    if groups == 0 || channels % groups != 0 || out_channels % groups != 0 {
        return Err(format!(
            "groups {groups} must divide the input channels {channels} and the output channels {out_channels}"
        ));
    }
    if in_per_group != channels / groups {
        return Err(format!(
            "filter has {in_per_group} input channels per group, expected {} (input channels {channels} / groups {groups})",
            channels / groups
        ));
    }
    if let Some(bias) = bias
        && bias.len() != out_channels
    {
        return Err(format!(
            "bias of shape {} is not a vector of {out_channels} per-channel values",
            format_shape(bias.shape())
        ));
    }
    let geometry = Geometry {
        in_channels_per_group: in_per_group,
        out_channels_per_group: out_channels / groups,
        in_height: height,
        in_width: width,
        out_height: attrs.window(0, kernel_h).output_size(height)?,
        out_width: attrs.window(1, kernel_w).output_size(width)?,
        kernel: [kernel_h, kernel_w],
        attrs: *attrs,
    };
    let pixels = geometry.pixels();
    let mut output = vec![0.0f32; batch * out_channels * pixels];
    if pixels > 0 {
        for (n, out_batch) in output.chunks_mut(out_channels * pixels).enumerate() {
            let in_batch =
                &input.data()[n * channels * height * width..][..channels * height * width];
            compute_batch(
                out_batch,
                in_batch,
                filter.data(),
                bias.map(Tensor::data),
                &geometry,
            );
        }
    }
    Tensor::new(
        vec![batch, out_channels, geometry.out_height, geometry.out_width],
        output,
    )
}

/// Below this many multiply-adds a conv runs on the calling thread: spawning
/// costs more than it saves.
const PARALLEL_THRESHOLD: usize = 1 << 20;

/// Computes every output plane of one batch element, splitting the output
/// channels across threads. Without groups the input is unrolled once and
/// shared; with groups each thread unrolls the groups it computes.
fn compute_batch(
    output: &mut [f32],
    input: &[f32],
    filter: &[f32],
    bias: Option<&[f32]>,
    geometry: &Geometry,
) {
    let pixels = geometry.pixels();
    let out_channels = output.len() / pixels;
    let work = out_channels * pixels * geometry.taps();
    let threads = if work < PARALLEL_THRESHOLD {
        1
    } else {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .min(out_channels)
    };
    let mut shared = Vec::new();
    let shared = if geometry.out_channels_per_group == out_channels {
        unroll(&mut shared, input, geometry);
        Some(shared.as_slice())
    } else {
        None
    };
    let per_thread = out_channels.div_ceil(threads);
    if threads <= 1 {
        compute_channels(output, 0, input, filter, bias, geometry, shared);
        return;
    }
    std::thread::scope(|scope| {
        for (index, chunk) in output.chunks_mut(per_thread * pixels).enumerate() {
            scope.spawn(move || {
                compute_channels(
                    chunk,
                    index * per_thread,
                    input,
                    filter,
                    bias,
                    geometry,
                    shared,
                )
            });
        }
    });
}

/// Output channels per register block.
const BLOCK_CHANNELS: usize = 4;
/// Output pixels per register block and per panel (two SSE registers).
const PANEL: usize = 8;
/// How much of the panels a tile of pixels may span, sized to stay in a
/// core's L2 cache while every channel block of the tile reads it.
const TILE_BYTES: usize = 256 * 1024;

/// Computes the output planes of channels `first..first + output.len() /
/// pixels`, group by group; `shared` holds the unrolled input when there is
/// a single group.
fn compute_channels(
    output: &mut [f32],
    first: usize,
    input: &[f32],
    filter: &[f32],
    bias: Option<&[f32]>,
    geometry: &Geometry,
    shared: Option<&[f32]>,
) {
    let pixels = geometry.pixels();
    let taps = geometry.taps();
    let plane = geometry.in_height * geometry.in_width;
    let per_group = geometry.out_channels_per_group;
    let mut owned = Vec::new();
    let mut start = 0;
    let count = output.len() / pixels;
    while start < count {
        let group = (first + start) / per_group;
        // The channels of this group that this thread owns.
        let end = count.min((group + 1) * per_group - first);
        let group_input = &input[group * geometry.in_channels_per_group * plane..]
            [..geometry.in_channels_per_group * plane];
        let panels = match shared {
            Some(panels) => panels,
            None => {
                unroll(&mut owned, group_input, geometry);
                owned.as_slice()
            }
        };
        let channels = first + start..first + end;
        let planes = &mut output[start * pixels..end * pixels];
        let weights = &filter[channels.start * taps..channels.end * taps];
        let biases: Vec<f32> = channels.map(|c| bias.map_or(0.0, |b| b[c])).collect();
        multiply(planes, weights, &biases, panels, pixels);
        start = end;
    }
}

/// `planes[c][p] = biases[c] + sum_k weights[c][k] * input[k][p]`, with
/// the input in panels (see [`unroll`]): a matrix product, tiled so that the
/// panels of a tile stay in cache while every channel block reads them, and
/// blocked so that 4 x 8 sums live in registers across the whole reduction.
/// Each sum adds its terms in tap order, starting from the bias, whatever
/// the blocking.
fn multiply(planes: &mut [f32], weights: &[f32], biases: &[f32], panels: &[f32], pixels: usize) {
    let taps = weights.len() / biases.len().max(1);
    let per_tile = (TILE_BYTES / (4 * PANEL * taps.max(1))).max(1);
    let count = pixels.div_ceil(PANEL);
    // The weights of each full channel block, tap by tap: one load feeds the
    // whole block.
    let blocks = biases.len() / BLOCK_CHANNELS;
    let packed: Vec<[f32; BLOCK_CHANNELS]> = (0..blocks)
        .flat_map(|block| {
            (0..taps).map(move |k| {
                std::array::from_fn(|c| weights[(block * BLOCK_CHANNELS + c) * taps + k])
            })
        })
        .collect();
    for tile_start in (0..count).step_by(per_tile) {
        let tile = tile_start..count.min(tile_start + per_tile);
        for block in 0..blocks {
            let channels = block * BLOCK_CHANNELS..(block + 1) * BLOCK_CHANNELS;
            multiply_block(
                &mut planes[channels.start * pixels..channels.end * pixels],
                &packed[block * taps..(block + 1) * taps],
                &biases[channels],
                panels,
                pixels,
                tile.clone(),
            );
        }
        for c in blocks * BLOCK_CHANNELS..biases.len() {
            multiply_block::<1>(
                &mut planes[c * pixels..(c + 1) * pixels],
                weights[c * taps..(c + 1) * taps].as_chunks().0,
                &biases[c..c + 1],
                panels,
                pixels,
                tile.clone(),
            );
        }
    }
}

/// [`multiply`] for `C` channels over the panels in `tile`; `weights[k]`
/// holds tap `k` of each channel.
#[inline(never)]
fn multiply_block<const C: usize>(
    planes: &mut [f32],
    weights: &[[f32; C]],
    biases: &[f32],
    panels: &[f32],
    pixels: usize,
    tile: std::ops::Range<usize>,
) {
    let taps = weights.len();
    for panel in tile {
        let mut sums = [[0.0f32; PANEL]; C];
        for (sum, &bias) in sums.iter_mut().zip(biases) {
            *sum = [bias; PANEL];
        }
        // Fixed-size columns let the compiler keep the sums in registers.
        let (columns, _) =
            panels[panel * taps * PANEL..(panel + 1) * taps * PANEL].as_chunks::<PANEL>();
        for (column, tap) in columns.iter().zip(weights) {
            for (sum, &weight) in sums.iter_mut().zip(tap) {
                for (s, &x) in sum.iter_mut().zip(column) {
                    *s += weight * x;
                }
            }
        }
        // The last panel may hang past the plane: its extra lanes summed
        // zeros and are dropped.
        let first = panel * PANEL;
        let valid = PANEL.min(pixels - first);
        for (c, sum) in sums.iter().enumerate() {
            planes[c * pixels + first..][..valid].copy_from_slice(&sum[..valid]);
        }
    }
}

/// Writes the unrolled input of one group into `panels`: tap `(c, ky, kx)`
/// of output pixel `p` is the input element under it, or 0 where it falls
/// in the padding. Pixels are grouped in panels of [`PANEL`] columns, each
/// panel stored tap after tap (element (k, p) at `((p / 8) * taps + k) * 8 +
/// p % 8`), so that the product reads it front to back; the lanes of the
/// last panel past the plane stay 0.
fn unroll(panels: &mut Vec<f32>, input: &[f32], geometry: &Geometry) {
    let Geometry {
        in_height,
        in_width,
        out_width,
        kernel: [kernel_h, kernel_w],
        attrs,
        ..
    } = *geometry;
    let (taps, pixels) = (geometry.taps(), geometry.pixels());
    panels.clear();
    panels.resize(pixels.div_ceil(PANEL) * PANEL * taps, 0.0);
    let [stride_h, stride_w] = attrs.strides;
    let [dilation_h, dilation_w] = attrs.dilations;
    let (pad_top, pad_left) = (attrs.pads[0], attrs.pads[1]);
    for (index, panel) in panels.chunks_exact_mut(PANEL * taps).enumerate() {
        // Where each lane's window starts, in padded coordinates; lanes past
        // the last pixel stay 0.
        let lanes: [Option<(usize, usize)>; PANEL] = std::array::from_fn(|lane| {
            let p = index * PANEL + lane;
            (p < pixels).then(|| ((p / out_width) * stride_h, (p % out_width) * stride_w))
        });
        let mut columns = panel.as_chunks_mut::<PANEL>().0.iter_mut();
        for channel in input.chunks_exact(in_height * in_width) {
            for ky in 0..kernel_h {
                for kx in 0..kernel_w {
                    let Some(column) = columns.next() else { return };
                    for (slot, lane) in column.iter_mut().zip(&lanes) {
                        let Some((y0, x0)) = *lane else { continue };
                        let (y, x) = (y0 + ky * dilation_h, x0 + kx * dilation_w);
                        if y >= pad_top
                            && y - pad_top < in_height
                            && x >= pad_left
                            && x - pad_left < in_width
                        {
                            *slot = channel[(y - pad_top) * in_width + x - pad_left];
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor(shape: &[usize], data: &[f32]) -> Tensor {
        Tensor::new(shape.to_vec(), data.to_vec()).unwrap()
    }

    /// 1..=n as f32.
    fn ramp(shape: &[usize]) -> Tensor {
        Tensor::from_fn(shape.to_vec(), |i| (i + 1) as f32)
    }

    #[test]
    fn sums_a_3x3_window_with_padding() {
        // A 3x3 all-ones filter over 1..9 with padding 1: each output is the
        // sum of the input's 3x3 neighbourhood.
        let input = ramp(&[1, 1, 3, 3]);
        let filter = tensor(&[1, 1, 3, 3], &[1.0; 9]);
        let attrs = Conv2dAttrs {
            pads: [1; 4],
            ..Default::default()
        };
        let out = conv2d(&input, &filter, None, &attrs).unwrap();
        assert_eq!(out.shape(), &[1, 1, 3, 3]);
        // Top-left: 1+2+4+5 = 12; centre: 45; bottom-right: 5+6+8+9 = 28.
        assert_eq!(
            out.data(),
            &[12.0, 21.0, 16.0, 27.0, 45.0, 33.0, 24.0, 39.0, 28.0]
        );
    }

    #[test]
    fn strided_asymmetric_padding_and_bias() {
        // Input 1..16 as 4x4, a 2x2 filter [1, 0; 0, -1], stride 2, padding
        // top 1 left 0 bottom 0 right 1, bias 10.
        let input = ramp(&[1, 1, 4, 4]);
        let filter = tensor(&[1, 1, 2, 2], &[1.0, 0.0, 0.0, -1.0]);
        let bias = tensor(&[1], &[10.0]);
        let attrs = Conv2dAttrs {
            strides: [2, 2],
            pads: [1, 0, 0, 1],
            ..Default::default()
        };
        let out = conv2d(&input, &filter, Some(&bias), &attrs).unwrap();
        // Height: (4 + 1 - 2) / 2 + 1 = 2; width: (4 + 1 - 2) / 2 + 1 = 2.
        assert_eq!(out.shape(), &[1, 1, 2, 2]);
        // (0,0): x[-1][0] - x[0][1] = 0 - 2; (0,1): 0 - x[0][3] = -4;
        // (1,0): x[1][0] - x[2][1] = 5 - 10; (1,1): x[1][2] - x[2][3] = 7 - 12.
        assert_eq!(out.data(), &[8.0, 6.0, 5.0, 5.0]);
    }

    #[test]
    fn dilation_skips_taps() {
        // 1x3 filter [1, 1, 1] with dilation 2 over one row 1..5: x0+x2+x4.
        let input = ramp(&[1, 1, 1, 5]);
        let filter = tensor(&[1, 1, 1, 3], &[1.0; 3]);
        let attrs = Conv2dAttrs {
            dilations: [1, 2],
            ..Default::default()
        };
        let out = conv2d(&input, &filter, None, &attrs).unwrap();
        assert_eq!(out.shape(), &[1, 1, 1, 1]);
        assert_eq!(out.data(), &[9.0]);
    }

    #[test]
    fn groups_see_only_their_channels() {
        // Two groups of two 1x1 filters: out0 = 2 * in0 and out1 = 0 * in0
        // read channel 0; out2 = in1 + 1 (bias) and out3 = -in1 channel 1.
        let input = tensor(&[1, 2, 1, 2], &[1.0, 2.0, 3.0, 4.0]);
        let filter = tensor(&[4, 1, 1, 1], &[2.0, 0.0, 1.0, -1.0]);
        let bias = tensor(&[4], &[0.0, 0.0, 1.0, 0.0]);
        let attrs = Conv2dAttrs {
            groups: 2,
            ..Default::default()
        };
        let out = conv2d(&input, &filter, Some(&bias), &attrs).unwrap();
        assert_eq!(out.shape(), &[1, 4, 1, 2]);
        assert_eq!(out.data(), &[2.0, 4.0, 0.0, 0.0, 4.0, 5.0, -3.0, -4.0]);
    }

    #[test]
    fn multi_channel_sum_matches_a_naive_loop() {
        // Larger than the threading threshold, with stride, padding and
        // dilation, against a direct six-deep loop. 33 channels per group
        // leave a remainder after the 4-channel blocks, 11 x 18 pixels one
        // after the 8-pixel blocks.
        let input = Tensor::from_fn(vec![2, 8, 23, 19], |i| ((i * 7919) % 13) as f32 - 6.0);
        let filter = Tensor::from_fn(vec![66, 4, 3, 3], |i| ((i * 104_729) % 7) as f32 - 3.0);
        let bias = Tensor::from_fn(vec![66], |i| i as f32);
        let attrs = Conv2dAttrs {
            strides: [2, 1],
            pads: [1, 2, 0, 1],
            dilations: [1, 2],
            groups: 2,
        };
        let out = conv2d(&input, &filter, Some(&bias), &attrs).unwrap();
        let [n, o, oh, ow] = out.dims4("out").unwrap();
        for b in 0..n {
            for oc in 0..o {
                for y in 0..oh {
                    for x in 0..ow {
                        let mut sum = oc as f32;
                        let group = oc / 33;
                        for c in 0..4 {
                            for ky in 0..3 {
                                for kx in 0..3 {
                                    let iy = (y * 2 + ky) as isize - 1;
                                    let ix = (x + kx * 2) as isize - 2;
                                    if iy < 0 || ix < 0 || iy >= 23 || ix >= 19 {
                                        continue;
                                    }
                                    let ic = group * 4 + c;
                                    let xv = input.data()
                                        [((b * 8 + ic) * 23 + iy as usize) * 19 + ix as usize];
                                    let wv = filter.data()[((oc * 4 + c) * 3 + ky) * 3 + kx];
                                    sum += xv * wv;
                                }
                            }
                        }
                        assert_eq!(out.data()[((b * o + oc) * oh + y) * ow + x], sum);
                    }
                }
            }
        }
    }

    #[test]
    fn rejects_mismatched_channels() {
        let input = ramp(&[1, 3, 4, 4]);
        let filter = ramp(&[2, 2, 1, 1]);
        let error = conv2d(&input, &filter, None, &Conv2dAttrs::default()).unwrap_err();
        assert!(error.contains("expected 3"), "{error}");
    }
}
