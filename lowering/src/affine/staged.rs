//! A staged fusion region in affine form: its tile plan run step by step,
//! every operand window loaded into the scratchpad arena and every output
//! piece stored back by `deepfuse_rt_dma`, and every layer computed by a
//! tile kernel on arena buffers only.
//!
//! The steps share one loop body. What changes from step to step (window
//! origins, the boxes each transfer moves, the box each layer computes) is a
//! row of a constant table, `@df_region_<r>_steps : memref<S x K x i64>`;
//! what is the same at every step is a constant. A box a step does not move
//! is all zeros, which the runtime copies and counts as nothing.
//!
//! The code is generated from the plan's transfers, not re-derived: each
//! transfer of each step fills one *slot* (kind, tensor or weight, layer,
//! occurrence), so the bytes the runtime counts are the plan's, which are
//! the schedule's prediction.

use std::collections::HashMap;

use deepfuse_passes::{
    graph::Dims,
    ir::op_name,
    receptive_field::{Interval, Region},
    tile_plan::{Move, MoveKind, TransferData, TransferKind},
};
use deepfuse_runtime::{DMA_SYMBOL, DmaKind};
use melior::ir::OperationRef;

use super::{
    KernelLibrary, attribute_key,
    kernels::{self, ConvPart, Frame, View},
    text::{FunctionText, memref_type},
};
use crate::{
    buffers::BufferPlan,
    packing::PackedFilter,
    program::Program,
    staging::{
        OperandSource, StagedLayer, StagedRegion, StagedWeight, TileBuffer, holds,
        use_channel_extent,
    },
};

/// The declaration of the runtime's DMA entry point.
pub const DMA_DECLARATION: &str =
    "func.func private @deepfuse_rt_dma(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64)";

/// A value that is the same at every step, or one per step.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Cell {
    Const(i64),
    Steps(Vec<i64>),
}

impl Cell {
    fn new(values: Vec<i64>) -> Self {
        match values.first() {
            Some(&first) if values.iter().all(|&v| v == first) => Cell::Const(first),
            None => Cell::Const(0),
            Some(_) => Cell::Steps(values),
        }
    }
}

/// Which buffer an address points into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Base {
    Activations,
    Params,
    Arena,
}

/// An index argument of a tile kernel call.
#[derive(Clone, Debug)]
enum Arg {
    Cell(Cell),
    /// The first output channel of the weight-slice loop's group.
    Channel,
    /// `max(channel, cell)`.
    ChannelFrom(Cell),
    /// `min(channel + group, cell)`.
    ChannelTo(Cell),
    /// The first channel of the chunk loop's chunk.
    ChunkStart,
    /// One past its last channel.
    ChunkEnd,
    /// `max(chunk start, cell)`.
    ChunkFrom(Cell),
    /// `min(chunk end, cell)`.
    ChunkTo(Cell),
}

/// One 2-D DMA box: `rows x planes` rows of `row` bytes.
#[derive(Clone, Debug)]
struct Dma {
    kind: DmaKind,
    dst: (Base, Cell),
    src: (Base, Cell),
    planes: Cell,
    rows: Cell,
    row: Cell,
    dst_strides: (Cell, Cell),
    src_strides: (Cell, Cell),
}

/// A call of a tile kernel.
#[derive(Clone, Debug)]
struct Call {
    callee: String,
    /// Arena views passed: `(offset, shape)`.
    views: Vec<TileBuffer>,
    indices: Vec<Arg>,
}

/// What the region does, in order.
#[derive(Clone, Debug)]
enum Action {
    Dma(Dma),
    Call(Call),
    /// For every group of output channels: load each weight's slices,
    /// then call.
    Sliced {
        channels: ChannelGroups,
        /// `(weight buffer offset, parameter offset, bytes of one output
        /// channel's slice)`.
        slices: Vec<(u64, u64, u64)>,
        call: Call,
    },
    Chunked(Box<ChunkLoop>),
}

/// For every chunk of `width` channels of a streamed input:
/// load the chunk (`load` is the whole box), then compute on it (per output
/// channel with `slices`); `init` runs before the first chunk's
/// computation.
#[derive(Clone, Debug)]
struct ChunkLoop {
    chunks: i64,
    /// Channels per chunk.
    width: i64,
    /// The input box's first channel.
    base: Cell,
    load: Dma,
    /// A binary op's other input, loaded with the same chunks.
    also: Option<Dma>,
    /// The channels computed from weights kept on chip, on each chunk.
    kept: Option<KeptCall>,
    slices: Option<Slices>,
    /// The layer computes the chunk's channels (a depthwise convolution):
    /// the slice loop runs over those, loading every weight's slices for
    /// them; otherwise over all the step's output channels, the whole
    /// slices with the first chunk and a filter's chunk with each.
    channelwise: bool,
    init: Option<Call>,
    call: Call,
}

/// The calls of a layer on the kept part of its weights (whole views),
/// for the channels below those it streams.
#[derive(Clone, Debug)]
struct KeptCall {
    /// Before the first chunk of a chunked convolution: the bias.
    init: Option<Call>,
    call: Call,
}

/// Output channels, loaded and computed `group` at a time (the last group
/// may be short): all `channels`, or at each step those of `range` (a
/// channel chunk's, or none).
#[derive(Clone, Debug)]
struct ChannelGroups {
    channels: i64,
    group: i64,
    range: (Cell, Cell),
}

/// Weights streamed by output channels inside a chunk loop.
#[derive(Clone, Debug)]
struct Slices {
    channels: ChannelGroups,
    weights: Vec<WeightSlice>,
}

/// One weight of a layer streamed per output channel.
#[derive(Clone, Debug)]
struct WeightSlice {
    arena_offset: u64,
    param_offset: u64,
    /// Bytes of one output channel's slice.
    bytes: u64,
    /// A filter loaded chunk by chunk: its input channels, the bytes per
    /// input channel, and the input channels its buffer holds per output
    /// channel. `None`: loaded whole with the first chunk.
    chunked: Option<(i64, i64, i64)>,
    /// Where its chunk-major copy starts in the parameters, and its output
    /// channels ([`crate::packing`]): a chunk's slice is then one run of
    /// bytes.
    packed: Option<(u64, i64)>,
}

/// The region's actions: before the steps, at every step, after the last.
#[derive(Default)]
struct Actions {
    prologue: Vec<Action>,
    steps: Vec<Action>,
    epilogue: Vec<Action>,
}

/// Where generated code finds its buffers.
pub(super) struct Buffers<'b> {
    /// The activations' plan (off-chip offsets).
    pub plan: &'b BufferPlan,
    /// Bytes of the parameter buffer the function gets.
    pub param_bytes: u64,
    /// Bytes of the arena.
    pub arena_bytes: u64,
    /// The filters whose chunk loads read a chunk-major copy.
    pub packed: &'b [PackedFilter],
}

/// Emits `region` into `f`, with its kernels in `library` and its step table
/// in `globals`.
pub(super) fn emit(
    f: &mut FunctionText,
    library: &mut KernelLibrary,
    globals: &mut Vec<String>,
    program: &Program,
    buffers: &Buffers,
    region: &StagedRegion,
) -> Result<(), String> {
    let actions = build(library, program, buffers, region)?;
    Writer {
        f,
        region,
        buffers,
        columns: Vec::new(),
        table: String::new(),
        arena_views: HashMap::new(),
    }
    .write(&actions, globals)
}

/// The off-chip byte offset of element `(c, h, w)` of a tensor at `base`
/// whose canonical view is `dims` (of batch 1; row-major like the tensor
/// itself), and the strides of its planes and rows.
fn dram_box(base: u64, dims: Dims, region: &Region) -> (i64, i64, i64) {
    let (h, w) = (dims.h, dims.w);
    let offset = base as i64 + ((region.c.start * h + region.h.start) * w + region.w.start) * 4;
    (offset, h * w * 4, w * 4)
}

/// The arena byte offset of element `(c, h, w)` of `region` in `buffer`,
/// whose window starts at `origin`.
fn arena_box(buffer: &TileBuffer, origin: &Region, region: &Region) -> (i64, i64, i64) {
    let (h, w) = (buffer.shape[2], buffer.shape[3]);
    let offset = buffer.offset as i64
        + (((region.c.start - origin.c.start) * h + (region.h.start - origin.h.start)) * w
            + (region.w.start - origin.w.start))
            * 4;
    (offset, h * w * 4, w * 4)
}

/// The region of a tensor held by an accumulator buffer: all of it.
fn accumulator_origin() -> Region {
    let mut origin = Region::EMPTY;
    origin.n.end = 1;
    origin
}

/// Where a concat's streamed input loaded straight into the output window
/// goes: the output's buffer, seen from the input's channels (the input's
/// channel `c` is the output's `first + c`). Fails if a box of the load
/// falls outside the window, which staging ruled out.
fn into_output<'r>(
    region: &'r StagedRegion,
    layer: &StagedLayer,
    per_step: &[Option<Region>],
    first: i64,
) -> Result<Placed<'r>, String> {
    let t = layer.output;
    let buffer = region.tensors[t]
        .buffer
        .clone()
        .ok_or("a concat's output has no buffer")?;
    let origin = move |s: usize| {
        let mut window = region.plan.steps[s].regions[t];
        window.c = Interval::new(window.c.start - first, window.c.end - first);
        window
    };
    for (s, load) in per_step.iter().enumerate() {
        if let Some(load) = load.filter(|load| !load.is_empty())
            && !holds(&origin(s), &load)
        {
            return Err(format!(
                "a concat input's load at step {s} falls outside its output window"
            ));
        }
    }
    Ok((buffer, Box::new(origin)))
}

/// An arena buffer and, per step, the box of its tensor it holds.
type Placed<'r> = (TileBuffer, Box<dyn Fn(usize) -> Region + 'r>);

/// Per step, the box a slot moves, or nothing.
type PerStep = Vec<Option<Region>>;

/// A transfer's slot: kind, what it moves, its layer, and its occurrence
/// among the step's transfers with the same three.
type SlotKey = (u8, usize, usize, usize, usize);

fn slot_key(kind: TransferKind, data: &TransferData, layer: usize) -> (u8, usize, usize, usize) {
    let kind = kind as u8;
    match *data {
        TransferData::Tensor { tensor, .. } => (kind, tensor, usize::MAX, layer),
        TransferData::Weight { node, weight, .. } => (kind, node, weight, layer),
    }
}

fn build(
    library: &mut KernelLibrary,
    program: &Program,
    buffers: &Buffers,
    region: &StagedRegion,
) -> Result<Actions, String> {
    let plan = &region.plan;
    let steps = plan.steps.len();
    let mut actions = Actions::default();

    // Every tensor transfer of every step, by slot.
    let mut slots: Vec<SlotKey> = Vec::new();
    let mut boxes: HashMap<SlotKey, PerStep> = HashMap::new();
    let mut weight_loads = 0usize;
    for (s, step) in plan.steps.iter().enumerate() {
        let mut seen: HashMap<(u8, usize, usize, usize), usize> = HashMap::new();
        for transfer in &step.transfers {
            let key3 = slot_key(transfer.kind, &transfer.data, transfer.layer);
            let occurrence = seen.entry(key3).or_insert(0);
            let key = (key3.0, key3.1, key3.2, key3.3, *occurrence);
            *occurrence += 1;
            match transfer.data {
                TransferData::Tensor { region: r, .. } => {
                    let entry = boxes.entry(key).or_insert_with(|| {
                        slots.push(key);
                        vec![None; steps]
                    });
                    entry[s] = Some(r);
                }
                TransferData::Weight { .. } => weight_loads += 1,
            }
        }
    }
    slots.sort_by_key(|k| (k.3, k.0 == TransferKind::Output as u8));
    // Every weight of a layer at the steps that load its weights (all of
    // them without channel chunks, none when resident), and before the
    // first step every weight of a layer that keeps some.
    let expected: usize = region
        .layers
        .iter()
        .map(|layer| {
            let loads = layer.weight_channels.iter().filter(|(from, to)| to > from);
            loads.count() * layer.weights.len()
        })
        .sum();
    let kept: usize = region
        .layers
        .iter()
        .filter(|layer| layer.resident_channels > 0)
        .map(|layer| layer.weights.len())
        .sum();
    if weight_loads != expected || plan.prologue.len() != kept {
        return Err(format!(
            "the plan's weight transfers ({weight_loads} in steps, {} before) are not one per weight",
            plan.prologue.len()
        ));
    }

    let cell = |f: &dyn Fn(usize) -> i64| Cell::new((0..steps).map(f).collect());
    let region_of = |t: usize, s: usize| -> Region {
        if plan.tensors[t].accumulator {
            accumulator_origin()
        } else {
            plan.steps[s].regions[t]
        }
    };

    // Resident weights, or their kept channels, once.
    for layer in region
        .layers
        .iter()
        .filter(|layer| layer.resident_channels > 0)
    {
        for weight in &layer.weights {
            let buffer = weight.resident.as_ref().unwrap_or(&weight.buffer);
            actions
                .prologue
                .push(Action::Dma(whole_weight(buffers, weight.value, buffer)));
        }
    }

    // Cached overlaps: what the step keeps of the windows before it is in
    // place before the first layer runs.
    for kind in [MoveKind::Shift, MoveKind::Restore] {
        actions
            .steps
            .extend(move_dmas(region, kind)?.into_iter().map(Action::Dma));
    }
    for (p, layer) in region.layers.iter().enumerate() {
        let op = program.forward[layer.step].op;
        let name = op_name(&op);
        // Loads before the layer (a chunked input's is made chunk by chunk
        // in the layer's loop below).
        let mut chunk_load: Option<Dma> = None;
        let mut chunk_load_also: Option<Dma> = None;
        for key in slots
            .iter()
            .filter(|k| k.3 == p && k.0 == TransferKind::Input as u8)
        {
            let t = key.1;
            let per_step = &boxes[key];
            let mut chunked_use = None;
            let (buffer, origin): Placed = if plan.tensors[t].streamed {
                // The occurrence-th use of the tensor by this layer.
                let u = layer
                    .uses
                    .iter()
                    .enumerate()
                    .filter(|&(_, &used)| used == t)
                    .nth(key.4)
                    .map(|(u, _)| u)
                    .ok_or("a streamed load has no use")?;
                chunked_use = layer.chunks(u).then_some(u);
                match layer.into_output[u] {
                    Some(first) => into_output(region, layer, per_step, first)?,
                    None => {
                        let buffer = layer.use_buffers[u]
                            .clone()
                            .ok_or("a streamed use has no buffer")?;
                        (buffer, Box::new(move |s| plan.steps[s].layers[p].reads[u]))
                    }
                }
            } else {
                let buffer = region.tensors[t]
                    .buffer
                    .clone()
                    .ok_or("a loaded tensor has no buffer")?;
                (buffer, Box::new(move |s| plan.steps[s].regions[t]))
            };
            let dma = slot_dma(
                DmaKind::Input,
                region,
                buffers,
                t,
                per_step,
                (&buffer, &origin),
            );
            if let Some(u) = chunked_use {
                if layer.chunked == Some(u) {
                    chunk_load = Some(dma);
                } else {
                    chunk_load_also = Some(dma);
                }
            } else {
                actions.steps.push(Action::Dma(dma));
            }
        }
        if (layer.chunked.is_some() && chunk_load.is_none())
            || (layer.chunked_also.is_some() && chunk_load_also.is_none())
        {
            return Err("a chunked input has no load".into());
        }
        if layer.whole {
            let sliced = layer.weights.first().is_some_and(|w| w.sliced);
            if sliced {
                // A classifier's matmul, by groups of output columns.
                actions.steps.push(Action::Sliced {
                    channels: channel_groups(layer),
                    slices: slice_loads(layer, buffers),
                    call: matmul_columns_call(library, program, region, layer)?,
                });
            } else {
                if layer.resident_channels < layer.out_channels {
                    for weight in &layer.weights {
                        let dma = whole_weight(buffers, weight.value, &weight.buffer);
                        actions.steps.push(Action::Dma(dma));
                    }
                }
                let call = whole_call(library, program, region, layer)?;
                actions.steps.push(Action::Call(call));
            }
            push_stores(&mut actions, region, buffers, (&slots, &boxes), (p, None))?;
            continue;
        }
        if !layer.into_output.is_empty() && layer.into_output.iter().all(Option::is_some) {
            // A concat whose inputs were all loaded into its output.
            push_stores(&mut actions, region, buffers, (&slots, &boxes), (p, None))?;
            continue;
        }
        let chunked = layer.chunked.is_some();
        let is_conv = name == "df.conv2d";
        // A convolution over chunks of input channels adds each chunk's
        // products to its partial sums; a depthwise one computes the
        // chunk's channels, as a pool does.
        let accumulates = chunked && is_conv && !layer.depthwise;

        // The layer, with its streamed weights.
        let computes = |s: usize| plan.steps[s].layers[p].computes;
        let mut views = Vec::new();
        let mut indices = Vec::new();
        let mut tile_views = Vec::new();
        let global_pool = name == "df.global_pool";
        let frame_of: Box<dyn Fn(usize) -> Region> = if global_pool {
            Box::new(move |s| plan.steps[s].layers[p].reads[0])
        } else {
            Box::new(computes)
        };
        let sliced = layer.weights.first().is_some_and(|w| w.sliced);
        let streamed = layer.resident_channels < layer.out_channels;
        let groups = channel_groups(layer);
        let (c_lo, c_hi) = (cell(&|s| frame_of(s).c.start), cell(&|s| frame_of(s).c.end));
        if sliced {
            indices.push(Arg::ChannelFrom(c_lo));
            indices.push(Arg::ChannelTo(c_hi));
        } else if chunked && !accumulates {
            // A channelwise layer computes the chunk's channels.
            indices.push(Arg::ChunkFrom(c_lo));
            indices.push(Arg::ChunkTo(c_hi));
        } else {
            indices.push(Arg::Cell(c_lo));
            indices.push(Arg::Cell(c_hi));
        }
        indices.push(Arg::Cell(cell(&|s| frame_of(s).h.start)));
        indices.push(Arg::Cell(cell(&|s| frame_of(s).h.end)));
        indices.push(Arg::Cell(cell(&|s| frame_of(s).w.start)));
        indices.push(Arg::Cell(cell(&|s| frame_of(s).w.end)));
        if accumulates {
            // The input channels this chunk adds.
            indices.push(Arg::ChunkStart);
            indices.push(Arg::ChunkEnd);
        }
        // Where the weights' index arguments are (a call on kept buffers
        // leaves them out).
        let mut weight_indices = Vec::new();
        for source in &layer.operands {
            match *source {
                OperandSource::Activation(u) if layer.into_output[u].is_some() => {}
                OperandSource::Activation(u) => {
                    let t = layer.uses[u];
                    let (buffer, origin): Placed = match &layer.use_buffers[u] {
                        Some(buffer) => (
                            buffer.clone(),
                            Box::new(move |s| plan.steps[s].layers[p].reads[u]),
                        ),
                        None => (
                            region.tensors[t]
                                .buffer
                                .clone()
                                .ok_or("an operand has no buffer")?,
                            Box::new(move |s| region_of(t, s)),
                        ),
                    };
                    if layer.chunks(u) {
                        indices.push(Arg::ChunkStart);
                    } else {
                        indices.push(Arg::Cell(cell(&|s| origin(s).c.start)));
                    }
                    indices.push(Arg::Cell(cell(&|s| origin(s).h.start)));
                    indices.push(Arg::Cell(cell(&|s| origin(s).w.start)));
                    tile_views.push(TileView::Window);
                    views.push(buffer);
                }
                OperandSource::Weight(k) => {
                    let weight = &layer.weights[k];
                    let first = indices.len();
                    if weight.chunked {
                        indices.push(Arg::Channel);
                        indices.push(Arg::ChunkStart);
                        tile_views.push(TileView::SliceChunk);
                    } else if weight.sliced {
                        indices.push(Arg::Channel);
                        tile_views.push(TileView::Slice);
                    } else {
                        tile_views.push(TileView::Whole);
                    }
                    weight_indices.push(first..indices.len());
                    views.push(weight.buffer.clone());
                }
            }
        }
        let output = region.tensors[layer.output]
            .buffer
            .clone()
            .ok_or("an output has no buffer")?;
        if !global_pool {
            let t = layer.output;
            indices.push(Arg::Cell(cell(&|s| region_of(t, s).c.start)));
            indices.push(Arg::Cell(cell(&|s| region_of(t, s).h.start)));
            indices.push(Arg::Cell(cell(&|s| region_of(t, s).w.start)));
            tile_views.push(TileView::Window);
        } else {
            tile_views.push(TileView::Whole);
        }
        views.push(output.clone());
        let step_op = &program.forward[layer.step];
        // The operands the kernel reads, and where each starts along a
        // concat's channels.
        let mut concat_starts = Vec::new();
        let mut operand_shapes = Vec::new();
        let mut start = 0;
        for (source, &value) in layer.operands.iter().zip(&step_op.operands) {
            let shape = &program.values[value].shape;
            if !matches!(*source, OperandSource::Activation(u) if layer.into_output[u].is_some()) {
                concat_starts.push(start);
                operand_shapes.push(shape.clone());
            }
            start += shape.get(1).copied().unwrap_or(0);
        }
        let sizes = TileSizes {
            operands: operand_shapes,
            output: program.values[step_op.results[0]].shape.clone(),
            concat_starts,
        };
        let part = if accumulates {
            ConvPart::Accumulate
        } else {
            ConvPart::Whole
        };
        let noalias = !layer.in_place;
        let callee = tile_kernel(
            library,
            &op,
            &name,
            (&views, &tile_views, noalias),
            &sizes,
            part,
        )?;
        let init = if accumulates {
            Some(Call {
                callee: tile_kernel(
                    library,
                    &op,
                    &name,
                    (&views, &tile_views, noalias),
                    &sizes,
                    ConvPart::Init,
                )?,
                views: views.clone(),
                indices: indices.clone(),
            })
        } else {
            None
        };
        // A layer that keeps some channels' weights computes those from
        // the kept buffers, the others slice by slice: the first `kept`
        // channels for all steps (whole views), or the first `swept` of
        // each chunk for its sweep (views of a chunk's first channels).
        let kept = layer.resident_channels;
        let swept = layer.swept_channels;
        let kept_range = |s: usize| layer.kept_channels(frame_of(s).c);
        let kept_call = if (kept > 0 && streamed) || swept > 0 {
            let kept_from = cell(&|s| kept_range(s).0);
            let kept_to = cell(&|s| kept_range(s).1);
            let mut kept_views = views.clone();
            let mut kept_tile_views = tile_views.clone();
            for (v, source) in layer.operands.iter().enumerate() {
                if let OperandSource::Weight(k) = *source {
                    kept_views[v] = layer.weights[k]
                        .resident
                        .clone()
                        .ok_or("a partly kept weight has no kept buffer")?;
                    kept_tile_views[v] = if swept > 0 {
                        TileView::Slice
                    } else {
                        TileView::Whole
                    };
                }
            }
            let mut kept_indices = vec![Arg::Cell(kept_from.clone()), Arg::Cell(kept_to)];
            for (i, arg) in indices.iter().enumerate().skip(2) {
                match weight_indices.iter().find(|range| range.contains(&i)) {
                    // A view of a chunk's kept channels starts at the first.
                    Some(range) if swept > 0 && range.start == i => {
                        kept_indices.push(Arg::Cell(kept_from.clone()))
                    }
                    Some(_) => {}
                    None => kept_indices.push(arg.clone()),
                }
            }
            let kernel = |library: &mut KernelLibrary, part| {
                tile_kernel(
                    library,
                    &op,
                    &name,
                    (&kept_views, &kept_tile_views, noalias),
                    &sizes,
                    part,
                )
            };
            let call = Call {
                callee: kernel(library, part)?,
                views: kept_views.clone(),
                indices: kept_indices.clone(),
            };
            // A chunked convolution stores the kept channels' bias first.
            let init = match &init {
                Some(_) => Some(Call {
                    callee: kernel(library, ConvPart::Init)?,
                    views: kept_views.clone(),
                    indices: kept_indices,
                }),
                None => None,
            };
            Some(KeptCall { init, call })
        } else {
            None
        };
        // At a sweep's first tile, the weights of the chunk's kept channels
        // load into the kept buffers (nothing at the other tiles).
        let mut swept_loads = Vec::new();
        if swept > 0 {
            for weight in &layer.weights {
                let buffer = weight
                    .resident
                    .as_ref()
                    .ok_or("a weight kept for a sweep has no kept buffer")?;
                // One output channel's whole slice (`buffer` may hold a
                // chunk of its input channels only).
                let slice = (buffer.bytes() / buffer.shape[0].max(1) as u64) as i64;
                let param = buffers.plan.offsets[weight.value] as i64;
                swept_loads.push(Dma {
                    kind: DmaKind::Weight,
                    dst: (Base::Arena, Cell::Const(buffer.offset as i64)),
                    src: (Base::Params, cell(&|s| param + kept_range(s).0 * slice)),
                    planes: Cell::Const(1),
                    rows: Cell::Const(1),
                    row: cell(&|s| {
                        let (from, to) = kept_range(s);
                        if plan.steps[s].opens_sweep() {
                            (to - from) * slice
                        } else {
                            0
                        }
                    }),
                    dst_strides: (Cell::Const(0), Cell::Const(0)),
                    src_strides: (Cell::Const(0), Cell::Const(0)),
                });
            }
        }
        actions
            .steps
            .extend(swept_loads.into_iter().map(Action::Dma));
        // Such a layer's slices are the rest of the channels it loads.
        let groups = if swept > 0 {
            let streamed = |s: usize| {
                let (from, to) = layer.weight_channels[s];
                let from = from.max(kept_range(s).1);
                if from < to { (from, to) } else { (0, 0) }
            };
            ChannelGroups {
                range: (cell(&|s| streamed(s).0), cell(&|s| streamed(s).1)),
                ..groups
            }
        } else {
            groups
        };
        let call = Call {
            callee,
            views,
            indices,
        };
        let mut finish = None;
        if global_pool {
            let acc = View::whole("%arg0".into(), output.shape.clone());
            let start = library.function(
                format!(
                    "start {name}{} {}",
                    attribute_key(&op),
                    memref_type(&output.shape)
                ),
                ("df_tile", "global_pool_start"),
                &[format!(
                    "%arg0: {} {{llvm.noalias}}",
                    memref_type(&output.shape)
                )],
                |f| kernels::global_pool_start(f, &op, &acc),
            )?;
            let plane = sizes.operands[0][2] * sizes.operands[0][3];
            let finish_callee = library.function(
                format!(
                    "finish {name}{} {} {plane}",
                    attribute_key(&op),
                    memref_type(&output.shape)
                ),
                ("df_tile", "global_pool_finish"),
                &[
                    format!("%arg0: {} {{llvm.noalias}}", memref_type(&output.shape)),
                    "%fc0: index".into(),
                    "%fc1: index".into(),
                ],
                |f| kernels::global_pool_finish(f, &op, &acc, plane, ("%fc0", "%fc1")),
            )?;
            actions.prologue.push(Action::Call(Call {
                callee: start,
                views: vec![output.clone()],
                indices: Vec::new(),
            }));
            finish = Some(Call {
                callee: finish_callee,
                views: vec![output.clone()],
                indices: Vec::new(),
            });
        }
        if let Some(load) = chunk_load {
            let chunked_use = layer
                .chunked
                .expect("a chunk load comes from a chunked use");
            let per_channel = |w: &StagedWeight| {
                let shape = &program.values[w.value].shape;
                let plane: i64 = shape[2..].iter().product();
                (shape[1], plane * 4, w.buffer.shape[1])
            };
            let slices = sliced.then(|| Slices {
                channels: groups,
                weights: layer
                    .weights
                    .iter()
                    .map(|w| WeightSlice {
                        arena_offset: w.buffer.offset,
                        param_offset: buffers.plan.offsets[w.value],
                        bytes: slice_bytes(w),
                        chunked: w.chunked.then(|| per_channel(w)),
                        packed: buffers
                            .packed
                            .iter()
                            .find(|filter| filter.original == w.value)
                            .map(|filter| {
                                let out = program.values[w.value].shape[0];
                                (buffers.plan.offsets[filter.packed], out)
                            }),
                    })
                    .collect(),
            });
            if !sliced && streamed {
                for weight in &layer.weights {
                    actions.steps.push(Action::Dma(whole_weight(
                        buffers,
                        weight.value,
                        &weight.buffer,
                    )));
                }
            }
            let extent = use_channel_extent(plan, p, chunked_use);
            actions.steps.push(Action::Chunked(Box::new(ChunkLoop {
                chunks: ((extent + layer.chunk_channels - 1) / layer.chunk_channels).max(1),
                width: layer.chunk_channels,
                base: cell(&|s| plan.steps[s].layers[p].reads[chunked_use].c.start),
                load,
                also: chunk_load_also,
                kept: kept_call,
                slices,
                channelwise: layer.depthwise,
                init,
                call,
            })));
        } else if sliced {
            if let Some(kept_call) = kept_call {
                actions.steps.push(Action::Call(kept_call.call));
            }
            actions.steps.push(Action::Sliced {
                channels: groups,
                slices: slice_loads(layer, buffers),
                call,
            });
        } else {
            if streamed {
                for weight in &layer.weights {
                    actions.steps.push(Action::Dma(whole_weight(
                        buffers,
                        weight.value,
                        &weight.buffer,
                    )));
                }
            }
            actions.steps.push(Action::Call(call));
        }

        push_stores(
            &mut actions,
            region,
            buffers,
            (&slots, &boxes),
            (p, finish.as_ref()),
        )?;
    }
    // What the next row band keeps of this one, once it is all computed.
    actions.steps.extend(
        move_dmas(region, MoveKind::Save)?
            .into_iter()
            .map(Action::Dma),
    );
    Ok(actions)
}

/// The stores after layer `p`: its slots' boxes at every step, but a
/// global pool's accumulator, finished (`finish`, on channels `[c0, c1)`)
/// and stored once after the last step, or with channel chunks at each
/// step that completes some of its channels, those.
fn push_stores(
    actions: &mut Actions,
    region: &StagedRegion,
    buffers: &Buffers,
    (slots, boxes): (&[SlotKey], &HashMap<SlotKey, PerStep>),
    (p, finish): (usize, Option<&Call>),
) -> Result<(), String> {
    let plan = &region.plan;
    let steps = plan.steps.len();
    for key in slots
        .iter()
        .filter(|k| k.3 == p && k.0 == TransferKind::Output as u8)
    {
        let t = key.1;
        let per_step = &boxes[key];
        let buffer = region.tensors[t]
            .buffer
            .clone()
            .ok_or("a stored tensor has no buffer")?;
        let accumulator = plan.tensors[t].accumulator;
        let origin = |s: usize| {
            if accumulator {
                accumulator_origin()
            } else {
                plan.steps[s].regions[t]
            }
        };
        let dma = slot_dma(
            DmaKind::Output,
            region,
            buffers,
            t,
            per_step,
            (&buffer, &origin),
        );
        let finish = || {
            finish
                .cloned()
                .ok_or("an accumulator has no finishing kernel")
        };
        if accumulator && per_step[..steps - 1].iter().any(Option::is_some) {
            // Channel chunks complete at different steps: each step
            // finishes and stores the channels it completes.
            let channels = |end: fn(&Region) -> i64| {
                Cell::new(per_step.iter().map(|r| r.as_ref().map_or(0, end)).collect())
            };
            let mut call = finish()?;
            call.indices = vec![
                Arg::Cell(channels(|r| r.c.start)),
                Arg::Cell(channels(|r| r.c.end)),
            ];
            actions.steps.push(Action::Call(call));
            actions.steps.push(Action::Dma(dma));
        } else if accumulator {
            // The whole accumulator, once, after the last step.
            let mut call = finish()?;
            let channels = plan.tensors[t].dims.c;
            call.indices = vec![Arg::Cell(Cell::Const(0)), Arg::Cell(Cell::Const(channels))];
            actions.epilogue.push(Action::Call(call));
            let mut last = dma;
            for c in [
                &mut last.dst.1,
                &mut last.src.1,
                &mut last.planes,
                &mut last.rows,
                &mut last.row,
                &mut last.dst_strides.0,
                &mut last.dst_strides.1,
                &mut last.src_strides.0,
                &mut last.src_strides.1,
            ] {
                if let Cell::Steps(values) = c {
                    *c = Cell::Const(*values.last().expect("one value per step"));
                }
            }
            actions.epilogue.push(Action::Dma(last));
        } else {
            actions.steps.push(Action::Dma(dma));
        }
    }
    Ok(())
}

/// The arena buffers of a whole layer's operands and output, viewed with
/// the tensors' shapes (flat for a reshape, as op by op) and the weights'
/// buffers as they are (slices of output columns for a matmul's).
fn whole_views(
    program: &Program,
    region: &StagedRegion,
    layer: &StagedLayer,
) -> Result<Vec<TileBuffer>, String> {
    let step = &program.forward[layer.step];
    let flat = matches!(op_name(&step.op).as_str(), "df.reshape" | "df.flatten");
    let shape_of = |value: usize| {
        if flat {
            vec![program.values[step.results[0]].elements()]
        } else {
            program.values[value].shape.clone()
        }
    };
    let mut views = Vec::new();
    for (source, &value) in layer.operands.iter().zip(&step.operands) {
        views.push(match *source {
            OperandSource::Activation(u) => {
                let buffer = layer.use_buffers[u]
                    .as_ref()
                    .or(region.tensors[layer.uses[u]].buffer.as_ref())
                    .ok_or("an operand of a whole layer has no buffer")?;
                TileBuffer {
                    offset: buffer.offset,
                    shape: shape_of(value),
                }
            }
            OperandSource::Weight(k) => layer.weights[k].buffer.clone(),
        });
    }
    let output = region.tensors[layer.output]
        .buffer
        .as_ref()
        .ok_or("a whole layer's output has no buffer")?;
    views.push(TileBuffer {
        offset: output.offset,
        shape: shape_of(step.results[0]),
    });
    Ok(views)
}

/// The call of a whole layer: the op's own kernel (the one op-by-op code
/// calls) on its arena buffers.
fn whole_call(
    library: &mut KernelLibrary,
    program: &Program,
    region: &StagedRegion,
    layer: &StagedLayer,
) -> Result<Call, String> {
    let op = program.forward[layer.step].op;
    let views = whole_views(program, region, layer)?;
    let as_view = |buffer: &TileBuffer| View::whole(String::new(), buffer.shape.clone());
    let (ins, out) = views.split_at(views.len() - 1);
    let ins: Vec<View> = ins.iter().map(as_view).collect();
    let callee = library.kernel(&op, &op_name(&op), &ins, &[as_view(&out[0])])?;
    Ok(Call {
        callee,
        views,
        indices: Vec::new(),
    })
}

/// The call of a whole matmul whose transposed right operand (and bias)
/// stream by groups of output columns: arguments are the left operand, the
/// slices, the output, the group's columns `[start, end)` and its first
/// column (the slices' origin).
fn matmul_columns_call(
    library: &mut KernelLibrary,
    program: &Program,
    region: &StagedRegion,
    layer: &StagedLayer,
) -> Result<Call, String> {
    let op = program.forward[layer.step].op;
    let views = whole_views(program, region, layer)?;
    let mut key = format!("columns df.matmul{}", attribute_key(&op));
    let mut parameters = Vec::new();
    let mut args = Vec::new();
    for (i, view) in views.iter().enumerate() {
        let ty = memref_type(&view.shape);
        key.push_str(&format!(" {ty}"));
        parameters.push(format!("%arg{i}: {ty} {{llvm.noalias}}"));
        // The slices start at the group's first column.
        let mut origin = vec![String::new(); view.shape.len()];
        if let Some(OperandSource::Weight(_)) = layer.operands.get(i) {
            origin[0] = "%origin".to_string();
        }
        args.push(View {
            name: format!("%arg{i}"),
            shape: view.shape.clone(),
            origin,
        });
    }
    for name in ["%start", "%end", "%origin"] {
        parameters.push(format!("{name}: index"));
    }
    let callee = library.function(key, ("df_tile", "matmul"), &parameters, |f| {
        let (ins, out) = args.split_at(args.len() - 1);
        kernels::matmul(f, &op, ins, &out[0], Some(("%start", "%end")))
    })?;
    Ok(Call {
        callee,
        views,
        indices: vec![
            Arg::ChannelFrom(Cell::Const(0)),
            Arg::ChannelTo(Cell::Const(layer.out_channels)),
            Arg::Channel,
        ],
    })
}

/// The groups of output channels `layer` loads its sliced weights in: at
/// each step, those of its weight channels.
fn channel_groups(layer: &StagedLayer) -> ChannelGroups {
    let range =
        |end: fn(&(i64, i64)) -> i64| Cell::new(layer.weight_channels.iter().map(end).collect());
    ChannelGroups {
        channels: layer.out_channels,
        group: layer.slice_channels,
        range: (range(|c| c.0), range(|c| c.1)),
    }
}

/// Per sliced weight of `layer`: its arena buffer, its parameter offset and
/// the bytes of one output channel's slice.
fn slice_loads(layer: &StagedLayer, buffers: &Buffers) -> Vec<(u64, u64, u64)> {
    layer
        .weights
        .iter()
        .map(|w| {
            (
                w.buffer.offset,
                buffers.plan.offsets[w.value],
                slice_bytes(w),
            )
        })
        .collect()
}

/// Bytes of one output channel's slice of a sliced weight's buffer.
fn slice_bytes(weight: &StagedWeight) -> u64 {
    weight.buffer.bytes() / weight.buffer.shape[0].max(1) as u64
}

/// A DMA of one whole weight into its arena buffer.
fn whole_weight(buffers: &Buffers, value: usize, buffer: &TileBuffer) -> Dma {
    let bytes = buffer.bytes() as i64;
    Dma {
        kind: DmaKind::Weight,
        dst: (Base::Arena, Cell::Const(buffer.offset as i64)),
        src: (
            Base::Params,
            Cell::Const(buffers.plan.offsets[value] as i64),
        ),
        planes: Cell::Const(1),
        rows: Cell::Const(1),
        row: Cell::Const(bytes),
        dst_strides: (Cell::Const(0), Cell::Const(0)),
        src_strides: (Cell::Const(0), Cell::Const(0)),
    }
}

/// The DMA of a tensor slot: per step, its box (or nothing), between the
/// arena (`arena(step, box)`) and off-chip memory (`dram(box)`).
fn tensor_dma(
    kind: DmaKind,
    steps: usize,
    per_step: &[Option<Region>],
    arena: impl Fn(usize, &Region) -> (i64, i64, i64),
    dram: impl Fn(&Region) -> (i64, i64, i64),
) -> Dma {
    let arena_side = (
        Base::Arena,
        &arena as &dyn Fn(usize, &Region) -> (i64, i64, i64),
    );
    let dram = |_: usize, r: &Region| dram(r);
    let dram_side = (
        Base::Activations,
        &dram as &dyn Fn(usize, &Region) -> (i64, i64, i64),
    );
    if kind == DmaKind::Output {
        box_dma(kind, steps, per_step, dram_side, arena_side)
    } else {
        box_dma(kind, steps, per_step, arena_side, dram_side)
    }
}

/// The DMA of a slot of tensor `t` between its off-chip place and `buffer`,
/// whose window starts at `origin(step)`.
fn slot_dma(
    kind: DmaKind,
    region: &StagedRegion,
    buffers: &Buffers,
    t: usize,
    per_step: &[Option<Region>],
    (buffer, origin): (&TileBuffer, &dyn Fn(usize) -> Region),
) -> Dma {
    let dims = region.plan.tensors[t].dims;
    let dram = buffers.plan.offsets[region.tensors[t].value];
    tensor_dma(
        kind,
        region.plan.steps.len(),
        per_step,
        |s, r| arena_box(buffer, &origin(s), r),
        |r| dram_box(dram, dims, r),
    )
}

/// Where one side of a box DMA is, per step and box: the address and the
/// strides of planes and rows, in bytes.
type BoxSide<'a> = (Base, &'a dyn Fn(usize, &Region) -> (i64, i64, i64));

/// The DMA of a slot moving, per step, a box (or nothing) from `src` to
/// `dst`.
fn box_dma(
    kind: DmaKind,
    steps: usize,
    per_step: &[Option<Region>],
    (dst_base, dst): BoxSide,
    (src_base, src): BoxSide,
) -> Dma {
    let mut columns: [Vec<i64>; 9] = Default::default();
    for (s, per) in per_step.iter().enumerate().take(steps) {
        let row = match per {
            Some(r) => {
                let (d, d0, d1) = dst(s, r);
                let (a, a0, a1) = src(s, r);
                [d, a, r.c.len(), r.h.len(), r.w.len() * 4, d0, d1, a0, a1]
            }
            None => [0; 9],
        };
        for (column, value) in columns.iter_mut().zip(row) {
            column.push(value);
        }
    }
    let [d, a, planes, rows, row, d0, d1, a0, a1] = columns.map(Cell::new);
    Dma {
        kind,
        dst: (dst_base, d),
        src: (src_base, a),
        planes,
        rows,
        row,
        dst_strides: (d0, d1),
        src_strides: (a0, a1),
    }
}

/// The on-chip moves of `kind` of the region's cached tensors: one DMA per
/// tensor and occurrence in a step, a box of zeros at the steps without it.
fn move_dmas(region: &StagedRegion, kind: MoveKind) -> Result<Vec<Dma>, String> {
    let plan = &region.plan;
    let steps = plan.steps.len();
    // Per slot (tensor, occurrence): its move at every step, or none.
    type Slot = ((usize, usize), Vec<Option<Move>>);
    let mut slots: Vec<Slot> = Vec::new();
    for (s, step) in plan.steps.iter().enumerate() {
        let mut seen: HashMap<usize, usize> = HashMap::new();
        for mv in step.moves.iter().filter(|mv| mv.kind == kind) {
            let occurrence = seen.entry(mv.tensor).or_insert(0);
            let key = (mv.tensor, *occurrence);
            *occurrence += 1;
            let slot = match slots.iter().position(|(k, _)| *k == key) {
                Some(slot) => slot,
                None => {
                    slots.push((key, vec![None; steps]));
                    slots.len() - 1
                }
            };
            slots[slot].1[s] = Some(*mv);
        }
    }
    slots
        .into_iter()
        .map(|((t, _), moves)| {
            let per_step: PerStep = moves.iter().map(|mv| mv.map(|mv| mv.region)).collect();
            let window = region.tensors[t]
                .buffer
                .as_ref()
                .ok_or("a cached tensor has no buffer")?;
            let at: &dyn Fn(usize, &Region) -> (i64, i64, i64) =
                &|s, r| arena_box(window, &plan.steps[s].regions[t], r);
            let window_side = (Base::Arena, at);
            if kind == MoveKind::Shift {
                // From the layout of the window the buffer holds (the last
                // step that needed the tensor), as the plan says.
                let from: &dyn Fn(usize, &Region) -> (i64, i64, i64) = &|s, r| {
                    let held = moves[s].map_or(Region::EMPTY, |mv| mv.from);
                    arena_box(window, &held, r)
                };
                let dma = box_dma(
                    DmaKind::Move,
                    steps,
                    &per_step,
                    window_side,
                    (Base::Arena, from),
                );
                return Ok(dma);
            }
            let (Some(line), Some(line_box)) = (&region.tensors[t].line, plan.tensors[t].line)
            else {
                return Err("a line buffer move of a tensor without one".to_string());
            };
            // Line row 0 holds the box's first row; a channel sits where it
            // sits in the step's window.
            let in_line: &dyn Fn(usize, &Region) -> (i64, i64, i64) = &|s, r| {
                let c = plan.steps[s].regions[t].c;
                let origin = Region {
                    h: r.h,
                    c,
                    ..line_box
                };
                arena_box(line, &origin, r)
            };
            let line_side = (Base::Arena, in_line);
            Ok(if kind == MoveKind::Restore {
                box_dma(DmaKind::Move, steps, &per_step, window_side, line_side)
            } else {
                box_dma(DmaKind::Move, steps, &per_step, line_side, window_side)
            })
        })
        .collect()
}

/// How a tile kernel sees one of its buffers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TileView {
    /// A window of an activation: origin arguments for c, h and w.
    Window,
    /// One output channel of a weight: an origin argument for dimension 0.
    Slice,
    /// One output channel and one chunk of input channels of a filter:
    /// origin arguments for dimensions 0 and 1.
    SliceChunk,
    /// A whole weight or accumulator.
    Whole,
}

/// The tensors' own shapes (the kernel's views hold windows).
struct TileSizes {
    /// Of the operands the kernel reads.
    operands: Vec<Vec<i64>>,
    output: Vec<i64>,
    /// Per operand, its first channel in a channel concat's output (the
    /// concat skips the inputs loaded straight into its output).
    concat_starts: Vec<i64>,
}

/// The tile kernel of `op` on `views`: arguments are the views, then the
/// frame `c0, c1, h0, h1, w0, w1`, then the origins the views need, in view
/// order.
fn tile_kernel(
    library: &mut KernelLibrary,
    op: &OperationRef,
    name: &str,
    (views, kinds, noalias): (&[TileBuffer], &[TileView], bool),
    sizes: &TileSizes,
    part: ConvPart,
) -> Result<String, String> {
    // Without `noalias` when an elementwise layer computes in place.
    let alias = if noalias { " {llvm.noalias}" } else { "" };
    let mut key = format!("tile {name}{} {part:?}{alias}", attribute_key(op));
    for (view, kind) in views.iter().zip(kinds) {
        key.push_str(&format!(" {}:{kind:?}", memref_type(&view.shape)));
    }
    key.push_str(&format!(
        " {:?} {:?} {:?}",
        sizes.operands, sizes.output, sizes.concat_starts
    ));
    let mut parameters = Vec::new();
    let mut args = Vec::new();
    for (i, view) in views.iter().enumerate() {
        parameters.push(format!("%arg{i}: {}{alias}", memref_type(&view.shape)));
    }
    // Not `%c0`...: the function's constants are named `%c<n>`.
    let frame_names = ["%fc0", "%fc1", "%fh0", "%fh1", "%fw0", "%fw1"];
    for name in frame_names {
        parameters.push(format!("{name}: index"));
    }
    let reduce = (part != ConvPart::Whole).then(|| ("%fr0".to_string(), "%fr1".to_string()));
    if let Some((lower, upper)) = &reduce {
        parameters.push(format!("{lower}: index"));
        parameters.push(format!("{upper}: index"));
    }
    for (i, (view, kind)) in views.iter().zip(kinds).enumerate() {
        let mut origin = vec![String::new(); view.shape.len()];
        match kind {
            TileView::Window => {
                for (d, dim) in ["c", "h", "w"].iter().enumerate() {
                    let name = format!("%o{i}{dim}");
                    parameters.push(format!("{name}: index"));
                    origin[d + 1] = name;
                }
            }
            TileView::Slice => {
                let name = format!("%o{i}k");
                parameters.push(format!("{name}: index"));
                origin[0] = name;
            }
            TileView::SliceChunk => {
                for (d, dim) in ["k", "c"].iter().enumerate() {
                    let name = format!("%o{i}{dim}");
                    parameters.push(format!("{name}: index"));
                    origin[d] = name;
                }
            }
            TileView::Whole => {}
        }
        args.push(View {
            name: format!("%arg{i}"),
            shape: view.shape.clone(),
            origin,
        });
    }
    let frame = Frame {
        bounds: vec![
            ("0".into(), "1".into()),
            (frame_names[0].into(), frame_names[1].into()),
            (frame_names[2].into(), frame_names[3].into()),
            (frame_names[4].into(), frame_names[5].into()),
        ],
        reduce,
    };
    let (ins, out) = args.split_at(args.len() - 1);
    let out = &out[0];
    let suffix = name.trim_start_matches("df.");
    let four = |shape: &[i64]| -> Result<[i64; 4], String> {
        shape
            .try_into()
            .map_err(|_| "a tile operand must be 4-D".to_string())
    };
    library.function(key, ("df_tile", suffix), &parameters, |f| match name {
        "df.conv2d" => {
            let input = four(&sizes.operands[0])?;
            let output = four(&sizes.output)?;
            kernels::conv2d(
                f,
                op,
                ins,
                out,
                &frame,
                (input, [output[2], output[3]]),
                part,
            )
        }
        "df.pool2d" => {
            let input = four(&sizes.operands[0])?;
            kernels::pool2d(f, op, ins, out, &frame, [input[2], input[3]])
        }
        "df.global_pool" => kernels::global_pool_accumulate(f, op, &ins[0], out, &frame),
        "df.add" => kernels::binary_op(f, "addf", ins, out, &frame),
        "df.mul" => kernels::binary_op(f, "mulf", ins, out, &frame),
        "df.activation" => kernels::activation(f, op, ins, out, &frame),
        "df.batch_norm" => kernels::batch_norm(f, op, ins, out, &frame),
        "df.concat" => {
            let pieces: Vec<(i64, i64)> = (sizes.concat_starts.iter().copied())
                .zip(sizes.operands.iter().map(|s| s[1]))
                .collect();
            kernels::concat(f, op, ins, out, &frame, &pieces)
        }
        other => Err(format!("'{other}' has no tile kernel")),
    })
}

/// Writes actions as MLIR.
struct Writer<'w, 'b> {
    f: &'w mut FunctionText,
    region: &'w StagedRegion,
    buffers: &'w Buffers<'b>,
    /// Per table column, its value at every step.
    columns: Vec<Vec<i64>>,
    /// The SSA name of the table inside the step loop.
    table: String,
    arena_views: HashMap<(u64, Vec<i64>), String>,
}

impl Writer<'_, '_> {
    fn write(mut self, actions: &Actions, globals: &mut Vec<String>) -> Result<(), String> {
        let steps = self.region.plan.steps.len();
        let r = self.region.region;
        // Columns are numbered as the loop body uses them; the table's
        // global is written once they are all known.
        let table_type = format!("memref<{steps}x{{K}}xi64>");
        self.table = format!("%df_steps_{r}");
        for action in &actions.prologue {
            self.action(action, "")?;
        }
        debug_assert!(self.columns.is_empty(), "the prologue reads no table");
        let s = self.f.open_for("0", steps.to_string());
        for action in &actions.steps {
            self.action(action, &s)?;
        }
        self.f.close();
        for action in &actions.epilogue {
            self.action(action, "")?;
        }
        let k = self.columns.len().max(1);
        let table_type = table_type.replace("{K}", &k.to_string());
        let rows: Vec<String> = (0..steps)
            .map(|s| {
                let row: Vec<String> = if self.columns.is_empty() {
                    vec!["0".into()]
                } else {
                    self.columns.iter().map(|c| c[s].to_string()).collect()
                };
                format!("[{}]", row.join(", "))
            })
            .collect();
        globals.push(format!(
            "memref.global \"private\" constant @df_region_{r}_steps : {table_type} = dense<[{}]>\n",
            rows.join(", ")
        ));
        self.f.prologue_line(format!(
            "{} = memref.get_global @df_region_{r}_steps : {table_type}",
            self.table
        ));
        // The loads name the table's type; it is fixed now.
        self.f
            .replace_all(&format!("memref<{steps}x{{K}}xi64>"), &table_type);
        Ok(())
    }

    /// An `i64` value of `cell` at step `s`.
    fn i64(&mut self, cell: &Cell, s: &str) -> String {
        match cell {
            Cell::Const(v) => self.f.i64(*v),
            Cell::Steps(values) => {
                let column = self.columns.len();
                self.columns.push(values.clone());
                let index = self.f.index(column as i64);
                let value = self.f.fresh("s");
                let steps = self.region.plan.steps.len();
                self.f.line(format!(
                    "{value} = memref.load {}[{s}, {index}] : memref<{steps}x{{K}}xi64>",
                    self.table
                ));
                value
            }
        }
    }

    /// An `index` value of `cell` at step `s`.
    fn index(&mut self, cell: &Cell, s: &str) -> String {
        match cell {
            Cell::Const(v) => self.f.index(*v),
            Cell::Steps(_) => {
                let value = self.i64(cell, s);
                let cast = self.f.fresh("x");
                self.f
                    .line(format!("{cast} = arith.index_cast {value} : i64 to index"));
                cast
            }
        }
    }

    /// The base address of `base`, as `i64`.
    fn base(&mut self, base: Base) -> String {
        let (name, bytes) = match base {
            Base::Activations => ("act", self.buffers.plan.activation_bytes),
            Base::Params => ("params", self.buffers.param_bytes),
            Base::Arena => ("arena", self.buffers.arena_bytes),
        };
        self.f.base_address(name, bytes)
    }

    fn address(&mut self, (base, offset): &(Base, Cell), s: &str) -> String {
        let base = self.base(*base);
        let offset = self.i64(offset, s);
        let address = self.f.fresh("p");
        self.f
            .line(format!("{address} = arith.addi {base}, {offset} : i64"));
        address
    }

    /// `deepfuse_rt_dma(kind, region, dst, src, rest...)`.
    fn call_dma(&mut self, kind: DmaKind, dst: &str, src: &str, rest: &[String]) {
        let kind = self.f.i64(kind as i64);
        let region = self.f.i64(self.region.region as i64);
        self.f.line(format!(
            "func.call @{DMA_SYMBOL}({kind}, {region}, {dst}, {src}, {}) : ({}) -> ()",
            rest.join(", "),
            ["i64"; 11].join(", ")
        ));
    }

    fn dma(&mut self, dma: &Dma, s: &str) {
        let dst = self.address(&dma.dst, s);
        let src = self.address(&dma.src, s);
        let rest: Vec<String> = [
            &dma.planes,
            &dma.rows,
            &dma.row,
            &dma.dst_strides.0,
            &dma.dst_strides.1,
            &dma.src_strides.0,
            &dma.src_strides.1,
        ]
        .into_iter()
        .map(|cell| self.i64(cell, s))
        .collect();
        self.call_dma(dma.kind, &dst, &src, &rest);
    }

    fn view(&mut self, buffer: &TileBuffer) -> String {
        let key = (buffer.offset, buffer.shape.clone());
        if let Some(name) = self.arena_views.get(&key) {
            return name.clone();
        }
        let offset = self.f.index(buffer.offset as i64);
        let name = self.f.fresh("b");
        self.f.prologue_line(format!(
            "{name} = memref.view %arena[{offset}][] : memref<{}xi8> to {}",
            self.buffers.arena_bytes.max(1),
            memref_type(&buffer.shape)
        ));
        self.arena_views.insert(key, name.clone());
        name
    }

    /// A binary `arith` op on two values of type `ty`.
    fn arith(&mut self, op: &str, a: &str, b: &str, ty: &str) -> String {
        let value = self.f.fresh("x");
        self.f.line(format!("{value} = arith.{op} {a}, {b} : {ty}"));
        value
    }

    fn cast_to_i64(&mut self, index: &str) -> String {
        let value = self.f.fresh("x");
        self.f
            .line(format!("{value} = arith.index_cast {index} : index to i64"));
        value
    }

    /// A weight DMA of `rows` rows of `row` bytes from parameter byte
    /// `src_offset` to arena byte `arena_offset`, rows `strides` (arena,
    /// parameters) bytes apart; all but the arena offset are `i64` values.
    fn weight_dma(
        &mut self,
        arena_offset: u64,
        src_offset: &str,
        (rows, row): (&str, &str),
        strides: (&str, &str),
    ) {
        let params = self.base(Base::Params);
        let src = self.arith("addi", &params, src_offset, "i64");
        let arena = self.base(Base::Arena);
        let dst_offset = self.f.i64(arena_offset as i64);
        let dst = self.arith("addi", &arena, &dst_offset, "i64");
        let one = self.f.i64(1);
        let zero = self.f.i64(0);
        let rest = [
            one,
            rows.to_string(),
            row.to_string(),
            zero.clone(),
            strides.0.to_string(),
            zero,
            strides.1.to_string(),
        ];
        self.call_dma(DmaKind::Weight, &dst, &src, &rest);
    }

    /// The DMA of the slices of output channels `[k, k + count)` of a
    /// weight (contiguous, as the channels lead); `count` is an `i64`
    /// value.
    fn slice_dma(
        &mut self,
        k: &str,
        count: &str,
        (arena_offset, param_offset, bytes): (u64, u64, u64),
    ) {
        let k64 = self.cast_to_i64(k);
        let size = self.f.i64(bytes as i64);
        let slice = self.arith("muli", &k64, &size, "i64");
        let start = self.f.i64(param_offset as i64);
        let offset = self.arith("addi", &start, &slice, "i64");
        let total = self.arith("muli", count, &size, "i64");
        let one = self.f.i64(1);
        let zero = self.f.i64(0);
        self.weight_dma(arena_offset, &offset, (&one, &total), (&zero, &zero));
    }

    /// The DMA of a chunked filter's slice (nothing for a weight loaded
    /// whole): output channels `[k, k +
    /// rows)` (`rows` an `i64` value) by input channels `[start, start +
    /// count)`. In the filter's own layout the rows are a filter row apart;
    /// in its chunk-major copy, the chunk's `K` rows of `count` channels
    /// start at channel `start * K`, and the slice is one run.
    fn filter_chunk_dma(
        &mut self,
        weight: &WeightSlice,
        (k, rows): (&str, &str),
        (start, count): (&str, &str),
    ) {
        let Some((channels, per_channel, held)) = weight.chunked else {
            return;
        };
        // The slice's first input channel, counted over the rows before it.
        let (first, count64, param) = match weight.packed {
            None => {
                let channels_index = self.f.index(channels);
                let first = self.arith("muli", k, &channels_index, "index");
                let first = self.arith("addi", &first, start, "index");
                let first = self.cast_to_i64(&first);
                (first, self.cast_to_i64(count), weight.param_offset)
            }
            Some((param, out)) => {
                let out = self.f.index(out);
                let before = self.arith("muli", start, &out, "index");
                let before = self.cast_to_i64(&before);
                let k64 = self.cast_to_i64(k);
                let count64 = self.cast_to_i64(count);
                let within = self.arith("muli", &k64, &count64, "i64");
                let first = self.arith("addi", &before, &within, "i64");
                (first, count64, param)
            }
        };
        let per_channel_bytes = self.f.i64(per_channel);
        let offset = self.arith("muli", &first, &per_channel_bytes, "i64");
        let param = self.f.i64(param as i64);
        let offset = self.arith("addi", &param, &offset, "i64");
        let bytes = self.arith("muli", &count64, &per_channel_bytes, "i64");
        let dst_stride = self.f.i64(held * per_channel);
        let src_stride = match weight.packed {
            Some(_) => bytes.clone(),
            None => self.f.i64(channels * per_channel),
        };
        self.weight_dma(
            weight.arena_offset,
            &offset,
            (rows, &bytes),
            (&dst_stride, &src_stride),
        );
    }

    /// Opens a loop over channels `[from, to)` by `group`: its induction
    /// variable and the group's channel count (the last may be short) as
    /// an `i64` value.
    fn open_range(&mut self, from: &str, to: &str, group: i64) -> (String, String) {
        let step = self.f.index(group);
        let k = self.f.fresh("i");
        self.f
            .open(format!("scf.for {k} = {from} to {to} step {step} {{"));
        let left = self.arith("subi", to, &k, "index");
        let count = self.arith("minsi", &left, &step, "index");
        let count = self.cast_to_i64(&count);
        (k, count)
    }

    /// Opens the loop over `groups`: its induction variable (the group's
    /// first channel) and the group's channel count as an `i64` value.
    fn open_groups(&mut self, groups: &ChannelGroups, s: &str) -> (String, String) {
        let ChannelGroups {
            channels,
            group,
            range,
        } = groups;
        let (channels, group) = (*channels, *group);
        if *range != (Cell::Const(0), Cell::Const(channels)) {
            // A step's own channels (a chunk's, or none).
            let from = self.index(&range.0, s);
            let to = self.index(&range.1, s);
            return self.open_range(&from, &to, group);
        }
        let k = self.f.fresh("i");
        self.f
            .open(format!("affine.for {k} = 0 to {channels} step {group} {{"));
        let count = if channels % group == 0 {
            self.f.i64(group)
        } else {
            let count = self.f.fresh("x");
            self.f.line(format!(
                "{count} = affine.min affine_map<(d0) -> ({group}, {channels} - d0)>({k})"
            ));
            self.cast_to_i64(&count)
        };
        (k, count)
    }

    fn call(&mut self, call: &Call, s: &str, loops: &Loops) -> Result<(), String> {
        let mut arguments = Vec::new();
        let mut types = Vec::new();
        for buffer in &call.views {
            arguments.push(self.view(buffer));
            types.push(memref_type(&buffer.shape));
        }
        let outside = || "a loop argument outside its loop".to_string();
        for arg in &call.indices {
            let value = match arg {
                Arg::Cell(cell) => self.index(cell, s),
                Arg::Channel => loops.k.clone().ok_or_else(outside)?.0,
                Arg::ChannelFrom(cell) => {
                    let (k, _) = loops.k.clone().ok_or_else(outside)?;
                    let bound = self.index(cell, s);
                    self.arith("maxsi", &k, &bound, "index")
                }
                Arg::ChannelTo(cell) => {
                    let (k, group) = loops.k.clone().ok_or_else(outside)?;
                    let bound = self.index(cell, s);
                    let group = self.f.index(group);
                    let next = self.arith("addi", &k, &group, "index");
                    self.arith("minsi", &next, &bound, "index")
                }
                Arg::ChunkStart => loops.chunk.clone().ok_or_else(outside)?.0,
                Arg::ChunkEnd => loops.chunk.clone().ok_or_else(outside)?.1,
                Arg::ChunkFrom(cell) => {
                    let start = loops.chunk.clone().ok_or_else(outside)?.0;
                    let bound = self.index(cell, s);
                    self.arith("maxsi", &start, &bound, "index")
                }
                Arg::ChunkTo(cell) => {
                    let end = loops.chunk.clone().ok_or_else(outside)?.1;
                    let bound = self.index(cell, s);
                    self.arith("minsi", &end, &bound, "index")
                }
            };
            arguments.push(value);
            types.push("index".into());
        }
        self.f.line(format!(
            "func.call @{}({}) : ({}) -> ()",
            call.callee,
            arguments.join(", "),
            types.join(", ")
        ));
        Ok(())
    }

    /// The load of one chunk of `count` channels of `load`'s box, from its
    /// channel `skipped` on.
    fn chunk_dma(&mut self, load: &Dma, s: &str, skipped: &str, count: &str) {
        let dst = self.address(&load.dst, s);
        let src = self.address(&load.src, s);
        let src_plane = self.i64(&load.src_strides.0, s);
        let skipped64 = self.cast_to_i64(skipped);
        let delta = self.arith("muli", &skipped64, &src_plane, "i64");
        let src = self.arith("addi", &src, &delta, "i64");
        let planes = self.cast_to_i64(count);
        let mut rest = vec![planes];
        for cell in [
            &load.rows,
            &load.row,
            &load.dst_strides.0,
            &load.dst_strides.1,
            &load.src_strides.0,
            &load.src_strides.1,
        ] {
            rest.push(self.i64(cell, s));
        }
        self.call_dma(load.kind, &dst, &src, &rest);
    }

    /// Opens `affine.if` on `iv == 0`.
    fn open_if_first(&mut self, iv: &str) {
        self.f
            .open(format!("affine.if affine_set<(d0) : (d0 == 0)>({iv}) {{"));
    }

    fn action(&mut self, action: &Action, s: &str) -> Result<(), String> {
        match action {
            Action::Dma(dma) => self.dma(dma, s),
            Action::Call(call) => self.call(call, s, &Loops::default())?,
            Action::Sliced {
                channels,
                slices,
                call,
            } => {
                let (k, count) = self.open_groups(channels, s);
                for &slice in slices {
                    self.slice_dma(&k, &count, slice);
                }
                let loops = Loops {
                    k: Some((k, channels.group)),
                    chunk: None,
                };
                self.call(call, s, &loops)?;
                self.f.close();
            }
            Action::Chunked(chunk_loop) => {
                let ChunkLoop {
                    chunks,
                    width,
                    base,
                    load,
                    also,
                    kept,
                    slices,
                    channelwise,
                    init,
                    call,
                } = chunk_loop.as_ref();
                let j = self.f.open_for("0", chunks.to_string());
                let size = self.f.index(*width);
                let skipped = self.arith("muli", &j, &size, "index");
                let base = self.index(base, s);
                let start = self.arith("addi", &base, &skipped, "index");
                // This chunk's channels: at most `width` of what is
                // left of the box (nothing for an empty box).
                let extent = self.index(&load.planes, s);
                let left = self.arith("subi", &extent, &skipped, "index");
                let zero = self.f.index(0);
                let positive = self.arith("maxsi", &left, &zero, "index");
                let count = self.arith("minsi", &positive, &size, "index");
                let end = self.arith("addi", &start, &count, "index");

                for load in std::iter::once(load).chain(also) {
                    self.chunk_dma(load, s, &skipped, &count);
                }

                let mut loops = Loops {
                    k: None,
                    chunk: Some((start.clone(), end.clone())),
                };
                if let Some(kept) = kept {
                    if let Some(init) = &kept.init {
                        self.open_if_first(&j);
                        self.call(init, s, &loops)?;
                        self.f.close();
                    }
                    self.call(&kept.call, s, &loops)?;
                }
                match slices {
                    Some(slices) if *channelwise => {
                        let group = slices.channels.group;
                        let (k, group_count) = self.open_range(&start, &end, group);
                        loops.k = Some((k.clone(), group));
                        for weight in &slices.weights {
                            self.slice_dma(
                                &k,
                                &group_count,
                                (weight.arena_offset, weight.param_offset, weight.bytes),
                            );
                        }
                        self.call(call, s, &loops)?;
                        self.f.close();
                    }
                    Some(slices) => {
                        let (k, group_count) = self.open_groups(&slices.channels, s);
                        loops.k = Some((k.clone(), slices.channels.group));
                        // Whole slices (a bias) with the first chunk, the
                        // bias stored before the first products.
                        self.open_if_first(&j);
                        for weight in slices.weights.iter().filter(|w| w.chunked.is_none()) {
                            self.slice_dma(
                                &k,
                                &group_count,
                                (weight.arena_offset, weight.param_offset, weight.bytes),
                            );
                        }
                        if let Some(init) = init {
                            self.call(init, s, &loops)?;
                        }
                        self.f.close();
                        // The filter's slices for these output channels and
                        // this chunk: per output channel, contiguous input
                        // channels.
                        for weight in &slices.weights {
                            self.filter_chunk_dma(weight, (&k, &group_count), (&start, &count));
                        }
                        self.call(call, s, &loops)?;
                        self.f.close();
                    }
                    None => {
                        if let Some(init) = init {
                            self.open_if_first(&j);
                            self.call(init, s, &loops)?;
                            self.f.close();
                        }
                        self.call(call, s, &loops)?;
                    }
                }
                self.f.close();
            }
        }
        Ok(())
    }
}

/// The induction variables of the loops around a call.
#[derive(Clone, Debug, Default)]
struct Loops {
    /// The first output channel of a weight-slice loop's group, and the
    /// group's size.
    k: Option<(String, i64)>,
    /// The `[start, end)` channels of a chunk loop's chunk.
    chunk: Option<(String, String)>,
}
