//! Convolutions as sums of products of matrices, blocked for the caches.
//!
//! Without padding, a 1x1 convolution of an `[n, c, h, w]` input is, per
//! batch, the product of the `[k, c]` filter and the `[c, h * w]` input: the
//! pixels are the columns. With a stride the input is first subsampled into
//! a buffer of its own, so that the product reads whole rows.
//!
//! A convolution of stride 1 with a larger kernel is a sum of such products,
//! one per tap, each reading the input shifted. Its input is copied into a
//! buffer with the padding written out as zeros, so that in that buffer's
//! rows, merged into one, a tap is one constant shift: output pixel `(y, x)`
//! is column `y * wp + x` (`wp` the padded width), and tap `(ky, kx)` reads
//! column `y * wp + x + ky * dh * wp + kx * dw`. The output is computed on
//! the same grid, `wp` columns a row of which the last `wp - ow` are not
//! pixels, into a buffer whose pixels are then copied out. Every load and
//! store reads whole vectors with no masks, but the last block's.
//!
//! With a larger stride `[sh, sw]` the padded input is split into its
//! `sh * sw` phases: phase `(ry, rx)` holds the padded rows `ry, ry + sh,
//! ...` and columns `rx, rx + sw, ...`. Tap `(ky, kx)` of output pixel
//! `(y, x)` reads phase `(ky mod sh, kx mod sw)` at row `y + ky floordiv
//! sh` and column `x + kx floordiv sw`: on a grid as wide as a phase, again
//! one constant shift per tap, so strided layers read whole vectors too
//! (the general kernel loads two vectors per vector of outputs and keeps
//! every other lane).
//!
//! The product is computed in passes over a chunk of input channels
//! ([`channel_chunk`]). Within a pass, each block of columns keeps its input
//! (a few vectors by the chunk's channels and taps) in L1 while every block
//! of output channels reads it; a block of output channels by column vectors
//! holds 12 accumulators in registers over the chunk's reduction (24 where
//! the CPU has 32 vector registers, [`super::registers`]). The first
//! pass starts from the bias, later ones from the partial sums in the
//! output (one pass's code for all of them, choosing with a `select`), so
//! the filter streams through once per pass and the input once overall.
//! Blocks do not overlap (the last vector of a row is masked), since a
//! column computed twice would add a chunk twice. The taps are loops,
//! which LLVM unrolls: unrolled in MLIR, they made compiling ResNet-50 a
//! tenth slower for no faster code.
//!
//! The general kernel ([`super::conv`]) sums all input channels in
//! registers, so on deep layers (1024 or 2048 channels) each block's input
//! no longer fits in L1, and every block of output channels reads it from
//! L2 again; it masks the loads of a row's first and last vectors at every
//! tap, and with a stride loads two vectors per vector of outputs.

use super::{
    conv::{
        self, ConvShape, LANES, Reduction, collapse, frame_symbols, indices, load_at, scalar_at,
        store_at,
    },
    kernels::{ConvPart, Frame, View},
    text::{FunctionText, memref_type},
};

/// Bytes of input a block reads in one pass, which stay in L1 while every
/// block of output channels reads them: 128 channels of a 1x1 block's three
/// vectors.
const PASS_BYTES: i64 = 12 << 10;

/// Column vectors per block.
const VECTORS: i64 = 3;

/// Bytes of filter a pass reads above which its blocks of output channels
/// run outside its blocks of columns (see `Product::channels_outside`): a
/// quarter of a 1 MiB L2.
const FILTER_PASS_BYTES: i64 = 256 << 10;

/// The most bytes of input a pass may read to run its blocks of output
/// channels outside its blocks of columns (every block of output channels
/// reads all of it).
const INPUT_PASS_BYTES: i64 = 256 << 10;

/// The most output channels per block of a whole convolution: with
/// [`VECTORS`] vectors each, 12 accumulators with 16 vector registers (per
/// input channel and tap 3 vector loads and 4 broadcast weights for 12
/// multiply-adds), 24 with 32 (8 broadcast weights for 24).
fn whole_block_channels(f: &FunctionText) -> i64 {
    if f.vector_registers() >= 32 { 8 } else { 4 }
}

/// The most output channels per block of a tile step: 4 with any register
/// file. With 8, LLVM spilled the accumulators of the staged tile kernels
/// (which also hold the plain loops for other frames) on every iteration,
/// and MobileNet-v2's layer schedule took 1.4 times as long.
const TILE_BLOCK_CHANNELS: i64 = 4;

/// Input channels per pass: a block reads, per channel, one stretch of
/// its columns (with the row taps' reach) per kernel row.
fn channel_chunk(shape: &ConvShape) -> i64 {
    let [kh, kw] = shape.kernel;
    let reach = VECTORS * LANES + (kw - 1) * shape.dilations[1];
    (PASS_BYTES / (kh * reach * 4)).clamp(8, 128) / 8 * 8
}

/// How a whole convolution becomes a product, if it can.
enum Form {
    /// 1x1 without padding: the input's rows as they are, or subsampled.
    Pointwise,
    /// Stride 1 with a larger kernel or padding: a padded copy of the input
    /// and an output on the padded grid.
    Shifted {
        /// Rows and columns of the padded input.
        padded: [i64; 2],
    },
    /// A larger stride with a larger kernel or padding (no dilation): the
    /// padded input split into its `sh * sw` phases (the rows and columns
    /// of each remainder modulo the strides), in which every tap reads at
    /// the output's pixels plus a constant, and an output on a phase's
    /// grid.
    Phased {
        /// Rows and columns of each phase.
        plane: [i64; 2],
    },
}

impl Form {
    fn of(shape: &ConvShape) -> Option<Self> {
        if shape.groups != 1 {
            return None;
        }
        if shape.kernel == [1, 1] && shape.pads == [0, 0] {
            return Some(Form::Pointwise);
        }
        let [_, _, h, w] = shape.input;
        if shape.strides != [1, 1] {
            if shape.dilations != [1, 1] {
                return None;
            }
            let [_, _, oh, ow] = shape.output;
            let [kh, kw] = shape.kernel;
            let [sh, sw] = shape.strides;
            let [pt, pl] = shape.pads;
            // Every tap's reach, and every padded input row and column
            // (some of which no output may read).
            let plane = [
                (oh + (kh - 1) / sh).max((pt + h + sh - 1) / sh),
                (ow + (kw - 1) / sw).max((pl + w + sw - 1) / sw),
            ];
            return Some(Form::Phased { plane });
        }
        let [_, _, oh, ow] = shape.output;
        let [kh, kw] = shape.kernel;
        let [dh, dw] = shape.dilations;
        let [pt, pl] = shape.pads;
        let padded = [oh + (kh - 1) * dh, ow + (kw - 1) * dw];
        // The padding after the input (bottom, right) is what the output
        // size leaves; it is never negative for a valid convolution.
        (padded[0] >= pt + h && padded[1] >= pl + w).then_some(Form::Shifted { padded })
    }
}

/// Emits the convolution of whole tensors if it has no groups and is a 1x1
/// convolution without padding or one without dilation or of stride 1
/// (`false`: nothing was written).
pub fn conv2d(
    f: &mut FunctionText,
    shape: &ConvShape,
    input: &View,
    filter: &View,
    bias: Option<&View>,
    out: &View,
) -> bool {
    let Some(form) = Form::of(shape) else {
        return false;
    };
    let [n, c, _, _] = shape.input;
    let [_, k, oh, ow] = shape.output;
    let [kh, kw] = shape.kernel;
    let [dh, dw] = shape.dilations;
    let mut buffers = Vec::new();
    let (input, width, grid) = match form {
        Form::Pointwise if shape.strides == [1, 1] => (input.clone(), ow, out.clone()),
        Form::Pointwise => {
            let sub = subsample(f, shape, input);
            buffers.push(sub.clone());
            (sub, ow, out.clone())
        }
        Form::Shifted { padded } => {
            let padded_input = pad(f, shape, input, padded);
            let grid = allocate(f, vec![n, k, oh, padded[1]]);
            buffers.extend([padded_input.clone(), grid.clone()]);
            (padded_input, padded[1], grid)
        }
        Form::Phased { plane } => {
            let phases = phases(f, shape, input, plane);
            let grid = allocate(f, vec![n, k, oh, plane[1]]);
            buffers.extend([phases.clone(), grid.clone()]);
            (phases, plane[1], grid)
        }
    };
    let input_columns = input.shape[2] * input.shape[3];
    let columns = (oh - 1) * width + ow;
    let mut range = |extent: i64| (f.index(0), f.index(extent));
    let (batch, channels_out, channels_in, column_range) =
        (range(n), range(k), range(c), range(columns));
    let product = Product {
        known: (Some(c), Some(columns)),
        chunk: channel_chunk(shape),
        block_channels: whole_block_channels(f),
        input: collapse(f, &input, [n, c, input_columns]),
        filter,
        bias,
        out: collapse(f, &grid, [n, k, oh * width]),
        channels_out,
        channels_in,
        columns: column_range,
        from_bias: true,
        taps: match form {
            Form::Phased { plane } => Taps {
                rows: kh,
                columns: kw,
                row_shift: width,
                column_shift: 1,
                phases: Some((shape.strides, plane[0] * plane[1])),
            },
            _ => Taps {
                rows: kh,
                columns: kw,
                row_shift: dh * width,
                column_shift: dw,
                phases: None,
            },
        },
    };
    product.emit(f, &batch);
    if !matches!(form, Form::Pointwise) {
        // The pixels of the padded grid's rows.
        copy(f, [n, k, oh, ow], (&grid, |at| at), (out, |at| at));
    }
    for buffer in buffers {
        f.line(format!(
            "memref.dealloc {} : {}",
            buffer.name,
            memref_type(&buffer.shape)
        ));
    }
    true
}

/// A buffer of `shape` on the heap (freed by the caller).
fn allocate(f: &mut FunctionText, shape: Vec<i64>) -> View {
    let name = f.assign(
        "buf",
        format!(
            "memref.alloc() {{alignment = 64 : i64}} : {}",
            memref_type(&shape)
        ),
    );
    View::whole(name, shape)
}

/// A buffer of `shape` (four dimensions) on the heap, filled with zeros.
fn zeroed(f: &mut FunctionText, shape: Vec<i64>) -> View {
    let buffer = allocate(f, shape);
    let zero = f.f32(0.0);
    let ivs = f.open_nest(&buffer.shape);
    buffer.store(f, &zero, &ivs);
    f.close_n(ivs.len());
    buffer
}

/// The input with its padding written out as zeros, in a buffer of
/// `padded` rows and columns.
fn pad(f: &mut FunctionText, shape: &ConvShape, input: &View, padded: [i64; 2]) -> View {
    let [n, c, h, w] = shape.input;
    let [pt, pl] = shape.pads;
    let buffer = zeroed(f, vec![n, c, padded[0], padded[1]]);
    copy(
        f,
        [n, c, h, w],
        (input, |at| at),
        (&buffer, |[n, c, y, x]| {
            [n, c, format!("{y} + {pt}"), format!("{x} + {pl}")]
        }),
    );
    buffer
}

/// The padded input split into its phases, in a buffer of `[n, c, sh *
/// sw * rows, columns]` (`plane` is `[rows, columns]`): phase `(ry, rx)`
/// starts at row `(ry * sw + rx) * rows` and holds the padded input's rows
/// `ry, ry + sh, ...` and columns `rx, rx + sw, ...`; the padding and the
/// rows and columns past the input are zeros.
fn phases(f: &mut FunctionText, shape: &ConvShape, input: &View, plane: [i64; 2]) -> View {
    let [n, c, h, w] = shape.input;
    let [pt, pl] = shape.pads;
    let [sh, sw] = shape.strides;
    let [rows, _] = plane;
    let buffer = zeroed(f, vec![n, c, sh * sw * rows, plane[1]]);
    copy(
        f,
        [n, c, h, w],
        (input, |at| at),
        (&buffer, |[n, c, y, x]| {
            let row = format!(
                "((({y} + {pt}) mod {sh}) * {sw} + ({x} + {pl}) mod {sw}) * {rows} + ({y} + {pt}) floordiv {sh}"
            );
            [n, c, row, format!("({x} + {pl}) floordiv {sw}")]
        }),
    );
    buffer
}

/// Copies, for every index `at` of a nest of `extents`, `from` at
/// `source(at)` to `to` at `target(at)`.
fn copy(
    f: &mut FunctionText,
    extents: [i64; 4],
    (from, source): (&View, impl Fn([String; 4]) -> [String; 4]),
    (to, target): (&View, impl Fn([String; 4]) -> [String; 4]),
) {
    let ivs: [String; 4] = f
        .open_nest(&extents)
        .try_into()
        .expect("a nest of four loops");
    let value = from.load(f, &source(ivs.clone()));
    to.store(f, &value, &target(ivs));
    f.close_n(4);
}

/// The tile kernel of a staged region's 1x1 convolution (stride 1): when
/// the step's frame spans whole rows of the output buffer and the input
/// window has the same columns, the frame's rows are one stretch of
/// columns in both buffers (at different offsets when the windows start
/// at different rows), and the product runs on them; other
/// steps run `general` (the plain loops), decided at run time. Those steps
/// are rare in the zoo's schedules; the blocked tile kernel there
/// ([`conv::conv2d_tile`]) made these kernels twice as long, and compiling
/// GoogLeNet and Inception-v3 a third slower. `false` (nothing written)
/// when the convolution is not a 1x1 one or the buffers' rows differ in
/// width.
pub fn conv2d_tile(
    f: &mut FunctionText,
    shape: &ConvShape,
    (input, filter, bias): (&View, &View, Option<&View>),
    out: &View,
    frame: &Frame,
    part: ConvPart,
    general: &dyn Fn(&mut FunctionText),
) -> bool {
    if !matches!(Form::of(shape), Some(Form::Pointwise))
        || shape.strides != [1, 1]
        || part == ConvPart::Init
        || input.shape.len() != 4
        || out.shape.len() != 4
        || input.shape[3] != out.shape[3]
    {
        return false;
    }
    let Some([batch, channels_out, (h0, h1), (w0, w1)]) = frame_symbols(f, frame) else {
        return false;
    };
    let channels_in = match &frame.reduce {
        Some((lower, upper)) => (conv::symbol(f, lower), conv::symbol(f, upper)),
        None => (f.index(0), f.index(shape.input[1] / shape.groups)),
    };
    let (row, column) = (out.start(f, 2), out.start(f, 3));
    let (input_row, input_column) = (input.start(f, 2), input.start(f, 3));
    let [_, c, _, w] = input.shape[..] else {
        return false;
    };
    let k = out.shape[1];
    f.open(format!(
        "affine.if affine_set<()[s0, s1, s2, s3] : (s0 - s2 == 0, s1 - s2 - {w} == 0, s3 - s2 == 0)>()[{w0}, {w1}, {column}, {input_column}] {{"
    ));
    let flat = |f: &mut FunctionText, view: &View, channels: i64| View {
        origin: view.origin.iter().take(2).cloned().collect(),
        ..collapse(f, view, [view.shape[0], channels, view.shape[2] * w])
    };
    let pixel = |f: &mut FunctionText, y: &str, origin: &str| {
        f.assign(
            "p",
            format!("affine.apply affine_map<()[s0, s1] -> ((s0 - s1) * {w})>()[{y}, {origin}]"),
        )
    };
    let columns = (pixel(f, &h0, &row), pixel(f, &h1, &row));
    // The windows may start at different rows (a window that caches rows
    // from step to step holds the rows before the frame's): the input's
    // columns are then the output's shifted by whole rows, as an origin of
    // its collapsed view.
    let input_shift = pixel(f, &input_row, &row);
    let mut flat_input = flat(f, input, c);
    flat_input.origin.push(input_shift);
    let product = Product {
        chunk: channel_chunk(shape),
        block_channels: TILE_BLOCK_CHANNELS,
        taps: Taps::ONE,
        known: (
            frame
                .reduce
                .is_none()
                .then_some(shape.input[1] / shape.groups),
            None,
        ),
        input: flat_input,
        filter,
        bias,
        out: flat(f, out, k),
        channels_out,
        channels_in,
        columns,
        from_bias: part == ConvPart::Whole,
    };
    product.emit(f, &batch);
    f.else_branch();
    general(f);
    f.close();
    true
}

/// The input at the output's pixels, in a buffer of the output's size.
fn subsample(f: &mut FunctionText, shape: &ConvShape, input: &View) -> View {
    let [n, c, _, _] = shape.input;
    let [_, _, oh, ow] = shape.output;
    let [sh, sw] = shape.strides;
    let buffer = allocate(f, vec![n, c, oh, ow]);
    copy(
        f,
        [n, c, oh, ow],
        (input, |[n, c, y, x]| {
            [n, c, format!("{y} * {sh}"), format!("{x} * {sw}")]
        }),
        (&buffer, |at| at),
    );
    buffer
}

/// The kernel's taps as shifts of the merged row.
#[derive(Clone, Copy)]
struct Taps {
    rows: i64,
    columns: i64,
    /// Columns of the merged row between kernel rows.
    row_shift: i64,
    /// Columns between kernel columns.
    column_shift: i64,
    /// For a phased input ([`phases`]), the strides and the columns of a
    /// phase: tap `(ky, kx)` then reads phase `(ky mod sh, kx mod sw)`,
    /// shifted by `ky floordiv sh` rows and `kx floordiv sw` columns.
    phases: Option<([i64; 2], i64)>,
}

impl Taps {
    /// The columns tap `(ky, kx)` (affine expressions) reads past the
    /// output pixel's.
    fn shift(&self, ky: &str, kx: &str) -> String {
        let (rows, columns) = (self.row_shift, self.column_shift);
        match self.phases {
            None => format!("{ky} * {rows} + {kx} * {columns}"),
            Some(([sh, sw], plane)) => format!(
                "({ky} mod {sh}) * {} + ({ky} floordiv {sh}) * {rows} + ({kx} mod {sw}) * {plane} + ({kx} floordiv {sw}) * {columns}",
                sw * plane
            ),
        }
    }

    /// A 1x1 kernel's one tap.
    const ONE: Taps = Taps {
        rows: 1,
        columns: 1,
        row_shift: 0,
        column_shift: 0,
        phases: None,
    };
}

/// The product of the filter and a stretch of columns of the collapsed
/// input (`[n, c, pixels]`), into the collapsed output. Every range is a
/// pair of affine symbols.
struct Product<'a> {
    input: View,
    filter: &'a View,
    bias: Option<&'a View>,
    out: View,
    channels_out: (String, String),
    channels_in: (String, String),
    /// Columns of the collapsed buffers (not tensor coordinates).
    columns: (String, String),
    /// The first pass starts from the bias; otherwise every pass adds to
    /// the output.
    from_bias: bool,
    /// The number of input channels and of columns, where known when
    /// compiling: loops known to be empty are left out (MLIR's
    /// canonicalizer can empty the bounds of loops nested in them, which
    /// the verifier then rejects).
    known: (Option<i64>, Option<i64>),
    /// Input channels per pass.
    chunk: i64,
    /// The most output channels per block ([`conv::block_channels`] picks
    /// as few blocks and repeated channels as that allows: 4 channels are
    /// one block of 4, not 8 with 4 repeated).
    block_channels: i64,
    taps: Taps,
}

/// What a pass emits at a block of columns: given its first column and,
/// for the last block, its lanes' masks.
type BlockBody<'b> = dyn FnMut(&mut FunctionText, &str, Option<&[String]>) + 'b;

/// Where a pass's sums start.
enum Start {
    /// The bias (or zero): the only pass, or the first.
    Bias,
    /// The partial sums in the output.
    Output,
    /// The bias where the `i1` value is true (the first pass), else the
    /// partial sums.
    BiasIf(String),
}

impl Product<'_> {
    /// Every batch in `batch`, in passes over the input channels.
    fn emit(&self, f: &mut FunctionText, batch: &(String, String)) {
        let ni = f.open_for(&batch.0, &batch.1);
        let (c0, c1) = &self.channels_in;
        let chunk_size = self.chunk;
        if self.from_bias && self.known.0.is_some_and(|channels| channels <= chunk_size) {
            let all = self.channels_in.clone();
            self.pass(f, &ni, &all, &Start::Bias);
            f.close();
            return;
        }
        let chunk = f.open_for(
            "0",
            format!("affine_map<()[s0, s1] -> ((s1 - s0) ceildiv {chunk_size})>()[{c0}, {c1}]"),
        );
        let channels = (
            format!("affine_map<(d0)[s0] -> (d0 * {chunk_size} + s0)>({chunk})[{c0}]"),
            format!(
                "min affine_map<(d0)[s0, s1] -> (d0 * {chunk_size} + s0 + {chunk_size}, s1)>({chunk})[{c0}, {c1}]"
            ),
        );
        // One pass's code for every chunk: the first picks the bias over
        // the output's (not yet written) contents, which halves the code
        // the kernel compiles to.
        let start = if self.from_bias {
            let zero = f.index(0);
            Start::BiasIf(f.assign("first", format!("arith.cmpi eq, {chunk}, {zero} : index")))
        } else {
            Start::Output
        };
        self.pass(f, &ni, &channels, &start);
        f.close_n(2);
    }

    /// Every block of columns and every block of output channels, summed
    /// over the input channels `channels` (affine bounds): the blocks of
    /// output channels inside those of columns, so that a block's input
    /// stays in L1 while the filter streams past it, unless the pass's
    /// filter is the larger ([`Product::channels_outside`]).
    fn pass(&self, f: &mut FunctionText, ni: &str, channels: &(String, String), start: &Start) {
        if self.channels_outside() {
            let per_block = conv::block_channels(self.filter.shape[0], self.block_channels);
            let (k0, k1) = &self.channels_out;
            conv::clamped_channels(f, (k0, k1), per_block, |f, out_channels| {
                self.columns(f, &mut |f, x0, masks| {
                    self.block(f, ni, out_channels, x0, masks, channels, start)
                });
            });
        } else {
            self.columns(f, &mut |f, x0, masks| {
                self.blocks(f, ni, x0, masks, channels, start)
            });
        }
    }

    /// Whether a pass runs its blocks of output channels outside those of
    /// columns: when the filter it reads is larger than
    /// [`FILTER_PASS_BYTES`] and its input smaller than
    /// [`INPUT_PASS_BYTES`], over several blocks of columns. Then each
    /// block of filter rows stays in L1 while every block of columns reads
    /// it, and the pass's input stays in L2, instead of the whole filter
    /// streaming from memory once per block of columns (the deep layers of
    /// small feature maps: ResNet-50's 2048 x 512 filters on 7x7).
    fn channels_outside(&self) -> bool {
        let width = VECTORS * LANES;
        let taps = self.taps.rows * self.taps.columns;
        let filter = self.filter.shape[0] * self.chunk * taps * 4;
        let input = self.chunk * self.input.shape[2] * 4;
        let several = self.known.1.is_some_and(|columns| columns > width);
        several && filter > FILTER_PASS_BYTES && input <= INPUT_PASS_BYTES
    }

    /// `body` at every block of columns, with the block's first column:
    /// the blocks of [`VECTORS`] whole vectors, then the columns left
    /// after them as one block with masks.
    fn columns(&self, f: &mut FunctionText, body: &mut BlockBody) {
        let width = VECTORS * LANES;
        let columns = self.known.1;
        if columns.is_none_or(|columns| columns >= width) {
            self.whole_blocks(f, body);
        }
        if columns.is_none_or(|columns| columns % width != 0) {
            self.last_block(f, body);
        }
    }

    /// The blocks of [`VECTORS`] whole vectors.
    fn whole_blocks(&self, f: &mut FunctionText, body: &mut BlockBody) {
        let (p0, p1) = &self.columns;
        let width = VECTORS * LANES;
        let block = f.open_for(
            "0",
            format!("affine_map<()[s0, s1] -> ((s1 - s0) floordiv {width})>()[{p0}, {p1}]"),
        );
        let x0 = f.assign(
            "x",
            format!("affine.apply affine_map<(d0)[s0] -> (d0 * {width} + s0)>({block})[{p0}]"),
        );
        body(f, &x0, None);
        f.close();
    }

    /// The columns after the whole blocks, if any: one block with masks.
    fn last_block(&self, f: &mut FunctionText, body: &mut BlockBody) {
        let (p0, p1) = &self.columns;
        let width = VECTORS * LANES;
        f.open_for(
            "0",
            format!(
                "affine_map<()[s0, s1] -> (((s1 - s0) mod {width}) ceildiv {width})>()[{p0}, {p1}]"
            ),
        );
        let x0 = f.assign(
            "x",
            format!(
                "affine.apply affine_map<()[s0, s1] -> (s0 + ((s1 - s0) floordiv {width}) * {width})>()[{p0}, {p1}]"
            ),
        );
        let masks = masks_before(f, &x0, p1);
        body(f, &x0, Some(&masks));
        f.close();
    }

    /// The block of columns at `x0` for every block of output channels.
    fn blocks(
        &self,
        f: &mut FunctionText,
        ni: &str,
        x0: &str,
        masks: Option<&[String]>,
        channels_in: &(String, String),
        start: &Start,
    ) {
        // Blocks of output channels where the last block's channels past
        // the end repeat the last channel ([`conv::clamped_channels`]),
        // which every block computes from the same partial sums and stores
        // last, so it is written right. One block's code serves every
        // channel count.
        let per_block = conv::block_channels(self.filter.shape[0], self.block_channels);
        let (k0, k1) = &self.channels_out;
        conv::clamped_channels(f, (k0, k1), per_block, |f, channels| {
            self.block(f, ni, channels, x0, masks, channels_in, start)
        });
    }

    /// Output `channels` (`index` values, not affine ones) at the
    /// [`VECTORS`] vectors of columns from `x0`, summed over `channels_in`.
    #[allow(clippy::too_many_arguments)]
    fn block(
        &self,
        f: &mut FunctionText,
        ni: &str,
        channels: &[String],
        x0: &str,
        masks: Option<&[String]>,
        channels_in: &(String, String),
        start: &Start,
    ) {
        let vector = format!("vector<{LANES}xf32>");
        let columns: Vec<String> = (0..VECTORS)
            .map(|j| format!("{x0} + {}", j * LANES))
            .collect();
        let mask = |j: usize| masks.map(|masks| masks[j].as_str());
        let mut accs = Vec::new();
        for channel in channels {
            let bias = match start {
                Start::Output => None,
                Start::Bias | Start::BiasIf(_) => {
                    let value = match self.bias {
                        Some(bias) => scalar_at(f, bias, std::slice::from_ref(channel)),
                        None => f.f32(0.0),
                    };
                    Some(f.assign("b", format!("vector.broadcast {value} : f32 to {vector}")))
                }
            };
            for (j, x) in columns.iter().enumerate() {
                let at = [ni.to_string(), channel.clone(), x.clone()];
                let acc = match (start, &bias) {
                    (Start::Bias, Some(bias)) => bias.clone(),
                    (Start::BiasIf(first), Some(bias)) => {
                        let partial = load_at(f, &self.out, &at, 1, mask(j));
                        f.assign(
                            "a",
                            format!("arith.select {first}, {bias}, {partial} : {vector}"),
                        )
                    }
                    _ => load_at(f, &self.out, &at, 1, mask(j)),
                };
                accs.push(acc);
            }
        }
        let taps = self.taps;
        // Loops over the kernel's rows and columns where it has more than
        // one.
        let mut bounds = vec![channels_in.clone()];
        for extent in [taps.rows, taps.columns] {
            if extent > 1 {
                bounds.push(("0".into(), extent.to_string()));
            }
        }
        let reduction = Reduction::open(f, &bounds, &accs, &vector);
        let mut ivs = reduction.ivs[1..].iter().cloned();
        let ci = reduction.ivs[0].clone();
        let ky = if taps.rows > 1 {
            ivs.next().expect("a row loop")
        } else {
            "0".into()
        };
        let kx = if taps.columns > 1 {
            ivs.next().expect("a column loop")
        } else {
            "0".into()
        };
        let mut sums = reduction.inner.clone();
        // Each tap reads the block's columns shifted by a constant. The
        // taps are loops: LLVM unrolls them, and the MLIR passes before it
        // see a ninth of a 3x3's code.
        {
            let shift = taps.shift(&ky, &kx);
            let inputs: Vec<String> = columns
                .iter()
                .enumerate()
                .map(|(j, x)| {
                    let at = [ni.to_string(), ci.clone(), format!("{x} + {shift}")];
                    load(f, &self.input, &at, mask(j))
                })
                .collect();
            for (i, channel) in channels.iter().enumerate() {
                let at = [channel.clone(), ci.clone(), ky.clone(), kx.clone()];
                let weight = scalar_at(f, self.filter, &at);
                let splat = f.assign("wv", format!("vector.broadcast {weight} : f32 to {vector}"));
                for (j, input) in inputs.iter().enumerate() {
                    let acc = &mut sums[i * columns.len() + j];
                    *acc = f.assign(
                        "s",
                        format!("vector.fma {splat}, {input}, {acc} : {vector}"),
                    );
                }
            }
        }
        let results = reduction.close(f, &sums);
        for (i, channel) in channels.iter().enumerate() {
            for (j, x) in columns.iter().enumerate() {
                let at = [ni.to_string(), channel.clone(), x.clone()];
                store_at(
                    f,
                    &self.out,
                    &at,
                    1,
                    &results[i * columns.len() + j],
                    mask(j),
                );
            }
        }
    }
}

/// The masks of the block of [`VECTORS`] vectors at `x0`: the lanes before
/// column `end` (all of them off for a vector past it).
fn masks_before(f: &mut FunctionText, x0: &str, end: &str) -> Vec<String> {
    (0..VECTORS)
        .map(|j| {
            let lanes = f.assign(
                "n",
                format!(
                    "affine.apply affine_map<(d0, d1) -> (d1 - d0 - {})>({x0}, {end})",
                    j * LANES
                ),
            );
            f.assign(
                "m",
                format!("vector.create_mask {lanes} : vector<{LANES}xi1>"),
            )
        })
        .collect()
}

/// The vector at `at` of `view`, only the lanes of `mask` when given.
fn load(f: &mut FunctionText, view: &View, at: &[String], mask: Option<&str>) -> String {
    match mask {
        None => conv::view_vector_load(f, view, at),
        Some(mask) => {
            let indices = indices(f, &view.relative(at));
            conv::masked_load_at(f, view, &indices, mask)
        }
    }
}
