//! The cost model: footprint and off-chip traffic of one fusion group under
//! one tiling.
//!
//! A group is a convex set of layers run tile by tile. Its iteration space is
//! the output of its *reference* layer (the group output that comes last in
//! topological order; for a global pool, the pool's input, since the pool
//! accumulates over tiles): rows x columns x output channels, cut into tiles
//! of `tile_h x tile_w x tile_c`. Every other group output is cut into the
//! same number of pieces, proportionally. For one tile, the region each layer
//! must produce is inferred backwards from the outputs through the
//! receptive-field functions ([`crate::receptive_field`]); regions are
//! separable, so rows, columns and channels are analysed independently
//! ([`DimStats`]) and combined per tiling.
//!
//! **Loop order.** The spatial tiles and the channel chunks form two loops.
//! Layers whose region does not depend on the chunk (*phase 1*, e.g. every
//! layer before the last conv) run first, then the chunk-dependent ones
//! (*phase 2*). With *spatial tiles outer*, phase 1 runs once per spatial
//! tile and its results stay on chip while the chunks iterate; weights are
//! re-read per spatial tile unless resident. With *channel chunks outer*,
//! every (chunk, tile) step recomputes phase 1 and re-reads its inputs, but
//! the current chunk of the chunked layers' weights stays resident for a
//! whole sweep, so those weights are read once.
//!
//! **Overlap.** Neighbouring tiles need overlapping input windows (halos).
//! Per dimension the overlap is either *recomputed* (re-read and recomputed
//! by each tile) or *cached* (DeFiNES): every tensor keeps its window on chip
//! between tiles and each layer computes only its new part, so external
//! inputs are read once. Caching rows across bands of several column tiles
//! needs a line buffer of the overlapping rows over the full width.
//!
//! **Footprint** of one step = persistent buffers (cached windows, line
//! buffers, global-pool accumulators, resident weights) + the peak of the
//! transient buffers while the step's layers run in order (a tile lives from
//! its producer to its last consumer, or to the end of the step when it is
//! phase 1's and phase 2 reads it with chunks inside the spatial tiles, since
//! it must outlive the chunk loop; an elementwise op may overwrite an
//! input that dies there; external inputs are either kept for all their uses
//! in the step or streamed per use in small channel chunks; streamed weights
//! pass through a one-output-channel buffer).
//!
//! **Weights** not resident are re-read at every step that uses them; the
//! bytes left over by the activations make weights resident greedily by
//! bytes saved per byte of scratchpad, in whole output channels (a
//! fractional knapsack rounded to channels: a layer can be partly resident,
//! its first channels kept and the others streamed). With chunks outside,
//! a layer of the chunk loop keeps its first channels of each chunk for the
//! chunk's sweep, counted chunk by chunk ([`DimStats::kept_per_chunk`]: a
//! chunk with fewer channels keeps all of its own).
//!
//! **Traffic** = external input reads (with halo re-reads and re-reads per
//! chunk) + weight reads + output writes (each output element once).
//!
//! [`GroupModel::new`] analyses a group once; [`GroupModel::dim_stats`]
//! computes the per-dimension regions of one tile size; [`GroupModel::evaluate`]
//! combines them for one [`Tiling`]. The search over tilings lives in
//! [`crate::tile_search`].

mod dims;

use serde::Serialize;
use thiserror::Error;

pub(crate) use dims::fresh_parts;
pub use dims::{DimCache, DimStats};

use crate::{
    graph::{Dim, Dims, LayerGraph, NodeId, OpKind, ValueId},
    receptive_field::{DimMap, Interval, dim_map, ends_group},
};

/// Capacity and options shared by every group evaluation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct CostConfig {
    /// Scratchpad capacity in bytes.
    pub capacity: u64,
    /// Double-buffer DMA buffers (external input windows, streamed chunks,
    /// output tiles) so transfers overlap compute.
    pub double_buffer: bool,
    /// Channels per chunk when an input is streamed through a small buffer.
    pub stream_channels: i64,
}

impl CostConfig {
    /// A scratchpad of `capacity` bytes, single-buffered, streaming 8
    /// channels at a time.
    pub fn new(capacity: u64) -> Self {
        Self {
            capacity,
            double_buffer: false,
            stream_channels: 8,
        }
    }
}

/// Parses a byte size: a number with an optional unit. `KiB`, `MiB`, `GiB`
/// (and `K`, `M`, `G`) are powers of 1024; `KB`, `MB`, `GB` powers of 1000;
/// `B` or no unit is bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("invalid size '{text}': expected a number such as 1MiB"))?;
    let scale: u64 = match unit.trim() {
        "" | "B" => 1,
        "K" | "k" | "KiB" => 1 << 10,
        "M" | "MiB" => 1 << 20,
        "G" | "GiB" => 1 << 30,
        "KB" | "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        other => {
            return Err(format!(
                "invalid size '{text}': unknown unit '{other}' (use B, KiB, MiB, GiB, KB, MB, GB)"
            ));
        }
    };
    number
        .checked_mul(scale)
        .filter(|&size| size > 0)
        .ok_or_else(|| format!("invalid size '{text}': must be positive and fit 64 bits"))
}

/// Which loop runs outside.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LoopOrder {
    /// Spatial tiles outside, channel chunks inside.
    SpatialOuter,
    /// Channel chunks outside, spatial tiles inside.
    ChannelOuter,
}

impl LoopOrder {
    /// The name used in reports and attributes.
    pub fn name(self) -> &'static str {
        match self {
            LoopOrder::SpatialOuter => "spatial-outer",
            LoopOrder::ChannelOuter => "channel-outer",
        }
    }

    /// The order named `name` (see [`LoopOrder::name`]).
    pub fn from_name(name: &str) -> Option<Self> {
        [LoopOrder::SpatialOuter, LoopOrder::ChannelOuter]
            .into_iter()
            .find(|order| order.name() == name)
    }
}

/// How the overlap between neighbouring tiles is handled, per dimension.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Overlap {
    /// Overlapping rows (between row bands) stay on chip.
    pub cache_rows: bool,
    /// Overlapping columns (between tiles of a band) stay on chip.
    pub cache_cols: bool,
}

impl Overlap {
    /// Both overlaps recomputed.
    pub const RECOMPUTE: Overlap = Overlap {
        cache_rows: false,
        cache_cols: false,
    };

    /// `recompute`, `cache-h` (columns cached), `cache-v` (rows cached) or
    /// `cache` (both), as in DeFiNES.
    pub fn name(self) -> &'static str {
        match (self.cache_rows, self.cache_cols) {
            (false, false) => "recompute",
            (false, true) => "cache-h",
            (true, false) => "cache-v",
            (true, true) => "cache",
        }
    }

    /// The handling named `name` (see [`Overlap::name`]).
    pub fn from_name(name: &str) -> Option<Self> {
        [(false, false), (false, true), (true, false), (true, true)]
            .into_iter()
            .map(|(cache_rows, cache_cols)| Overlap {
                cache_rows,
                cache_cols,
            })
            .find(|overlap| overlap.name() == name)
    }
}

/// One way to run a group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Tiling {
    /// Rows of the reference output per tile.
    pub tile_h: i64,
    /// Columns of the reference output per tile.
    pub tile_w: i64,
    /// Channels of the reference output per chunk.
    pub tile_c: i64,
    /// Loop order.
    pub order: LoopOrder,
    /// Overlap handling.
    pub overlap: Overlap,
    /// External inputs without cached overlap are streamed per use, in small
    /// channel chunks, instead of kept on chip for all their uses in a step.
    /// (A single-use input is streamed anyway whenever that costs no extra
    /// reads.)
    pub stream_inputs: bool,
}

/// Off-chip traffic in bytes, by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Traffic {
    /// Activation reads (external inputs, halo and chunk re-reads included).
    pub input: u64,
    /// Weight reads.
    pub weight: u64,
    /// Activation writes.
    pub output: u64,
}

impl Traffic {
    /// All bytes moved.
    pub fn total(&self) -> u64 {
        self.input + self.weight + self.output
    }
}

impl std::ops::Add for Traffic {
    type Output = Traffic;
    fn add(self, other: Traffic) -> Traffic {
        Traffic {
            input: self.input + other.input,
            weight: self.weight + other.weight,
            output: self.output + other.output,
        }
    }
}

impl std::iter::Sum for Traffic {
    fn sum<I: Iterator<Item = Traffic>>(iter: I) -> Traffic {
        iter.fold(Traffic::default(), |a, b| a + b)
    }
}

/// The cost of a group under one tiling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Evaluation {
    /// Peak scratchpad bytes of one step, resident weights included.
    pub footprint: u64,
    /// Off-chip traffic.
    pub traffic: Traffic,
    /// Bytes of weights kept on chip.
    pub resident_weights: u64,
    /// Tiles along rows, columns and channels.
    pub tiles: [usize; 3],
    /// Whether the footprint fits the capacity.
    pub feasible: bool,
}

/// Why a set of nodes is not a valid group.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum GroupError {
    /// No node.
    #[error("a group needs at least one op")]
    Empty,
    /// A node index out of range or repeated.
    #[error("node {0} is not in the graph or appears twice")]
    BadNode(NodeId),
    /// A whole-input op whose result is read inside the group.
    #[error("'{0}' needs its whole input and must end its group, but an op of the group reads it")]
    EndsGroup(String),
    /// A path leaves the group and comes back.
    #[error("the group is not convex: a path from '{from}' to '{to}' leaves it")]
    NotConvex {
        /// Where the path starts.
        from: String,
        /// Where it re-enters.
        to: String,
    },
}

/// An activation tensor the group touches.
#[derive(Clone, Debug)]
pub(crate) struct TensorInfo {
    pub(crate) value: ValueId,
    pub(crate) dims: Dims,
    pub(crate) elem_bytes: u64,
    /// The member producing it; `None` for an external input.
    pub(crate) producer: Option<usize>,
    /// Read outside the group, returned, or dead: written to memory.
    pub(crate) is_output: bool,
    /// The result of a global pool: a persistent 1x1 accumulator.
    pub(crate) accumulator: bool,
    /// Uses by members (indices into `uses`).
    pub(crate) uses: Vec<usize>,
}

/// A member node.
#[derive(Clone, Debug)]
pub(crate) struct MemberInfo {
    pub(crate) node: NodeId,
    pub(crate) output: usize,
    pub(crate) uses: Vec<usize>,
    pub(crate) weight_bytes: u64,
    pub(crate) out_channels: i64,
    pub(crate) accumulates: bool,
    elementwise: bool,
}

/// One read of a tensor by a member.
#[derive(Clone, Copy, Debug)]
pub(crate) struct UseInfo {
    pub(crate) member: usize,
    operand: usize,
    pub(crate) tensor: usize,
}

/// What an evaluation derives from the channel chunking alone
/// ([`GroupModel::chunk_plan`]): which layers run once per chunk, and the
/// order the layers of a step run in. A search computes it once per chunk
/// size and evaluates many tilings with it.
#[derive(Clone, Debug, Default)]
pub struct ChunkPlan {
    /// Per member: it runs in phase 2 (its region depends on the chunk).
    pub(crate) phase2: Vec<bool>,
    /// Per member: its execution position in a step.
    pub(crate) position: Vec<usize>,
    /// Per tensor: the first and last position that reads it.
    first_use: Vec<usize>,
    last_use: Vec<usize>,
    /// Per tensor: it depends on the chunk.
    pub(crate) tensor_phase2: Vec<bool>,
    /// Positions of the phase-1 members (they come first).
    phase1_len: usize,
}

impl ChunkPlan {
    /// Tensor `t` does not depend on the chunk but phase 2 reads it: with
    /// chunks inside a spatial tile it stays on chip while the chunks
    /// iterate, and no later buffer of the step may take its place.
    pub(crate) fn read_by_chunk_loop(&self, t: usize) -> bool {
        !self.tensor_phase2[t]
            && self.first_use[t] != usize::MAX
            && self.last_use[t] >= self.phase1_len
    }
}

/// Working memory of [`GroupModel::evaluate_with`], reused across
/// evaluations so that a search allocates nothing per tiling.
#[derive(Clone, Debug, Default)]
pub struct Scratch {
    plan: ChunkPlan,
    cached: Vec<bool>,
    streamed: Vec<bool>,
    delta: Vec<i64>,
    extra: Vec<i64>,
    items: Vec<(u64, u64, usize)>,
    /// Per member, the bytes of its weights the last evaluation keeps on
    /// chip (whole output channels).
    pub resident_by_member: Vec<u64>,
    /// Stop after the footprint without weights (traffic left at zero).
    pub footprint_only: bool,
}

impl Scratch {
    fn reset(&mut self, members: usize, tensors: usize) {
        let reset_bool = |v: &mut Vec<bool>, n: usize| {
            v.clear();
            v.resize(n, false);
        };
        reset_bool(&mut self.cached, tensors);
        reset_bool(&mut self.streamed, tensors);
        self.delta.clear();
        self.delta.resize(members + 1, 0);
        self.extra.clear();
        self.extra.resize(members, 0);
        self.items.clear();
        self.resident_by_member.clear();
        self.resident_by_member.resize(members, 0);
    }
}

/// A group analysed once, ready to be evaluated under many tilings.
#[derive(Clone, Debug)]
pub struct GroupModel<'g> {
    graph: &'g LayerGraph,
    pub(crate) members: Vec<MemberInfo>,
    pub(crate) tensors: Vec<TensorInfo>,
    pub(crate) uses: Vec<UseInfo>,
    /// Member whose output (or, for a global pool, whose input) defines the
    /// tile grid.
    reference: usize,
    /// Grid `[channels, rows, columns]`.
    grid: [i64; 3],
    /// Per use, its [`DimMap`] along channels, rows and columns.
    maps: [Vec<DimMap>; 3],
    /// Tensors written to memory.
    output_tensors: Vec<usize>,
    /// Tensors read from memory.
    external_tensors: Vec<usize>,
    /// Bytes of all outputs.
    output_bytes: u64,
}

/// `[start, end)` of a grid of `grid` mapped proportionally onto `size`.
pub(crate) fn proportional(tile: Interval, grid: i64, size: i64) -> Interval {
    if grid <= 0 || size <= 0 {
        return Interval::EMPTY;
    }
    let map = |x: i64| if x >= grid { size } else { x * size / grid };
    Interval::new(map(tile.start), map(tile.end))
}

impl<'g> GroupModel<'g> {
    /// Analyses the group of `nodes` (any order) of `graph`.
    pub fn new(graph: &'g LayerGraph, nodes: &[NodeId]) -> Result<Self, GroupError> {
        if nodes.is_empty() {
            return Err(GroupError::Empty);
        }
        let mut sorted = nodes.to_vec();
        sorted.sort_unstable();
        let mut local = vec![usize::MAX; graph.nodes.len()];
        for (i, &node) in sorted.iter().enumerate() {
            if node >= graph.nodes.len() || local[node] != usize::MAX {
                return Err(GroupError::BadNode(node));
            }
            local[node] = i;
        }
        check_convex(graph, &sorted, &local)?;

        let mut tensors: Vec<TensorInfo> = Vec::new();
        let mut tensor_of = std::collections::HashMap::new();
        let mut members = Vec::new();
        let mut uses = Vec::new();
        for (m, &node) in sorted.iter().enumerate() {
            let n = &graph.nodes[node];
            let mut member_uses = Vec::new();
            for (operand, op) in n.inputs.iter().enumerate() {
                let tensor = *tensor_of.entry(op.value).or_insert_with(|| {
                    let value = &graph.values[op.value];
                    tensors.push(TensorInfo {
                        value: op.value,
                        dims: value.dims,
                        elem_bytes: value.elem_bytes,
                        producer: None,
                        is_output: false,
                        accumulator: false,
                        uses: Vec::new(),
                    });
                    tensors.len() - 1
                });
                uses.push(UseInfo {
                    member: m,
                    operand,
                    tensor,
                });
                tensors[tensor].uses.push(uses.len() - 1);
                member_uses.push(uses.len() - 1);
            }
            let value = &graph.values[n.output];
            let read_outside = value.consumers.iter().any(|&c| local[c] == usize::MAX);
            let accumulates = matches!(n.kind, OpKind::GlobalPool { .. });
            if ends_group(graph, node) && value.consumers.iter().any(|&c| local[c] != usize::MAX) {
                return Err(GroupError::EndsGroup(n.label.clone()));
            }
            tensors.push(TensorInfo {
                value: n.output,
                dims: value.dims,
                elem_bytes: value.elem_bytes,
                producer: Some(m),
                is_output: read_outside
                    || value.consumers.is_empty()
                    || graph.is_network_output(n.output),
                accumulator: accumulates,
                uses: Vec::new(),
            });
            tensor_of.insert(n.output, tensors.len() - 1);
            members.push(MemberInfo {
                node,
                output: tensors.len() - 1,
                uses: member_uses,
                weight_bytes: n.weight_bytes(),
                out_channels: value.dims.c.max(1),
                accumulates,
                elementwise: n.kind.is_elementwise(),
            });
        }
        let reference = (0..members.len())
            .rev()
            .find(|&m| tensors[members[m].output].is_output)
            .unwrap_or(members.len() - 1);
        let out = &tensors[members[reference].output];
        let spatial = if members[reference].accumulates {
            members[reference]
                .uses
                .first()
                .map(|&u| tensors[uses[u].tensor].dims)
                .unwrap_or(out.dims)
        } else {
            out.dims
        };
        let maps = [Dim::C, Dim::H, Dim::W].map(|dim| {
            uses.iter()
                .map(|u: &UseInfo| dim_map(graph, members[u.member].node, u.operand, dim))
                .collect()
        });
        let output_tensors: Vec<usize> = (0..tensors.len())
            .filter(|&t| tensors[t].is_output)
            .collect();
        let external_tensors = (0..tensors.len())
            .filter(|&t| tensors[t].producer.is_none())
            .collect();
        let output_bytes = output_tensors
            .iter()
            .map(|&t| tensors[t].dims.elements() * tensors[t].elem_bytes)
            .sum();
        Ok(Self {
            graph,
            grid: [out.dims.c.max(1), spatial.h.max(1), spatial.w.max(1)],
            members,
            tensors,
            uses,
            reference,
            maps,
            output_tensors,
            external_tensors,
            output_bytes,
        })
    }

    /// The graph the group belongs to.
    pub fn graph(&self) -> &'g LayerGraph {
        self.graph
    }

    /// The group's nodes, in topological order.
    pub fn nodes(&self) -> Vec<NodeId> {
        self.members.iter().map(|m| m.node).collect()
    }

    /// The tile grid: channels, rows and columns of the reference output.
    pub fn grid(&self) -> [i64; 3] {
        self.grid
    }

    /// The node whose output defines the tile grid.
    pub fn reference_node(&self) -> NodeId {
        self.members[self.reference].node
    }

    /// External inputs (values produced outside the group), in first-use
    /// order.
    pub fn external_inputs(&self) -> Vec<ValueId> {
        self.tensors
            .iter()
            .filter(|t| t.producer.is_none())
            .map(|t| t.value)
            .collect()
    }

    /// Values the group writes to memory.
    pub fn outputs(&self) -> Vec<ValueId> {
        self.tensors
            .iter()
            .filter(|t| t.is_output)
            .map(|t| t.value)
            .collect()
    }

    /// Whether an external input is read by several layers of the group
    /// (so keeping it or streaming it per use is a real choice).
    pub fn has_shared_inputs(&self) -> bool {
        self.tensors
            .iter()
            .any(|t| t.producer.is_none() && t.uses.len() > 1)
    }

    /// Bytes of weights of the layers that stay outside the chunk loop under
    /// the chunking of `chans` (phase 1: re-run for every chunk when chunks
    /// are outside).
    pub fn chunk_independent_weight_bytes(&self, chans: &DimStats) -> u64 {
        if chans.count <= 1 {
            return self.members.iter().map(|m| m.weight_bytes).sum();
        }
        let mut phase2 = vec![false; self.members.len()];
        let mut bytes = 0;
        for (m, member) in self.members.iter().enumerate() {
            let fed_by_phase2 = member.uses.iter().any(|&u| {
                self.tensors[self.uses[u].tensor]
                    .producer
                    .is_some_and(|p| phase2[p])
            });
            phase2[m] = chans.varies[member.output] || fed_by_phase2;
            if !phase2[m] {
                bytes += member.weight_bytes;
            }
        }
        bytes
    }

    /// Whether some layer's window along `dim` skips input indices (stride
    /// larger than the dilated kernel): only then can fine tiles read less
    /// of an input than one whole tile does.
    pub fn skips(&self, dim: Dim) -> bool {
        self.uses.iter().any(|u| {
            matches!(
                dim_map(self.graph, self.members[u.member].node, u.operand, dim),
                DimMap::Window { kernel, stride, dilation, .. } if stride > dilation * (kernel - 1) + 1
            )
        })
    }

    /// Whether tiles along `dim` can need overlapping windows of some
    /// tensor (a window wider than its stride, a whole-input read, an
    /// upsampling, or shifted reads): if not, caching overlaps changes
    /// nothing.
    pub fn halo(&self, dim: Dim) -> bool {
        self.maps[match dim {
            Dim::C => 0,
            Dim::H => 1,
            _ => 2,
        }]
        .iter()
        .any(|map| match *map {
            DimMap::Same { .. } | DimMap::First => false,
            DimMap::Offset { offset, .. } => offset != 0,
            DimMap::Window {
                kernel,
                stride,
                dilation,
                ..
            } => dilation * (kernel - 1) + 1 > stride,
            DimMap::Scale { scale, .. } => scale > 1,
            DimMap::Full { size } => size > 1,
            DimMap::Groups { .. } => true,
        })
    }

    /// Bytes of `rows x cols x channels` elements of tensor `t` (indexed
    /// like [`DimStats`]) if it is an external input, else 0.
    pub fn input_bytes(&self, t: usize, rows: i64, cols: i64, channels: i64) -> u64 {
        let info = &self.tensors[t];
        if info.producer.is_some() {
            return 0;
        }
        (rows.max(0) as u64)
            * (cols.max(0) as u64)
            * (channels.max(0) as u64)
            * (info.dims.n.max(1) as u64)
            * info.elem_bytes
    }

    /// Bytes of all weights.
    pub fn weight_bytes(&self) -> u64 {
        self.members.iter().map(|m| m.weight_bytes).sum()
    }

    /// Bytes every tiling moves besides its input reads: each weight read
    /// once, each output written once.
    pub fn fixed_floor(&self) -> u64 {
        let floor = self.ideal_traffic();
        floor.weight + floor.output
    }

    /// Every external input read once in full, every weight read once,
    /// every output written once: what one tile holding everything moves.
    /// (Tilings of layers whose strides skip input rows can read less.)
    pub fn ideal_traffic(&self) -> Traffic {
        Traffic {
            input: self
                .tensors
                .iter()
                .filter(|t| t.producer.is_none())
                .map(|t| t.dims.elements() * t.elem_bytes)
                .sum(),
            weight: self.members.iter().map(|m| m.weight_bytes).sum(),
            output: self
                .tensors
                .iter()
                .filter(|t| t.is_output)
                .map(|t| t.dims.elements() * t.elem_bytes)
                .sum(),
        }
    }

    /// The grid index of `dim` (channels, rows, columns).
    fn grid_of(&self, dim: Dim) -> i64 {
        match dim {
            Dim::C => self.grid[0],
            Dim::H => self.grid[1],
            Dim::W => self.grid[2],
            Dim::N => 1,
        }
    }

    /// Footprint and traffic of the group under `tiling`, given the
    /// [`DimStats`] of its channel chunk, tile height and tile width (as
    /// [`GroupModel::dim_stats`] returns them for `tiling`).
    pub fn evaluate(
        &self,
        tiling: &Tiling,
        chans: &DimStats,
        rows: &DimStats,
        cols: &DimStats,
        config: &CostConfig,
    ) -> Evaluation {
        self.evaluate_with(tiling, chans, rows, cols, config, &mut Scratch::default())
    }

    /// [`GroupModel::evaluate`] with reusable working memory.
    pub fn evaluate_with(
        &self,
        tiling: &Tiling,
        chans: &DimStats,
        rows: &DimStats,
        cols: &DimStats,
        config: &CostConfig,
        scratch: &mut Scratch,
    ) -> Evaluation {
        let mut plan = std::mem::take(&mut scratch.plan);
        self.chunk_plan_into(chans, &mut plan);
        let evaluation = self.evaluate_planned(tiling, &plan, chans, rows, cols, config, scratch);
        scratch.plan = plan;
        evaluation
    }

    /// The [`ChunkPlan`] of the channel chunking `chans`.
    pub fn chunk_plan(&self, chans: &DimStats) -> ChunkPlan {
        let mut plan = ChunkPlan::default();
        self.chunk_plan_into(chans, &mut plan);
        plan
    }

    fn chunk_plan_into(&self, chans: &DimStats, plan: &mut ChunkPlan) {
        let (nm, nt) = (self.members.len(), self.tensors.len());
        let ChunkPlan {
            phase2,
            position,
            first_use,
            last_use,
            tensor_phase2,
            phase1_len,
        } = plan;
        phase2.clear();
        phase2.resize(nm, false);
        position.clear();
        position.resize(nm, 0);
        first_use.clear();
        first_use.resize(nt, usize::MAX);
        last_use.clear();
        last_use.resize(nt, 0);
        // Phase 2: layers whose region depends on the chunk, and everything
        // they feed (so that phase 1 can run first).
        if chans.count > 1 {
            for m in 0..nm {
                let out = self.members[m].output;
                let fed_by_phase2 = self.members[m].uses.iter().any(|&u| {
                    self.tensors[self.uses[u].tensor]
                        .producer
                        .is_some_and(|p| phase2[p])
                });
                phase2[m] = chans.varies[out] || fed_by_phase2;
            }
        }
        // Execution position of each member: phase 1, then phase 2.
        let mut next = 0;
        for pass in [false, true] {
            for m in 0..nm {
                if phase2[m] == pass {
                    position[m] = next;
                    next += 1;
                }
            }
            if !pass {
                *phase1_len = next;
            }
        }
        for u in &self.uses {
            let p = position[u.member];
            first_use[u.tensor] = first_use[u.tensor].min(p);
            last_use[u.tensor] = last_use[u.tensor].max(p);
        }
        tensor_phase2.clear();
        tensor_phase2.extend(self.tensors.iter().enumerate().map(
            |(t, info)| match info.producer {
                Some(p) => phase2[p],
                None => chans.varies[t],
            },
        ));
    }

    /// [`GroupModel::evaluate_with`] given the [`ChunkPlan`] of `chans`.
    #[allow(clippy::too_many_arguments)]
    pub fn evaluate_planned(
        &self,
        tiling: &Tiling,
        plan: &ChunkPlan,
        chans: &DimStats,
        rows: &DimStats,
        cols: &DimStats,
        config: &CostConfig,
        scratch: &mut Scratch,
    ) -> Evaluation {
        scratch.reset(self.members.len(), self.tensors.len());
        let scratch_footprint_only = scratch.footprint_only;
        let Scratch {
            cached,
            streamed,
            delta,
            extra,
            items,
            resident_by_member,
            ..
        } = scratch;
        let ChunkPlan {
            phase2,
            position,
            last_use,
            first_use,
            tensor_phase2,
            ..
        } = plan;
        let (nk, nr, nc) = (chans.count as u64, rows.count as u64, cols.count as u64);
        let ns = nr * nc;
        let spatial_outer = tiling.order == LoopOrder::SpatialOuter || nk == 1;
        let dma = if config.double_buffer { 2 } else { 1 };
        let nm = self.members.len();
        let tensor_phase2 = |t: usize| tensor_phase2[t];
        let kept_across_chunks = |t: usize| spatial_outer && nk > 1 && plan.read_by_chunk_loop(t);

        let window_bytes = |t: usize, channels: i64| -> u64 {
            let info = &self.tensors[t];
            (rows.window_max[t].max(0) as u64)
                * (cols.window_max[t].max(0) as u64)
                * (channels.max(0) as u64)
                * (info.dims.n.max(1) as u64)
                * info.elem_bytes
        };
        // Channels of a cached buffer kept across the spatial loop: with
        // chunks inside, every chunk's window must be kept.
        let resident_channels = |t: usize| {
            if spatial_outer && tensor_phase2(t) {
                chans.new_sum[t]
            } else {
                chans.window_max[t]
            }
        };

        let mut persistent = 0u64;
        for (t, info) in self.tensors.iter().enumerate() {
            if info.accumulator {
                persistent += (resident_channels(t).max(0) as u64)
                    * (info.dims.n.max(1) as u64)
                    * info.elem_bytes;
                continue;
            }
            let overlaps = (tiling.overlap.cache_rows && rows.overlap_max[t] > 0)
                || (tiling.overlap.cache_cols && cols.overlap_max[t] > 0);
            if overlaps {
                cached[t] = true;
                let channels = resident_channels(t);
                persistent += window_bytes(t, channels);
                if tiling.overlap.cache_rows && rows.overlap_max[t] > 0 && nc > 1 {
                    persistent += (rows.overlap_max[t] as u64)
                        * (cols.extent[t].max(0) as u64)
                        * (channels.max(0) as u64)
                        * (info.dims.n.max(1) as u64)
                        * info.elem_bytes;
                }
            } else if info.producer.is_none() {
                // Streaming a single-use input costs nothing extra unless a
                // chunk-independent read would repeat for every chunk.
                let free = info.uses.len() == 1 && {
                    let reader = self.uses[info.uses[0]].member;
                    nk == 1 || !spatial_outer || !phase2[reader] || chans.varies[t]
                };
                streamed[t] = free || tiling.stream_inputs;
            }
        }

        // Transient buffers: +bytes at the first position, -bytes after the
        // last (a difference array over execution positions).
        let live = |from: usize, to: usize, bytes: u64, delta: &mut [i64]| {
            delta[from] += bytes as i64;
            delta[to + 1] -= bytes as i64;
        };
        for (t, info) in self.tensors.iter().enumerate() {
            if info.accumulator || cached[t] || streamed[t] {
                continue;
            }
            let (from, to) = match info.producer {
                Some(p) => (position[p], last_use[t].max(position[p])),
                None => (first_use[t].min(last_use[t]), last_use[t]),
            };
            // A window kept across chunks is read at every chunk, while the
            // layers of the chunk loop before its first reader run again:
            // it stays live over the whole loop, not from that reader on.
            let (from, to) = if kept_across_chunks(t) {
                (from.min(plan.phase1_len), nm - 1)
            } else {
                (from, to)
            };
            let dma_side = info.producer.is_none() || info.uses.is_empty();
            let bytes = window_bytes(t, chans.window_max[t]) * if dma_side { dma } else { 1 };
            live(from, to, bytes, delta);
        }
        for (m, member) in self.members.iter().enumerate() {
            let p = position[m];
            // Streamed inputs pass through a small channel-chunk buffer.
            for &u in &member.uses {
                let t = self.uses[u].tensor;
                if streamed[t] {
                    let info = &self.tensors[t];
                    let channels = chans.use_max[u].min(config.stream_channels).max(0) as u64;
                    extra[p] += ((rows.use_max[u].max(0) as u64)
                        * (cols.use_max[u].max(0) as u64)
                        * channels
                        * (info.dims.n.max(1) as u64)
                        * info.elem_bytes
                        * dma) as i64;
                }
            }
            // Weights pass through a one-output-channel buffer.
            if member.weight_bytes > 0 {
                extra[p] += (member.weight_bytes.div_ceil(member.out_channels as u64) * dma) as i64;
            }
            // An elementwise op may overwrite an input that dies here.
            if member.elementwise
                && !cached[member.output]
                && !self.tensors[member.output].accumulator
            {
                let out_bytes = window_bytes(member.output, chans.window_max[member.output]);
                let reusable = member
                    .uses
                    .iter()
                    .map(|&u| self.uses[u].tensor)
                    .filter(|&t| {
                        !cached[t]
                            && !streamed[t]
                            && !self.tensors[t].accumulator
                            && !self.tensors[t].is_output
                            && !kept_across_chunks(t)
                            && last_use[t] <= p
                    })
                    .map(|t| window_bytes(t, chans.window_max[t]))
                    .max()
                    .unwrap_or(0);
                extra[p] -= reusable.min(out_bytes) as i64;
            }
        }
        let mut peak = 0i64;
        let mut running = 0i64;
        for p in 0..nm {
            running += delta[p];
            peak = peak.max(running + extra[p]);
        }
        let footprint_without_weights = persistent + peak.max(0) as u64;
        if scratch_footprint_only {
            return Evaluation {
                footprint: footprint_without_weights,
                traffic: Traffic::default(),
                resident_weights: 0,
                tiles: [nr as usize, nc as usize, nk as usize],
                feasible: footprint_without_weights <= config.capacity,
            };
        }

        // Input traffic.
        let mut input = 0u64;
        for (t, info) in self.tensors.iter().enumerate() {
            if info.producer.is_some() {
                continue;
            }
            let scale = (info.dims.n.max(1) as u64) * info.elem_bytes;
            if streamed[t] {
                for &u in &info.uses {
                    let reader_phase1 = !phase2[self.uses[u].member];
                    let channels = if reader_phase1 && spatial_outer {
                        chans.use_max[u]
                    } else {
                        chans.use_sum[u]
                    };
                    input += (rows.use_sum[u].max(0) as u64)
                        * (cols.use_sum[u].max(0) as u64)
                        * (channels.max(0) as u64)
                        * scale;
                }
            } else {
                let channels = if !tensor_phase2(t) && spatial_outer {
                    chans.window_max[t]
                } else {
                    chans.new_sum[t]
                };
                input += (rows.new_sum[t].max(0) as u64)
                    * (cols.new_sum[t].max(0) as u64)
                    * (channels.max(0) as u64)
                    * scale;
            }
        }
        let output = self.output_bytes;

        // Weights: streamed by default, made resident greedily.
        let mut weight = 0u64;
        // (saving, footprint, member) of every layer worth keeping.
        for (m, member) in self.members.iter().enumerate() {
            let bytes = member.weight_bytes;
            if bytes == 0 {
                continue;
            }
            let out = member.output;
            let k = member.out_channels as u64;
            let sum_fraction = |x: u64| x * (chans.new_sum[out].max(0) as u64) / k;
            let (streamed_bytes, resident_bytes, resident_footprint) = if !phase2[m] {
                let runs = if spatial_outer { ns } else { ns * nk };
                (runs * bytes, bytes, bytes)
            } else if spatial_outer {
                (ns * sum_fraction(bytes), bytes, bytes)
            } else {
                let slice = bytes * (chans.window_max[out].max(0) as u64) / k;
                (ns * sum_fraction(bytes), sum_fraction(bytes), slice)
            };
            weight += streamed_bytes;
            if streamed_bytes > resident_bytes && resident_footprint > 0 {
                items.push((streamed_bytes - resident_bytes, resident_footprint, m));
            }
        }
        let feasible = footprint_without_weights <= config.capacity;
        let mut budget = config.capacity.saturating_sub(footprint_without_weights);
        let mut resident = 0u64;
        if feasible {
            // Highest saving per byte first; ties by member for determinism.
            items.sort_by(|a, b| {
                let lhs = a.0 as u128 * b.1 as u128;
                let rhs = b.0 as u128 * a.1 as u128;
                rhs.cmp(&lhs).then(a.2.cmp(&b.2))
            });
            for &(saving, footprint, m) in items.iter() {
                if budget == 0 {
                    break;
                }
                // Whole output channels of the layer's weights (a code
                // generator keeps channels, not bytes).
                let member = &self.members[m];
                let k = member.out_channels.max(1) as u64;
                let unit = if member.weight_bytes.is_multiple_of(k) {
                    member.weight_bytes / k
                } else {
                    member.weight_bytes
                };
                let taken = footprint.min(budget) / unit * unit;
                if taken == 0 {
                    continue;
                }
                budget -= taken;
                resident += taken;
                resident_by_member[m] = taken;
                let out = member.output;
                let disjoint = chans.new_sum[out] == member.out_channels;
                let sweep = !spatial_outer && phase2[m] && unit < member.weight_bytes;
                weight -= if sweep && disjoint && taken < footprint {
                    // Each chunk keeps its first `t` channels for its
                    // sweep (one with fewer, all of its own): every tile
                    // after the first saves them.
                    let t = (taken / unit) as i64;
                    (ns - 1) * unit * chans.kept_per_chunk(out, t) as u64
                } else {
                    (saving as u128 * taken as u128 / footprint as u128) as u64
                };
            }
        }
        Evaluation {
            footprint: footprint_without_weights + resident,
            traffic: Traffic {
                input,
                weight,
                output,
            },
            resident_weights: resident,
            tiles: [nr as usize, nc as usize, nk as usize],
            feasible,
        }
    }

    /// Evaluates `tiling`, computing the per-dimension statistics it needs
    /// (convenient for tests and one-off queries; searches reuse
    /// [`DimStats`] across tilings).
    pub fn evaluate_tiling(&self, tiling: &Tiling, config: &CostConfig) -> Evaluation {
        let chans = self.dim_stats(Dim::C, tiling.tile_c, false);
        let rows = self.dim_stats(Dim::H, tiling.tile_h, tiling.overlap.cache_rows);
        let cols = self.dim_stats(Dim::W, tiling.tile_w, tiling.overlap.cache_cols);
        self.evaluate(tiling, &chans, &rows, &cols, config)
    }
}

/// Fails when a path from a member leaves the group and re-enters it.
fn check_convex(graph: &LayerGraph, sorted: &[NodeId], local: &[usize]) -> Result<(), GroupError> {
    let Some(&last) = sorted.last() else {
        return Ok(());
    };
    // Nodes outside the group reachable from a member (topological order,
    // so one forward sweep up to the last member suffices).
    let mut reached_from: Vec<Option<NodeId>> = vec![None; graph.nodes.len()];
    for node in sorted[0]..=last {
        let start = if local[node] != usize::MAX {
            Some(node)
        } else {
            reached_from[node]
        };
        let Some(source) = start else { continue };
        for &consumer in graph.consumers(node) {
            if local[node] == usize::MAX && local[consumer] != usize::MAX {
                return Err(GroupError::NotConvex {
                    from: graph.nodes[source].label.clone(),
                    to: graph.nodes[consumer].label.clone(),
                });
            }
            if local[consumer] == usize::MAX && reached_from[consumer].is_none() {
                reached_from[consumer] = Some(source);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
