//! Register-blocked convolutions: the kernels that do most of a CNN's
//! arithmetic.
//!
//! The plain kernel ([`super::kernels::conv2d`]) adds one (input channel,
//! tap) product to a whole output row at a time, so every multiply-add also
//! loads and stores the output. This one keeps a block of outputs in vector
//! registers for the whole reduction: `KB` output channels by `XB` vectors of
//! [`LANES`] columns, summed over input channels and taps in `iter_args`,
//! stored once. Per step it loads `XB` input vectors and `KB` weights
//! (broadcast) for `KB * XB` fused multiply-adds. With column stride 2 an
//! input vector is two loads whose even lanes are kept.
//!
//! Which columns each block covers is a plan ([`column_plan`]), worked out
//! before any IR is written. Blocks in the middle of a row, whose taps all
//! read inside the input row, run in a loop with plain vector loads. The first
//! and last block of a row sit at constant columns, so which of their lanes
//! read padding (or lie past the row's end) is known when compiling: they
//! use masked loads and stores with constant masks, and a masked-off lane
//! is never accessed. The last block is shifted left to end at the row's
//! end, so a row whose width is not a multiple of the vector computes a few
//! columns twice rather than falling back to scalars; rows narrower than a
//! vector are one masked block. A 1x1 convolution without padding or stride
//! is a product of matrices: its rows are flattened into one, so that small
//! feature maps (7x7) still fill the vectors.
//!
//! Staged regions call tile kernels on arena windows whose position changes
//! with the step: [`conv2d_tile`] computes its masks at run time, and
//! [`conv2d_pixel`] covers steps of one pixel.
//!
//! Convolutions without groups that are 1x1 or of stride 1 run as sums of
//! products of matrices instead ([`super::product`]), which keep 12
//! accumulators and read no masks but at the end of the output; this
//! kernel covers the rest: strided, grouped (depthwise) and tile steps.

use super::{
    kernels::{ConvPart, Frame, View},
    text::{FunctionText, memref_type},
};

/// Lanes of one vector: 8 f32 (AVX2).
pub const LANES: i64 = 8;

/// A convolution's geometry.
#[derive(Clone, Copy, Debug)]
pub struct ConvShape {
    /// Input `[n, c, h, w]`.
    pub input: [i64; 4],
    /// Output `[n, k, oh, ow]`.
    pub output: [i64; 4],
    /// Filter `[kh, kw]`.
    pub kernel: [i64; 2],
    /// `[sh, sw]`.
    pub strides: [i64; 2],
    /// `[dh, dw]`.
    pub dilations: [i64; 2],
    /// `[top, left]` padding.
    pub pads: [i64; 2],
    /// Groups.
    pub groups: i64,
}

impl ConvShape {
    /// Rows of one 1x1 convolution without padding or stride are merged.
    fn flattened(&self) -> bool {
        self.kernel == [1, 1]
            && self.strides == [1, 1]
            && self.pads == [0, 0]
            && self.input[2..] == self.output[2..]
    }

    /// The row the column blocks cover (a merged row when flattened).
    fn row(&self) -> Row {
        if self.flattened() {
            let width = self.input[2] * self.input[3];
            return Row {
                width,
                input_width: width,
                taps: 1,
                stride: 1,
                dilation: 1,
                pad: 0,
            };
        }
        Row {
            width: self.output[3],
            input_width: self.input[3],
            taps: self.kernel[1],
            stride: self.strides[1],
            dilation: self.dilations[1],
            pad: self.pads[1],
        }
    }

    /// Whether row tap `kx + 1` reads the odd elements of the loads whose
    /// even elements tap `kx` reads (column stride 2, no dilation, `kx`
    /// even), so that a tile block loads them once for both.
    fn shares_loads_with_next(&self, kx: i64) -> bool {
        self.strides[1] == 2 && self.dilations[1] == 1 && kx % 2 == 0 && kx + 1 < self.kernel[1]
    }

    /// Output channels per block: 8 or 4 when a block stays in one group,
    /// else 1. A block of 8 runs one-vector column blocks with 8
    /// accumulators and two-vector ones whole with 32 vector registers, in
    /// halves of 4 with 16 ([`Emitter::blocks`]), so the multiply-adds
    /// always have 8 independent chains where the channels allow.
    fn channel_block(&self) -> i64 {
        let per_group = self.output[1] / self.groups;
        [8, 4]
            .into_iter()
            .find(|kb| per_group % kb == 0)
            .unwrap_or(1)
    }
}

/// One output row as the column blocks see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Row {
    /// Output columns.
    pub width: i64,
    /// Input columns.
    pub input_width: i64,
    /// Taps along the row.
    pub taps: i64,
    /// Stride along the row: 1, or 2 (a vector of outputs reads two
    /// vectors of inputs and keeps the even lanes).
    pub stride: i64,
    /// Dilation along the row.
    pub dilation: i64,
    /// Left padding.
    pub pad: i64,
}

impl Row {
    /// The input column element `e` of the load for the vector at `x0`
    /// and tap `kx` reads (element `e` feeds lane `e / stride`).
    fn element(&self, x0: i64, kx: i64, e: i64) -> i64 {
        x0 * self.stride + kx * self.dilation - self.pad + e
    }

    /// Which of the `stride * LANES` elements loaded for the vector at `x0`
    /// and tap `kx` may be read: inside the input row, for a lane inside
    /// the output row.
    fn load_mask(&self, x0: i64, kx: i64) -> Vec<bool> {
        (0..self.stride * LANES)
            .map(|e| {
                x0 + e / self.stride < self.width
                    && (0..self.input_width).contains(&self.element(x0, kx, e))
            })
            .collect()
    }

    /// Whether the vector at `x0` lies inside the row and loads inside the
    /// input at every tap.
    fn inside(&self, x0: i64) -> bool {
        x0 >= 0
            && x0 + LANES <= self.width
            && (0..self.taps).all(|kx| self.load_mask(x0, kx).iter().all(|&e| e))
    }
}

/// How the columns of a row are covered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Columns {
    /// `count` blocks of `vectors` vectors at `start`, `start + vectors *
    /// LANES`, ...: every lane inside, plain loads.
    Loop {
        /// First column.
        start: i64,
        /// Blocks.
        count: i64,
        /// Vectors per block.
        vectors: i64,
    },
    /// One vector at column `x0`, with the elements each tap may load
    /// and the lanes it may store (`None`: all of them).
    Block {
        /// First column.
        x0: i64,
        /// Per tap, which of the `stride * LANES` elements it loads lie
        /// inside the input row (and feed a lane inside the output row).
        loads: Option<Vec<Vec<bool>>>,
        /// Which lanes lie inside the row.
        stores: Option<Vec<bool>>,
    },
}

/// The blocks covering every column of `row` exactly or more than once,
/// or `None` when the middle of the row is not inside the input (padding
/// wider than a vector), which this kernel does not cover.
pub fn column_plan(row: &Row) -> Option<Vec<Columns>> {
    let width = row.width;
    let block = |x0: i64| {
        let loads: Vec<Vec<bool>> = (0..row.taps).map(|kx| row.load_mask(x0, kx)).collect();
        let stores: Vec<bool> = (0..LANES).map(|j| x0 + j < width).collect();
        let all = |lanes: &Vec<bool>| lanes.iter().all(|&lane| lane);
        Columns::Block {
            x0,
            loads: (!loads.iter().all(all)).then_some(loads),
            stores: (!all(&stores)).then_some(stores),
        }
    };
    if width <= LANES {
        return Some(vec![block(0)]);
    }
    let mut plan = vec![block(0)];
    let middle = width - 2 * LANES;
    let pairs = middle.max(0) / (2 * LANES);
    if pairs > 0 {
        plan.push(Columns::Loop {
            start: LANES,
            count: pairs,
            vectors: 2,
        });
    }
    let mut next = LANES + pairs * 2 * LANES;
    if next + LANES <= width - LANES {
        plan.push(block(next));
        next += LANES;
    }
    if next < width - LANES {
        plan.push(block(width - 2 * LANES));
    }
    plan.push(block(width - LANES));
    let loops_inside = plan.iter().all(|columns| match columns {
        Columns::Loop {
            start,
            count,
            vectors,
        } => (0..*count * vectors).all(|v| row.inside(start + v * LANES)),
        Columns::Block { .. } => true,
    });
    loops_inside.then_some(plan)
}

/// Bytes of input a cache tile of [`conv2d`] reads, which every block of
/// output channels then reads again from cache: under half of this core's
/// 512 KiB L2, the rest left to the filter block and the outputs.
const CACHE_TILE_BYTES: i64 = 192 << 10;

/// Emits the whole convolution of `input` and `filter` (and `bias`) into
/// `out`, all whole tensors, if the kernel covers it (`false`: nothing was
/// written).
///
/// The output is computed a cache tile at a time (rows, or a stretch of
/// the merged row of a 1x1), every block of output channels in turn over
/// the tile, so the tile's input is read from memory once and from cache
/// by the other blocks. Over a whole map, the input would stream from
/// memory again for every block (VGG-16's 224x224 layers, ResNet-50's
/// 56x56 ones).
pub fn conv2d(
    f: &mut FunctionText,
    shape: &ConvShape,
    input: &View,
    filter: &View,
    bias: Option<&View>,
    out: &View,
) -> bool {
    if super::product::conv2d(f, shape, input, filter, bias, out) {
        return true;
    }
    if !(1..=2).contains(&shape.strides[1]) {
        return false;
    }
    let Some(plan) = column_plan(&shape.row()) else {
        return false;
    };
    let flat = shape.flattened();
    let (input, out, rows) = if flat {
        let [n, c, h, w] = shape.input;
        let [_, k, _, _] = shape.output;
        (
            collapse(f, input, [n, c, h * w]),
            collapse(f, out, [n, k, h * w]),
            1,
        )
    } else {
        (input.clone(), out.clone(), shape.output[2])
    };
    let blocks = ChannelBlocks {
        shape,
        flat,
        input: &input,
        filter,
        bias,
        out: &out,
    };
    let ni = f.open_for("0", shape.input[0].to_string());
    let channels_in = shape.input[1] / shape.groups;
    let whole = ("0".to_string(), rows.to_string());
    if flat {
        // A stretch of the merged row's middle blocks at a time; the edge
        // blocks after, on their own.
        let block_bytes = 2 * LANES * channels_in * 4;
        let stretch = (CACHE_TILE_BYTES / block_bytes).max(1);
        match plan.iter().find(|c| matches!(c, Columns::Loop { .. })) {
            Some(&Columns::Loop {
                start,
                count,
                vectors,
            }) if count > stretch => {
                let stretches = (count + stretch - 1) / stretch;
                let st = f.open_for("0", stretches.to_string());
                blocks.emit(f, &ni, &whole, |f, emitter| {
                    let x = f.open_for(
                        format!("affine_map<(d0) -> (d0 * {stretch})>({st})"),
                        format!(
                            "min affine_map<(d0) -> (d0 * {stretch} + {stretch}, {count})>({st})"
                        ),
                    );
                    let x0 = format!("{x} * {} + {start}", vectors * LANES);
                    emitter.blocks(f, &x0, vectors);
                    f.close();
                });
                f.close();
                let edges: Vec<Columns> = plan
                    .iter()
                    .filter(|c| !matches!(c, Columns::Loop { .. }))
                    .cloned()
                    .collect();
                blocks.emit(f, &ni, &whole, |f, emitter| emitter.columns(f, &edges));
            }
            _ => blocks.emit(f, &ni, &whole, |f, emitter| emitter.columns(f, &plan)),
        }
    } else {
        // Rows per tile: their input rows, with the taps' overlap, fill the
        // cache tile.
        let [kh, _] = shape.kernel;
        let [sh, _] = shape.strides;
        let [dh, _] = shape.dilations;
        let row_bytes = shape.input[3] * channels_in * 4;
        let reach = (kh - 1) * dh + 1;
        let tile = ((CACHE_TILE_BYTES / row_bytes - reach) / sh + 1).clamp(1, rows);
        if tile < rows {
            let yt = f.open_for("0", ((rows + tile - 1) / tile).to_string());
            let tile_rows = (
                format!("affine_map<(d0) -> (d0 * {tile})>({yt})"),
                format!("min affine_map<(d0) -> (d0 * {tile} + {tile}, {rows})>({yt})"),
            );
            blocks.emit(f, &ni, &tile_rows, |f, emitter| emitter.columns(f, &plan));
            f.close();
        } else {
            blocks.emit(f, &ni, &whole, |f, emitter| emitter.columns(f, &plan));
        }
    }
    f.close();
    true
}

/// The blocks of output channels of [`conv2d`], over a range of rows.
struct ChannelBlocks<'a> {
    shape: &'a ConvShape,
    flat: bool,
    input: &'a View,
    filter: &'a View,
    bias: Option<&'a View>,
    out: &'a View,
}

impl ChannelBlocks<'_> {
    /// For every block of output channels of batch `ni`, for every output
    /// row in `rows` (affine bounds), `body` with the block's emitter.
    fn emit(
        &self,
        f: &mut FunctionText,
        ni: &str,
        rows: &(String, String),
        body: impl FnOnce(&mut FunctionText, &Emitter),
    ) {
        let kb = self.shape.channel_block();
        let ki = f.open_for("0", (self.shape.output[1] / kb).to_string());
        let channels: Vec<String> = (0..kb)
            .map(|i| {
                f.assign(
                    "k",
                    format!("affine.apply affine_map<(d0) -> (d0 * {kb} + {i})>({ki})"),
                )
            })
            .collect();
        let biases: Vec<String> = channels
            .iter()
            .map(|channel| match self.bias {
                Some(bias) => bias.load(f, std::slice::from_ref(channel)),
                None => f.f32(0.0),
            })
            .collect();
        let yi = f.open_for(&rows.0, &rows.1);
        let emitter = Emitter {
            shape: self.shape,
            flat: self.flat,
            input: self.input,
            filter: self.filter,
            out: self.out,
            n: ni,
            y: &yi,
            channels: &channels,
            biases: &biases,
        };
        body(f, &emitter);
        f.close_n(2);
    }
}

/// The tile kernel of a staged region's convolution: the output
/// channels, rows and columns of `frame` (symbols or constants), on arena
/// views with origins. Output channels go in register blocks of up to four
/// (as many as the filter buffer holds: a streamed slice may hold one),
/// then one at a time for the rest of the frame. The column blocks cover
/// `[w0, w1)` from `w0`; which lanes lie inside the frame and which read
/// inside the input row depends on the step, so the masks are computed at
/// run time, once per block and tap, outside the reduction. `Accumulate`
/// adds the frame's input channels (`frame.reduce`) to the partial sums in
/// `out`; `Init` is left to the plain kernel (`false`: nothing was
/// written).
pub fn conv2d_tile(
    f: &mut FunctionText,
    shape: &ConvShape,
    (input, filter, bias): (&View, &View, Option<&View>),
    out: &View,
    frame: &Frame,
    part: ConvPart,
) -> bool {
    if !tile_kernel_applies(shape, out, part) {
        return false;
    }
    let vectors = tile_vectors(out.shape[3], shape.strides[1]);
    // Channels per block: the accumulators, the block's input vectors and
    // a broadcast weight fit the vector registers (10 accumulators of 16
    // registers, 26 of 32).
    let registers = f.vector_registers();
    let kb = match (shape.groups, vectors) {
        (1, 1) => 8.min(filter.shape[0]),
        (1, _) => block_channels(
            filter.shape[0],
            ((registers - 6) / vectors).clamp(1, registers / 4),
        ),
        _ => 1,
    };
    let Some([(n0, n1), (k0, k1), rows, columns]) = frame_symbols(f, frame) else {
        return false;
    };
    let reduce = match &frame.reduce {
        Some((lower, upper)) => (symbol(f, lower), symbol(f, upper)),
        None => ("0".to_string(), (shape.input[1] / shape.groups).to_string()),
    };
    let tile = TileBlock {
        shape,
        input,
        filter,
        bias,
        out,
        part,
        rows,
        columns,
        reduce,
        vectors,
    };
    let ni = f.open_for(n0, n1);
    clamped_channels(f, (&k0, &k1), kb, |f, channels| tile.emit(f, &ni, channels));
    f.close();
    true
}

/// Vectors per column block of [`conv2d_tile`] for output rows of `width`
/// columns: enough to cover the row, up to four, as independent
/// accumulators hide the multiply-add latency. A row wider than that, with
/// stride 1, takes four to six, the count whose blocks compute the fewest
/// lanes (then the fewest blocks): a row of 35 columns is one block of
/// five vectors, not a block of four and one of four vectors for 3
/// columns, where 29 of 64 lanes compute nothing (Inception-v3's 35x35
/// 3x3 layers, tiled in rows, ran at 24 GF/s).
/// A strided block loads two vectors per output vector and has no room
/// for more.
fn tile_vectors(width: i64, stride: i64) -> i64 {
    let covering = ((width + LANES - 1) / LANES).clamp(1, 4);
    if stride != 1 || covering < 4 {
        return covering;
    }
    (4..=6)
        .min_by_key(|&vectors| {
            let blocks = (width + vectors * LANES - 1) / (vectors * LANES);
            (blocks * vectors, blocks)
        })
        .expect("a range of counts")
}

/// Channels per block for a filter (slice) of `channels` output channels,
/// at most `most`: the fewest blocks, then the fewest channels computed
/// twice ([`clamped_channels`] repeats the last one to fill a block).
pub(super) fn block_channels(channels: i64, most: i64) -> i64 {
    (1..=most.min(channels).max(1))
        .min_by_key(|kb| {
            let blocks = (channels + kb - 1) / kb;
            (blocks, blocks * kb)
        })
        .unwrap_or(1)
}

/// Output channels `[k0, k1)` (symbols) in blocks of `kb` (`body` with
/// each block's channels), where the last block's channels past `k1`
/// repeat the last channel. The copies compute the same values from the
/// same partial sums and store them to the same place, so one block's code
/// serves every channel count: a loop of single channels for the rest made
/// the tile kernels twice as long to compile.
pub(super) fn clamped_channels(
    f: &mut FunctionText,
    (k0, k1): (&str, &str),
    kb: i64,
    body: impl FnOnce(&mut FunctionText, &[String]),
) {
    let blocks = f.open_for(
        "0",
        format!("affine_map<()[s0, s1] -> ((s1 - s0) ceildiv {kb})>()[{k0}, {k1}]"),
    );
    let channels: Vec<String> = (0..kb)
        .map(|i| {
            f.assign(
                "k",
                format!(
                    "affine.min affine_map<(d0)[s0, s1] -> (d0 * {kb} + s0 + {i}, s1 - 1)>({blocks})[{k0}, {k1}]"
                ),
            )
        })
        .collect();
    body(f, &channels);
    f.close();
}

/// Whether [`conv2d_tile`] covers a convolution's part on an output
/// buffer shaped like `out` (for any frame).
fn tile_kernel_applies(shape: &ConvShape, out: &View, part: ConvPart) -> bool {
    // Windows narrower than half a vector (a step of one pixel) would fill
    // a lane or two of eight: the plain kernel does better there.
    (1..=2).contains(&shape.strides[1])
        && part != ConvPart::Init
        && out.shape.len() == 4
        && out.shape[3] >= LANES / 2
}

/// Output channels `[k0, k1)` (symbols) in blocks of `kb` (`body` with
/// each block's channels), then one at a time for what is left.
fn blocked_channels(
    f: &mut FunctionText,
    (k0, k1): (&str, &str),
    kb: i64,
    mut body: impl FnMut(&mut FunctionText, &[String]),
) {
    let rest = if kb > 1 {
        let blocks = f.open_for(
            "0",
            format!("affine_map<()[s0, s1] -> ((s1 - s0) floordiv {kb})>()[{k0}, {k1}]"),
        );
        let channels: Vec<String> = (0..kb)
            .map(|i| {
                f.assign(
                    "k",
                    format!(
                        "affine.apply affine_map<(d0)[s0] -> (d0 * {kb} + s0 + {i})>({blocks})[{k0}]"
                    ),
                )
            })
            .collect();
        body(f, &channels);
        f.close();
        format!("affine_map<()[s0, s1] -> (s0 + ((s1 - s0) floordiv {kb}) * {kb})>()[{k0}, {k1}]")
    } else {
        k0.to_string()
    };
    let ki = f.open_for(rest, k1);
    body(f, &[ki]);
    f.close();
}

/// What [`conv2d_tile`] computes for every block of output channels.
struct TileBlock<'a> {
    shape: &'a ConvShape,
    input: &'a View,
    filter: &'a View,
    bias: Option<&'a View>,
    out: &'a View,
    part: ConvPart,
    /// The frame's rows and columns, as symbols.
    rows: (String, String),
    columns: (String, String),
    /// The input channels summed.
    reduce: (String, String),
    /// Vectors per column block.
    vectors: i64,
}

impl TileBlock<'_> {
    /// The frame's rows and columns for output `channels` of batch `ni`.
    fn emit(&self, f: &mut FunctionText, ni: &str, channels: &[String]) {
        let ((h0, h1), (w0, w1)) = (&self.rows, &self.columns);
        let vectors = self.vectors;
        let block = vectors * LANES;
        // Column blocks outside the rows: a block's masks do not depend on
        // the row, so they are computed once per block, not once per row
        // (with a short reduction, as in a chunk of 8 input channels, they
        // were about a fifth of a row's instructions in the assembly).
        let xb = f.open_for(
            "0",
            format!("affine_map<()[s0, s1] -> ((s1 - s0) ceildiv {block})>()[{w0}, {w1}]"),
        );
        let x0 = f.assign(
            "x",
            format!("affine.apply affine_map<(d0)[s0] -> (d0 * {block} + s0)>({xb})[{w0}]"),
        );
        let masks = RuntimeMasks::new(f, self.shape, &x0, w1, vectors);
        let yi = f.open_for(h0, h1);
        let emitter = Emitter {
            shape: self.shape,
            flat: false,
            input: self.input,
            filter: self.filter,
            out: self.out,
            n: ni,
            y: &yi,
            channels,
            biases: &[],
        };
        let columns: Vec<String> = (0..vectors)
            .map(|j| format!("{x0} + {}", j * LANES))
            .collect();
        let vector = format!("vector<{LANES}xf32>");
        let mut accs = Vec::new();
        for (i, channel) in channels.iter().enumerate() {
            if self.part == ConvPart::Accumulate {
                for (x, mask) in columns.iter().zip(&masks.stores) {
                    let at = emitter.output_at(i, x);
                    let partial = load_at(f, self.out, &at, 1, Some(mask));
                    accs.push(emitter.interleave(f, partial));
                }
                continue;
            }
            let value = match self.bias {
                Some(bias) => scalar_at(f, bias, std::slice::from_ref(channel)),
                None => f.f32(0.0),
            };
            let splat = f.assign("b", format!("vector.broadcast {value} : f32 to {vector}"));
            accs.extend(std::iter::repeat_n(splat, vectors as usize));
        }
        let reduction = Reduction::open(
            f,
            &[self.reduce.clone(), emitter.row_taps()],
            &accs,
            &vector,
        );
        let (ci, ky) = (reduction.ivs[0].clone(), reduction.ivs[1].clone());
        let mut sums = reduction.inner.clone();
        for taps in emitter.tap_pairs() {
            let loaded = emitter.tap_inputs(f, (&ci, &ky), &columns, &masks.loads, taps.clone());
            for (kx, inputs) in taps.zip(loaded) {
                let kx = kx.to_string();
                for (i, channel) in channels.iter().enumerate() {
                    let at = [channel.clone(), ci.clone(), ky.clone(), kx.clone()];
                    let weight = scalar_at(f, self.filter, &at);
                    let splat =
                        f.assign("wv", format!("vector.broadcast {weight} : f32 to {vector}"));
                    for (j, input) in inputs.iter().enumerate() {
                        let acc = &mut sums[i * vectors as usize + j];
                        *acc = f.assign(
                            "s",
                            format!("vector.fma {splat}, {input}, {acc} : {vector}"),
                        );
                    }
                }
            }
        }
        let results = reduction.close(f, &sums);
        for i in 0..channels.len() {
            for (j, (x, mask)) in columns.iter().zip(&masks.stores).enumerate() {
                let value = emitter.interleave(f, results[i * vectors as usize + j].clone());
                store_at(f, self.out, &emitter.output_at(i, x), 1, &value, Some(mask));
            }
        }
        f.close_n(2);
    }
}

/// The tile kernel of a 1x1 convolution whose step computes one pixel
/// (the dp schedule's tiles at the end of a network): each output channel
/// is a dot product over the input channels, contiguous in both the input
/// window and the filter, so it runs [`LANES`] channels at a time. Blocks
/// of [`LANES`] output channels keep one accumulator each and sum them
/// across lanes together at the end ([`lane_sums`]), so the partial sums
/// are read and written as one vector; the channels left over are summed
/// one at a time. `false` when it does not apply.
pub fn conv2d_pixel(
    f: &mut FunctionText,
    shape: &ConvShape,
    (input, filter, bias): (&View, &View, Option<&View>),
    out: &View,
    frame: &Frame,
    part: ConvPart,
) -> bool {
    let pixel = |view: &View| view.shape.len() == 4 && view.shape[2..] == [1, 1];
    if shape.kernel != [1, 1]
        || part == ConvPart::Init
        || !(pixel(input) && pixel(filter) && pixel(out))
    {
        return false;
    }
    let Some([(n0, n1), (k0, k1), rows, columns]) = frame_symbols(f, frame) else {
        return false;
    };
    let reduce = match &frame.reduce {
        Some((lower, upper)) => (symbol(f, lower), symbol(f, upper)),
        None => (f.index(0), f.index(shape.input[1] / shape.groups)),
    };
    // Windows of one pixel: the channels are contiguous once the trailing
    // 1x1 is merged; the window's spatial origin is the pixel itself.
    let flat = |f: &mut FunctionText, view: &View| {
        let name = f.fresh("flat");
        let shape2 = [view.shape[0], view.shape[1]];
        f.line(format!(
            "{name} = memref.collapse_shape {} [[0], [1, 2, 3]] : {} into {}",
            view.name,
            memref_type(&view.shape),
            memref_type(&shape2)
        ));
        View {
            name,
            shape: shape2.to_vec(),
            origin: view.origin.iter().take(2).cloned().collect(),
        }
    };
    let dot = PixelDot {
        shape,
        input: flat(f, input),
        filter: flat(f, filter),
        out,
        flat_out: flat(f, out),
        bias,
        part,
        rows,
        columns,
        reduce,
    };
    let ni = f.open_for(n0, n1);
    let kb = if shape.groups == 1 && filter.shape[0] >= LANES {
        LANES
    } else {
        1
    };
    blocked_channels(f, (&k0, &k1), kb, |f, channels| match channels {
        [k] => dot.single(f, &ni, k),
        _ => dot.block(f, &ni, channels),
    });
    f.close();
    true
}

/// What [`conv2d_pixel`] computes, on views with the pixel's 1x1 merged.
struct PixelDot<'a> {
    shape: &'a ConvShape,
    input: View,
    filter: View,
    out: &'a View,
    flat_out: View,
    bias: Option<&'a View>,
    part: ConvPart,
    rows: (String, String),
    columns: (String, String),
    reduce: (String, String),
}

impl PixelDot<'_> {
    /// The input channel `ci` of output channel `k`'s group.
    fn channel(&self, k: &str, ci: &str) -> String {
        let cg = self.shape.input[1] / self.shape.groups;
        let kg = self.shape.output[1] / self.shape.groups;
        format!("({k} floordiv {kg}) * {cg} + {ci}")
    }

    /// The reduction's full vectors: `affine.for` from its start to the
    /// last full vector, step [`LANES`].
    fn vector_loop_bounds(&self) -> (String, String) {
        let (lo, hi) = &self.reduce;
        (
            lo.clone(),
            format!("affine_map<()[s0] -> (s0 - {})>()[{hi}]", LANES - 1),
        )
    }

    /// Opens the loop over the input channels past the last full vector,
    /// carrying `init` of type `ty`: the loop's result, its induction
    /// variable and the carried value.
    fn open_tail(&self, f: &mut FunctionText, init: &str, ty: &str) -> (String, String, String) {
        let (lo, hi) = &self.reduce;
        let (result, channel, carried) = (f.fresh("r"), f.fresh("i"), f.fresh("a"));
        f.open(format!(
            "{result} = affine.for {channel} = affine_map<()[s0, s1] -> (s0 + ((s1 - s0) floordiv \
             {LANES}) * {LANES})>()[{lo}, {hi}] to {hi} iter_args({carried} = {init}) -> ({ty}) {{"
        ));
        (result, channel, carried)
    }

    /// [`LANES`] consecutive output `channels` (groups = 1) at every pixel
    /// of the frame.
    fn block(&self, f: &mut FunctionText, ni: &str, channels: &[String]) {
        let k = &channels[0];
        let vector = format!("vector<{LANES}xf32>");
        // The frame's one pixel: the merged views need no spatial index.
        f.open_for(&self.rows.0, &self.rows.1);
        f.open_for(&self.columns.0, &self.columns.1);
        let at = [ni.to_string(), k.to_string()];
        let init = match (self.part, self.bias) {
            (ConvPart::Accumulate, _) => view_vector_load(f, &self.flat_out, &at),
            (_, Some(bias)) => view_vector_load(f, bias, &at[1..]),
            (_, None) => f.constant_literal(&format!("dense<0.0> : {vector}"), "z"),
        };
        let zero = f.constant_literal(&format!("dense<0.0> : {vector}"), "z");
        let (lo, hi) = self.vector_loop_bounds();
        let accs = vec![zero; LANES as usize];
        let types = vec![vector.as_str(); accs.len()].join(", ");
        let results = f.fresh("r");
        let ci = f.fresh("i");
        let names: Vec<String> = (0..accs.len()).map(|_| f.fresh("a")).collect();
        let carried: Vec<String> = names
            .iter()
            .zip(&accs)
            .map(|(name, init)| format!("{name} = {init}"))
            .collect();
        f.open(format!(
            "{results}:{} = affine.for {ci} = {lo} to {hi} step {LANES} iter_args({}) -> ({types}) {{",
            accs.len(),
            carried.join(", ")
        ));
        let values = view_vector_load(f, &self.input, &[ni.to_string(), ci.clone()]);
        let sums: Vec<String> = names
            .iter()
            .zip(channels)
            .map(|(acc, channel)| {
                let weights = view_vector_load(f, &self.filter, &[channel.clone(), ci.clone()]);
                f.assign(
                    "s",
                    format!("vector.fma {values}, {weights}, {acc} : {vector}"),
                )
            })
            .collect();
        f.line(format!("affine.yield {} : {types}", sums.join(", ")));
        f.close();
        let partials: Vec<String> = (0..LANES).map(|i| format!("{results}#{i}")).collect();
        let lanes = lane_sums(f, &partials);
        let head = f.assign("s", format!("arith.addf {init}, {lanes} : {vector}"));
        // The input channels past the last full vector: each a broadcast
        // input times the block's weights, gathered.
        let (total, tail, acc) = self.open_tail(f, &head, &vector);
        let value = self.input.load(f, &[ni.to_string(), tail.clone()]);
        let splat = f.assign("x", format!("vector.broadcast {value} : f32 to {vector}"));
        let weights: Vec<String> = channels
            .iter()
            .map(|channel| self.filter.load(f, &[channel.clone(), tail.clone()]))
            .collect();
        let gathered = f.assign(
            "x",
            format!("vector.from_elements {} : {vector}", weights.join(", ")),
        );
        let next = f.assign(
            "s",
            format!("vector.fma {splat}, {gathered}, {acc} : {vector}"),
        );
        f.line(format!("affine.yield {next} : {vector}"));
        f.close();
        f.line(format!(
            "affine.vector_store {total}, {}[{}] : {}, {vector}",
            self.flat_out.name,
            self.flat_out.at(&at),
            memref_type(&self.flat_out.shape)
        ));
        f.close_n(2);
    }

    /// Output channel `ki` at every pixel of the frame.
    fn single(&self, f: &mut FunctionText, ni: &str, ki: &str) {
        let vector = format!("vector<{LANES}xf32>");
        let yi = f.open_for(&self.rows.0, &self.rows.1);
        let xi = f.open_for(&self.columns.0, &self.columns.1);
        let at = [ni.to_string(), ki.to_string(), yi, xi];
        let init = match (self.part, self.bias) {
            (ConvPart::Accumulate, _) => self.out.load(f, &at),
            (_, Some(bias)) => bias.load(f, &[ki.to_string()]),
            (_, None) => f.f32(0.0),
        };
        let zero = f.constant_literal(&format!("dense<0.0> : {vector}"), "z");
        let (lo, hi) = self.vector_loop_bounds();
        let partial = f.fresh("r");
        let ci = f.fresh("i");
        let acc = f.fresh("a");
        f.open(format!(
            "{partial} = affine.for {ci} = {lo} to {hi} step {LANES} iter_args({acc} = {zero}) -> ({vector}) {{"
        ));
        let values = view_vector_load(f, &self.input, &[ni.to_string(), self.channel(ki, &ci)]);
        let weights = view_vector_load(f, &self.filter, &[ki.to_string(), ci.clone()]);
        let sum = f.assign(
            "s",
            format!("vector.fma {values}, {weights}, {acc} : {vector}"),
        );
        f.line(format!("affine.yield {sum} : {vector}"));
        f.close();
        let lanes = f.assign(
            "s",
            format!("vector.reduction <add>, {partial} : {vector} into f32"),
        );
        let head = f.assign("s", format!("arith.addf {init}, {lanes} : f32"));
        // The channels past the last full vector, one at a time.
        let (total, tail, scalar) = self.open_tail(f, &head, "f32");
        let value = self
            .input
            .load(f, &[ni.to_string(), self.channel(ki, &tail)]);
        let weight = self.filter.load(f, &[ki.to_string(), tail.clone()]);
        let product = super::kernels::binary(f, "mulf", &value, &weight);
        let next = super::kernels::binary(f, "addf", &scalar, &product);
        f.line(format!("affine.yield {next} : f32"));
        f.close();
        self.out.store(f, &total, &at);
        f.close_n(2);
    }
}

/// The lane sums of [`LANES`] vectors, as one vector (lane `i` the sum of
/// vector `i`'s lanes): three rounds of pairing, each adding the even and
/// odd groups of two interleaved vectors, halve the vectors and double the
/// lanes each sum covers.
fn lane_sums(f: &mut FunctionText, vectors: &[String]) -> String {
    let ty = format!("vector<{LANES}xf32>");
    let mut level = vectors.to_vec();
    let mut group = 1;
    while level.len() > 1 {
        // Pairing `a` and `b` with groups of `group` lanes: lane blocks of
        // `a` and `b` alternate, so each output lane pair sums one input.
        let (even, odd): (Vec<i64>, Vec<i64>) = (0..LANES)
            .map(|lane| {
                let block = lane / group;
                let within = lane % group;
                // Output block `block` takes input block `2 * (block / 2)`
                // of a (block even) or b (block odd), and its neighbour.
                let source = if block % 2 == 0 { 0 } else { LANES };
                let base = (block / 2) * 2 * group + within;
                (source + base, source + base + group)
            })
            .unzip();
        let render = |lanes: &[i64]| {
            lanes
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        level = level
            .chunks(2)
            .map(|pair| {
                let (a, b) = (&pair[0], &pair[1]);
                let low = f.assign(
                    "t",
                    format!("vector.shuffle {a}, {b} [{}] : {ty}, {ty}", render(&even)),
                );
                let high = f.assign(
                    "t",
                    format!("vector.shuffle {a}, {b} [{}] : {ty}, {ty}", render(&odd)),
                );
                f.assign("t", format!("arith.addf {low}, {high} : {ty}"))
            })
            .collect();
        group *= 2;
    }
    level.remove(0)
}

/// `affine.vector_load` of [`LANES`] elements of `view` at `at` (tensor
/// coordinates).
pub(super) fn view_vector_load(f: &mut FunctionText, view: &View, at: &[String]) -> String {
    f.assign(
        "x",
        format!(
            "affine.vector_load {}[{}] : {}, vector<{LANES}xf32>",
            view.name,
            view.at(at),
            memref_type(&view.shape)
        ),
    )
}

/// The indices of `at` in `view`, comma-separated, where `at[dynamic]` is
/// an `index` value that affine maps may not take (a clamped channel): its
/// window origin is subtracted with `arith`, the others' through
/// `affine.apply`.
pub(super) fn mixed_indices(
    f: &mut FunctionText,
    view: &View,
    at: &[String],
    dynamic: usize,
) -> String {
    let relative = view.relative(at);
    (0..at.len())
        .map(|d| {
            if d != dynamic {
                return index_value(f, &relative[d]);
            }
            match view.origin.get(d).filter(|origin| !origin.is_empty()) {
                Some(origin) => f.assign("ix", format!("arith.subi {}, {origin} : index", at[d])),
                None => at[d].clone(),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The element at `at` of `view`, whose leading index is an `index` value
/// (a clamped output channel, as in [`mixed_indices`]).
pub(super) fn scalar_at(f: &mut FunctionText, view: &View, at: &[String]) -> String {
    let indices = mixed_indices(f, view, at, 0);
    f.assign(
        "v",
        format!(
            "memref.load {}[{indices}] : {}",
            view.name,
            memref_type(&view.shape)
        ),
    )
}

/// The vector at `at` of `view` (`at[dynamic]` as in [`mixed_indices`]),
/// only the lanes of `mask` when given.
pub(super) fn load_at(
    f: &mut FunctionText,
    view: &View,
    at: &[String],
    dynamic: usize,
    mask: Option<&str>,
) -> String {
    let indices = mixed_indices(f, view, at, dynamic);
    match mask {
        None => f.assign(
            "x",
            format!(
                "vector.load {}[{indices}] : {}, vector<{LANES}xf32>",
                view.name,
                memref_type(&view.shape)
            ),
        ),
        Some(mask) => masked_load_at(f, view, &indices, mask),
    }
}

/// Stores `value` at `at` of `view` (`at[dynamic]` as in
/// [`mixed_indices`]), only the lanes of `mask` when given.
pub(super) fn store_at(
    f: &mut FunctionText,
    view: &View,
    at: &[String],
    dynamic: usize,
    value: &str,
    mask: Option<&str>,
) {
    let ty = memref_type(&view.shape);
    let indices = mixed_indices(f, view, at, dynamic);
    let vector = format!("vector<{LANES}xf32>");
    match mask {
        None => f.line(format!(
            "vector.store {value}, {}[{indices}] : {ty}, {vector}",
            view.name
        )),
        Some(mask) => f.line(format!(
            "vector.maskedstore {}[{indices}], {mask}, {value} : {ty}, vector<{LANES}xi1>, {vector}",
            view.name
        )),
    }
}

/// The lanes of `view` the mask value `mask` selects at `indices` (`index`
/// values, comma-separated), zero elsewhere.
pub(super) fn masked_load_at(
    f: &mut FunctionText,
    view: &View,
    indices: &str,
    mask: &str,
) -> String {
    let zero = f.constant_literal(&format!("dense<0.0> : vector<{LANES}xf32>"), "z");
    f.assign(
        "x",
        format!(
            "vector.maskedload {}[{indices}], {mask}, {zero} : {}, vector<{LANES}xi1>, vector<{LANES}xf32> into vector<{LANES}xf32>",
            view.name,
            memref_type(&view.shape)
        ),
    )
}

/// A frame bound as an affine symbol: its SSA name, or an `index`
/// constant for a number.
pub(super) fn symbol(f: &mut FunctionText, bound: &str) -> String {
    match bound.parse::<i64>() {
        Ok(constant) => f.index(constant),
        Err(_) => bound.to_string(),
    }
}

/// The bounds of a 4-D frame (batch, channels, rows, columns) as symbols.
pub(super) fn frame_symbols(f: &mut FunctionText, frame: &Frame) -> Option<[(String, String); 4]> {
    let bounds: Vec<(String, String)> = frame
        .bounds
        .iter()
        .map(|(lower, upper)| (symbol(f, lower), symbol(f, upper)))
        .collect();
    bounds.try_into().ok()
}

/// Lane masks of one column block, computed at run time: per vector, the
/// lanes inside the frame (`stores`), and per tap, vector and load (two
/// with stride 2), the elements that read inside the input row for a lane
/// inside the frame (`loads`).
struct RuntimeMasks {
    stores: Vec<String>,
    loads: Vec<Vec<Vec<String>>>,
}

impl RuntimeMasks {
    fn new(f: &mut FunctionText, shape: &ConvShape, x0: &str, w1: &str, vectors: i64) -> Self {
        let i32s = format!("vector<{LANES}xi32>");
        let masks = format!("vector<{LANES}xi1>");
        let splat = |f: &mut FunctionText, value: &str| {
            let scalar = f.assign("m", format!("arith.index_cast {value} : index to i32"));
            f.assign("m", format!("vector.broadcast {scalar} : i32 to {i32s}"))
        };
        let start = splat(f, x0);
        let end = splat(f, w1);
        let zero = f.constant_literal(&format!("dense<0> : {i32s}"), "z");
        let width = f.constant_literal(&format!("dense<{}> : {i32s}", shape.input[3]), "z");
        let [_, kw] = shape.kernel;
        let [_, stride] = shape.strides;
        let [_, dw] = shape.dilations;
        let [_, pl] = shape.pads;
        let constant = |f: &mut FunctionText, values: Vec<i64>| {
            let values: Vec<String> = values.iter().map(ToString::to_string).collect();
            f.constant_literal(&format!("dense<[{}]> : {i32s}", values.join(", ")), "z")
        };
        // Lane `lane` of vector `j` is column `x0 + j * LANES + lane`.
        let inside_frame = |f: &mut FunctionText, columns: Vec<i64>| {
            let offsets = constant(f, columns);
            let column = f.assign("m", format!("arith.addi {start}, {offsets} : {i32s}"));
            f.assign("m", format!("arith.cmpi slt, {column}, {end} : {i32s}"))
        };
        let stores: Vec<String> = (0..vectors)
            .map(|j| inside_frame(f, (0..LANES).map(|lane| j * LANES + lane).collect()))
            .collect();
        // Element `g` of the `stride * LANES` loaded for vector `j` feeds
        // lane `g / stride` and reads input column
        // `(x0 + j * LANES) * stride + kx * dw - pl + g`.
        let scaled = if stride == 1 {
            start.clone()
        } else {
            let factor = f.constant_literal(&format!("dense<{stride}> : {i32s}"), "z");
            f.assign("m", format!("arith.muli {start}, {factor} : {i32s}"))
        };
        // With stride 1 an element feeds its own lane: the frame masks are
        // the store masks.
        let feeds: Vec<Vec<String>> = (0..vectors)
            .map(|j| {
                if stride == 1 {
                    return vec![stores[j as usize].clone()];
                }
                (0..stride)
                    .map(|part| {
                        let lanes = (0..LANES)
                            .map(|e| j * LANES + (part * LANES + e) / stride)
                            .collect();
                        inside_frame(f, lanes)
                    })
                    .collect()
            })
            .collect();
        // With stride 2 the odd elements of a tap's loads feed the next
        // tap, when it shares them ([`Emitter::tap_pairs`]); otherwise
        // they are not read.
        let even = (stride == 2).then(|| {
            let lanes: Vec<bool> = (0..LANES).map(|e| e % 2 == 0).collect();
            mask_constant(f, &lanes)
        });
        let loads = (0..kw)
            .map(|kx| {
                let paired = shape.shares_loads_with_next(kx);
                (0..vectors)
                    .map(|j| {
                        (0..stride)
                            .map(|part| {
                                let elements = (0..LANES)
                                    .map(|e| j * LANES * stride + kx * dw - pl + part * LANES + e)
                                    .collect();
                                let offsets = constant(f, elements);
                                let read = f.assign(
                                    "m",
                                    format!("arith.addi {scaled}, {offsets} : {i32s}"),
                                );
                                let low = f.assign(
                                    "m",
                                    format!("arith.cmpi sge, {read}, {zero} : {i32s}"),
                                );
                                let high = f.assign(
                                    "m",
                                    format!("arith.cmpi slt, {read}, {width} : {i32s}"),
                                );
                                let inside =
                                    f.assign("m", format!("arith.andi {low}, {high} : {masks}"));
                                let read = f.assign(
                                    "m",
                                    format!(
                                        "arith.andi {inside}, {} : {masks}",
                                        feeds[j as usize][part as usize]
                                    ),
                                );
                                match &even {
                                    Some(even) if !paired => f.assign(
                                        "m",
                                        format!("arith.andi {read}, {even} : {masks}"),
                                    ),
                                    _ => read,
                                }
                            })
                            .collect()
                    })
                    .collect()
            })
            .collect();
        Self { stores, loads }
    }
}

/// A view of `view`'s bytes with `shape` (dimensions 2 and 3 merged).
pub(super) fn collapse(f: &mut FunctionText, view: &View, shape: [i64; 3]) -> View {
    let name = f.assign(
        "flat",
        format!(
            "memref.collapse_shape {} [[0], [1], [2, 3]] : {} into {}",
            view.name,
            memref_type(&view.shape),
            memref_type(&shape)
        ),
    );
    View::whole(name, shape.to_vec())
}

struct Emitter<'a> {
    shape: &'a ConvShape,
    /// Rows merged ([`ConvShape::flattened`], whole tensors only).
    flat: bool,
    input: &'a View,
    filter: &'a View,
    out: &'a View,
    n: &'a str,
    y: &'a str,
    channels: &'a [String],
    biases: &'a [String],
}

impl Emitter<'_> {
    /// Input indices of column `x` (an affine expression) at tap `(ky, kx)`.
    fn input_at(&self, ci: &str, ky: &str, kx: &str, x: &str) -> Vec<String> {
        let cg = self.shape.input[1] / self.shape.groups;
        let kg = self.shape.output[1] / self.shape.groups;
        // A block's channels are in one group. Without groups the input
        // channel is the reduction's own, so the output channels need not
        // be affine (the tile kernels' clamped ones are not).
        let channel = if self.shape.groups == 1 {
            ci.to_string()
        } else {
            format!("({} floordiv {kg}) * {cg} + {ci}", self.channels[0])
        };
        if self.flat {
            return vec![self.n.to_string(), channel, x.to_string()];
        }
        let [sh, sw] = self.shape.strides;
        let [dh, dw] = self.shape.dilations;
        let [pt, pl] = self.shape.pads;
        vec![
            self.n.to_string(),
            channel,
            format!("{} * {sh} + {ky} * {dh} - {pt}", self.y),
            format!("({x}) * {sw} + {kx} * {dw} - {pl}"),
        ]
    }

    fn output_at(&self, i: usize, x: &str) -> Vec<String> {
        let mut at = vec![self.n.to_string(), self.channels[i].clone()];
        if !self.flat {
            at.push(self.y.to_string());
        }
        at.push(x.to_string());
        at
    }

    /// The taps of the row at output row `y` that read inside the input,
    /// as affine loop bounds.
    fn row_taps(&self) -> (String, String) {
        if self.flat {
            return ("0".into(), "1".into());
        }
        let [kh, _] = self.shape.kernel;
        let h = self.shape.input[2];
        let [sh, _] = self.shape.strides;
        let [dh, _] = self.shape.dilations;
        let [pt, _] = self.shape.pads;
        let y = self.y;
        (
            format!("max affine_map<(d0) -> (0, ({pt} - d0 * {sh}) ceildiv {dh})>({y})"),
            format!(
                "min affine_map<(d0) -> ({kh}, ({} - d0 * {sh}) floordiv {dh} + 1)>({y})",
                h - 1 + pt
            ),
        )
    }

    /// Every block of a row's column plan.
    fn columns(&self, f: &mut FunctionText, plan: &[Columns]) {
        for columns in plan {
            match columns {
                Columns::Loop {
                    start,
                    count,
                    vectors,
                } => {
                    let x = f.open_for("0", count.to_string());
                    let x0 = format!("{x} * {} + {start}", vectors * LANES);
                    self.blocks(f, &x0, *vectors);
                    f.close();
                }
                Columns::Block { x0, loads, stores } => {
                    self.block(f, &x0.to_string(), 1, loads.as_deref(), stores.as_deref());
                }
            }
        }
    }

    /// The unmasked block at `x0` of `vectors` vectors, for the emitter's
    /// channels in groups of at most half the vector registers in
    /// accumulators.
    fn blocks(&self, f: &mut FunctionText, x0: &str, vectors: i64) {
        let per_pass = (f.vector_registers() / 2 / vectors).max(1) as usize;
        if self.channels.len() <= per_pass {
            return self.block(f, x0, vectors, None, None);
        }
        for (channels, biases) in self
            .channels
            .chunks(per_pass)
            .zip(self.biases.chunks(per_pass))
        {
            Emitter {
                channels,
                biases,
                ..*self
            }
            .block(f, x0, vectors, None, None);
        }
    }

    /// One block of `channels x vectors` outputs starting at column `x0`.
    /// With `loads`, the column taps are unrolled and each loads only its
    /// lanes; with `stores`, only those lanes are stored.
    fn block(
        &self,
        f: &mut FunctionText,
        x0: &str,
        vectors: i64,
        loads: Option<&[Vec<bool>]>,
        stores: Option<&[bool]>,
    ) {
        let vector = format!("vector<{LANES}xf32>");
        let mut accs = Vec::new();
        for bias in self.biases {
            let splat = f.assign("b", format!("vector.broadcast {bias} : f32 to {vector}"));
            for _ in 0..vectors {
                accs.push(splat.clone());
            }
        }
        let cg = self.shape.input[1] / self.shape.groups;
        let [_, kw] = self.shape.kernel;
        let mut bounds = vec![("0".to_string(), cg.to_string()), self.row_taps()];
        if loads.is_none() {
            bounds.push(("0".to_string(), kw.to_string()));
        }
        let reduction = Reduction::open(f, &bounds, &accs, &vector);
        let (ci, ky) = (reduction.ivs[0].clone(), reduction.ivs[1].clone());
        let columns: Vec<String> = (0..vectors)
            .map(|j| format!("{x0} + {}", j * LANES))
            .collect();
        // With masks the taps are unrolled: each has its own constant mask.
        let taps: Vec<(String, Option<&Vec<bool>>)> = match loads {
            None => vec![(reduction.ivs[2].clone(), None)],
            Some(masks) => masks
                .iter()
                .enumerate()
                .map(|(kx, mask)| (kx.to_string(), Some(mask)))
                .collect(),
        };
        let mut sums = reduction.inner.clone();
        for (kx, mask) in taps {
            if mask.is_some_and(|lanes| lanes.iter().all(|&lane| !lane)) {
                continue;
            }
            let inputs: Vec<String> = columns
                .iter()
                .map(|x| self.strided_load(f, &self.input_at(&ci, &ky, &kx, x), mask))
                .collect();
            for (i, channel) in self.channels.iter().enumerate() {
                let at = [channel.clone(), ci.clone(), ky.clone(), kx.clone()];
                let weight = scalar_at(f, self.filter, &at);
                let splat = f.assign("wv", format!("vector.broadcast {weight} : f32 to {vector}"));
                for (j, input) in inputs.iter().enumerate() {
                    let acc = &mut sums[i * vectors as usize + j];
                    let sum = f.assign(
                        "s",
                        format!("vector.fma {splat}, {input}, {acc} : {vector}"),
                    );
                    *acc = sum;
                }
            }
        }
        let results = reduction.close(f, &sums);
        for i in 0..self.channels.len() {
            for (j, x) in columns.iter().enumerate() {
                let value = &results[i * vectors as usize + j];
                let at = self.output_at(i, x);
                match stores {
                    None => f.line(format!(
                        "affine.vector_store {value}, {}[{}] : {}, {vector}",
                        self.out.name,
                        self.out.at(&at),
                        memref_type(&self.out.shape)
                    )),
                    Some(lanes) => {
                        let indices = indices(f, &self.out.relative(&at));
                        let mask = mask_constant(f, lanes);
                        f.line(format!(
                            "vector.maskedstore {}[{indices}], {mask}, {value} : {}, vector<{LANES}xi1>, {vector}",
                            self.out.name,
                            memref_type(&self.out.shape)
                        ));
                    }
                }
            }
        }
    }

    /// The input vector of one column block at one tap: `stride` loads of
    /// [`LANES`] consecutive elements from `at` (masked by `mask`, the
    /// elements that may be read), the even lanes kept when the stride is 2.
    fn strided_load(
        &self,
        f: &mut FunctionText,
        at: &[String],
        mask: Option<&Vec<bool>>,
    ) -> String {
        let stride = self.shape.strides[1];
        let parts: Vec<String> = (0..stride)
            .map(|part| {
                let mut at = at.to_vec();
                if part > 0 {
                    let last = at.len() - 1;
                    at[last] = format!("{} + {}", at[last], part * LANES);
                }
                let range = (part * LANES) as usize..((part + 1) * LANES) as usize;
                match mask.map(|lanes| &lanes[range]) {
                    Some(lanes) if !lanes.iter().all(|&lane| lane) => {
                        self.masked_load(f, self.input, &at, lanes)
                    }
                    _ => self.vector_load(f, self.input, &at),
                }
            })
            .collect();
        self.keep_even(f, parts)
    }

    /// The row taps whose inputs a tile block loads together: a tap and
    /// the next when they share their loads
    /// ([`ConvShape::shares_loads_with_next`]), otherwise each tap alone.
    fn tap_pairs(&self) -> Vec<std::ops::Range<i64>> {
        let mut pairs = Vec::new();
        let mut kx = 0;
        while kx < self.shape.kernel[1] {
            let end = if self.shape.shares_loads_with_next(kx) {
                kx + 2
            } else {
                kx + 1
            };
            pairs.push(kx..end);
            kx = end;
        }
        pairs
    }

    /// Per tap of `taps` (one of [`Emitter::tap_pairs`]), the input
    /// vectors at `columns` of input channel and row tap `(ci, ky)`, loaded
    /// with the run-time masks `loads` (per tap, vector and load); with
    /// stride 2, their lanes in [`INTERLEAVED`] order. The masks of a
    /// pair's first tap serve both: an element is read when it lies inside
    /// the input row and the lane it feeds, in either tap, inside the
    /// frame.
    fn tap_inputs(
        &self,
        f: &mut FunctionText,
        (ci, ky): (&str, &str),
        columns: &[String],
        loads: &[Vec<Vec<String>>],
        taps: std::ops::Range<i64>,
    ) -> Vec<Vec<String>> {
        let kx = taps.start;
        let parts: Vec<Vec<String>> = columns
            .iter()
            .zip(&loads[kx as usize])
            .map(|(x, masks)| {
                let at = self.input_at(ci, ky, &kx.to_string(), x);
                masks
                    .iter()
                    .enumerate()
                    .map(|(part, mask)| {
                        let mut at = at.clone();
                        let last = at.len() - 1;
                        at[last] = format!("{} + {}", at[last], part as i64 * LANES);
                        self.masked_load_with(f, self.input, &at, mask)
                    })
                    .collect()
            })
            .collect();
        taps.map(|tap| {
            let odd = tap - kx;
            parts
                .iter()
                .map(|parts| match &parts[..] {
                    [one] => one.clone(),
                    [low, high] => shuffle(f, low, high, &INTERLEAVED.map(|e| e + odd)),
                    _ => unreachable!("a stride of 1 or 2"),
                })
                .collect()
        })
        .collect()
    }

    /// A vector of outputs in the order of [`INTERLEAVED`] from the one in
    /// memory, or back (the permutation is its own inverse); the vector
    /// itself with stride 1.
    fn interleave(&self, f: &mut FunctionText, vector: String) -> String {
        if self.shape.strides[1] == 1 {
            return vector;
        }
        let lanes = INTERLEAVED.map(|element| element / 2);
        shuffle(f, &vector, &vector, &lanes)
    }

    /// The one vector of `parts`, or the even lanes of two.
    fn keep_even(&self, f: &mut FunctionText, parts: Vec<String>) -> String {
        if parts.len() == 1 {
            return parts[0].clone();
        }
        let even: [i64; LANES as usize] = std::array::from_fn(|lane| lane as i64 * 2);
        shuffle(f, &parts[0], &parts[1], &even)
    }

    fn vector_load(&self, f: &mut FunctionText, view: &View, at: &[String]) -> String {
        f.assign(
            "x",
            format!(
                "affine.vector_load {}[{}] : {}, vector<{LANES}xf32>",
                view.name,
                view.at(at),
                memref_type(&view.shape)
            ),
        )
    }

    /// Loads the lanes the mask value `mask` selects (zero elsewhere).
    fn masked_load_with(
        &self,
        f: &mut FunctionText,
        view: &View,
        at: &[String],
        mask: &str,
    ) -> String {
        let indices = indices(f, &view.relative(at));
        masked_load_at(f, view, &indices, mask)
    }

    /// Loads the lanes `lanes` selects (zero elsewhere); the others are
    /// not accessed, so their indices may lie outside the row.
    fn masked_load(
        &self,
        f: &mut FunctionText,
        view: &View,
        at: &[String],
        lanes: &[bool],
    ) -> String {
        let mask = mask_constant(f, lanes);
        self.masked_load_with(f, view, at, &mask)
    }
}

/// The even elements of two vectors of [`LANES`] loaded one after the
/// other, as one shuffle within each half of the vector (`vshufps`) keeps
/// them: a tile kernel with column stride 2 keeps its accumulators in this
/// order, lane `p` for output column `INTERLEAVED[p] / 2` of the block,
/// and restores the order when it loads and stores them. Keeping them in
/// order took a second, cross-half shuffle per load (`vpermpd`).
const INTERLEAVED: [i64; LANES as usize] = [0, 2, 8, 10, 4, 6, 12, 14];

/// `vector.shuffle` of two vectors of [`LANES`].
fn shuffle(f: &mut FunctionText, low: &str, high: &str, lanes: &[i64]) -> String {
    let lanes: Vec<String> = lanes.iter().map(ToString::to_string).collect();
    f.assign(
        "x",
        format!(
            "vector.shuffle {low}, {high} [{}] : vector<{LANES}xf32>, vector<{LANES}xf32>",
            lanes.join(", ")
        ),
    )
}

/// A constant `vector<LANES x i1>`.
fn mask_constant(f: &mut FunctionText, lanes: &[bool]) -> String {
    let lanes: Vec<&str> = lanes
        .iter()
        .map(|&lane| if lane { "true" } else { "false" })
        .collect();
    f.constant_literal(
        &format!("dense<[{}]> : vector<{LANES}xi1>", lanes.join(", ")),
        "m",
    )
}

/// `index` values of affine expressions over SSA names (`affine.apply`
/// for each that is not a plain name or constant), comma-separated.
pub(super) fn indices(f: &mut FunctionText, expressions: &[String]) -> String {
    expressions
        .iter()
        .map(|expression| index_value(f, expression))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn index_value(f: &mut FunctionText, expression: &str) -> String {
    let expression = expression.trim();
    if let Ok(constant) = expression.parse::<i64>() {
        return f.index(constant);
    }
    let mut operands: Vec<String> = Vec::new();
    let mut body = String::new();
    let mut chars = expression.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        if c != '%' {
            body.push(c);
            continue;
        }
        let mut end = start + 1;
        while let Some(&(i, next)) = chars.peek() {
            if next.is_ascii_alphanumeric() || next == '_' {
                end = i + 1;
                chars.next();
            } else {
                break;
            }
        }
        let name = &expression[start..end];
        let position = operands
            .iter()
            .position(|known| known == name)
            .unwrap_or_else(|| {
                operands.push(name.to_string());
                operands.len() - 1
            });
        body.push_str(&format!("d{position}"));
    }
    if operands.len() == 1 && body == "d0" {
        return operands.remove(0);
    }
    let dims: Vec<String> = (0..operands.len()).map(|d| format!("d{d}")).collect();
    f.assign(
        "ix",
        format!(
            "affine.apply affine_map<({}) -> ({body})>({})",
            dims.join(", "),
            operands.join(", ")
        ),
    )
}

/// Reduction loops carrying accumulators in `iter_args`.
pub(super) struct Reduction {
    /// The loops' induction variables, outermost first.
    pub(super) ivs: Vec<String>,
    /// Each loop's results, outermost first.
    results: Vec<Vec<String>>,
    /// The accumulators inside the innermost loop.
    pub(super) inner: Vec<String>,
    ty: String,
}

impl Reduction {
    /// Opens one `affine.for ... iter_args` per `(lower, upper)` bound,
    /// threading `accs` of type `ty` through them.
    pub(super) fn open(
        f: &mut FunctionText,
        bounds: &[(String, String)],
        accs: &[String],
        ty: &str,
    ) -> Self {
        let types = vec![ty; accs.len()].join(", ");
        let mut reduction = Reduction {
            ivs: Vec::new(),
            results: Vec::new(),
            inner: accs.to_vec(),
            ty: ty.to_string(),
        };
        for (lower, upper) in bounds {
            let iv = f.fresh("i");
            let results = f.fresh("r");
            let args: Vec<String> = accs.iter().map(|_| f.fresh("a")).collect();
            let inits: Vec<String> = args
                .iter()
                .zip(&reduction.inner)
                .map(|(arg, value)| format!("{arg} = {value}"))
                .collect();
            f.open(format!(
                "{results}:{} = affine.for {iv} = {lower} to {upper} iter_args({}) -> ({types}) {{",
                accs.len(),
                inits.join(", ")
            ));
            reduction.ivs.push(iv);
            reduction
                .results
                .push((0..accs.len()).map(|i| format!("{results}#{i}")).collect());
            reduction.inner = args;
        }
        reduction
    }

    /// Yields `sums` from the innermost loop and each loop's results from
    /// the one around it; returns the outermost loop's results.
    pub(super) fn close(mut self, f: &mut FunctionText, sums: &[String]) -> Vec<String> {
        let types = vec![self.ty.as_str(); sums.len()].join(", ");
        let mut values = sums.to_vec();
        while let Some(results) = self.results.pop() {
            f.line(format!("affine.yield {} : {types}", values.join(", ")));
            f.close();
            values = results;
        }
        values
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(width: i64, input_width: i64, taps: i64, pad: i64) -> Row {
        Row {
            width,
            input_width,
            taps,
            stride: 1,
            dilation: 1,
            pad,
        }
    }

    #[test]
    fn tile_blocks_cover_rows_with_the_fewest_idle_lanes() {
        // Rows up to four vectors wide take one block that covers them.
        for (width, vectors) in [(7, 1), (14, 2), (17, 3), (28, 4)] {
            assert_eq!(tile_vectors(width, 1), vectors, "width {width}");
        }
        // Wider rows: 35 columns in one block of 5 (40 lanes, not 64);
        // 56 in two of 4 (64 lanes, against 80 with 5 and 96 with 6); 112
        // in three of 5 (120 lanes, not 128); 73 in two of 5.
        for (width, vectors) in [(35, 5), (56, 4), (112, 5), (73, 5), (224, 4)] {
            assert_eq!(tile_vectors(width, 1), vectors, "width {width}");
        }
        // Strided blocks keep at most four.
        assert_eq!(tile_vectors(35, 2), 4);
    }

    #[test]
    fn a_padded_row_has_masked_ends_and_a_plain_middle() {
        // 3x3, pad 1, 56 columns: masked first and last vector, two pairs
        // in the loop (8..40), one plain vector at 40.
        let plan = column_plan(&row(56, 56, 3, 1)).unwrap();
        let left = vec![false, true, true, true, true, true, true, true];
        let all = vec![true; 8];
        let right = vec![true, true, true, true, true, true, true, false];
        assert_eq!(
            plan,
            vec![
                Columns::Block {
                    x0: 0,
                    loads: Some(vec![left, all.clone(), all.clone()]),
                    stores: None,
                },
                Columns::Loop {
                    start: 8,
                    count: 2,
                    vectors: 2,
                },
                Columns::Block {
                    x0: 40,
                    loads: None,
                    stores: None,
                },
                Columns::Block {
                    x0: 48,
                    loads: Some(vec![all.clone(), all, right]),
                    stores: None,
                },
            ]
        );
    }

    #[test]
    fn channel_blocks_are_few_and_waste_little() {
        assert_eq!(block_channels(8, 8), 8);
        assert_eq!(block_channels(8, 6), 4);
        assert_eq!(block_channels(8, 3), 3);
        assert_eq!(block_channels(4, 8), 4);
        assert_eq!(block_channels(12, 5), 4);
        assert_eq!(block_channels(1, 8), 1);
    }

    #[test]
    fn a_narrow_row_is_one_masked_vector() {
        // 7 columns, 3 taps, pad 1: tap 0 skips lane 0, tap 2 lanes 6 and
        // 7; lane 7 is past the row's end.
        let plan = column_plan(&row(7, 7, 3, 1)).unwrap();
        let Columns::Block { x0, loads, stores } = &plan[0] else {
            panic!("{plan:?}");
        };
        assert_eq!(*x0, 0);
        let loads = loads.as_ref().unwrap();
        assert_eq!(loads[0], [false, true, true, true, true, true, true, false]);
        assert_eq!(loads[2], [true, true, true, true, true, true, false, false]);
        assert_eq!(
            stores.as_deref(),
            Some(&[true, true, true, true, true, true, true, false][..])
        );
    }

    #[test]
    fn every_column_is_covered_and_loops_read_inside() {
        for width in 1..80 {
            for (taps, pad, stride) in [
                (1, 0, 1),
                (3, 1, 1),
                (5, 2, 1),
                (7, 3, 1),
                (3, 1, 2),
                (1, 0, 2),
                (7, 3, 2),
            ] {
                let row = Row {
                    stride,
                    input_width: (width - 1) * stride + taps - 2 * pad,
                    ..row(width, width, taps, pad)
                };
                if row.input_width < 1 {
                    continue;
                }
                let Some(plan) = column_plan(&row) else {
                    panic!("width {width}, taps {taps}: no plan");
                };
                let mut covered = vec![false; width as usize];
                for columns in &plan {
                    let (start, lanes) = match columns {
                        Columns::Loop {
                            start,
                            count,
                            vectors,
                        } => (*start, count * vectors * LANES),
                        Columns::Block { x0, .. } => (*x0, LANES),
                    };
                    for x in start..(start + lanes).min(width) {
                        covered[x as usize] = true;
                    }
                }
                assert!(
                    covered.iter().all(|&c| c),
                    "width {width}, taps {taps}: {plan:?}"
                );
            }
        }
    }
}
