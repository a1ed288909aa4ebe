//! The regions of one dimension for one tile size ([`DimStats`]), and the
//! [`DimCache`] that shares them between groups.
//!
//! For one tile size along one dimension, the window every tensor needs at
//! every tile is inferred backwards, layer by layer in reverse topological
//! order and for all tiles at once: a layer's output window is the hull of
//! what the group's outputs need of it (proportional to the reference tile)
//! and of what its readers in the group read; its input windows follow from
//! the part of that window the tile computes (all of it when recomputing, the
//! part not yet on chip when caching).
//!
//! So a layer's windows depend only on the tile grid (extent, tile size,
//! overlap mode), on whether its output leaves the group, and on its readers
//! in the group and their windows. Groups that agree on these share the
//! results: every interval of one topological order that ends at the same op
//! (all the groups the DP costs for one end) agrees on them for every layer
//! they both hold. A [`DimCache`] keeps each layer's results per grid; a
//! layer is taken from it only when its output status and its readers match
//! and every reader was itself taken from it, else it is recomputed (and
//! replaces the entry). Results are the same with or without a cache.

use std::collections::HashMap;

use super::{GroupModel, proportional};
use crate::{
    graph::{Dim, LayerGraph, NodeId},
    receptive_field::Interval,
};

/// The regions of one dimension for one tile size: per tensor and per use,
/// the sizes that footprint and traffic need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DimStats {
    /// The dimension.
    pub dim: Dim,
    /// Tile size along it (of the reference).
    pub tile: i64,
    /// Overlap cached along it.
    pub cached: bool,
    /// Number of tiles.
    pub count: usize,
    /// Per tensor: the largest window a tile needs.
    pub window_max: Vec<i64>,
    /// Per tensor: the sum over tiles of the part not already on chip
    /// (the whole window when recomputing).
    pub new_sum: Vec<i64>,
    /// Per tensor: the largest overlap with the previous tile's window that
    /// is kept (0 when recomputing).
    pub overlap_max: Vec<i64>,
    /// Per tensor: the hull of all windows.
    pub extent: Vec<i64>,
    /// Per tensor: the window differs between tiles.
    pub varies: Vec<bool>,
    /// Per use: the largest input window the reading layer needs.
    pub use_max: Vec<i64>,
    /// Per use: the sum over tiles of that window.
    pub use_sum: Vec<i64>,
    /// Along `C` without a cached overlap (channel chunks), else empty: per
    /// tensor computed in the group, its window's length at every chunk
    /// (`count` entries per tensor).
    pub window_lens: Vec<i64>,
}

impl DimStats {
    /// Channels of tensor `t`'s windows kept when every chunk keeps its
    /// first `kept` (a chunk with fewer keeps all of its own). Along `C`.
    pub fn kept_per_chunk(&self, t: usize, kept: i64) -> i64 {
        let lens = self.window_lens.get(t * self.count..(t + 1) * self.count);
        lens.unwrap_or_default()
            .iter()
            .map(|&len| len.min(kept))
            .sum()
    }
}

/// One tensor's statistics (an entry of the per-tensor vectors of
/// [`DimStats`]).
#[derive(Clone, Copy, Debug, Default)]
struct TensorStats {
    window_max: i64,
    new_sum: i64,
    overlap_max: i64,
    extent: i64,
    varies: bool,
}

impl TensorStats {
    fn store(&self, stats: &mut DimStats, t: usize) {
        stats.window_max[t] = self.window_max;
        stats.new_sum[t] = self.new_sum;
        stats.overlap_max[t] = self.overlap_max;
        stats.extent[t] = self.extent;
        stats.varies[t] = self.varies;
    }
}

/// A layer's results under one grid (its sequences are ranges of the
/// grid's arenas).
#[derive(Clone, Copy, Debug)]
struct LayerEntry {
    /// Whether its output is written to memory.
    is_output: bool,
    /// Its readers in the group, `(node, operand)` in use order: a range of
    /// [`GridEntries::readers`].
    readers: (u32, u32),
    /// Per tile, the part of its output window the tile computes: from this
    /// index of [`GridEntries::windows`], one per tile.
    new: u32,
    /// Its output's statistics.
    tensor: TensorStats,
    /// Per operand, the largest and the summed input window: a range of
    /// [`GridEntries::uses`].
    uses: (u32, u32),
}

/// The layers' results under one grid: `(dimension, extent, tile, cached)`.
#[derive(Clone, Debug, Default)]
struct GridEntries {
    /// Per node: 1 + its index in `layers`, or 0.
    slot: Vec<u32>,
    layers: Vec<LayerEntry>,
    windows: Vec<Interval>,
    readers: Vec<(NodeId, usize)>,
    uses: Vec<(i64, i64)>,
}

impl GridEntries {
    fn get(&self, node: NodeId) -> Option<&LayerEntry> {
        match self.slot.get(node) {
            Some(&s) if s > 0 => Some(&self.layers[s as usize - 1]),
            _ => None,
        }
    }

    fn put(&mut self, node: NodeId, entry: LayerEntry) {
        match self.slot[node] {
            0 => {
                self.layers.push(entry);
                self.slot[node] = self.layers.len() as u32;
            }
            s => self.layers[s as usize - 1] = entry,
        }
    }

    fn readers(&self, entry: &LayerEntry) -> &[(NodeId, usize)] {
        &self.readers[entry.readers.0 as usize..entry.readers.1 as usize]
    }
}

/// Per-layer regions shared between the groups of one graph (see the
/// module docs); [`GroupModel::dim_stats_shared`] reads and fills it.
#[derive(Clone, Debug, Default)]
pub struct DimCache {
    grids: HashMap<(Dim, i64, i64, bool), GridEntries>,
    /// The graph the entries belong to (its address; entries are dropped
    /// when another graph uses the cache).
    graph: usize,
    /// Working memory: per computed tensor, its window at every tile.
    need: Vec<Interval>,
    /// Working memory: per member, taken from the cache.
    hit: Vec<bool>,
    /// Working memory: per tensor, its slot in `need`.
    slot_of: Vec<usize>,
    /// Working memory: an external input's computed parts.
    fresh: Vec<Interval>,
}

impl DimCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Drops every entry (keeping the working memory).
    pub fn clear(&mut self) {
        self.grids.clear();
    }

    fn for_graph(&mut self, graph: &LayerGraph) {
        let id = graph as *const LayerGraph as usize;
        if self.graph != id {
            self.clear();
            self.graph = id;
        }
    }
}

/// Statistics of one tensor's windows over the tiles, in order, with the
/// part of each window that its tile computes (pushed onto `new`).
fn record(windows: &[Interval], cached: bool, new: &mut Vec<Interval>) -> TensorStats {
    let mut stats = TensorStats::default();
    let mut hull = Interval::EMPTY;
    let mut first: Option<Interval> = None;
    let mut prev_end = i64::MIN;
    for &window in windows {
        let fresh = if cached {
            Interval::new(window.start.max(prev_end), window.end)
        } else {
            window
        };
        let (w, n) = (window.len(), fresh.len());
        stats.window_max = stats.window_max.max(w);
        stats.new_sum += n;
        stats.overlap_max = stats.overlap_max.max(w - n);
        hull = hull.hull(&window);
        match first {
            None => first = Some(window),
            Some(f) if f != window => stats.varies = true,
            Some(_) => {}
        }
        if !window.is_empty() {
            prev_end = prev_end.max(window.end);
        }
        new.push(fresh);
    }
    stats.extent = hull.len();
    stats
}

/// The part of each window, in tile order, that its tile computes or loads
/// (what is not on chip from the tiles before when `cached`; all of it when
/// recomputing): the rule of [`DimStats::new_sum`], for a tile plan.
pub(crate) fn fresh_parts(windows: &[Interval], cached: bool) -> Vec<Interval> {
    let mut fresh = Vec::with_capacity(windows.len());
    record(windows, cached, &mut fresh);
    fresh
}

impl GroupModel<'_> {
    /// The regions along `dim` (`C`, `H` or `W`) when the reference is cut
    /// into tiles of `tile`; `cached` keeps overlaps between consecutive
    /// tiles on chip (only meaningful for `H` and `W`).
    pub fn dim_stats(&self, dim: Dim, tile: i64, cached: bool) -> DimStats {
        self.dim_stats_shared(dim, tile, cached, &mut DimCache::new())
    }

    /// [`GroupModel::dim_stats`], taking the layers it can from `cache` and
    /// adding the ones it computes.
    pub fn dim_stats_shared(
        &self,
        dim: Dim,
        tile: i64,
        cached: bool,
        cache: &mut DimCache,
    ) -> DimStats {
        let grid = self.grid_of(dim);
        let tile = tile.clamp(1, grid.max(1));
        let count = ((grid.max(1) + tile - 1) / tile) as usize;
        let nt = self.tensors.len();
        let mut stats = DimStats {
            dim,
            tile,
            cached,
            count,
            window_max: vec![0; nt],
            new_sum: vec![0; nt],
            overlap_max: vec![0; nt],
            extent: vec![0; nt],
            varies: vec![false; nt],
            use_max: vec![0; self.uses.len()],
            use_sum: vec![0; self.uses.len()],
            window_lens: if dim == Dim::C && !cached {
                vec![0; nt * count]
            } else {
                Vec::new()
            },
        };
        let maps = &self.maps[match dim {
            Dim::C => 0,
            Dim::H => 1,
            _ => 2,
        }];
        let ref_tile = |i: usize| {
            let i = i as i64;
            Interval::new(i * tile, ((i + 1) * tile).min(grid))
        };
        cache.for_graph(self.graph);
        let nodes = self.graph.nodes.len();
        let DimCache {
            grids,
            need,
            hit,
            slot_of,
            fresh,
            ..
        } = cache;
        let entries = grids
            .entry((dim, grid, tile, cached))
            .or_insert_with(|| GridEntries {
                slot: vec![0; nodes],
                ..GridEntries::default()
            });

        // Layers taken from the cache: same output status and readers, and
        // every reader taken too (readers come later in topological order).
        let nm = self.members.len();
        hit.clear();
        hit.resize(nm, false);
        for m in (0..nm).rev() {
            let member = &self.members[m];
            let out = &self.tensors[member.output];
            hit[m] = entries.get(member.node).is_some_and(|entry| {
                let readers = entries.readers(entry);
                entry.is_output == out.is_output
                    && readers.len() == out.uses.len()
                    && out.uses.iter().zip(readers).all(|(&u, &reader)| {
                        let info = &self.uses[u];
                        hit[info.member] && reader == (self.members[info.member].node, info.operand)
                    })
            });
        }
        // Tensors whose windows are computed here (outputs of the other
        // layers, external inputs), each with a slot of `count` windows.
        slot_of.clear();
        slot_of.resize(nt, usize::MAX);
        let mut slots = 0;
        for (t, info) in self.tensors.iter().enumerate() {
            if info.producer.is_none_or(|p| !hit[p]) {
                slot_of[t] = slots;
                slots += 1;
            }
        }
        need.clear();
        need.resize(slots * count, Interval::EMPTY);
        for &t in &self.output_tensors {
            let s = slot_of[t];
            if s == usize::MAX {
                continue;
            }
            let tensor = &self.tensors[t];
            for (i, window) in need[s * count..(s + 1) * count].iter_mut().enumerate() {
                *window = if tensor.accumulator && dim != Dim::C {
                    Interval::full(1)
                } else {
                    proportional(ref_tile(i), grid, tensor.dims.get(dim))
                };
            }
        }

        for m in (0..nm).rev() {
            let member = &self.members[m];
            let out = member.output;
            let entry = if hit[m] {
                *entries.get(member.node).expect("a hit has an entry")
            } else {
                // Computed here: its output window at every tile is complete
                // (its readers come later and have been processed).
                let s = slot_of[out];
                let new = entries.windows.len();
                let tensor = record(
                    &need[s * count..(s + 1) * count],
                    cached,
                    &mut entries.windows,
                );
                let readers = entries.readers.len();
                entries.readers.extend(
                    self.tensors[out]
                        .uses
                        .iter()
                        .map(|&u| (self.members[self.uses[u].member].node, self.uses[u].operand)),
                );
                let uses = entries.uses.len();
                entries.uses.resize(uses + member.uses.len(), (0, 0));
                LayerEntry {
                    is_output: self.tensors[out].is_output,
                    readers: (readers as u32, entries.readers.len() as u32),
                    new: new as u32,
                    tensor,
                    uses: (uses as u32, entries.uses.len() as u32),
                }
            };
            entry.tensor.store(&mut stats, out);
            let new = &entries.windows[entry.new as usize..entry.new as usize + count];
            if !stats.window_lens.is_empty() {
                // Without a cached overlap, what a chunk computes is its
                // window.
                let lens = &mut stats.window_lens[out * count..(out + 1) * count];
                for (len, window) in lens.iter_mut().zip(new) {
                    *len = window.len();
                }
            }
            for (k, &u) in member.uses.iter().enumerate() {
                let use_slot = entry.uses.0 as usize + k;
                let tensor = self.uses[u].tensor;
                let s = slot_of[tensor];
                if hit[m] && s == usize::MAX {
                    (stats.use_max[u], stats.use_sum[u]) = entries.uses[use_slot];
                    continue;
                }
                let (mut max, mut sum) = (0, 0);
                for (i, &fresh) in new.iter().enumerate() {
                    let rf = if member.accumulates && dim != Dim::C {
                        // A global pool consumes the piece of its input that
                        // belongs to this tile and accumulates it.
                        proportional(ref_tile(i), grid, self.tensors[tensor].dims.get(dim))
                    } else {
                        maps[u].apply(fresh)
                    };
                    let len = rf.len();
                    max = max.max(len);
                    sum += len;
                    if s != usize::MAX {
                        let window = &mut need[s * count + i];
                        *window = window.hull(&rf);
                    }
                }
                (stats.use_max[u], stats.use_sum[u]) = (max, sum);
                if !hit[m] {
                    entries.uses[use_slot] = (max, sum);
                }
            }
            if !hit[m] {
                entries.put(member.node, entry);
            }
        }
        for &t in &self.external_tensors {
            let s = slot_of[t];
            fresh.clear();
            record(&need[s * count..(s + 1) * count], cached, fresh).store(&mut stats, t);
        }
        stats
    }
}

#[cfg(test)]
mod tests;
