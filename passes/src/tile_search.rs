//! The search for a group's best tiling: tile sizes, loop order, overlap
//! handling and input streaming, by the [`crate::cost`] model.
//!
//! Candidates (of the reference output):
//! - tile heights `ceil(H / n)` for `n` in 1..=8, then growing by about a
//!   quarter up to `H` (every distinct height when `H <= 16`);
//! - tile widths `ceil(W / n)` for `n` in 1, 2, 4, 8, ... and `W`;
//! - channel chunks `ceil(K / n)` for `n` in 1, 2, 4, ..., 32;
//! - loop order (both when there is more than one chunk), overlap cached or
//!   recomputed per dimension (when some layer's windows overlap), inputs
//!   kept or streamed (when that can differ).
//!
//! For one choice of everything but the height (a *family*), the footprint
//! does not grow as tiles get shorter, so a binary search finds the tallest
//! height that fits; the search then tries shorter tiles while that still
//! lowers the traffic (shorter tiles free room for resident weights).
//! [`SearchMode::Exhaustive`] evaluates every height instead (for tests).
//! Ties go to the fewest tile steps, then to the fewest bytes of footprint,
//! then to the first candidate in the order above (the largest tiles,
//! spatial tiles outer, recompute, inputs kept).
//!
//! Branch and bound keeps this fast: a family is skipped when a floor on its
//! traffic already reaches the best found (or the caller's bound). The
//! floor counts weights and outputs once, each external input at least the
//! union of what the finest tiles read (times the chunks, with chunks
//! outside), and the weights that cannot stay resident re-read once per
//! extra tile (with tiles outside) or step (for the chunk-independent layers
//! with chunks outside), given the fewest tiles the family can have and the
//! most room its smallest footprint leaves. The smallest footprint (finest
//! tiles and chunks, recomputed overlaps, streamed inputs) also decides
//! feasibility up front.

use std::cell::RefCell;

use serde::Serialize;

use crate::{
    cost::{
        CostConfig, DimCache, DimStats, Evaluation, GroupModel, LoopOrder, Overlap, Scratch, Tiling,
    },
    graph::Dim,
};

/// Shorter tile heights tried in a row without lowering the traffic before
/// a family's search stops: weights kept in whole output channels make the
/// traffic fall in steps as tiles shrink, not smoothly.
const PATIENCE: usize = 4;

/// How thoroughly tilings are searched.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub enum SearchMode {
    /// Binary search on the tile height, then shorter tiles while the
    /// traffic improves.
    #[default]
    Fast,
    /// Every candidate.
    Exhaustive,
}

/// The best tiling found for a group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct GroupCost {
    /// The tiling.
    pub tiling: Tiling,
    /// Its footprint and traffic.
    pub evaluation: Evaluation,
}

/// No candidate fits: the smallest footprint any candidate needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Infeasible {
    /// Bytes the smallest tiling needs (weights streamed).
    pub min_footprint: u64,
}

/// Tile sizes `ceil(extent / n)` for the given counts `n`, largest first,
/// without repeats.
fn sizes(extent: i64, counts: impl Iterator<Item = i64>) -> Vec<i64> {
    let extent = extent.max(1);
    let mut out: Vec<i64> = counts
        .take_while(|&n| n <= extent)
        .map(|n| (extent + n - 1) / n)
        .collect();
    out.push(1);
    out.sort_unstable_by(|a, b| b.cmp(a));
    out.dedup();
    out
}

/// Candidate tile heights for `extent` rows, largest first.
pub fn height_candidates(extent: i64) -> Vec<i64> {
    if extent <= 16 {
        return (1..=extent.max(1)).rev().collect();
    }
    let mut counts = vec![];
    let mut n = 1i64;
    while n <= extent {
        counts.push(n);
        n = if n < 8 { n + 1 } else { n + (n / 4).max(1) };
    }
    counts.push(extent);
    sizes(extent, counts.into_iter())
}

/// Candidate tile widths for `extent` columns, largest first.
pub fn width_candidates(extent: i64) -> Vec<i64> {
    sizes(
        extent,
        (0..)
            .map(|k| 1i64 << k)
            .take_while(move |&n| n <= extent.max(1)),
    )
}

/// Candidate channel chunks for `channels` output channels, largest first.
pub fn channel_candidates(channels: i64) -> Vec<i64> {
    let channels = channels.max(1);
    let mut out: Vec<i64> = [1i64, 2, 4, 8, 16, 32]
        .into_iter()
        .filter(|&n| n <= channels)
        .map(|n| (channels + n - 1) / n)
        .collect();
    out.dedup();
    out
}

/// Per-dimension statistics, computed once per tile size and overlap mode.
struct StatsCache<'m, 'g> {
    model: &'m GroupModel<'g>,
    shared: &'m RefCell<DimCache>,
    dim: Dim,
    sizes: Vec<i64>,
    recompute: Vec<Option<DimStats>>,
    cached: Vec<Option<DimStats>>,
    /// Some layer's windows along this dimension overlap.
    halo: bool,
    /// The whole extent (the first size).
    grid: i64,
}

impl<'m, 'g> StatsCache<'m, 'g> {
    fn new(
        model: &'m GroupModel<'g>,
        shared: &'m RefCell<DimCache>,
        dim: Dim,
        sizes: Vec<i64>,
    ) -> Self {
        let n = sizes.len();
        let grid = sizes.first().copied().unwrap_or(1);
        Self {
            model,
            shared,
            dim,
            sizes,
            recompute: vec![None; n],
            cached: vec![None; n],
            halo: model.halo(dim),
            grid,
        }
    }

    fn fill(&mut self, index: usize, cached: bool) {
        let slot = if cached {
            &mut self.cached[index]
        } else {
            &mut self.recompute[index]
        };
        if slot.is_none() {
            *slot = Some(self.model.dim_stats_shared(
                self.dim,
                self.sizes[index],
                cached,
                &mut self.shared.borrow_mut(),
            ));
        }
    }

    fn get(&mut self, index: usize, cached: bool) -> &DimStats {
        self.fill(index, cached);
        self.peek(index, cached)
    }

    /// Statistics already computed by [`StatsCache::fill`] or `get`.
    fn peek(&self, index: usize, cached: bool) -> &DimStats {
        let slot = if cached {
            &self.cached[index]
        } else {
            &self.recompute[index]
        };
        slot.as_ref().expect("filled before use")
    }

    /// Whether caching can change anything at this size: there is more than
    /// one tile and some layer's windows overlap.
    fn overlaps(&self, index: usize) -> bool {
        self.halo && self.sizes[index] < self.grid
    }
}

/// Whether `a` beats `b`: less traffic, then fewer tile steps (less
/// recomputation and fewer, larger transfers), then less footprint.
fn better(a: &Evaluation, b: &Evaluation) -> bool {
    let key = |e: &Evaluation| {
        (
            e.traffic.total(),
            e.tiles.iter().product::<usize>(),
            e.footprint,
        )
    };
    key(a) < key(b)
}

/// What a bounded search found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Outcome {
    /// The best tiling, cheaper than the bound.
    Found(GroupCost),
    /// No tiling is cheaper than the bound (feasible ones may exist).
    NotBelow,
    /// No tiling fits.
    Infeasible(Infeasible),
}

/// Finds the best tiling of the group `model` under `config`.
pub fn search(
    model: &GroupModel,
    config: &CostConfig,
    mode: SearchMode,
) -> Result<GroupCost, Infeasible> {
    match search_below(model, config, mode, u64::MAX) {
        Outcome::Found(cost) => Ok(cost),
        Outcome::Infeasible(infeasible) => Err(infeasible),
        // Nothing is below u64::MAX only when nothing fits.
        Outcome::NotBelow => Err(Infeasible { min_footprint: 0 }),
    }
}

/// Finds the best tiling of the group `model` whose traffic is below
/// `bound` (branch and bound: a family of tilings whose traffic floor is not
/// below the bound, or the best so far, is skipped). [`Outcome::Infeasible`]
/// means no tiling fits; [`Outcome::NotBelow`] may also hide an infeasible
/// group whose traffic floor already reaches the bound.
pub fn search_below(
    model: &GroupModel,
    config: &CostConfig,
    mode: SearchMode,
    bound: u64,
) -> Outcome {
    search_below_shared(model, config, mode, bound, &mut DimCache::new())
}

/// [`search_below`], sharing per-layer regions with other groups of the same
/// graph through `cache` (see [`DimCache`]; the result is the same).
pub fn search_below_shared(
    model: &GroupModel,
    config: &CostConfig,
    mode: SearchMode,
    bound: u64,
    cache: &mut DimCache,
) -> Outcome {
    let shared = RefCell::new(std::mem::take(cache));
    let outcome = search_with(model, config, mode, bound, &shared);
    *cache = shared.into_inner();
    outcome
}

fn search_with(
    model: &GroupModel,
    config: &CostConfig,
    mode: SearchMode,
    bound: u64,
    shared: &RefCell<DimCache>,
) -> Outcome {
    let [channels, height, width] = model.grid();
    let mut rows = StatsCache::new(model, shared, Dim::H, height_candidates(height));
    let mut cols = StatsCache::new(model, shared, Dim::W, width_candidates(width));
    let mut chans = StatsCache::new(model, shared, Dim::C, channel_candidates(channels));
    let last_row = rows.sizes.len() - 1;
    let last_col = cols.sizes.len() - 1;
    let last_chan = chans.sizes.len() - 1;

    // Traffic floors, to skip what cannot beat the bound: weights and
    // outputs move at least once; an external input, at least the union of
    // its rows and columns over the finest tiles (every coarser tile reads a
    // superset; without a stride that skips indices, that union is what one
    // whole tile reads) times its whole channels (each input channel of a df
    // op feeds some output channel, so any chunking reads them all).
    let fixed = model.fixed_floor();
    let union = |cache: &mut StatsCache, dim: Dim| {
        let index = if model.skips(dim) {
            cache.sizes.len() - 1
        } else {
            0
        };
        cache.get(index, true).new_sum.clone()
    };
    let row_union = union(&mut rows, Dim::H);
    let col_union = union(&mut cols, Dim::W);
    chans.fill(0, false);
    let chan_whole = chans.peek(0, false).new_sum.clone();
    // Chunks outside re-read chunk-independent inputs once per chunk.
    let input_floor = |cols: &[i64], chunks: &DimStats, order: LoopOrder| -> u64 {
        let nk = chunks.count as i64;
        (0..row_union.len())
            .map(|t| {
                let channels = if order == LoopOrder::ChannelOuter && !chunks.varies[t] {
                    chan_whole[t] * nk
                } else {
                    chan_whole[t]
                };
                model.input_bytes(t, row_union[t], cols[t], channels)
            })
            .sum()
    };
    if fixed + input_floor(&col_union, chans.peek(0, false), LoopOrder::SpatialOuter) >= bound {
        return Outcome::NotBelow;
    }

    // The smallest footprint any tiling needs besides resident weights: the
    // finest tiles and chunks, recomputed overlaps, streamed inputs
    // (footprints shrink with tiles and chunks; caching or keeping inputs
    // only adds buffers).
    chans.fill(last_chan, false);
    for index in [0, last_row] {
        rows.fill(index, false);
    }
    for index in [0, last_col] {
        cols.fill(index, false);
    }
    let mut scratch = Scratch::default();
    let without_weights = |e: &Evaluation| e.footprint - e.resident_weights;
    let finest_plan = model.chunk_plan(chans.peek(last_chan, false));
    let probe = |hi: usize, wi: usize, scratch: &mut Scratch| {
        let tiling = Tiling {
            tile_h: rows.sizes[hi],
            tile_w: cols.sizes[wi],
            tile_c: chans.sizes[last_chan],
            order: LoopOrder::SpatialOuter,
            overlap: Overlap::RECOMPUTE,
            stream_inputs: true,
        };
        model.evaluate_planned(
            &tiling,
            &finest_plan,
            chans.peek(last_chan, false),
            rows.peek(hi, false),
            cols.peek(wi, false),
            config,
            scratch,
        )
    };
    let smallest = without_weights(&probe(last_row, last_col, &mut scratch));
    if smallest > config.capacity {
        return Outcome::Infeasible(Infeasible {
            min_footprint: smallest,
        });
    }
    // At least `tiles` spatial tiles: with tiles outside, every tile but one
    // re-reads the weights that cannot be resident; with chunks outside,
    // every step but one re-reads the chunk-independent layers' weights.
    let room = config.capacity - smallest;
    let single_tile = without_weights(&probe(0, 0, &mut scratch)) <= config.capacity;
    let weight_floor = |order: LoopOrder, chunks: &DimStats, col_tiles: usize| {
        let tiles = col_tiles.max(if single_tile { 1 } else { 2 }) as u64;
        match order {
            LoopOrder::SpatialOuter => (tiles - 1) * model.weight_bytes().saturating_sub(room),
            LoopOrder::ChannelOuter => {
                (col_tiles as u64 * chunks.count as u64 - 1)
                    * model
                        .chunk_independent_weight_bytes(chunks)
                        .saturating_sub(room)
            }
        }
    };

    let row_overlap = rows.overlaps(last_row);
    let shared = model.has_shared_inputs();
    let mut best = Best {
        cost: None,
        min_footprint: smallest,
        bound,
        feasible_seen: false,
        pruned: false,
    };
    for ci in 0..chans.sizes.len() {
        chans.fill(ci, false);
        let chunk_stats = chans.peek(ci, false);
        let chunk_plan = model.chunk_plan(chunk_stats);
        let nk = chunk_stats.count as u64;
        let orders: &[LoopOrder] = if nk > 1 {
            &[LoopOrder::SpatialOuter, LoopOrder::ChannelOuter]
        } else {
            &[LoopOrder::SpatialOuter]
        };
        for &order in orders {
            if fixed
                + input_floor(&col_union, chunk_stats, order)
                + weight_floor(order, chunk_stats, 1)
                >= best.limit()
            {
                best.pruned = true;
                continue;
            }
            // Streaming changes nothing when every input has one reader and
            // no chunk loop repeats a kept read.
            let stream_options: &[bool] = if shared || (nk > 1 && order == LoopOrder::SpatialOuter)
            {
                &[false, true]
            } else {
                &[false]
            };
            for &stream_inputs in stream_options {
                for wi in 0..cols.sizes.len() {
                    cols.fill(wi, false);
                    let col_modes: &[bool] = if cols.overlaps(wi) {
                        cols.fill(wi, true);
                        &[false, true]
                    } else {
                        &[false]
                    };
                    for &cache_cols in col_modes {
                        let col_stats = cols.peek(wi, cache_cols);
                        if fixed
                            + input_floor(&col_stats.new_sum, chunk_stats, order)
                            + weight_floor(order, chunk_stats, col_stats.count)
                            >= best.limit()
                        {
                            best.pruned = true;
                            continue;
                        }
                        let row_modes: &[bool] = if row_overlap {
                            &[false, true]
                        } else {
                            &[false]
                        };
                        for &cache_rows in row_modes {
                            let tiling = |hi: usize, rows: &StatsCache| Tiling {
                                tile_h: rows.sizes[hi],
                                tile_w: col_stats.tile,
                                tile_c: chunk_stats.tile,
                                order,
                                overlap: Overlap {
                                    cache_rows,
                                    cache_cols,
                                },
                                stream_inputs,
                            };
                            let eval = |hi: usize, rows: &mut StatsCache, scratch: &mut Scratch| {
                                rows.fill(hi, cache_rows);
                                let t = tiling(hi, rows);
                                let e = model.evaluate_planned(
                                    &t,
                                    &chunk_plan,
                                    chunk_stats,
                                    rows.peek(hi, cache_rows),
                                    col_stats,
                                    config,
                                    scratch,
                                );
                                (t, e)
                            };
                            let n = rows.sizes.len();
                            match mode {
                                SearchMode::Exhaustive => {
                                    for hi in 0..n {
                                        if cache_rows && !rows.overlaps(hi) {
                                            continue;
                                        }
                                        let (t, e) = eval(hi, &mut rows, &mut scratch);
                                        best.consider(t, e);
                                    }
                                }
                                SearchMode::Fast => {
                                    // Tallest feasible height: footprints do
                                    // not grow as tiles shrink.
                                    let (mut lo, mut hi) = (0usize, n);
                                    while lo < hi {
                                        let mid = (lo + hi) / 2;
                                        scratch.footprint_only = true;
                                        let (_, e) = eval(mid, &mut rows, &mut scratch);
                                        scratch.footprint_only = false;
                                        best.min_footprint = best.min_footprint.min(e.footprint);
                                        best.feasible_seen |= e.feasible;
                                        if e.feasible {
                                            hi = mid;
                                        } else {
                                            lo = mid + 1;
                                        }
                                    }
                                    if lo == n {
                                        continue;
                                    }
                                    // This family needs at least the tiles
                                    // of its tallest feasible height, and
                                    // keeps at most what its smallest
                                    // footprint leaves for weights.
                                    if order == LoopOrder::SpatialOuter && lo + 1 < n {
                                        scratch.footprint_only = true;
                                        let (_, e) = eval(n - 1, &mut rows, &mut scratch);
                                        scratch.footprint_only = false;
                                        let room = config.capacity.saturating_sub(e.footprint);
                                        let tiles = (rows.peek(lo, cache_rows).count
                                            * col_stats.count)
                                            as u64;
                                        let floor = fixed
                                            + input_floor(&col_stats.new_sum, chunk_stats, order)
                                            + (tiles - 1)
                                                * model.weight_bytes().saturating_sub(room);
                                        if floor >= best.limit() {
                                            best.pruned = true;
                                            continue;
                                        }
                                    }
                                    let mut previous: Option<u64> = None;
                                    let mut worse = 0;
                                    for index in lo..n {
                                        if cache_rows && !rows.overlaps(index) {
                                            continue;
                                        }
                                        let (t, e) = eval(index, &mut rows, &mut scratch);
                                        let total = e.traffic.total();
                                        best.consider(t, e);
                                        if previous.is_some_and(|p| total >= p) {
                                            worse += 1;
                                            if worse >= PATIENCE {
                                                break;
                                            }
                                        } else {
                                            worse = 0;
                                        }
                                        previous = Some(total);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    match best.cost {
        Some(cost) => Outcome::Found(cost),
        None if best.feasible_seen || best.pruned => Outcome::NotBelow,
        None => Outcome::Infeasible(Infeasible {
            min_footprint: best.min_footprint,
        }),
    }
}

/// The best feasible candidate so far and the smallest footprint seen.
struct Best {
    cost: Option<GroupCost>,
    min_footprint: u64,
    /// Only candidates cheaper than this matter.
    bound: u64,
    /// Some candidate fitted (perhaps not below the bound).
    feasible_seen: bool,
    /// Some family was skipped by its traffic floor.
    pruned: bool,
}

impl Best {
    /// Traffic a candidate must beat.
    fn limit(&self) -> u64 {
        self.cost
            .map_or(self.bound, |c| c.evaluation.traffic.total().min(self.bound))
    }

    fn consider(&mut self, tiling: Tiling, evaluation: Evaluation) {
        self.min_footprint = self.min_footprint.min(evaluation.footprint);
        self.feasible_seen |= evaluation.feasible;
        if evaluation.feasible
            && evaluation.traffic.total() < self.bound
            && self
                .cost
                .as_ref()
                .is_none_or(|b| better(&evaluation, &b.evaluation))
        {
            self.cost = Some(GroupCost { tiling, evaluation });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        cost::Traffic,
        graph::{GraphBuilder, LayerGraph, Window},
    };

    #[test]
    fn candidates() {
        assert_eq!(height_candidates(7), vec![7, 6, 5, 4, 3, 2, 1]);
        let h = height_candidates(224);
        assert_eq!(h[..8], [224, 112, 75, 56, 45, 38, 32, 28]);
        assert_eq!(*h.last().unwrap(), 1);
        assert_eq!(width_candidates(56), vec![56, 28, 14, 7, 4, 2, 1]);
        assert_eq!(width_candidates(1), vec![1]);
        assert_eq!(channel_candidates(64), vec![64, 32, 16, 8, 4, 2]);
        assert_eq!(
            channel_candidates(2048),
            vec![2048, 1024, 512, 256, 128, 64]
        );
        assert_eq!(channel_candidates(3), vec![3, 2]);
    }

    fn chain(channels: i64, size: i64, layers: usize) -> LayerGraph {
        let mut b = GraphBuilder::new("chain", 4);
        let mut x = b.input(&[1, channels, size, size]).unwrap();
        for i in 0..layers {
            x = b
                .conv2d(&format!("c{i}"), x, channels, Window::square(3, 1, 1), 1)
                .unwrap();
            x = b.unary(&format!("r{i}"), "relu", x).unwrap();
        }
        b.output(x);
        b.finish()
    }

    #[test]
    fn everything_fits_in_one_tile() {
        let g = chain(8, 8, 2);
        let model = GroupModel::new(&g, &[0, 1, 2, 3]).unwrap();
        let best = search(&model, &CostConfig::new(1 << 20), SearchMode::Fast).unwrap();
        // Input and output read and written once, weights once.
        assert_eq!(best.evaluation.traffic, model.ideal_traffic());
        assert_eq!(best.evaluation.tiles, [1, 1, 1]);
        assert_eq!(
            best.evaluation.traffic,
            Traffic {
                input: 2048,
                weight: 2 * 2336,
                output: 2048
            }
        );
    }

    #[test]
    fn fast_search_matches_exhaustive_on_small_groups() {
        for (channels, size, layers) in [(8, 16, 2), (16, 12, 3), (4, 20, 1)] {
            let g = chain(channels, size, layers);
            let nodes: Vec<usize> = (0..g.nodes.len()).collect();
            let model = GroupModel::new(&g, &nodes).unwrap();
            for capacity in [3_000u64, 6_000, 12_000, 40_000] {
                let config = CostConfig::new(capacity);
                let fast = search(&model, &config, SearchMode::Fast);
                let full = search(&model, &config, SearchMode::Exhaustive);
                match (fast, full) {
                    (Ok(f), Ok(e)) => assert_eq!(
                        f.evaluation.traffic.total(),
                        e.evaluation.traffic.total(),
                        "{channels}x{size}x{layers} at {capacity}: {f:?} vs {e:?}"
                    ),
                    (Err(_), Err(_)) => {}
                    (f, e) => panic!("feasibility differs: {f:?} vs {e:?}"),
                }
            }
        }
    }

    #[test]
    fn too_small_reports_the_minimum() {
        let g = chain(64, 32, 1);
        let model = GroupModel::new(&g, &[0, 1]).unwrap();
        let error = search(&model, &CostConfig::new(100), SearchMode::Fast).unwrap_err();
        // At least an output tile of one pixel of one chunk (64 / 64 = 1
        // channel, 4 bytes) plus a one-filter weight buffer (64*9 + 1
        // elements -> 2308 bytes).
        assert!(error.min_footprint > 100, "{error:?}");
    }
}
