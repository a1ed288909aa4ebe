//! The staging analysis: which fusion regions run tile by tile through the
//! scratchpad, and where each tile buffer lives in the arena.
//!
//! For every `df.fusion_region`, the layer graph the scheduler saw is read
//! back (the function with its regions flattened), the region's `schedule`
//! attribute gives the tiling, and [`tile_plan`] enumerates the steps and
//! their DMA transfers. The plan's bytes must equal the attribute's
//! predicted traffic exactly, or the region is not staged. Then every tensor
//! window, streamed input, weight (or weight slice) and accumulator gets a
//! buffer at a fixed offset of the arena, placed by liveness over the
//! layers of one step; the placement must fit the scheduled capacity.
//!
//! A region the plan or the tile kernels do not cover yet is
//! [`RegionStaging::Unstaged`] with the reason, and runs op by op on
//! off-chip memory without DMA (see docs/lowering.md).

use std::collections::HashMap;

use deepfuse_passes::{
    cost::{CostConfig, GroupModel, LoopOrder},
    graph::{Dim, LayerGraph, NodeId, OpKind, from_ir},
    receptive_field::{Interval, Region},
    tile_plan::{self, TilePlan, TransferData, WeightMode},
};
use melior::ir::OperationRef;

use crate::program::{Program, ValueId};

/// Alignment of every activation buffer in the arena, in bytes: a cache
/// line, for the kernels' vector loads.
const ALIGN: u64 = 64;

/// Alignment of a weight buffer, whose elements the kernels load one at a
/// time: an `f32`'s. The cost model packs kept weights up to the capacity
/// to the byte; cache-line padding of every buffer could exceed it.
const WEIGHT_ALIGN: u64 = 4;

/// Channels per chunk of a streamed input (the cost model's default).
pub const STREAM_CHANNELS: i64 = 8;

/// Bytes of one output channel's weights (a 3x3 filter of 128 input
/// channels) from which a layer that can only stream them one channel per
/// call keeps a region with channel chunks or kept weights op by op: each
/// call then reads its whole input window for one channel's outputs.
const NARROW_SLICE_BYTES: u64 = 4 << 10;

/// An f32 buffer in the scratchpad arena.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TileBuffer {
    /// Byte offset in the arena.
    pub offset: u64,
    /// Its shape: `1 x C x H x W` for an activation window (the largest
    /// window of any step along each dimension), the weight's shape (or one
    /// output channel of it) for a weight.
    pub shape: Vec<i64>,
}

impl TileBuffer {
    /// Bytes it spans.
    pub fn bytes(&self) -> u64 {
        self.shape.iter().product::<i64>().max(0) as u64 * 4
    }
}

/// A weight operand of a staged layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StagedWeight {
    /// The parameter (its place in the parameter buffer).
    pub value: ValueId,
    /// Its buffer in the arena.
    pub buffer: TileBuffer,
    /// Streamed by output channels: the buffer holds
    /// [`StagedLayer::slice_channels`] slices of the leading dimension,
    /// loaded before the layer computes those channels. `false`: the buffer
    /// holds the whole weight.
    pub sliced: bool,
    /// A convolution filter whose layer reads a chunked input: its buffer
    /// holds [`StagedLayer::chunk_channels`] input channels (dimension 1),
    /// loaded with each chunk.
    pub chunked: bool,
    /// The weight's input channels (dimension 1; 1 for a vector).
    pub channels: i64,
    /// The first [`StagedLayer::resident_channels`] output channels' slices,
    /// loaded before the first step and kept, when the layer keeps some but
    /// not all of its weights on chip (`buffer` then holds the streamed
    /// slices of the others); or the first
    /// [`StagedLayer::swept_channels`] of a chunk's, loaded at its first
    /// tile and kept for its sweep.
    pub resident: Option<TileBuffer>,
}

/// Where an op operand of a staged layer comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OperandSource {
    /// Activation operand `k` (its use index within the layer).
    Activation(usize),
    /// Weight `k` of [`StagedLayer::weights`].
    Weight(usize),
}

/// A layer of a staged region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StagedLayer {
    /// Index into [`Program::forward`].
    pub step: usize,
    /// Its node in the layer graph.
    pub node: NodeId,
    /// Per activation operand, the plan tensor it reads.
    pub uses: Vec<usize>,
    /// Per activation operand, the buffer of a streamed input (loaded per
    /// use); `None` when the operand reads its tensor's buffer.
    pub use_buffers: Vec<Option<TileBuffer>>,
    /// The weight operands, in operand order.
    pub weights: Vec<StagedWeight>,
    /// The op's operands, in order.
    pub operands: Vec<OperandSource>,
    /// The plan tensor it computes.
    pub output: usize,
    /// Output channels (the leading dimension of a sliced weight).
    pub out_channels: i64,
    /// Output channels per load of its sliced weights (their buffers'
    /// leading dimension): one, or more when the arena has room.
    pub slice_channels: i64,
    /// Channels per chunk of its chunked input: [`STREAM_CHANNELS`] as the
    /// cost model's streaming buffer assumes, or more when the arena has
    /// room.
    pub chunk_channels: i64,
    /// The activation operand (a streamed input) loaded
    /// [`StagedLayer::chunk_channels`] channels at a time, the layer
    /// computing on each chunk before the next is loaded (the cost model's
    /// streaming buffer holds [`STREAM_CHANNELS`]).
    pub chunked: Option<usize>,
    /// A binary op's other streamed input, loaded with the same chunks
    /// (the cost model streams both through buffers of
    /// [`STREAM_CHANNELS`]).
    pub chunked_also: Option<usize>,
    /// Computes element by element (an activation, a batch norm, an add or
    /// a mul).
    pub elementwise: bool,
    /// Writes its output over an operand's buffer (which dies here, with the
    /// same window at every step), as the cost model assumes.
    pub in_place: bool,
    /// A depthwise convolution (one filter per channel): chunk by chunk it
    /// computes the chunk's channels, as a pool does, loading those
    /// channels' weights.
    pub depthwise: bool,
    /// Per step, the output channels `[from, to)` whose streamed weights the
    /// plan loads (all of them, a chunk's, or none: `(0, 0)`).
    pub weight_channels: Vec<(i64, i64)>,
    /// The output channels `[0, r)` whose weights stay on chip for all
    /// steps (all of them when resident, none when streamed).
    pub resident_channels: i64,
    /// With channel chunks outside the spatial tiles, how many of each
    /// chunk's first output channels have their weights loaded at the
    /// chunk's first tile into [`StagedWeight::resident`] and kept for the
    /// rest of its sweep (see [`TilePlan::swept_channels`]).
    pub swept_channels: i64,
    /// Runs whole: the op's own kernel on arena buffers of its tensors'
    /// shapes, in a region of one step (see [`runs_whole`]), for a layer
    /// without a tile kernel.
    pub whole: bool,
    /// Per activation operand, for a streamed input of a channel concat
    /// that is loaded straight into the concat's output window, its first
    /// channel in the output; the kernel then skips it (see
    /// [`load_into_output`]).
    pub into_output: Vec<Option<i64>>,
}

impl StagedLayer {
    /// Whether activation operand `u` is loaded chunk by chunk.
    pub fn chunks(&self, u: usize) -> bool {
        self.chunked == Some(u) || self.chunked_also == Some(u)
    }

    /// Of the output channels `frame` a step computes, those `[from, to)`
    /// whose weights are kept on chip: the first
    /// [`StagedLayer::resident_channels`] for all steps, or the chunk's
    /// first [`StagedLayer::swept_channels`] for its sweep.
    pub fn kept_channels(&self, frame: Interval) -> (i64, i64) {
        let end = if self.swept_channels > 0 {
            frame.start + self.swept_channels
        } else {
            self.resident_channels
        };
        (frame.start, frame.start.max(frame.end.min(end)))
    }
}

/// A plan tensor of a staged region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StagedTensor {
    /// The program's tensor (its place in off-chip memory).
    pub value: ValueId,
    /// Its window buffer; `None` for a streamed input (loaded into
    /// per-use buffers instead).
    pub buffer: Option<TileBuffer>,
    /// The line buffer of a tensor that keeps rows between row bands over
    /// several column tiles (see [`deepfuse_passes::tile_plan::PlanTensor::line`]):
    /// `1 x C x rows x columns`.
    pub line: Option<TileBuffer>,
}

/// A region that runs tile by tile through the scratchpad.
#[derive(Clone, Debug)]
pub struct StagedRegion {
    /// The region's index among the function's fusion regions.
    pub region: usize,
    /// Its steps and transfers.
    pub plan: TilePlan,
    /// Its layers, in execution order (as [`TilePlan::nodes`]).
    pub layers: Vec<StagedLayer>,
    /// As [`TilePlan::tensors`].
    pub tensors: Vec<StagedTensor>,
    /// Bytes of the arena the buffers span.
    pub arena_bytes: u64,
    /// The most bytes of buffers live at once, which no placement can go
    /// under.
    pub live_peak: u64,
}

/// How a region runs.
#[derive(Clone, Debug)]
pub enum RegionStaging {
    /// Tile by tile through the scratchpad, with counted DMA.
    Staged(Box<StagedRegion>),
    /// Op by op on off-chip memory, without DMA, for the reason given.
    Unstaged(String),
}

/// What a region's staging came to, in brief.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct StagingSummary {
    /// Steps of the tile plan.
    pub steps: usize,
    /// Row tiles, column tiles and channel chunks.
    pub tiles: [usize; 3],
    /// Channel chunks outside the spatial tiles (each chunk sweeps them).
    pub chunks_outside: bool,
    /// Bytes of the arena its buffers span.
    pub arena_bytes: u64,
    /// Tensors whose windows keep their overlap between tiles (cached).
    pub kept_windows: usize,
    /// Of those, the ones with a line buffer for the next row band.
    pub line_buffers: usize,
}

impl RegionStaging {
    /// The summary of a staged region, or why it is not staged.
    pub fn summary(&self) -> Result<StagingSummary, String> {
        match self {
            RegionStaging::Staged(region) => Ok(StagingSummary {
                steps: region.plan.steps.len(),
                tiles: region.plan.tiles,
                chunks_outside: region.plan.tiling.order == LoopOrder::ChannelOuter,
                arena_bytes: region.arena_bytes,
                kept_windows: region.plan.tensors.iter().filter(|t| t.cached).count(),
                line_buffers: region
                    .plan
                    .tensors
                    .iter()
                    .filter(|t| t.line.is_some())
                    .count(),
            }),
            RegionStaging::Unstaged(reason) => Err(reason.clone()),
        }
    }

    /// The staged region, if staged.
    pub fn staged(&self) -> Option<&StagedRegion> {
        match self {
            RegionStaging::Staged(region) => Some(region),
            RegionStaging::Unstaged(_) => None,
        }
    }
}

/// Decides, for every fusion region of `function` (whose program is
/// `program`), whether and how it is staged. A region whose tile kernels
/// would run several times slower than op by op is staged only with
/// `stage_slow`: on a CPU the emulation then costs time, but every byte
/// the schedule predicts for it is counted.
pub fn analyse(function: &OperationRef, program: &Program, stage_slow: bool) -> Vec<RegionStaging> {
    let unstaged_all = |reason: String| {
        (0..program.regions)
            .map(|_| RegionStaging::Unstaged(reason.clone()))
            .collect()
    };
    let built = match from_ir::build_flattened(function) {
        Ok(built) => built,
        Err(e) => return unstaged_all(format!("its layer graph cannot be read: {}", e.error)),
    };
    if built.regions.len() != program.regions {
        return unstaged_all("its layer graph does not match the program's regions".into());
    }
    let steps: HashMap<usize, usize> = program
        .forward
        .iter()
        .enumerate()
        .map(|(i, step)| (step.op.to_raw().ptr as usize, i))
        .collect();
    let links = Links {
        graph: &built.graph,
        program,
        step_of: built
            .ops
            .iter()
            .map(|op| steps.get(&(op.ptr as usize)).copied())
            .collect(),
    };
    (0..program.regions)
        .map(|r| match links.stage(r, &built.regions[r]) {
            Ok((Some(slow), _)) if !stage_slow => {
                RegionStaging::Unstaged(format!("{slow} (--stage-all stages it anyway)"))
            }
            Ok((_, region)) => RegionStaging::Staged(Box::new(region)),
            Err(reason) => RegionStaging::Unstaged(reason),
        })
        .collect()
}

/// The layer graph tied to the program it was read from.
struct Links<'a, 'p, 'c, 'o> {
    graph: &'a LayerGraph,
    program: &'p Program<'c, 'o>,
    /// Per graph node, its index in [`Program::forward`].
    step_of: Vec<Option<usize>>,
}

impl Links<'_, '_, '_, '_> {
    /// The program tensor of graph value `value`.
    fn value(&self, value: usize) -> Result<ValueId, String> {
        let graph_value = &self.graph.values[value];
        match graph_value.producer {
            Some(node) => self.step_of[node]
                .map(|step| self.program.forward[step].results[0])
                .ok_or_else(|| "a layer is not a forward op".to_string()),
            None => self
                .graph
                .inputs
                .iter()
                .position(|&v| v == value)
                .and_then(|i| self.program.inputs.get(i).copied())
                .ok_or_else(|| "an input is not an argument of the function".to_string()),
        }
    }

    /// The shapes of `node`'s parameter operands (those that are not layer
    /// inputs), in operand order.
    fn weight_shapes(&self, node: NodeId) -> impl Iterator<Item = &Vec<i64>> + '_ {
        let graph_node = &self.graph.nodes[node];
        let operands = self.step_of[node]
            .map(|step| self.program.forward[step].operands.as_slice())
            .unwrap_or_default();
        operands
            .iter()
            .enumerate()
            .filter(|(slot, _)| !graph_node.inputs.iter().any(|o| o.slot == *slot))
            .map(|(_, &value)| &self.program.values[value].shape)
    }

    /// The ranks of `node`'s parameter operands.
    fn weight_ranks(&self, node: NodeId) -> impl Iterator<Item = usize> + '_ {
        self.weight_shapes(node).map(Vec::len)
    }

    /// The staging of `region`, with why its tile kernels would run
    /// several times slower than op by op (see [`slow`]), or why it cannot
    /// be staged.
    fn stage(
        &self,
        region: usize,
        nodes: &[NodeId],
    ) -> Result<(Option<String>, StagedRegion), String> {
        let schedule =
            self.program.schedules[region].ok_or("it has no readable 'schedule' attribute")?;
        // Layers without a tile kernel for their operands run whole: the
        // op's own kernel on arena buffers, in a region of one step whose
        // windows are their whole tensors (a network's classifier tail).
        let whole: Vec<(NodeId, String)> = nodes
            .iter()
            .filter_map(|&node| Some((node, self.no_tile_kernel(node)?)))
            .collect();
        let model = GroupModel::new(self.graph, nodes).map_err(|e| e.to_string())?;
        let plan = if schedule.resident_weights == 0 {
            tile_plan::plan_with_weights(&model, &schedule.tiling, WeightMode::Streamed)
        } else if schedule.resident_weights == model.weight_bytes() {
            tile_plan::plan_with_weights(&model, &schedule.tiling, WeightMode::Resident)
        } else {
            // Which layers keep which channels: the model's choice under the
            // scheduled capacity (the traffic check below confirms it).
            tile_plan::plan(
                &model,
                &schedule.tiling,
                &CostConfig::new(schedule.capacity),
            )
        }
        .map_err(|e| e.to_string())?;
        if plan.traffic() != schedule.traffic {
            return Err(format!(
                "its tile plan moves {:?}, the schedule predicts {:?}",
                plan.traffic(),
                schedule.traffic
            ));
        }
        for (t, tensor) in plan.tensors.iter().enumerate() {
            if tensor.accumulator
                && self.graph.values[tensor.value]
                    .consumers
                    .iter()
                    .any(|c| plan.nodes.contains(c))
            {
                return Err(format!(
                    "a layer reads the global pool accumulator {t} inside the region"
                ));
            }
        }
        if let Some((_, reason)) = whole
            .iter()
            .find(|(node, _)| !runs_whole(self.graph, &plan, *node))
        {
            return Err(reason.clone());
        }
        let weights_kept_in_part = plan.weights == WeightMode::Partial;
        let mut layers = plan
            .nodes
            .iter()
            .enumerate()
            .map(|(p, &node)| {
                let whole = whole.iter().any(|(n, _)| *n == node);
                let kept = (plan.resident_channels[p], plan.swept_channels[p]);
                self.layer(node, &plan, kept, whole)
            })
            .collect::<Result<Vec<_>, _>>()?;
        for (p, layer) in layers.iter_mut().enumerate() {
            if matches!(
                self.graph.nodes[layer.node].kind,
                OpKind::Concat { dim: Dim::C }
            ) {
                load_into_output(&plan, p, layer);
            }
            if layer.swept_channels > 0 && !sweeps_as_planned(&plan, p, layer) {
                return Err(format!(
                    "the plan loads {}'s weights kept for its chunks' sweeps in other ranges \
                     than its chunks' first tiles and the rest at the others",
                    self.graph.nodes[layer.node].label
                ));
            }
        }
        if plan.tiles[2] > 1 {
            // A chunk's weights are loaded as slices of its output channels.
            if let Some(layer) = layers.iter().find(|layer| {
                layer.resident_channels < layer.out_channels
                    && layer.weights.first().is_some_and(|weight| !weight.sliced)
            }) {
                return Err(format!(
                    "channel chunks: the weights of {} do not lead with its output channels",
                    self.graph.nodes[layer.node].label
                ));
            }
        }
        let tensors = plan
            .tensors
            .iter()
            .map(|tensor| {
                Ok(StagedTensor {
                    value: self.value(tensor.value)?,
                    buffer: None,
                    line: None,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let mut staged = StagedRegion {
            region,
            plan,
            layers,
            tensors,
            arena_bytes: 0,
            live_peak: 0,
        };
        // Activation buffers on cache lines if that fits, else packed (the
        // model counts bytes, not padding).
        for align in [ALIGN, WEIGHT_ALIGN] {
            place(&mut staged, align, Placement::Thorough);
            widen(&mut staged, schedule.capacity, align);
            if staged.arena_bytes <= schedule.capacity {
                break;
            }
        }
        if staged.arena_bytes > schedule.capacity {
            return Err(format!(
                "its tile buffers need {} bytes of scratchpad ({} live at once), more than \
                 the {} scheduled",
                staged.arena_bytes, staged.live_peak, schedule.capacity
            ));
        }
        Ok((slow(self.graph, &staged, weights_kept_in_part), staged))
    }

    /// Why `node` has no tile kernel for its operands (it can still run
    /// whole, see [`runs_whole`]); `None` if it has one.
    fn no_tile_kernel(&self, node: NodeId) -> Option<String> {
        let graph_node = &self.graph.nodes[node];
        let kind = &graph_node.kind;
        let supported = match kind {
            OpKind::Conv2d { .. } | OpKind::Pool2d { .. } | OpKind::GlobalPool { .. } => true,
            // Per-channel vectors are indexed by the output channel.
            OpKind::Elementwise { .. } => self.weight_ranks(node).all(|rank| rank == 1),
            // The tile kernel indexes operands like the output.
            OpKind::Binary { .. } => {
                self.weight_ranks(node).next().is_none()
                    && graph_node.inputs.iter().all(|o| {
                        self.graph.values[o.value].shape == self.graph.output_value(node).shape
                    })
            }
            OpKind::Concat { dim } => *dim == Dim::C,
            _ => false,
        };
        if !supported {
            return Some(format!(
                "{} ({}) has no tile kernel yet for its operands, and runs whole only in a \
                 region of one tile",
                graph_node.label,
                kind.short_name()
            ));
        }
        let output = self.graph.output_value(node);
        let mut tensors = std::iter::once(&output.shape).chain(
            graph_node
                .inputs
                .iter()
                .map(|o| &self.graph.values[o.value].shape),
        );
        tensors
            .find(|shape| shape.len() != 4 || shape[0] != 1)
            .map(|shape| {
                format!(
                    "{} reads or writes a tensor of shape {shape:?}; tiles are staged for 4-D \
                 tensors of batch 1 only (other layers run whole, in a region of one tile)",
                    graph_node.label
                )
            })
    }

    /// Layer `node` of `plan`, which keeps the weights of its first
    /// `resident_channels` output channels for all steps and of the first
    /// `swept_channels` of each chunk for the chunk's sweep.
    fn layer(
        &self,
        node: NodeId,
        plan: &TilePlan,
        (resident_channels, swept_channels): (i64, i64),
        whole: bool,
    ) -> Result<StagedLayer, String> {
        let step = self.step_of[node].ok_or("a layer is not a forward op")?;
        let graph_node = &self.graph.nodes[node];
        let op_step = &self.program.forward[step];
        let out_channels = self.graph.output_value(node).dims.c;
        let mut operands = Vec::new();
        let mut staged_weights = Vec::new();
        let mut uses = Vec::new();
        // Weights stream one output channel at a time when every weight of
        // the layer leads with the output channels (a filter and its bias).
        let weight_shapes: Vec<&Vec<i64>> = self.weight_shapes(node).collect();
        let partial = resident_channels > 0 && resident_channels < out_channels;
        if whole && partial {
            return Err(format!(
                "{} runs whole but keeps part of its weights on chip",
                graph_node.label
            ));
        }
        // A whole matmul (a classifier) streams its transposed weights by
        // output columns, as the cost model does, through the slice loop.
        let columns = matches!(
            graph_node.kind,
            OpKind::MatMul {
                transpose_lhs: false,
                transpose_rhs: true
            }
        );
        let sliced = (!whole || columns)
            && resident_channels < out_channels
            && out_channels > 1
            && !weight_shapes.is_empty()
            && weight_shapes
                .iter()
                .all(|shape| shape.first() == Some(&out_channels));
        // A single streamed input of a layer that can compute chunk by chunk
        // is loaded in chunks: a convolution without groups accumulates over
        // input channels, and channelwise layers without weights compute
        // each chunk's channels (a binary op from the chunk and its other
        // operand's window, as a residual add reads the block's input).
        let streamed: Vec<usize> = graph_node
            .inputs
            .iter()
            .enumerate()
            .filter(|(_, o)| {
                plan.tensor_of(o.value)
                    .is_some_and(|t| plan.tensors[t].streamed)
            })
            .map(|(u, _)| u)
            .collect();
        // One filter per channel: a chunk of input channels gives the same
        // output channels, from the chunk alone.
        let depthwise = match graph_node.kind {
            OpKind::Conv2d { groups, .. } => {
                let in_channels = graph_node
                    .inputs
                    .first()
                    .map(|input| self.graph.values[input.value].dims.c);
                groups > 1 && groups == out_channels && in_channels == Some(groups)
            }
            _ => false,
        };
        let chunkable = match &graph_node.kind {
            OpKind::Conv2d { groups, .. } => *groups == 1 || depthwise,
            OpKind::Pool2d { .. } | OpKind::GlobalPool { .. } => true,
            OpKind::Elementwise { .. } => weight_shapes.is_empty(),
            OpKind::Binary { .. } => true,
            _ => false,
        };
        let single_input =
            graph_node.inputs.len() == 1 || matches!(graph_node.kind, OpKind::Binary { .. });
        // A binary op computes a chunk from both operands' chunks.
        let binary = matches!(graph_node.kind, OpKind::Binary { .. });
        let chunk_uses = if binary { 2 } else { 1 };
        let chunked =
            (!whole && (1..=chunk_uses).contains(&streamed.len()) && single_input && chunkable)
                .then(|| streamed[0]);
        let chunked_also = streamed.get(1).copied().filter(|_| chunked.is_some());
        if swept_channels > 0 && (whole || !sliced || (depthwise && chunked.is_some())) {
            return Err(format!(
                "{} keeps the weights of its chunks' first {swept_channels} output channels \
                 for their sweeps, which is lowered only for a layer that streams its weights \
                 by output channel (a depthwise one only when its input is not streamed in \
                 chunks)",
                graph_node.label
            ));
        }
        if depthwise && chunked.is_some() && partial {
            return Err(format!(
                "{} is a depthwise convolution whose input is streamed in chunks and that \
                 keeps part of its weights on chip, which is not lowered yet",
                graph_node.label
            ));
        }
        if partial && !sliced {
            return Err(format!(
                "{} keeps {resident_channels} of its {out_channels} output channels' weights on \
                 chip, which is lowered only for weights that lead with the output channels",
                graph_node.label
            ));
        }
        let is_conv = matches!(graph_node.kind, OpKind::Conv2d { .. });
        for (slot, &value) in op_step.operands.iter().enumerate() {
            if let Some(k) = graph_node.inputs.iter().position(|o| o.slot == slot) {
                let tensor = plan
                    .tensor_of(graph_node.inputs[k].value)
                    .ok_or("an operand is not a tensor of the plan")?;
                operands.push(OperandSource::Activation(uses.len()));
                uses.push(tensor);
            } else if self.program.values[value].is_parameter() {
                let shape = self.program.values[value].shape.clone();
                let channels = shape.get(1).copied().unwrap_or(1);
                let chunk_filter =
                    chunked.is_some() && is_conv && !depthwise && sliced && shape.len() == 4;
                let mut buffer_shape: Vec<i64> = if sliced {
                    std::iter::once(1)
                        .chain(shape[1..].iter().copied())
                        .collect()
                } else {
                    shape
                };
                if chunk_filter {
                    buffer_shape[1] = buffer_shape[1].min(STREAM_CHANNELS);
                }
                let kept = if partial {
                    resident_channels
                } else {
                    swept_channels
                };
                // Kept per sweep even when that is all its channels: a
                // concat input's layer can have all of them in one chunk.
                let resident = (kept > 0).then(|| TileBuffer {
                    offset: 0,
                    shape: std::iter::once(kept)
                        .chain(shape_tail(&self.program.values[value].shape))
                        .collect(),
                });
                operands.push(OperandSource::Weight(staged_weights.len()));
                staged_weights.push(StagedWeight {
                    value,
                    buffer: TileBuffer {
                        offset: 0,
                        shape: buffer_shape,
                    },
                    sliced,
                    chunked: chunk_filter,
                    channels,
                    resident,
                });
            } else {
                return Err(format!(
                    "{}: operand #{slot} is neither a layer input nor a parameter",
                    graph_node.label
                ));
            }
        }
        let output = plan
            .tensor_of(graph_node.output)
            .ok_or("a layer's output is not a tensor of the plan")?;
        // The weights the plan moves, in its order.
        let weight_elements: Vec<i64> = graph_node
            .weights
            .iter()
            .filter(|weight| weight.elements > 0 && weight.elem_bytes > 0)
            .map(|weight| weight.elements as i64)
            .collect();
        Ok(StagedLayer {
            step,
            node,
            use_buffers: vec![None; uses.len()],
            into_output: vec![None; uses.len()],
            uses,
            weights: staged_weights,
            operands,
            output,
            out_channels,
            slice_channels: 1,
            chunk_channels: STREAM_CHANNELS,
            chunked,
            chunked_also,
            // A whole layer's kernel takes distinct buffers.
            elementwise: !whole
                && matches!(
                    graph_node.kind,
                    OpKind::Elementwise { .. } | OpKind::Binary { .. }
                ),
            whole,
            in_place: false,
            depthwise,
            weight_channels: weight_channels(plan, node, out_channels, &weight_elements)?,
            resident_channels,
            swept_channels,
        })
    }
}

/// Loads the streamed inputs of channel concat `layer` (at position `p`)
/// straight into its output window, at their channels there, where every
/// load of the plan lies inside that window: a DMA engine writes where the
/// concat would copy to. The model's bytes are unchanged; the arena needs
/// no buffer for them (the model counts a chunk buffer per input, so
/// loading them whole into buffers of their own can exceed it), and the
/// kernel copies only the inputs computed in the region.
fn load_into_output(plan: &TilePlan, p: usize, layer: &mut StagedLayer) {
    let mut first = 0;
    for u in 0..layer.uses.len() {
        let t = layer.uses[u];
        let channels = plan.tensors[t].dims.c;
        let fits = plan.steps.iter().all(|step| {
            let window = step.regions[layer.output];
            let mut read = step.layers[p].reads[u];
            read.c = Interval::new(read.c.start + first, read.c.end + first);
            read.is_empty() || holds(&window, &read)
        });
        if plan.tensors[t].streamed && fits {
            layer.into_output[u] = Some(first);
        }
        first += channels;
    }
}

/// Whether the plan loads the weights of `layer` (at position `p`), which
/// keeps its chunks' first channels for their sweeps, as the emitter
/// assumes: at a sweep's first tile all the channels the step computes, at
/// its other tiles those after the kept ones.
fn sweeps_as_planned(plan: &TilePlan, p: usize, layer: &StagedLayer) -> bool {
    plan.steps
        .iter()
        .zip(&layer.weight_channels)
        .all(|(step, &loaded)| {
            let c = step.layers[p].computes.c;
            let (_, kept_to) = layer.kept_channels(c);
            let expected = if c.is_empty() {
                (0, 0)
            } else if step.opens_sweep() {
                (c.start, c.end)
            } else if kept_to < c.end {
                (kept_to, c.end)
            } else {
                (0, 0)
            };
            loaded == expected
        })
}

/// Whether box `inner` lies in box `outer`.
pub(crate) fn holds(outer: &Region, inner: &Region) -> bool {
    Dim::ALL.iter().all(|&d| {
        let (o, i) = (outer.get(d), inner.get(d));
        o.start <= i.start && i.end <= o.end
    })
}

/// Why the tile kernels of `staged` would run several times slower than
/// op by op, if they would; `weights_kept_in_part` as its plan.
fn slow(graph: &LayerGraph, staged: &StagedRegion, weights_kept_in_part: bool) -> Option<String> {
    // A region whose buffers fill the arena (channel chunks, kept weights,
    // or many layers' windows) leaves a layer to stream one output channel
    // per call, which runs several times slower than op by op: VGG-16's dp
    // schedule at 1 MiB took 1.9x as long with such a region staged, and
    // GoogLeNet's inception4b region at 1 MiB (13 layers in one tile) 2.9x.
    if let Some(layer) = staged.layers.iter().find(|layer| streams_narrow(layer)) {
        let why = if staged.plan.tiles[2] > 1 || weights_kept_in_part {
            "with its channel chunks or kept weights, the arena"
        } else {
            "its buffers fill the arena, which"
        };
        return Some(format!(
            "{why} leaves room to stream {}'s weights one output channel at a time, which \
             its tile kernel runs several times slower than op by op",
            graph.nodes[layer.node].label
        ));
    }
    // Tiles a few columns wide (the DP schedule's cached overlaps often
    // advance one column or one pixel per step) leave the tile kernels,
    // which vectorise along columns, on partial vectors, and their calls
    // per step dominate: ResNet-50's dp schedule at 1 MiB took 2.0 s
    // instead of 0.2 s with its 25-layer stem region staged in 1,064
    // steps of one new column, and ResNet-18's 1.6x as long with its
    // stem at 10.5 columns per call.
    computes_narrow(staged).map(|width| {
        format!(
            "its layers compute {width:.1} columns per tile kernel call on average, \
             fewer than {NARROW_COLUMNS} of much wider tensors, which op by op computes in \
             whole rows several times faster"
        )
    })
}

/// Whether `node` can run whole in `plan`: the plan has one step, in which
/// every tensor the layer reads or writes is on chip whole (batch 1, so
/// that its window buffer holds it) and the layer computes all its output.
fn runs_whole(graph: &LayerGraph, plan: &TilePlan, node: NodeId) -> bool {
    let ([step], Some(p)) = (
        plan.steps.as_slice(),
        plan.nodes.iter().position(|&n| n == node),
    ) else {
        return false;
    };
    let whole = |value: usize, region: &Region| {
        plan.tensor_of(value).is_some_and(|t| {
            let dims = plan.tensors[t].dims;
            dims.n == 1 && step.regions[t] == Region::full(dims) && *region == step.regions[t]
        })
    };
    let layer = &step.layers[p];
    whole(graph.nodes[node].output, &layer.computes)
        && graph.nodes[node]
            .inputs
            .iter()
            .zip(&layer.reads)
            .all(|(operand, read)| whole(operand.value, read))
}

/// Columns per tile kernel call under which a region is left op by op:
/// two vectors of the tile kernels (AVX2, f32). Measured, not derived:
/// ResNet-18's stem region at 10.5 columns per call ran 1.6x as long
/// staged as op by op.
const NARROW_COLUMNS: u64 = 16;

/// The average width of the boxes `region`'s layers compute per step
/// (weighted by their elements), if it is under [`NARROW_COLUMNS`] while
/// their tensors are on average at least twice that bound wide, or four
/// times the boxes (tensors narrower than the bound's double): then the tile
/// kernels compute on partial vectors, call by call, where op-by-op
/// kernels compute whole rows. (GoogLeNet's dp schedule at 1 MiB has a
/// region of 392 one-pixel steps on 28-column tensors: 241 ms staged, 6
/// op by op.)
fn computes_narrow(region: &StagedRegion) -> Option<f64> {
    let (mut columns, mut tensor_columns, mut elements) = (0u64, 0u64, 0u64);
    for step in &region.plan.steps {
        for (layer, staged) in step.layers.iter().zip(&region.layers) {
            let computes = &layer.computes;
            if computes.is_empty() || staged.whole {
                continue;
            }
            let count = computes.elements();
            let width = region.plan.tensors[staged.output].dims.w.max(1) as u64;
            columns += computes.w.len() as u64 * count;
            tensor_columns += width * count;
            elements += count;
        }
    }
    // Twice the bound wide, or (narrower tensors) four times the tiles.
    let wider = tensor_columns >= 2 * NARROW_COLUMNS * elements || tensor_columns >= 4 * columns;
    let narrow = elements > 0 && columns < NARROW_COLUMNS * elements && wider;
    narrow.then(|| columns as f64 / elements as f64)
}

/// Whether `layer` streams large weights one output channel per call.
fn streams_narrow(layer: &StagedLayer) -> bool {
    layer.resident_channels < layer.out_channels
        && layer.slice_channels == 1
        && layer
            .weights
            .first()
            .is_some_and(|weight| weight.sliced && weight.buffer.bytes() >= NARROW_SLICE_BYTES)
}

/// A shape without its leading dimension.
fn shape_tail(shape: &[i64]) -> impl Iterator<Item = i64> + '_ {
    shape.iter().skip(1).copied()
}

/// Per step, the output channels of `node` whose weights the plan loads:
/// every weight of the layer loaded for the same channels, or none.
fn weight_channels(
    plan: &TilePlan,
    node: NodeId,
    out_channels: i64,
    totals: &[i64],
) -> Result<Vec<(i64, i64)>, String> {
    let p = plan
        .nodes
        .iter()
        .position(|&n| n == node)
        .ok_or("a layer is not a node of the plan")?;
    plan.steps
        .iter()
        .map(|step| {
            let mut ranges = step.transfers.iter().filter_map(|t| match t.data {
                TransferData::Weight {
                    node: n, elements, ..
                } if n == node && t.layer == p => Some(elements),
                _ => None,
            });
            let Some(first) = ranges.next() else {
                return Ok((0, 0));
            };
            let per_channel = |elements: Interval, total: i64| -> Option<(i64, i64)> {
                let per = total / out_channels.max(1);
                (per > 0 && elements.start % per == 0 && elements.end % per == 0)
                    .then(|| (elements.start / per, elements.end / per))
            };
            let total = *totals
                .first()
                .ok_or("a loaded weight the layer does not have")?;
            let channels = per_channel(first, total);
            let same = std::iter::once(first)
                .chain(ranges)
                .zip(totals)
                .all(|(elements, &total)| per_channel(elements, total) == channels);
            match channels {
                Some(channels) if same => Ok(channels),
                _ => Err("a step loads different output channels of a layer's weights".into()),
            }
        })
        .collect()
}

/// The largest extent along c, h and w of `regions`, as a `1 x C x H x W`
/// shape.
fn hull_shape<'r>(regions: impl Iterator<Item = &'r Region>) -> Vec<i64> {
    let mut shape = vec![1, 0, 0, 0];
    for region in regions {
        shape[1] = shape[1].max(region.c.len());
        shape[2] = shape[2].max(region.h.len());
        shape[3] = shape[3].max(region.w.len());
    }
    shape
}

/// Something to place: live over layer positions `[from, to]`.
struct Item {
    from: usize,
    to: usize,
    bytes: u64,
    /// Its offset's alignment.
    align: u64,
}

/// Gives every buffer of `region` its shape and offset, and sets
/// [`StagedRegion::arena_bytes`]; activation buffers start at multiples of
/// `activation_align` bytes.
fn place(region: &mut StagedRegion, activation_align: u64, placement: Placement) {
    let plan = &region.plan;
    let last = plan.nodes.len().saturating_sub(1);
    // Per tensor: its window shape and live range.
    let mut tensor_items: Vec<Option<(Vec<i64>, usize, usize)>> = vec![None; plan.tensors.len()];
    let mut use_items: Vec<(usize, usize, Vec<i64>)> = Vec::new();
    let chunk_loop_start = plan
        .in_chunk_loop
        .iter()
        .position(|&inside| inside)
        .unwrap_or(last);
    for (t, tensor) in plan.tensors.iter().enumerate() {
        if tensor.accumulator {
            let shape = vec![1, tensor.dims.c, 1, 1];
            tensor_items[t] = Some((shape, 0, last));
            continue;
        }
        let users: Vec<usize> = (0..region.layers.len())
            .filter(|&p| region.layers[p].uses.contains(&t))
            .collect();
        if tensor.producer.is_none() && tensor.streamed {
            for &p in &users {
                for (u, &used) in region.layers[p].uses.iter().enumerate() {
                    if used == t && region.layers[p].into_output[u].is_none() {
                        let mut shape =
                            hull_shape(plan.steps.iter().map(|s| &s.layers[p].reads[u]));
                        if region.layers[p].chunks(u) {
                            shape[1] = shape[1].min(region.layers[p].chunk_channels);
                        }
                        use_items.push((p, u, shape));
                    }
                }
            }
            continue;
        }
        let shape = hull_shape(plan.steps.iter().map(|s| &s.regions[t]));
        let producer = region.layers.iter().position(|l| l.output == t);
        let from = producer.or(users.first().copied()).unwrap_or(0);
        // A cached tensor's window carries its overlap from step to step;
        // one kept across chunks is read at every chunk, while the layers
        // of the chunk loop before its first reader run again.
        let from = if tensor.cached {
            0
        } else if tensor.kept_across_chunks {
            from.min(chunk_loop_start)
        } else {
            from
        };
        let to = if tensor.kept_across_chunks || tensor.cached {
            last
        } else {
            users.last().copied().unwrap_or(from).max(from)
        };
        tensor_items[t] = Some((shape, from, to));
    }

    // An elementwise layer writes over an operand computed in the group that
    // dies there, when both have the same window at every step.
    let mut shares: Vec<Option<usize>> = vec![None; plan.tensors.len()];
    for p in 0..region.layers.len() {
        let layer = &region.layers[p];
        let out = layer.output;
        let kept = |t: usize| plan.tensors[t].accumulator || plan.tensors[t].cached;
        if !layer.elementwise || kept(out) || tensor_items[out].is_none() {
            continue;
        }
        let candidate = layer.uses.iter().copied().find(|&t| {
            let tensor = &plan.tensors[t];
            let dies_here = tensor_items[t].as_ref().is_some_and(|item| item.2 == p)
                || shares[t].is_some_and(|root| {
                    tensor_items[root].as_ref().is_some_and(|item| item.2 == p)
                });
            !tensor.streamed
                && !tensor.is_output
                && !kept(t)
                && !tensor.kept_across_chunks
                && dies_here
                && plan.tensors[t].dims == plan.tensors[out].dims
                && plan
                    .steps
                    .iter()
                    .all(|step| step.regions[t] == step.regions[out])
        });
        let Some(t) = candidate else {
            continue;
        };
        let root = shares[t].unwrap_or(t);
        let (out_shape, _, out_to) = tensor_items[out].take().expect("checked above");
        let item = tensor_items[root]
            .as_mut()
            .expect("a shared buffer has an item");
        if item.0 != out_shape {
            // Same windows give the same shape; keep the output apart if not.
            tensor_items[out] = Some((out_shape, p, out_to));
            continue;
        }
        item.2 = item.2.max(out_to);
        shares[out] = Some(root);
        region.layers[p].in_place = true;
    }

    let mut items: Vec<Item> = Vec::new();
    for entry in tensor_items.iter().flatten() {
        items.push(Item {
            from: entry.1,
            to: entry.2,
            bytes: entry.0.iter().product::<i64>().max(0) as u64 * 4,
            align: activation_align,
        });
    }
    for (p, _, shape) in &use_items {
        items.push(Item {
            from: *p,
            to: *p,
            bytes: shape.iter().product::<i64>().max(0) as u64 * 4,
            align: activation_align,
        });
    }
    for (p, layer) in region.layers.iter().enumerate() {
        let resident = layer.resident_channels >= layer.out_channels;
        for weight in &layer.weights {
            let (from, to) = if resident { (0, last) } else { (p, p) };
            items.push(Item {
                from,
                to,
                bytes: weight.buffer.bytes(),
                align: WEIGHT_ALIGN,
            });
        }
    }
    // The kept part of partly resident weights, for all steps.
    for layer in &region.layers {
        for weight in &layer.weights {
            if let Some(buffer) = &weight.resident {
                items.push(Item {
                    from: 0,
                    to: last,
                    bytes: buffer.bytes(),
                    align: WEIGHT_ALIGN,
                });
            }
        }
    }
    // Line buffers, for all steps.
    let lines: Vec<(usize, Vec<i64>)> = plan
        .tensors
        .iter()
        .enumerate()
        .filter_map(|(t, tensor)| {
            let line = tensor.line?;
            Some((t, vec![1, line.c.len(), line.h.len(), line.w.len()]))
        })
        .collect();
    for (_, shape) in &lines {
        items.push(Item {
            from: 0,
            to: last,
            bytes: shape.iter().product::<i64>().max(0) as u64 * 4,
            align: activation_align,
        });
    }
    region.live_peak = live_peak(&items);
    let offsets = arrange(&items, placement, region.live_peak);
    region.arena_bytes = items
        .iter()
        .zip(&offsets)
        .map(|(item, offset)| offset + item.bytes)
        .max()
        .unwrap_or(0);

    let mut next = offsets.into_iter();
    for (t, entry) in tensor_items.into_iter().enumerate() {
        if let Some((shape, _, _)) = entry {
            region.tensors[t].buffer = Some(TileBuffer {
                offset: next.next().expect("one offset per item"),
                shape,
            });
        }
    }
    for (t, root) in shares.iter().enumerate() {
        if let Some(root) = *root {
            region.tensors[t].buffer = region.tensors[root].buffer.clone();
        }
    }
    for (p, u, shape) in use_items {
        region.layers[p].use_buffers[u] = Some(TileBuffer {
            offset: next.next().expect("one offset per item"),
            shape,
        });
    }
    for layer in &mut region.layers {
        for weight in &mut layer.weights {
            weight.buffer.offset = next.next().expect("one offset per item");
        }
    }
    for layer in &mut region.layers {
        for weight in &mut layer.weights {
            if let Some(buffer) = &mut weight.resident {
                buffer.offset = next.next().expect("one offset per item");
            }
        }
    }
    for (t, shape) in lines {
        region.tensors[t].line = Some(TileBuffer {
            offset: next.next().expect("one offset per item"),
            shape,
        });
    }
}

/// Input channels per chunk of a streamed input that the arena's spare
/// capacity may buy, largest first: a chunked convolution reads and writes
/// its partial sums once per chunk.
const CHUNK_WIDTHS: [i64; 3] = [32, 16, STREAM_CHANNELS];

/// Output channels per load of a streamed weight, largest first: a tile
/// kernel computes as many output channels per call, in register blocks,
/// from each input load.
const SLICE_GROUPS: [i64; 4] = [8, 4, 2, 1];

/// Uses the arena's room beyond the cost model's buffers: streamed inputs
/// in chunks wider than [`STREAM_CHANNELS`], and several output channels'
/// slices of every sliced weight per load, the widest pair (chunks first)
/// whose buffers still fit `capacity`, then layer by layer
/// ([`widen_each`]). The same bytes move, in fewer and larger transfers, and
/// the kernels do more per call.
fn widen(region: &mut StagedRegion, capacity: u64, activation_align: u64) {
    let chunked = region.layers.iter().any(|layer| layer.chunked.is_some());
    let sliced = region
        .layers
        .iter()
        .any(|layer| layer.weights.iter().any(|w| w.sliced));
    let widths: &[i64] = if chunked {
        &CHUNK_WIDTHS
    } else {
        &[STREAM_CHANNELS]
    };
    let groups: &[i64] = if sliced { &SLICE_GROUPS } else { &[1] };
    // Per layer, the channels of the input it chunks (0: none).
    let extents: Vec<i64> = (0..region.layers.len())
        .map(|p| {
            region.layers[p]
                .chunked
                .map_or(0, |u| use_channel_extent(&region.plan, p, u))
        })
        .collect();
    'uniform: for &width in widths {
        for &group in groups {
            if (width, group) == (STREAM_CHANNELS, 1) {
                break 'uniform;
            }
            let mut wider = region.clone();
            for (layer, &extent) in wider.layers.iter_mut().zip(&extents) {
                // No wider than the input it chunks, and never narrower
                // than the model's chunk.
                set_chunk_channels(layer, width.min(extent).max(STREAM_CHANNELS));
                set_slice_channels(layer, group.min(layer.out_channels));
            }
            place(&mut wider, activation_align, Placement::Quick);
            if wider.arena_bytes <= capacity {
                *region = wider;
                break 'uniform;
            }
        }
    }
    widen_each(region, capacity, activation_align, &extents);
}

/// The most output channels per load of a sliced weight that
/// [`widen_each`] gives a layer.
const MAX_SLICE_CHANNELS: i64 = 64;

/// After [`widen`]'s uniform choice, widens the layers one at a time while
/// the arena still fits `capacity`: first each chunked layer's chunks, then
/// each layer's weight slices, doubling them, the layers whose buffers grow
/// least first. One layer's large buffer (a 3x3 filter slice over all its
/// input channels, a wide input window) then no longer holds back the
/// others, whose narrow chunks or slices of a few hundred bytes cost a
/// partial-sum pass, a DMA and a kernel call each.
fn widen_each(region: &mut StagedRegion, capacity: u64, activation_align: u64, extents: &[i64]) {
    for widening in [Widening::Chunk, Widening::Slice] {
        let mut layers: Vec<usize> = (0..region.layers.len())
            .filter(|&p| widening.applies(&region.layers[p]))
            .collect();
        layers.sort_by_key(|&p| (widening.bytes_per_channel(&region.layers[p]), p));
        for p in layers {
            let limit = widening.limit(&region.layers[p], extents[p]);
            // Doubled until it reaches the limit or the arena overflows.
            while widening.width(&region.layers[p]) < limit {
                let width = (widening.width(&region.layers[p]) * 2).min(limit);
                let mut wider = region.clone();
                widening.set(&mut wider.layers[p], width);
                place(&mut wider, activation_align, Placement::Quick);
                if wider.arena_bytes > capacity {
                    break;
                }
                *region = wider;
            }
        }
    }
}

/// A layer's width that [`widen_each`] widens.
#[derive(Clone, Copy)]
enum Widening {
    /// The channels per chunk of a streamed input.
    Chunk,
    /// The output channels per load of the sliced weights.
    Slice,
}

impl Widening {
    /// Whether `layer` has this width.
    fn applies(self, layer: &StagedLayer) -> bool {
        match self {
            Widening::Chunk => layer.chunked.is_some(),
            Widening::Slice => layer.weights.iter().any(|w| w.sliced),
        }
    }

    /// The width now.
    fn width(self, layer: &StagedLayer) -> i64 {
        match self {
            Widening::Chunk => layer.chunk_channels,
            Widening::Slice => layer.slice_channels,
        }
    }

    /// Sets the width, with the buffers it sizes.
    fn set(self, layer: &mut StagedLayer, width: i64) {
        match self {
            Widening::Chunk => set_chunk_channels(layer, width),
            Widening::Slice => set_slice_channels(layer, width),
        }
    }

    /// The widest it may get: a chunk no wider than [`CHUNK_WIDTHS`]' first
    /// or the `extent` of the input it chunks; a slice no wider than
    /// [`MAX_SLICE_CHANNELS`] or the channels a step loads, and for a
    /// depthwise layer than its chunk, whose channels are all it computes.
    fn limit(self, layer: &StagedLayer, extent: i64) -> i64 {
        match self {
            Widening::Chunk => extent.min(CHUNK_WIDTHS[0]),
            Widening::Slice => {
                let step_channels = layer
                    .weight_channels
                    .iter()
                    .map(|&(from, to)| to - from)
                    .max()
                    .unwrap_or(0);
                let limit = step_channels.min(MAX_SLICE_CHANNELS);
                if layer.depthwise && layer.chunked.is_some() {
                    limit.min(layer.chunk_channels)
                } else {
                    limit
                }
            }
        }
    }

    /// Bytes per channel of the buffers it sizes.
    fn bytes_per_channel(self, layer: &StagedLayer) -> u64 {
        match self {
            Widening::Chunk => {
                let inputs: u64 = (0..layer.uses.len())
                    .filter(|&u| layer.chunks(u))
                    .filter_map(|u| layer.use_buffers[u].as_ref())
                    .map(|b| b.bytes() / b.shape[1].max(1) as u64)
                    .sum();
                let filters: u64 = layer
                    .weights
                    .iter()
                    .filter(|w| w.chunked)
                    .map(|w| w.buffer.bytes() / w.buffer.shape[1].max(1) as u64)
                    .sum();
                inputs + filters
            }
            Widening::Slice => layer
                .weights
                .iter()
                .filter(|w| w.sliced)
                .map(|w| w.buffer.bytes() / w.buffer.shape[0].max(1) as u64)
                .sum(),
        }
    }
}

/// Sets `layer`'s chunk width and its chunked filters' buffers to match.
fn set_chunk_channels(layer: &mut StagedLayer, width: i64) {
    layer.chunk_channels = width;
    for weight in layer.weights.iter_mut().filter(|w| w.chunked) {
        weight.buffer.shape[1] = width.min(weight.channels);
    }
}

/// Sets `layer`'s slice width and its sliced weights' buffers to match.
fn set_slice_channels(layer: &mut StagedLayer, group: i64) {
    layer.slice_channels = group;
    for weight in layer.weights.iter_mut().filter(|w| w.sliced) {
        weight.buffer.shape[0] = group;
    }
}

/// The most channels use `u` of layer `p` reads at any step of `plan`.
pub(crate) fn use_channel_extent(plan: &TilePlan, p: usize, u: usize) -> i64 {
    plan.steps
        .iter()
        .map(|s| s.layers[p].reads[u].c.len())
        .max()
        .unwrap_or(0)
}

/// Offsets for `items` such that two items live at a common position never
/// overlap, each at the lowest aligned offset that is free when placed in
/// one of a few orders (largest first; longest-lived first; by area of
/// bytes times positions): the order whose arena is smallest. No order is
/// best for every region, and first fit can fragment the arena past the
/// peak of the live bytes, which a region must stay under to be staged:
/// then a [`Placement::Thorough`] search tries perturbed orders too, until
/// one packs to `peak` (the items' [`live_peak`]).
fn arrange(items: &[Item], placement: Placement, peak: u64) -> Vec<u64> {
    let span = |offsets: &[u64]| {
        items
            .iter()
            .zip(offsets)
            .map(|(item, offset)| offset + item.bytes)
            .max()
            .unwrap_or(0)
    };
    let positions = |item: &Item| (item.to - item.from + 1) as u64;
    let key = |order: usize, item: &Item| match order {
        0 => (item.bytes, 0),
        1 => (positions(item), item.bytes),
        _ => (item.bytes * positions(item), item.bytes),
    };
    let mut best = (0..3)
        .map(|k| {
            let mut order: Vec<usize> = (0..items.len()).collect();
            order.sort_by_key(|&i| (std::cmp::Reverse(key(k, &items[i])), i));
            first_fit(items, &order)
        })
        .min_by_key(|offsets| span(offsets))
        .unwrap_or_default();
    let mut best_span = span(&best);
    if placement == Placement::Quick || best_span <= peak {
        return best;
    }
    // Fragmented: orders near largest first, each item's size scaled by a
    // seeded factor in [1/2, 3/2), until one packs to the live peak.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..PLACEMENT_TRIALS {
        let weights: Vec<u64> = items
            .iter()
            .map(|item| item.bytes.saturating_mul(512 + next() % 1024))
            .collect();
        let mut order: Vec<usize> = (0..items.len()).collect();
        order.sort_by_key(|&i| (std::cmp::Reverse(weights[i]), i));
        let offsets = first_fit(items, &order);
        let offsets_span = span(&offsets);
        if offsets_span < best_span {
            (best, best_span) = (offsets, offsets_span);
            if best_span <= peak {
                break;
            }
        }
    }
    best
}

/// How hard [`arrange`] tries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Placement {
    /// A few orders: enough to compare the wider buffers [`widen`] tries.
    Quick,
    /// Also up to [`PLACEMENT_TRIALS`] perturbed orders when those few
    /// fragment the arena past the live peak.
    Thorough,
}

/// Perturbed placement orders tried for a region whose buffers fragment
/// the arena past their live peak.
const PLACEMENT_TRIALS: usize = 256;

/// The most bytes live at any position (each rounded up to its alignment):
/// no placement of `items` needs less.
fn live_peak(items: &[Item]) -> u64 {
    let last = items.iter().map(|item| item.to).max().unwrap_or(0);
    (0..=last)
        .map(|p| {
            items
                .iter()
                .filter(|item| item.from <= p && p <= item.to)
                .map(|item| item.bytes.next_multiple_of(item.align))
                .sum::<u64>()
        })
        .max()
        .unwrap_or(0)
}

/// Offsets for `items` placed in `order`, each at the lowest aligned offset
/// that is free of the items placed before it that are live at a common
/// position.
fn first_fit(items: &[Item], order: &[usize]) -> Vec<u64> {
    let mut offsets = vec![0u64; items.len()];
    let mut placed: Vec<usize> = Vec::new();
    for &i in order {
        let item = &items[i];
        let mut conflicts: Vec<(u64, u64)> = placed
            .iter()
            .filter(|&&j| items[j].from <= item.to && item.from <= items[j].to)
            .map(|&j| (offsets[j], offsets[j] + items[j].bytes))
            .collect();
        conflicts.sort_unstable();
        let mut offset = 0u64;
        for (start, end) in conflicts {
            if offset + item.bytes <= start {
                break;
            }
            offset = offset.max(end.next_multiple_of(item.align));
        }
        offsets[i] = offset;
        placed.push(i);
    }
    offsets
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A layer with nothing set but its output tensor.
    fn layer_computing(output: usize) -> StagedLayer {
        StagedLayer {
            step: 0,
            node: 0,
            uses: vec![0],
            use_buffers: vec![None],
            into_output: vec![None],
            weights: Vec::new(),
            operands: vec![OperandSource::Activation(0)],
            output,
            out_channels: 4,
            slice_channels: 1,
            chunk_channels: STREAM_CHANNELS,
            chunked: None,
            chunked_also: None,
            elementwise: false,
            in_place: false,
            depthwise: false,
            weight_channels: Vec::new(),
            resident_channels: 0,
            swept_channels: 0,
            whole: false,
        }
    }

    /// [`computes_narrow`] of x 1x4x64x`width` -> conv 3x3 (4 filters), in
    /// tiles of all rows and `tile_w` columns.
    fn narrow_conv(width: i64, tile_w: i64) -> Option<f64> {
        use deepfuse_passes::{
            cost::{LoopOrder, Overlap, Tiling},
            graph::{GraphBuilder, Window},
        };
        let mut b = GraphBuilder::new("conv", 4);
        let x = b.input(&[1, 4, 64, width]).unwrap();
        let y = b.conv2d("c", x, 4, Window::square(3, 1, 1), 1).unwrap();
        b.output(y);
        let g = b.finish();
        let model = GroupModel::new(&g, &[0]).unwrap();
        let tiling = Tiling {
            tile_h: 64,
            tile_w,
            tile_c: 4,
            order: LoopOrder::SpatialOuter,
            overlap: Overlap::RECOMPUTE,
            stream_inputs: false,
        };
        let plan = tile_plan::plan_with_weights(&model, &tiling, WeightMode::Streamed).unwrap();
        let output = plan.tensor_of(y).unwrap();
        computes_narrow(&StagedRegion {
            region: 0,
            plan,
            layers: vec![layer_computing(output)],
            tensors: Vec::new(),
            arena_bytes: 0,
            live_peak: 0,
        })
    }

    #[test]
    fn tiles_a_few_columns_wide_are_narrow() {
        assert_eq!(narrow_conv(64, 4), Some(4.0));
        // Five tiles of 12 columns and one of 4.
        assert_eq!(narrow_conv(64, 12), Some(11.5));
        assert_eq!(narrow_conv(64, 16), None);
        // A tensor narrower than twice the bound is computed so op by op
        // too: 8 columns of 16 are not narrow, but a few columns of a
        // tensor four times as wide are.
        assert_eq!(narrow_conv(16, 8), None);
        assert_eq!(narrow_conv(28, 2), Some(2.0));
        assert_eq!(narrow_conv(28, 14), None);
    }

    #[test]
    fn one_channel_slices_of_large_filters_are_narrow() {
        // A 3x3 conv of 128 input channels to 64, its filter streamed one
        // output channel (4608 bytes) per call.
        let filter = |channels: i64| StagedWeight {
            value: 0,
            buffer: TileBuffer {
                offset: 0,
                shape: vec![channels, 128, 3, 3],
            },
            sliced: true,
            chunked: false,
            channels: 128,
            resident: None,
        };
        let mut layer = StagedLayer {
            weights: vec![filter(1)],
            operands: vec![OperandSource::Activation(0), OperandSource::Weight(0)],
            output: 1,
            out_channels: 64,
            weight_channels: vec![(0, 64)],
            ..layer_computing(1)
        };
        assert!(streams_narrow(&layer));
        // Four channels per call, or all kept: not narrow.
        layer.slice_channels = 4;
        layer.weights = vec![filter(4)];
        assert!(!streams_narrow(&layer));
        layer.slice_channels = 1;
        layer.weights = vec![filter(1)];
        layer.resident_channels = 64;
        assert!(!streams_narrow(&layer));
        // A small filter (a 1x1 of 128 channels, 512 bytes) is cheap to call
        // per channel.
        layer.resident_channels = 0;
        layer.weights[0].buffer.shape = vec![1, 128, 1, 1];
        assert!(!streams_narrow(&layer));
    }

    #[test]
    fn first_fit_shares_space_between_buffers_that_are_never_live_together() {
        let items = [
            Item {
                from: 0,
                to: 1,
                bytes: 100,
                align: ALIGN,
            },
            Item {
                from: 1,
                to: 2,
                bytes: 100,
                align: ALIGN,
            },
            Item {
                from: 2,
                to: 2,
                bytes: 64,
                align: ALIGN,
            },
        ];
        let offsets = arrange(&items, Placement::Thorough, live_peak(&items));
        assert_eq!(offsets, vec![0, 128, 0]);
        // At position 1, two buffers of 100 bytes, each taking 128.
        assert_eq!(live_peak(&items), 256);
    }

    /// Buffers that the few quick orders place 64 bytes past their live
    /// peak of 704 (at position 3: 256 + 192 + 256), but some order packs
    /// into it: the thorough placement finds one.
    #[test]
    fn thorough_placement_packs_what_the_quick_orders_fragment() {
        let items: Vec<Item> = [
            (1, 2, 320),
            (3, 3, 256),
            (3, 3, 192),
            (2, 3, 256),
            (0, 0, 320),
        ]
        .into_iter()
        .map(|(from, to, bytes)| Item {
            from,
            to,
            bytes,
            align: ALIGN,
        })
        .collect();
        let span = |offsets: Vec<u64>| {
            let ends = items.iter().zip(&offsets).map(|(item, o)| o + item.bytes);
            ends.max().unwrap()
        };
        assert_eq!(live_peak(&items), 704);
        let peak = live_peak(&items);
        assert_eq!(span(arrange(&items, Placement::Quick, peak)), 768);
        let offsets = arrange(&items, Placement::Thorough, peak);
        for (i, a) in items.iter().enumerate() {
            for (j, b) in items.iter().enumerate().skip(i + 1) {
                let live_together = a.from <= b.to && b.from <= a.to;
                let apart =
                    offsets[i] + a.bytes <= offsets[j] || offsets[j] + b.bytes <= offsets[i];
                assert!(!live_together || apart, "{i} and {j} overlap: {offsets:?}");
            }
        }
        assert_eq!(span(offsets), 704);
    }
}
