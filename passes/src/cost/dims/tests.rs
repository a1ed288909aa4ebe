//! [`GroupModel::dim_stats_shared`] against the straightforward tile-by-tile
//! computation it replaced, with caches shared as the DP shares them (per
//! end of an interval order) and shared across every group of a graph.

use super::*;
use crate::{
    cost::GroupModel,
    graph::{GraphBuilder, PoolKind, Window},
    receptive_field::Interval,
    schedule::unit_order,
};

/// The tile-by-tile computation: for each tile, the windows inferred
/// backwards through every member.
fn reference(model: &GroupModel, dim: Dim, tile: i64, cached: bool) -> DimStats {
    let this = model;
    let grid = this.grid_of(dim);
    let tile = tile.clamp(1, grid.max(1));
    let count = (grid.max(1) + tile - 1) / tile;
    let nt = this.tensors.len();
    let mut stats = DimStats {
        dim,
        tile,
        cached,
        count: count as usize,
        window_max: vec![0; nt],
        new_sum: vec![0; nt],
        overlap_max: vec![0; nt],
        extent: vec![0; nt],
        varies: vec![false; nt],
        use_max: vec![0; this.uses.len()],
        use_sum: vec![0; this.uses.len()],
        window_lens: if dim == Dim::C && !cached {
            vec![0; nt * count as usize]
        } else {
            Vec::new()
        },
    };
    let maps = &this.maps[match dim {
        Dim::C => 0,
        Dim::H => 1,
        _ => 2,
    }];
    let mut hull = vec![Interval::EMPTY; nt];
    // The first tile's window (`start == i64::MIN`: none yet).
    let mut first = vec![Interval::new(i64::MIN, i64::MIN); nt];
    let mut prev_end = vec![i64::MIN; nt];
    let mut need = vec![Interval::EMPTY; nt];
    let record = |t: usize,
                  window: Interval,
                  stats: &mut DimStats,
                  hull: &mut [Interval],
                  first: &mut [Interval],
                  prev_end: &mut [i64]| {
        let new = if cached {
            Interval::new(window.start.max(prev_end[t]), window.end)
        } else {
            window
        };
        let (w, n) = (window.len(), new.len());
        stats.window_max[t] = stats.window_max[t].max(w);
        stats.new_sum[t] += n;
        stats.overlap_max[t] = stats.overlap_max[t].max(w - n);
        hull[t] = hull[t].hull(&window);
        if first[t].start == i64::MIN {
            first[t] = window;
        } else if first[t] != window {
            stats.varies[t] = true;
        }
        if !window.is_empty() {
            prev_end[t] = prev_end[t].max(window.end);
        }
        new
    };
    for i in 0..count {
        let ref_tile = Interval::new(i * tile, ((i + 1) * tile).min(grid));
        need.fill(Interval::EMPTY);
        for &t in &this.output_tensors {
            let tensor = &this.tensors[t];
            need[t] = if tensor.accumulator && dim != Dim::C {
                Interval::full(1)
            } else {
                proportional(ref_tile, grid, tensor.dims.get(dim))
            };
        }
        for m in (0..this.members.len()).rev() {
            let member = &this.members[m];
            let out = member.output;
            let new = record(
                out,
                need[out],
                &mut stats,
                &mut hull,
                &mut first,
                &mut prev_end,
            );
            if dim == Dim::C && !cached {
                stats.window_lens[out * count as usize + i as usize] = need[out].len();
            }
            for &u in &member.uses {
                let tensor = this.uses[u].tensor;
                let rf = if member.accumulates && dim != Dim::C {
                    // A global pool consumes the piece of its input that
                    // belongs to this tile and accumulates it.
                    proportional(ref_tile, grid, this.tensors[tensor].dims.get(dim))
                } else {
                    maps[u].apply(new)
                };
                let len = rf.len();
                stats.use_max[u] = stats.use_max[u].max(len);
                stats.use_sum[u] += len;
                need[tensor] = need[tensor].hull(&rf);
            }
        }
        for &t in &this.external_tensors {
            record(t, need[t], &mut stats, &mut hull, &mut first, &mut prev_end);
        }
    }
    for (extent, range) in stats.extent.iter_mut().zip(&hull).take(nt) {
        *extent = range.len();
    }
    stats
}

/// An inception-like block with a residual branch, strided and dilated
/// windows, asymmetric padding, ceil-mode pooling, a depthwise conv, a
/// broadcast add and a global pool.
fn network() -> LayerGraph {
    let mut b = GraphBuilder::new("mixed", 4);
    let x = b.input(&[1, 8, 23, 19]).unwrap();
    let stem = b.conv2d("stem", x, 16, Window::square(3, 2, 1), 1).unwrap();
    let stem = b.unary("stem_relu", "relu", stem).unwrap();
    let a = b.conv2d("a", stem, 8, Window::square(1, 1, 0), 1).unwrap();
    let skewed = Window {
        kernel: [1, 5],
        strides: [1, 1],
        pads: [0, 1, 0, 3],
        dilations: [1, 1],
    };
    let b1 = b.conv2d("b1", stem, 8, skewed, 1).unwrap();
    let dilated = Window {
        kernel: [3, 3],
        strides: [1, 1],
        pads: [2, 2, 2, 2],
        dilations: [2, 2],
    };
    let b2 = b.conv2d("b2", b1, 8, dilated, 1).unwrap();
    let p = b
        .pool2d("p", stem, PoolKind::Max, Window::square(3, 1, 1), true)
        .unwrap();
    let dw = b.conv2d("dw", p, 16, Window::square(3, 1, 1), 16).unwrap();
    let cat = b.concat("cat", &[a, b2, dw]).unwrap();
    let sum = b.binary("sum", "add", cat, cat).unwrap();
    let down = b
        .pool2d("down", sum, PoolKind::Max, Window::square(3, 2, 0), true)
        .unwrap();
    let proj = b
        .conv2d("proj", down, 32, Window::square(1, 1, 0), 1)
        .unwrap();
    let short = b
        .conv2d("short", sum, 32, Window::square(1, 2, 0), 1)
        .unwrap();
    let joined = b.binary("join", "add", proj, short).unwrap();
    let relu = b.unary("relu", "relu", joined).unwrap();
    let gp = b.global_pool("gp", relu).unwrap();
    let scaled = b.binary("scale", "mul", relu, gp).unwrap();
    let gp2 = b.global_pool("gp2", scaled).unwrap();
    b.output(gp2);
    b.output(relu);
    b.finish()
}

/// Every tile size and overlap mode along every dimension of `model`.
fn keys(model: &GroupModel) -> Vec<(Dim, i64, bool)> {
    let [c, h, w] = model.grid();
    let mut keys = Vec::new();
    for (dim, extent) in [(Dim::C, c), (Dim::H, h), (Dim::W, w)] {
        for tile in 1..=extent {
            for cached in [false, true] {
                keys.push((dim, tile, cached));
            }
        }
    }
    keys
}

fn check(model: &GroupModel, cache: &mut DimCache, what: &str) {
    for (dim, tile, cached) in keys(model) {
        assert_eq!(
            model.dim_stats_shared(dim, tile, cached, cache),
            reference(model, dim, tile, cached),
            "{what}: {dim:?} tile {tile} cached {cached}"
        );
    }
}

#[test]
fn shared_per_end_as_the_dp_shares() {
    let g = network();
    let order = unit_order(&g);
    for end in 1..=order.len() {
        let mut cache = DimCache::new();
        // Short groups first, then long ones, then short again.
        let starts: Vec<usize> = (0..end).rev().chain(0..end).collect();
        for start in starts {
            if let Ok(model) = GroupModel::new(&g, &order[start..end]) {
                check(&model, &mut cache, &format!("{start}..{end}"));
            }
        }
    }
}

#[test]
fn shared_across_every_group() {
    let g = network();
    let order = unit_order(&g);
    let mut cache = DimCache::new();
    let mut groups = 0;
    for start in 0..order.len() {
        for end in start + 1..=order.len() {
            if let Ok(model) = GroupModel::new(&g, &order[start..end]) {
                check(&model, &mut cache, &format!("{start}..{end}"));
                groups += 1;
            }
        }
    }
    // Groups that are not intervals of the order too.
    for nodes in [vec![2, 3, 4, 5], vec![3, 4], vec![1, 2, 5, 6, 7, 8, 9]] {
        if let Ok(model) = GroupModel::new(&g, &nodes) {
            check(&model, &mut cache, &format!("{nodes:?}"));
            groups += 1;
        }
    }
    assert!(groups > 40, "{groups}");
}

#[test]
fn a_cache_follows_its_graph() {
    let g = network();
    let mut cache = DimCache::new();
    let nodes: Vec<usize> = (0..6).collect();
    check(&GroupModel::new(&g, &nodes).unwrap(), &mut cache, "first");
    let other = network();
    check(
        &GroupModel::new(&other, &nodes).unwrap(),
        &mut cache,
        "other",
    );
    assert_eq!(Interval::EMPTY.len(), 0);
}
