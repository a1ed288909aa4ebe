//! The explicit tile plan of a fusion group: every step of its execution,
//! the region of every tensor at that step, and the DMA transfers the step
//! makes, byte for byte what the cost model ([`crate::cost`]) predicts.
//!
//! The cost model works with per-dimension statistics ([`DimStats`]): sums
//! and maxima over tiles. A code generator needs the tiles themselves. This
//! module enumerates them with the same backward inference (per dimension,
//! per tile: an output's window is its proportional piece of the reference
//! tile, hulled with what its readers in the group read; an operand's window
//! is the reader's [`DimMap`] applied to the reader's window; a global pool
//! reads the proportional piece of its input) and checks the result against
//! the model's [`DimStats`] before returning it.
//!
//! **Supported subset.** Only what the model defines without ambiguity for
//! one step at a time is planned; anything else is [`Unsupported`]:
//!
//! - overlaps recomputed or cached along rows and columns. With a cached
//!   overlap, a tensor that keeps one ([`PlanTensor::cached`]) has a
//!   buffer that lives across steps and holds its window at every step; a
//!   step computes (or, for an input, loads) only the part of the window the
//!   tiles before did not ([`LayerStep::computes`] is then a sub-box of the
//!   window), and on-chip [`Move`]s carry the rest: a shift within the
//!   buffer from the tile before in the same band (cached columns, or rows
//!   with one column tile), and with rows cached over several column tiles
//!   a line buffer ([`PlanTensor::line`]) that each band fills for the next.
//!   With channel chunks outside the spatial tiles, each chunk's sweep
//!   starts afresh; with chunks inside, a cached window has the channels of
//!   every chunk (each chunk computes or loads its own) and moves at a
//!   tile's first chunk, when the tile before is complete. Only where what a
//!   tile keeps lies in the last window before it (and, for a line buffer,
//!   column windows advance);
//! - channel chunks in either loop order (row tiles outside column tiles).
//!   With chunks inside the spatial tiles, the layers whose region does not
//!   depend on the chunk (the model's phase 1) run at a tile's first chunk
//!   only: at the later chunks they compute nothing, and what they computed
//!   or loaded stays on chip (their [`Step::regions`] entries stay), as do
//!   kept inputs that do not depend on the chunk. Their output pieces are
//!   written at the first chunk, for all chunks. With chunks outside, every
//!   step runs every layer. A layer in the chunk loop loads only its
//!   chunk's output channels of its streamed weights;
//! - external inputs kept for all their uses in a step (one load of the hull
//!   of the uses' windows) or streamed per use (one load per use), exactly as
//!   the model decides (`stream_inputs`, and single-use inputs);
//! - weights kept on chip for all steps, per layer its first output
//!   channels' slices (none: [`WeightMode::Streamed`], all:
//!   [`WeightMode::Resident`], else [`WeightMode::Partial`]), loaded in the
//!   prologue; the other channels are streamed, at every step the layer runs
//!   in, even where it computes nothing (an output smaller than the
//!   reference can have empty pieces). [`plan`] takes what the evaluation
//!   keeps; [`plan_with_weights`] all or nothing;
//! - weights the model keeps one chunk at a time for a sweep (a layer of
//!   the chunk loop with chunks outside): each chunk's first
//!   [`TilePlan::swept_channels`] output channels load with the others at
//!   the chunk's first tile and stay for its sweep, the other tiles load
//!   the rest; a chunk whose window has fewer channels (the last one, or
//!   a concat input's piece of a chunk) keeps as many as it has. Weights
//!   kept in part, or per sweep, for a layer whose chunks' channel windows
//!   overlap are [`Unsupported::UnplannedResidency`] (the model counts the
//!   part's saving in proportion to its bytes, which whole channels do not
//!   match there).
//!
//! Transfers are whole boxes: the model's streaming of inputs in chunks of
//! `stream_channels` channels and of weights one output channel at a time
//! (footprint matters) splits them without changing their bytes.
//!
//! **Writes.** Each group output is written exactly once: at every step, the
//! step's *piece* of it, the reference tile mapped proportionally onto the
//! output ([`crate::cost`]'s rule for outputs other than the reference). The
//! pieces of one output partition it. An output also read inside the group
//! (an intermediate that is also an output) is computed on a larger window
//! (halo included) but only its piece is written. A global-pool accumulator
//! is written once, after the last step.
//!
//! With these rules the summed bytes of a plan equal the model's traffic:
//! input bytes equal `traffic.input`, output bytes `traffic.output`, and
//! weight bytes `traffic.weight` when the evaluation keeps no weights
//! resident, or the total of the weights when it keeps them all.

use serde::Serialize;
use thiserror::Error;

use crate::{
    cost::{
        ChunkPlan, CostConfig, DimStats, GroupModel, LoopOrder, MemberInfo, Scratch, Traffic,
        UseInfo, fresh_parts, proportional,
    },
    graph::{Dim, Dims, LayerGraph, NodeId, ValueId},
    receptive_field::{DimMap, Interval, Region, dim_map},
};

pub use crate::cost::Tiling;

/// How weights move in a plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WeightMode {
    /// Every weighted layer loads all its weights at every step (through the
    /// one-output-channel buffer of the model); nothing stays on chip.
    Streamed,
    /// Every weighted layer's weights are loaded once, in
    /// [`TilePlan::prologue`], and stay on chip for all steps.
    Resident,
    /// Some layers keep some of their weights on chip: the first
    /// [`TilePlan::resident_channels`] output channels' slices, loaded in
    /// the prologue; the other channels are streamed as in
    /// [`WeightMode::Streamed`].
    Partial,
}

/// Why a tiling has no plan (yet).
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum Unsupported {
    /// A cached overlap the plan does not follow: windows that do not
    /// advance from tile to tile.
    #[error("cached overlap along {dim:?} of value {value}: {reason}")]
    CachedOverlap {
        /// The dimension (`H` or `W`).
        dim: Dim,
        /// A value that keeps an overlap.
        value: ValueId,
        /// What the plan does not follow.
        reason: &'static str,
    },
    /// Weights kept on chip in a way the plan does not follow: part of a
    /// layer's, or a chunk's for its sweep of the spatial tiles, when the
    /// layer's chunks' channel windows overlap (the model counts the part's
    /// saving in proportion to its bytes).
    #[error(
        "{resident} of {total} weight bytes kept on chip in part for a layer whose channel \
         chunks overlap; only whole layers' weights are kept for such layers"
    )]
    UnplannedResidency {
        /// Bytes the evaluation keeps resident.
        resident: u64,
        /// Bytes of all weights.
        total: u64,
    },
    /// The enumerated regions disagree with the cost model's statistics (a
    /// bug in one of them).
    #[error("the tile plan disagrees with the cost model: {0}")]
    ModelMismatch(String),
}

/// A tensor the group touches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlanTensor {
    /// The value.
    pub value: ValueId,
    /// Its canonical `n x c x h x w` view (regions are boxes in it).
    pub dims: Dims,
    /// Bytes per element.
    pub elem_bytes: u64,
    /// The member producing it; `None` for an external input (read from
    /// memory).
    pub producer: Option<NodeId>,
    /// Written to memory (read outside the group, a network output, or
    /// dead).
    pub is_output: bool,
    /// The result of a global pool: a `n x c x 1 x 1` accumulator updated by
    /// every step and written once after the last one.
    pub accumulator: bool,
    /// An external input loaded once per use (per reading layer operand) in
    /// every step, instead of once per step for all its uses.
    pub streamed: bool,
    /// With channel chunks inside the spatial tiles: computed (or loaded)
    /// at a tile's first chunk and read at every chunk, so its buffer stays
    /// to the end of every step.
    pub kept_across_chunks: bool,
    /// Keeps the overlap of its windows between tiles (a cached overlap):
    /// its buffer holds its window at every step and lives across steps;
    /// [`Step::moves`] carry the kept part from one step's window to the
    /// next, and a step computes (or loads) only the rest.
    pub cached: bool,
    /// With rows cached over several column tiles: the box of its line
    /// buffer, which keeps the rows the next row band shares with this one
    /// for every column: as many channels as the widest window has (a
    /// channel's place in the line is its place in the step's window), rows
    /// `[0, overlap)` (the largest overlap, counted from the first kept
    /// row) and the columns of all its windows.
    pub line: Option<Region>,
}

/// How an on-chip move carries kept data (see [`Move`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum MoveKind {
    /// Within the tensor's buffer: from its place in the previous step's
    /// window to its place in this step's (towards the buffer's start).
    Shift,
    /// From the line buffer into the window, row `h` from line row
    /// `h - region.h.start`.
    Restore,
    /// From the window into the line buffer, row `h` to line row
    /// `h - region.h.start`, for the next row band.
    Save,
}

/// An on-chip copy of a box of a cached tensor (no off-chip traffic).
/// Shifts, then restores, happen before a step's first layer; saves after
/// its last (with channel chunks inside the spatial tiles, at a tile's
/// first and last chunk).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Move {
    /// Shift, restore or save.
    pub kind: MoveKind,
    /// Index into [`TilePlan::tensors`].
    pub tensor: usize,
    /// The box, in elements of the tensor's canonical view (never empty).
    pub region: Region,
    /// For a shift, the window the buffer holds before it (that of the
    /// last step that needed the tensor), whose layout the box is in;
    /// [`Region::EMPTY`] otherwise.
    pub from: Region,
}

/// What a transfer moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum TransferKind {
    /// Activation read (counted as input traffic).
    Input,
    /// Weight read.
    Weight,
    /// Activation write.
    Output,
}

/// The data of a transfer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum TransferData {
    /// A box of an activation tensor.
    Tensor {
        /// Index into [`TilePlan::tensors`].
        tensor: usize,
        /// The box, in elements of the tensor's canonical view (never empty).
        region: Region,
    },
    /// A range of one weight tensor of a layer, flattened.
    Weight {
        /// The layer.
        node: NodeId,
        /// Index into the node's [`crate::graph::Node::weights`].
        weight: usize,
        /// Elements `[start, end)` of the flattened weight: all of it, or the
        /// slices of a chunk's output channels.
        elements: Interval,
    },
}

/// One DMA transfer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Transfer {
    /// Input, weight or output.
    pub kind: TransferKind,
    /// What it moves.
    pub data: TransferData,
    /// Bytes moved: elements times bytes per element (the batch counted
    /// whole).
    pub bytes: u64,
    /// When, as an index into [`Step::layers`] (into [`TilePlan::nodes`]
    /// for the prologue): loads happen before that layer runs, stores after.
    pub layer: usize,
}

/// What one layer does in one step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LayerStep {
    /// The layer.
    pub node: NodeId,
    /// The region of its output it computes in this step ([`Region::EMPTY`]
    /// when none); for a global pool, the accumulator's region it updates.
    pub computes: Region,
    /// Per activation operand (in operand order), the region it reads: a
    /// sub-box of that operand's [`Step::regions`] entry.
    pub reads: Vec<Region>,
}

/// One step: one row tile, one column tile, one channel chunk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Step {
    /// Row tile, column tile and channel chunk indices.
    pub tile: [usize; 3],
    /// The reference tile: rows, columns and channels of the grid
    /// ([`GroupModel::grid`]) this step covers (batch `[0, 1)`).
    pub reference: Region,
    /// Per tensor (indexed like [`TilePlan::tensors`]), the region on chip in
    /// this step: loaded for a kept external input (a streamed one is loaded
    /// per use, see [`LayerStep::reads`]), computed for the others
    /// ([`Region::EMPTY`] when the step needs none of it). With channel
    /// chunks inside the spatial tiles, a cached tensor's has the channels
    /// of every chunk, of which the step computes or loads its chunk's.
    pub regions: Vec<Region>,
    /// The layers, in execution order (that of [`TilePlan::nodes`]).
    pub layers: Vec<LayerStep>,
    /// The step's transfers, in execution order.
    pub transfers: Vec<Transfer>,
    /// The on-chip moves of cached overlaps, in order.
    pub moves: Vec<Move>,
}

/// The enumerated execution of a group under one tiling.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TilePlan {
    /// The tiling planned.
    pub tiling: Tiling,
    /// Weight handling.
    pub weights: WeightMode,
    /// Per layer (as [`TilePlan::nodes`]), the output channels `[0, r)`
    /// whose weights are loaded in the prologue and stay on chip: none when
    /// streamed, all when resident.
    pub resident_channels: Vec<i64>,
    /// Per layer, with channel chunks outside the spatial tiles: how many
    /// of each chunk's first output channels have their weights loaded at
    /// the chunk's first tile (in the same transfer as the others) and kept
    /// for the rest of its sweep; the other tiles load the rest only.
    pub swept_channels: Vec<i64>,
    /// The member nodes, in execution order: a topological order with the
    /// layers outside the chunk loop first (the cost model's phase 1).
    pub nodes: Vec<NodeId>,
    /// Per layer (as [`TilePlan::nodes`]): its window depends on the channel
    /// chunk (the model's phase 2). With chunks inside the spatial tiles,
    /// the other layers run at a tile's first chunk only.
    pub in_chunk_loop: Vec<bool>,
    /// Every tensor the group touches: external inputs and members' results,
    /// in order of first appearance (as the cost model indexes them).
    pub tensors: Vec<PlanTensor>,
    /// The tile grid's size: row tiles, column tiles, channel chunks.
    pub tiles: [usize; 3],
    /// Transfers before the first step (resident weights).
    pub prologue: Vec<Transfer>,
    /// The steps, in the tiling's loop order (row tiles outside column
    /// tiles; channel chunks innermost or outermost).
    pub steps: Vec<Step>,
}

impl Step {
    /// Whether the step is its chunk's first spatial tile: with channel
    /// chunks outside the spatial tiles, where the chunk's sweep starts.
    pub fn opens_sweep(&self) -> bool {
        self.tile[..2] == [0, 0]
    }
}

impl TilePlan {
    /// Every transfer: the prologue's, then each step's.
    pub fn transfers(&self) -> impl Iterator<Item = &Transfer> {
        self.prologue
            .iter()
            .chain(self.steps.iter().flat_map(|s| s.transfers.iter()))
    }

    /// Summed bytes by kind.
    pub fn traffic(&self) -> Traffic {
        let mut traffic = Traffic::default();
        for t in self.transfers() {
            match t.kind {
                TransferKind::Input => traffic.input += t.bytes,
                TransferKind::Weight => traffic.weight += t.bytes,
                TransferKind::Output => traffic.output += t.bytes,
            }
        }
        traffic
    }

    /// The index in [`TilePlan::tensors`] of `value`.
    pub fn tensor_of(&self, value: ValueId) -> Option<usize> {
        self.tensors.iter().position(|t| t.value == value)
    }
}

/// The plan of `tiling` with the weights the cost model keeps on chip
/// under `config`, layer by layer (whole output channels): for all steps,
/// or per channel chunk for its sweep (a chunk-dependent layer with channel
/// chunks outside, whose chunks must be equal; see
/// [`Unsupported::UnplannedResidency`]). The plan does not check that the
/// tiling fits the capacity (the evaluation says so).
pub fn plan(
    model: &GroupModel,
    tiling: &Tiling,
    config: &CostConfig,
) -> Result<TilePlan, Unsupported> {
    let analysis = Analysis::new(model, tiling);
    let Analysis {
        chans,
        rows,
        cols,
        chunks,
    } = &analysis;
    let mut scratch = Scratch::default();
    let evaluation = model.evaluate_with(tiling, chans, rows, cols, config, &mut scratch);
    let per_sweep = chans.count > 1 && tiling.order == LoopOrder::ChannelOuter;
    let mut resident = vec![0; model.members.len()];
    let mut swept = vec![0; model.members.len()];
    for (m, member) in model.members.iter().enumerate() {
        let taken = scratch.resident_by_member[m];
        let overlapping = chans.new_sum[member.output] != member.out_channels;
        let part = taken > 0 && taken < member.weight_bytes;
        // The model counts a part of the weights in whole channels when
        // the chunks' windows do not overlap (which `build` checks).
        let unplanned = (part || per_sweep) && overlapping;
        if taken > 0 && chunks.phase2[m] && unplanned {
            return Err(Unsupported::UnplannedResidency {
                resident: evaluation.resident_weights,
                total: model.weight_bytes(),
            });
        }
        // Whole channels (the model keeps them so).
        let channels = if taken >= member.weight_bytes {
            member.out_channels
        } else {
            (taken * member.out_channels.max(1) as u64 / member.weight_bytes.max(1)) as i64
        };
        if taken > 0 && chunks.phase2[m] && per_sweep {
            // The model keeps this many of each chunk's channels (its
            // footprint is a chunk's slice) for the chunk's sweep.
            swept[m] = channels;
        } else {
            resident[m] = channels;
        }
    }
    build(model, tiling, &analysis, resident, swept)
}

/// The plan of `tiling` with weights handled as `weights` (whatever the
/// capacity: the plan does not check the footprint). [`WeightMode::Partial`]
/// needs the model's choice: see [`plan`].
pub fn plan_with_weights(
    model: &GroupModel,
    tiling: &Tiling,
    weights: WeightMode,
) -> Result<TilePlan, Unsupported> {
    let resident = model
        .members
        .iter()
        .map(|member| match weights {
            WeightMode::Resident => member.out_channels,
            WeightMode::Streamed | WeightMode::Partial => 0,
        })
        .collect();
    let swept = vec![0; model.members.len()];
    build(
        model,
        tiling,
        &Analysis::new(model, tiling),
        resident,
        swept,
    )
}

/// The per-dimension statistics of a tiling and its chunk plan, computed
/// once for the evaluation and the plan.
struct Analysis {
    chans: DimStats,
    rows: DimStats,
    cols: DimStats,
    chunks: ChunkPlan,
}

impl Analysis {
    fn new(model: &GroupModel, tiling: &Tiling) -> Self {
        let chans = model.dim_stats(Dim::C, tiling.tile_c, false);
        Analysis {
            rows: model.dim_stats(Dim::H, tiling.tile_h, tiling.overlap.cache_rows),
            cols: model.dim_stats(Dim::W, tiling.tile_w, tiling.overlap.cache_cols),
            chunks: model.chunk_plan(&chans),
            chans,
        }
    }
}

/// The group's members, tensors and uses as the cost model analysed them
/// (same indices), with the tensors as the plan describes them.
struct Structure<'m> {
    members: &'m [MemberInfo],
    tensors: Vec<PlanTensor>,
    tensor_uses: Vec<&'m [usize]>,
    uses: &'m [UseInfo],
}

impl<'m> Structure<'m> {
    fn new(model: &'m GroupModel) -> Self {
        let members = model.members.as_slice();
        Structure {
            members,
            tensors: model
                .tensors
                .iter()
                .map(|t| PlanTensor {
                    value: t.value,
                    dims: t.dims,
                    elem_bytes: t.elem_bytes,
                    producer: t.producer.map(|m| members[m].node),
                    is_output: t.is_output,
                    accumulator: t.accumulator,
                    streamed: false,
                    kept_across_chunks: false,
                    cached: false,
                    line: None,
                })
                .collect(),
            tensor_uses: model.tensors.iter().map(|t| t.uses.as_slice()).collect(),
            uses: &model.uses,
        }
    }
}

/// The windows of one dimension at every tile.
struct DimWindows {
    /// Number of tiles.
    count: usize,
    /// Per tile, the reference tile.
    reference: Vec<Interval>,
    /// Per tensor and tile, the window on chip.
    need: Vec<Vec<Interval>>,
    /// Per tensor and tile, the part of the window the tile computes or
    /// loads: all of it, or with a cached overlap what the tiles before did
    /// not.
    fresh: Vec<Vec<Interval>>,
    /// Per tensor and tile, the piece written (outputs only).
    piece: Vec<Vec<Interval>>,
    /// Per use and tile, the window read.
    read: Vec<Vec<Interval>>,
}

impl DimWindows {
    /// The backward inference of the cost model along `dim`, for tiles of
    /// `tile` of a grid of `grid`, with overlaps between tiles kept on chip
    /// when `cached` (a layer then reads what its output's fresh part
    /// needs).
    fn new(
        graph: &LayerGraph,
        s: &Structure,
        dim: Dim,
        (tile, grid): (i64, i64),
        cached: bool,
    ) -> Self {
        let tile = tile.clamp(1, grid.max(1));
        let count = ((grid.max(1) + tile - 1) / tile) as usize;
        let reference: Vec<Interval> = (0..count as i64)
            .map(|i| Interval::new(i * tile, ((i + 1) * tile).min(grid)))
            .collect();
        let nt = s.tensors.len();
        let mut need = vec![vec![Interval::EMPTY; count]; nt];
        let mut fresh = vec![Vec::new(); nt];
        let mut piece = vec![vec![Interval::EMPTY; count]; nt];
        for (t, tensor) in s.tensors.iter().enumerate() {
            if !tensor.is_output {
                continue;
            }
            for i in 0..count {
                piece[t][i] = if tensor.accumulator && dim != Dim::C {
                    Interval::full(1)
                } else {
                    proportional(reference[i], grid, tensor.dims.get(dim))
                };
                need[t][i] = piece[t][i];
            }
        }
        let mut read = vec![vec![Interval::EMPTY; count]; s.uses.len()];
        for member in s.members.iter().rev() {
            // Its readers come later: its windows are complete.
            fresh[member.output] = fresh_parts(&need[member.output], cached);
            for (operand, &u) in member.uses.iter().enumerate() {
                let t = s.uses[u].tensor;
                let map: DimMap = dim_map(graph, member.node, operand, dim);
                for i in 0..count {
                    let rf = if member.accumulates && dim != Dim::C {
                        proportional(reference[i], grid, s.tensors[t].dims.get(dim))
                    } else {
                        map.apply(fresh[member.output][i])
                    };
                    read[u][i] = rf;
                    need[t][i] = need[t][i].hull(&rf);
                }
            }
        }
        for (t, tensor) in s.tensors.iter().enumerate() {
            if tensor.producer.is_none() {
                fresh[t] = fresh_parts(&need[t], cached);
            }
        }
        DimWindows {
            count,
            reference,
            need,
            fresh,
            piece,
            read,
        }
    }

    /// The largest part of tensor `t`'s window kept from the tiles before.
    fn overlap(&self, t: usize) -> i64 {
        self.need[t]
            .iter()
            .zip(&self.fresh[t])
            .map(|(window, fresh)| window.len() - fresh.len())
            .max()
            .unwrap_or(0)
    }

    /// Whether what each tile keeps of tensor `t` (its window up to the
    /// furthest end of the windows before it) lies in the last window
    /// before it that is not empty: the one its buffer holds, from which
    /// the moves take it.
    fn keeps_from_last(&self, t: usize) -> bool {
        let mut last: Option<Interval> = None;
        let mut furthest = i64::MIN;
        for window in self.need[t].iter().filter(|w| !w.is_empty()) {
            let kept = Interval::new(window.start, window.end.min(furthest));
            let held = |last: Interval| last.start <= kept.start && kept.end <= last.end;
            if !kept.is_empty() && !last.is_some_and(held) {
                return false;
            }
            furthest = furthest.max(window.end);
            last = Some(*window);
        }
        true
    }

    /// Whether tensor `t`'s windows advance from tile to tile (neither end
    /// goes back; tiles that need none of it skipped).
    fn advances(&self, t: usize) -> bool {
        let windows: Vec<&Interval> = self.need[t].iter().filter(|w| !w.is_empty()).collect();
        windows
            .windows(2)
            .all(|p| p[0].start <= p[1].start && p[0].end <= p[1].end)
    }

    /// Checks the windows against the cost model's statistics.
    fn check(&self, s: &Structure, stats: &DimStats) -> Result<(), Unsupported> {
        let mismatch = |what: String| Err(Unsupported::ModelMismatch(what));
        if stats.count != self.count
            || stats.window_max.len() != s.tensors.len()
            || stats.use_sum.len() != s.uses.len()
        {
            return mismatch(format!("shape of the {:?} statistics", stats.dim));
        }
        let summary = |windows: &[Interval]| {
            let max = windows.iter().map(Interval::len).max().unwrap_or(0);
            let sum: i64 = windows.iter().map(Interval::len).sum();
            (max, sum)
        };
        for (t, windows) in self.need.iter().enumerate() {
            let max = summary(windows).0;
            let sum = summary(&self.fresh[t]).1;
            let overlap = self.overlap(t);
            let extent = windows
                .iter()
                .fold(Interval::EMPTY, |hull, w| hull.hull(w))
                .len();
            let model = (
                stats.window_max[t],
                stats.new_sum[t],
                stats.extent[t],
                stats.overlap_max[t],
            );
            if (max, sum, extent, overlap) != model {
                return mismatch(format!(
                    "value {} along {:?}: windows max/sum/extent/overlap \
                     {max}/{sum}/{extent}/{overlap}, model {model:?}",
                    s.tensors[t].value, stats.dim,
                ));
            }
        }
        for (u, windows) in self.read.iter().enumerate() {
            if summary(windows) != (stats.use_max[u], stats.use_sum[u]) {
                return mismatch(format!(
                    "a read of value {} along {:?}",
                    s.tensors[s.uses[u].tensor].value, stats.dim
                ));
            }
        }
        Ok(())
    }
}

/// The box of tensor `dims` with the given intervals (the batch whole);
/// [`Region::EMPTY`] if any is empty.
fn region(dims: Dims, c: Interval, h: Interval, w: Interval) -> Region {
    let region = Region {
        n: Interval::full(dims.n),
        c,
        h,
        w,
    };
    if region.is_empty() {
        Region::EMPTY
    } else {
        region
    }
}

/// The plan of `tiling` with the first `resident[m]` output channels of
/// member `m`'s weights kept on chip, and the first `swept[m]` of each of
/// its chunks' output channels kept for the chunk's sweep (channel chunks
/// outside the spatial tiles).
fn build(
    model: &GroupModel,
    tiling: &Tiling,
    analysis: &Analysis,
    resident: Vec<i64>,
    swept: Vec<i64>,
) -> Result<TilePlan, Unsupported> {
    let graph = model.graph();
    let mut s = Structure::new(model);
    let [grid_c, grid_h, grid_w] = model.grid();

    let Analysis {
        chans,
        rows,
        cols,
        chunks,
    } = analysis;
    // Tensors that keep an overlap between tiles (the model's rule: a
    // global pool's accumulator is kept anyway).
    let overlap_dim = |t: usize| {
        if rows.overlap_max[t] > 0 {
            Some(Dim::H)
        } else if cols.overlap_max[t] > 0 {
            Some(Dim::W)
        } else {
            None
        }
    };
    for (t, tensor) in s.tensors.iter_mut().enumerate() {
        tensor.cached = !tensor.accumulator && overlap_dim(t).is_some();
    }
    let phase2 = |m: usize| chunks.phase2[m];
    // With chunks inside the spatial tiles, phase 1 runs at a tile's first
    // chunk only and what it computes and loads stays on chip.
    let chunks_inside = chans.count > 1 && tiling.order == LoopOrder::SpatialOuter;
    // External inputs: streamed per use when asked, or when single-use and
    // streaming costs no extra reads (the model's rule); kept for all uses
    // otherwise.
    for (t, tensor) in s.tensors.iter_mut().enumerate() {
        if tensor.producer.is_none() {
            let uses = s.tensor_uses[t];
            let free = uses.len() == 1
                && (!chunks_inside || !phase2(s.uses[uses[0]].member) || chans.varies[t]);
            // A cached input keeps its overlap in its window buffer.
            tensor.streamed = !tensor.cached && (tiling.stream_inputs || free);
        }
        tensor.kept_across_chunks =
            chunks_inside && !tensor.streamed && chunks.read_by_chunk_loop(t);
    }

    let c = DimWindows::new(graph, &s, Dim::C, (tiling.tile_c, grid_c), false);
    let h = DimWindows::new(graph, &s, Dim::H, (tiling.tile_h, grid_h), rows.cached);
    let w = DimWindows::new(graph, &s, Dim::W, (tiling.tile_w, grid_w), cols.cached);
    c.check(&s, chans)?;
    h.check(&s, rows)?;
    w.check(&s, cols)?;
    // Per tensor and chunk, the channels of its window. With chunks inside
    // the spatial tiles, a cached buffer carries its window from tile to
    // tile for every chunk at once (the model keeps every chunk's
    // channels): its window has all of them, of which each chunk computes
    // or loads its own.
    let channels: Vec<Vec<Interval>> = (0..s.tensors.len())
        .map(|t| {
            if chunks_inside && s.tensors[t].cached {
                let all = c.need[t]
                    .iter()
                    .fold(Interval::EMPTY, |hull, k| hull.hull(k));
                vec![all; c.count]
            } else {
                c.need[t].clone()
            }
        })
        .collect();
    // What a tile keeps must lie in the last window before it (the moves
    // carry it from there).
    for (t, tensor) in s.tensors.iter_mut().enumerate() {
        if !tensor.cached {
            continue;
        }
        let line = h.overlap(t) > 0 && w.count > 1;
        for (dim, windows) in [(Dim::H, &h), (Dim::W, &w)] {
            // A line buffer is saved column window by column window, so
            // that a band's saves never overwrite what it restores later.
            let columns = line && dim == Dim::W;
            let carried = windows.overlap(t) == 0 || windows.keeps_from_last(t);
            if !carried || (columns && !windows.advances(t)) {
                return Err(Unsupported::CachedOverlap {
                    dim,
                    value: tensor.value,
                    reason: "its windows do not advance from tile to tile",
                });
            }
        }
        if line {
            // As many channels as the widest window has, each at its place
            // in the step's window (with chunks outside, every chunk's
            // sweep uses the line alone).
            let widest = channels[t].iter().copied().max_by_key(Interval::len);
            tensor.line = Some(Region {
                n: Interval::full(tensor.dims.n),
                c: widest.unwrap_or(Interval::EMPTY),
                h: Interval::new(0, h.overlap(t)),
                w: w.need[t]
                    .iter()
                    .fold(Interval::EMPTY, |hull, w| hull.hull(w)),
            });
        }
    }

    // The weights of member `m` for its output channels `channels` (`None`:
    // all of them), loaded before layer `p`.
    let weight_transfers = |m: usize, p: usize, channels: Option<Interval>| -> Vec<Transfer> {
        let node = s.members[m].node;
        let out_channels = s.tensors[s.members[m].output].dims.c.max(1);
        graph.nodes[node]
            .weights
            .iter()
            .enumerate()
            .filter(|(_, weight)| weight.elements > 0 && weight.elem_bytes > 0)
            .filter_map(move |(i, weight)| {
                let per_channel = weight.elements as i64 / out_channels;
                let elements = match channels {
                    Some(c) if c.len() != out_channels => {
                        Interval::new(c.start * per_channel, c.end * per_channel)
                    }
                    _ => Interval::new(0, weight.elements as i64),
                };
                (!elements.is_empty()).then_some(Transfer {
                    kind: TransferKind::Weight,
                    data: TransferData::Weight {
                        node,
                        weight: i,
                        elements,
                    },
                    bytes: elements.len() as u64 * weight.elem_bytes,
                    layer: p,
                })
            })
            .collect()
    };
    // Splitting a weight by output channels needs whole slices.
    if chans.count > 1 {
        for (m, member) in s.members.iter().enumerate() {
            let out_channels = s.tensors[member.output].dims.c.max(1);
            let split = (0..chans.count).any(|k| c.need[member.output][k].len() != out_channels);
            let uneven = graph.nodes[member.node]
                .weights
                .iter()
                .any(|weight| weight.elements as i64 % out_channels != 0);
            if phase2(m) && split && uneven {
                return Err(Unsupported::ModelMismatch(format!(
                    "the weights of {} do not split by output channel",
                    graph.nodes[member.node].label
                )));
            }
        }
    }
    // A chunk keeps its window's first channels per sweep, which the model
    // counts so for windows that do not overlap.
    for (m, member) in s.members.iter().enumerate().filter(|&(m, _)| swept[m] > 0) {
        let windows = &c.need[member.output];
        let disjoint = windows
            .iter()
            .enumerate()
            .all(|(k, a)| windows[k + 1..].iter().all(|b| a.intersect(b).is_empty()));
        if !disjoint {
            return Err(Unsupported::UnplannedResidency {
                resident: swept[m] as u64 * member.weight_bytes / member.out_channels.max(1) as u64,
                total: model.weight_bytes(),
            });
        }
    }
    let weighted = |m: usize| s.members[m].weight_bytes > 0;
    let full = |m: usize| resident[m] >= s.members[m].out_channels;
    let weights = if (0..s.members.len()).all(|m| !weighted(m) || resident[m] == 0) {
        WeightMode::Streamed
    } else if (0..s.members.len()).all(|m| !weighted(m) || full(m)) {
        WeightMode::Resident
    } else {
        WeightMode::Partial
    };
    // The members in execution order: the model's (phase 1, then phase 2),
    // so that phase 1's results are computed before any layer that runs at
    // every chunk, whose buffers must not take their place.
    let mut exec: Vec<usize> = (0..s.members.len()).collect();
    exec.sort_by_key(|&m| chunks.position[m]);
    let prologue = exec
        .iter()
        .enumerate()
        .filter(|&(_, &m)| resident[m] > 0)
        .flat_map(|(p, &m)| {
            let channels = (!full(m)).then(|| Interval::new(0, resident[m]));
            weight_transfers(m, p, channels)
        })
        .collect();

    let tensor_transfer = |kind, tensor: usize, region: Region, layer: usize| Transfer {
        kind,
        data: TransferData::Tensor { tensor, region },
        bytes: region.elements() * s.tensors[tensor].elem_bytes,
        layer,
    };
    // The channels of an output's pieces over all chunks (written at once by
    // a layer that runs at the first chunk only).
    let all_pieces = |t: usize| {
        c.piece[t]
            .iter()
            .fold(Interval::EMPTY, |hull, p| hull.hull(p))
    };
    let mut order: Vec<[usize; 3]> = Vec::with_capacity(h.count * w.count * c.count);
    if tiling.order == LoopOrder::SpatialOuter {
        for r in 0..h.count {
            for col in 0..w.count {
                order.extend((0..c.count).map(|k| [r, col, k]));
            }
        }
    } else {
        for k in 0..c.count {
            for r in 0..h.count {
                order.extend((0..w.count).map(|col| [r, col, k]));
            }
        }
    }
    let last = (h.count - 1, w.count - 1);
    let mut steps = Vec::with_capacity(order.len());
    for [r, col, k] in order {
        let runs = |m: usize| !chunks_inside || k == 0 || phase2(m);
        let regions: Vec<Region> = s
            .tensors
            .iter()
            .enumerate()
            .map(|(t, tensor)| region(tensor.dims, channels[t][k], h.need[t][r], w.need[t][col]))
            .collect();
        let mut layers = Vec::with_capacity(s.members.len());
        let mut transfers = Vec::new();
        let mut loaded = vec![false; s.tensors.len()];
        for (p, &m) in exec.iter().enumerate() {
            let member = &s.members[m];
            let out = member.output;
            if !runs(m) {
                layers.push(LayerStep {
                    node: member.node,
                    computes: Region::EMPTY,
                    reads: vec![Region::EMPTY; member.uses.len()],
                });
                continue;
            }
            let mut reads = Vec::with_capacity(member.uses.len());
            for &u in &member.uses {
                let t = s.uses[u].tensor;
                let tensor = &s.tensors[t];
                let read = region(tensor.dims, c.read[u][k], h.read[u][r], w.read[u][col]);
                reads.push(read);
                if tensor.producer.is_some() {
                    continue;
                }
                // A kept input that does not depend on the chunk is on chip
                // since the tile's first chunk.
                let on_chip = chunks_inside && k > 0 && !chans.varies[t];
                let load = if tensor.streamed {
                    read
                } else if !loaded[t] && !on_chip {
                    loaded[t] = true;
                    // What the tiles before did not keep on chip.
                    region(tensor.dims, c.need[t][k], h.fresh[t][r], w.fresh[t][col])
                } else {
                    continue;
                };
                if !load.is_empty() {
                    transfers.push(tensor_transfer(TransferKind::Input, t, load, p));
                }
            }
            if !full(m) {
                // A layer in the chunk loop loads its chunk's output
                // channels, the others all of them, whatever they compute;
                // but the channels kept on chip.
                let all = Interval::new(0, s.tensors[out].dims.c);
                let channels = if phase2(m) { c.need[out][k] } else { all };
                let mut streamed = Interval::new(channels.start.max(resident[m]), channels.end);
                // The chunk's kept channels load with its sweep's first
                // tile, in the same transfer as the others.
                if (r, col) != (0, 0) {
                    streamed.start = streamed.start.max(channels.start + swept[m]);
                }
                if !streamed.is_empty() {
                    let whole = streamed == all;
                    transfers.extend(weight_transfers(m, p, (!whole).then_some(streamed)));
                }
            }
            let tensor = &s.tensors[out];
            if tensor.is_output {
                let channels = if chunks_inside && !phase2(m) {
                    all_pieces(out)
                } else {
                    c.piece[out][k]
                };
                let piece = if tensor.accumulator {
                    // Complete after the last spatial tile.
                    if (r, col) == last {
                        region(
                            tensor.dims,
                            channels,
                            Interval::full(tensor.dims.h),
                            Interval::full(tensor.dims.w),
                        )
                    } else {
                        Region::EMPTY
                    }
                } else {
                    region(tensor.dims, channels, h.piece[out][r], w.piece[out][col])
                };
                if !piece.is_empty() {
                    transfers.push(tensor_transfer(TransferKind::Output, out, piece, p));
                }
            }
            let computes = if tensor.accumulator {
                regions[out]
            } else {
                region(
                    tensor.dims,
                    c.need[out][k],
                    h.fresh[out][r],
                    w.fresh[out][col],
                )
            };
            layers.push(LayerStep {
                node: member.node,
                computes,
                reads,
            });
        }
        // With chunks inside, the cached windows take what they keep once
        // per tile, at its first chunk (the tile before is complete for
        // every chunk), and save rows for the next band at its last.
        let mut moves = cached_moves(&s.tensors, &channels, [&h, &w], [r, col, k]);
        if chunks_inside {
            let last_chunk = k + 1 == c.count;
            moves.retain(|mv| {
                if mv.kind == MoveKind::Save {
                    last_chunk
                } else {
                    k == 0
                }
            });
        }
        steps.push(Step {
            tile: [r, col, k],
            reference: Region {
                n: Interval::full(1),
                c: c.reference[k],
                h: h.reference[r],
                w: w.reference[col],
            },
            regions,
            layers,
            transfers,
            moves,
        });
    }
    Ok(TilePlan {
        tiling: *tiling,
        weights,
        resident_channels: exec.iter().map(|&m| resident[m]).collect(),
        swept_channels: exec.iter().map(|&m| swept[m]).collect(),
        nodes: exec.iter().map(|&m| s.members[m].node).collect(),
        in_chunk_loop: exec.iter().map(|&m| phase2(m)).collect(),
        tensors: s.tensors,
        tiles: [h.count, w.count, c.count],
        prologue,
        steps,
    })
}

/// The on-chip moves of the cached tensors at step `(r, col)` of chunk `k`,
/// whose windows have the given `channels` (with chunks outside, each
/// chunk's sweep of the tiles starts afresh): a window shifts what it
/// shares with the window before it in the same row band (cached columns),
/// or in the row band before when there is one column tile (cached rows);
/// with several column tiles, the rows shared with the band before come
/// from the line buffer, where that band saved them: each tile the columns
/// up to where the next tile's window starts (the last tile the rest), so
/// that no save overwrites columns a later tile of the band restores.
fn cached_moves(
    tensors: &[PlanTensor],
    channels: &[Vec<Interval>],
    [h, w]: [&DimWindows; 2],
    [r, col, k]: [usize; 3],
) -> Vec<Move> {
    let mut shifts = Vec::new();
    let mut restores = Vec::new();
    let mut saves = Vec::new();
    // The last tile before `i` (or the first after) with a window: tiles
    // that need none of a tensor leave its buffer as it is.
    let before = |windows: &[Interval], i: usize| (0..i).rev().find(|&j| !windows[j].is_empty());
    fn after(windows: &[Interval], i: usize) -> Option<&Interval> {
        windows[i + 1..].iter().find(|w| !w.is_empty())
    }
    for (t, tensor) in tensors.iter().enumerate() {
        let boxed =
            |rows: Interval, cols: Interval| region(tensor.dims, channels[t][k], rows, cols);
        let (rows, cols) = (h.need[t][r], w.need[t][col]);
        if !tensor.cached || boxed(rows, cols).is_empty() {
            continue;
        }
        let push = |list: &mut Vec<Move>, kind, region: Region, from: Region| {
            if !region.is_empty() {
                list.push(Move {
                    kind,
                    tensor: t,
                    region,
                    from,
                });
            }
        };
        if w.overlap(t) > 0
            && let Some(j) = before(&w.need[t], col)
        {
            let from = boxed(rows, w.need[t][j]);
            push(
                &mut shifts,
                MoveKind::Shift,
                boxed(rows, cols.intersect(&w.need[t][j])),
                from,
            );
        }
        if h.overlap(t) > 0
            && let Some(i) = before(&h.need[t], r)
        {
            let kept = boxed(rows.intersect(&h.need[t][i]), cols);
            if tensor.line.is_some() {
                push(&mut restores, MoveKind::Restore, kept, Region::EMPTY);
            } else {
                push(
                    &mut shifts,
                    MoveKind::Shift,
                    kept,
                    boxed(h.need[t][i], cols),
                );
            }
        }
        if tensor.line.is_some()
            && let Some(next_rows) = after(&h.need[t], r)
        {
            // The columns before the next column window: the band's later
            // tiles restore the ones they share.
            let saved = match after(&w.need[t], col) {
                Some(next) => cols.intersect(&Interval::new(cols.start, next.start)),
                None => cols,
            };
            let shared = rows.intersect(next_rows);
            push(
                &mut saves,
                MoveKind::Save,
                boxed(shared, saved),
                Region::EMPTY,
            );
        }
    }
    shifts.extend(restores);
    shifts.extend(saves);
    shifts
}

#[cfg(test)]
mod tests;
