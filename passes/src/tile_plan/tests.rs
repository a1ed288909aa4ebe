//! Tile plans of tiny groups computed by hand (f32, 4 bytes per element),
//! and, on random chains and DAGs, the plan's bytes against the cost model
//! for every supported tiling.

use super::*;
use crate::{
    cost::{Evaluation, LoopOrder, Overlap},
    graph::{GraphBuilder, Window},
    random_graphs::{Profile, Rng, random_graph},
};

const BIG: u64 = 1 << 30;

fn tiling(tile_h: i64, tile_w: i64, tile_c: i64) -> Tiling {
    Tiling {
        tile_h,
        tile_w,
        tile_c,
        order: LoopOrder::SpatialOuter,
        overlap: Overlap::RECOMPUTE,
        stream_inputs: false,
    }
}

/// `t` with overlaps kept on chip along rows and/or columns.
fn cached(t: Tiling, cache_rows: bool, cache_cols: bool) -> Tiling {
    Tiling {
        overlap: Overlap {
            cache_rows,
            cache_cols,
        },
        ..t
    }
}

/// The plan of `t`, its regions and data flow checked.
fn checked_plan(g: &LayerGraph, model: &GroupModel, t: &Tiling, config: &CostConfig) -> TilePlan {
    let p = plan(model, t, config).unwrap();
    check_regions(g, &p);
    check_data_flow(g, &p);
    p
}

fn iv(start: i64, end: i64) -> Interval {
    Interval::new(start, end)
}

fn bx(c: (i64, i64), h: (i64, i64), w: (i64, i64)) -> Region {
    Region {
        n: iv(0, 1),
        c: iv(c.0, c.1),
        h: iv(h.0, h.1),
        w: iv(w.0, w.1),
    }
}

/// `(kind, value or node, region or elements, bytes)` of every transfer of
/// a step, for compact comparisons.
fn summary(plan: &TilePlan, transfers: &[Transfer]) -> Vec<(TransferKind, usize, String, u64)> {
    transfers
        .iter()
        .map(|t| match t.data {
            TransferData::Tensor { tensor, region } => (
                t.kind,
                plan.tensors[tensor].value,
                format!(
                    "c{}..{} h{}..{} w{}..{}",
                    region.c.start,
                    region.c.end,
                    region.h.start,
                    region.h.end,
                    region.w.start,
                    region.w.end
                ),
                t.bytes,
            ),
            TransferData::Weight {
                node,
                weight,
                elements,
            } => (
                t.kind,
                node,
                format!("w{weight} {}..{}", elements.start, elements.end),
                t.bytes,
            ),
        })
        .collect()
}

/// x 1x4x8x8 -> conv 3x3 s1 p1 (4 filters) -> relu -> y, tiles of 4x4: four
/// steps, each reading a 5x5 input window (the halo clipped at the edges).
#[test]
fn conv_relu_tiles_with_halos() {
    let mut b = GraphBuilder::new("conv_relu", 4);
    let x = b.input(&[1, 4, 8, 8]).unwrap();
    let c = b.conv2d("c", x, 4, Window::square(3, 1, 1), 1).unwrap();
    let y = b.unary("r", "relu", c).unwrap();
    b.output(y);
    let g = b.finish();
    let model = GroupModel::new(&g, &[0, 1]).unwrap();
    let p = plan_with_weights(&model, &tiling(4, 4, 4), WeightMode::Streamed).unwrap();
    assert_eq!(p.tiles, [2, 2, 1]);
    assert_eq!(p.nodes, vec![0, 1]);
    assert_eq!(
        p.tensors.iter().map(|t| t.value).collect::<Vec<_>>(),
        vec![x, c, y]
    );
    assert!(p.tensors[0].streamed && p.tensors[2].is_output && !p.tensors[1].is_output);
    assert!(p.prologue.is_empty());
    // Output tile [r0, r1) x [c0, c1) needs input rows [r0 - 1, r1 + 1)
    // clipped to [0, 8): [0, 5) for the first tile, [3, 8) for the second.
    let halo = |t: usize| if t == 0 { (0, 5) } else { (3, 8) };
    let tile = |t: usize| if t == 0 { (0, 4) } else { (4, 8) };
    assert_eq!(p.steps.len(), 4);
    for (s, step) in p.steps.iter().enumerate() {
        let (r, col) = (s / 2, s % 2);
        assert_eq!(step.tile, [r, col, 0]);
        assert_eq!(step.reference, bx((0, 4), tile(r), tile(col)));
        assert_eq!(step.regions[0], bx((0, 4), halo(r), halo(col)));
        assert_eq!(step.regions[1], bx((0, 4), tile(r), tile(col)));
        assert_eq!(step.regions[2], bx((0, 4), tile(r), tile(col)));
        assert_eq!(step.layers[0].reads, vec![step.regions[0]]);
        assert_eq!(step.layers[1].reads, vec![step.regions[1]]);
        // 5x5x4 input elements (400 bytes), the conv's filter (4x4x9) and
        // bias (4), the 4x4x4 output piece (256 bytes) after the relu.
        assert_eq!(
            step.transfers
                .iter()
                .map(|t| (t.kind, t.bytes, t.layer))
                .collect::<Vec<_>>(),
            vec![
                (TransferKind::Input, 400, 0),
                (TransferKind::Weight, 576, 0),
                (TransferKind::Weight, 16, 0),
                (TransferKind::Output, 256, 1),
            ]
        );
    }
    assert_eq!(
        summary(&p, &p.steps[1].transfers),
        vec![
            (TransferKind::Input, x, "c0..4 h0..5 w3..8".into(), 400),
            (TransferKind::Weight, 0, "w0 0..144".into(), 576),
            (TransferKind::Weight, 0, "w1 0..4".into(), 16),
            (TransferKind::Output, y, "c0..4 h0..4 w4..8".into(), 256),
        ]
    );
    assert_eq!(
        p.traffic(),
        Traffic {
            input: 1600,
            weight: 4 * 592,
            output: 1024
        }
    );
    // Resident: the weights once, before the first step.
    let resident = plan_with_weights(&model, &tiling(4, 4, 4), WeightMode::Resident).unwrap();
    assert_eq!(
        summary(&resident, &resident.prologue),
        vec![
            (TransferKind::Weight, 0, "w0 0..144".into(), 576),
            (TransferKind::Weight, 0, "w1 0..4".into(), 16),
        ]
    );
    assert_eq!(resident.traffic().weight, 592);
    // With a large scratchpad the model makes them resident too.
    let e = model.evaluate_tiling(&tiling(4, 4, 4), &CostConfig::new(BIG));
    assert_eq!(e.resident_weights, 592);
    let planned = plan(&model, &tiling(4, 4, 4), &CostConfig::new(BIG)).unwrap();
    assert_eq!(planned, resident);
    assert_eq!(planned.traffic(), e.traffic);
}

/// x 1x2x9x9 -> conv 3x3 s2 p1 (3 filters) -> y 1x3x5x5, tiles of 2x3.
#[test]
fn strided_conv() {
    let mut b = GraphBuilder::new("strided", 4);
    let x = b.input(&[1, 2, 9, 9]).unwrap();
    let y = b.conv2d("c", x, 3, Window::square(3, 2, 1), 1).unwrap();
    b.output(y);
    let g = b.finish();
    assert_eq!(b_shape(&g, y), [1, 3, 5, 5]);
    let model = GroupModel::new(&g, &[0]).unwrap();
    let t = tiling(2, 3, 3);
    let p = plan_with_weights(&model, &t, WeightMode::Streamed).unwrap();
    assert_eq!(p.tiles, [3, 2, 1]);
    // Output rows [a, b) read input rows [2a - 1, 2(b - 1) - 1 + 3):
    // [0, 2) -> [0, 4), [2, 4) -> [3, 8), [4, 5) -> [7, 9) (clipped);
    // columns [0, 3) -> [0, 6), [3, 5) -> [5, 9).
    let inputs: Vec<String> = p
        .steps
        .iter()
        .map(|s| summary(&p, &s.transfers)[0].2.clone())
        .collect();
    assert_eq!(
        inputs,
        vec![
            "c0..2 h0..4 w0..6",
            "c0..2 h0..4 w5..9",
            "c0..2 h3..8 w0..6",
            "c0..2 h3..8 w5..9",
            "c0..2 h7..9 w0..6",
            "c0..2 h7..9 w5..9",
        ]
    );
    let outputs: Vec<String> = p
        .steps
        .iter()
        .map(|s| summary(&p, &s.transfers).last().unwrap().2.clone())
        .collect();
    assert_eq!(
        outputs,
        vec![
            "c0..3 h0..2 w0..3",
            "c0..3 h0..2 w3..5",
            "c0..3 h2..4 w0..3",
            "c0..3 h2..4 w3..5",
            "c0..3 h4..5 w0..3",
            "c0..3 h4..5 w3..5",
        ]
    );
    // (4 + 5 + 2) rows x (6 + 4) columns x 2 channels x 4 bytes; the output
    // once (75 x 4); weights 3x2x9 + 3 = 57 elements per step.
    let e = model.evaluate_tiling(&t, &CostConfig::new(BIG));
    assert_eq!(
        p.traffic(),
        Traffic {
            input: 11 * 10 * 2 * 4,
            weight: 6 * 57 * 4,
            output: 75 * 4
        }
    );
    assert_eq!(p.traffic().input, e.traffic.input);
    assert_eq!(p.traffic().output, e.traffic.output);
}

fn b_shape(g: &LayerGraph, v: ValueId) -> [i64; 4] {
    let d = g.values[v].dims;
    [d.n, d.c, d.h, d.w]
}

/// x 1x8x8x8 -> c1 3x3 -> r1 -> c2 3x3 -> add(c2, x) -> r2 -> y, with r1
/// also a group output; bands of 4 rows over the full width.
#[test]
fn residual_block_with_a_side_output() {
    let mut b = GraphBuilder::new("residual", 4);
    let x = b.input(&[1, 8, 8, 8]).unwrap();
    let c1 = b.conv2d("c1", x, 8, Window::square(3, 1, 1), 1).unwrap();
    let r1 = b.unary("r1", "relu", c1).unwrap();
    let c2 = b.conv2d("c2", r1, 8, Window::square(3, 1, 1), 1).unwrap();
    let s = b.binary("s", "add", c2, x).unwrap();
    let y = b.unary("r2", "relu", s).unwrap();
    b.output(r1);
    b.output(y);
    let g = b.finish();
    let model = GroupModel::new(&g, &[0, 1, 2, 3, 4]).unwrap();
    assert_eq!(model.outputs(), vec![r1, y]);
    let t = tiling(4, 8, 8);
    let p = plan_with_weights(&model, &t, WeightMode::Streamed).unwrap();
    assert_eq!(p.tiles, [2, 1, 1]);
    let (tx, tr1) = (p.tensor_of(x).unwrap(), p.tensor_of(r1).unwrap());
    // x is read by c1 and by the add: kept, loaded once per step as the hull
    // of [0, 6) (c1) and [0, 4) (add), then [2, 8) and [4, 8).
    assert!(!p.tensors[tx].streamed);
    let full = (0, 8);
    assert_eq!(p.steps[0].regions[tx], bx(full, (0, 6), full));
    assert_eq!(p.steps[1].regions[tx], bx(full, (2, 8), full));
    assert_eq!(p.steps[0].layers[3].reads[1], bx(full, (0, 4), full));
    // r1 is computed with c2's halo ([0, 5), then [3, 8)) but only its
    // piece ([0, 4), then [4, 8)) is written: every row once.
    assert_eq!(p.steps[0].regions[tr1], bx(full, (0, 5), full));
    assert_eq!(p.steps[1].regions[tr1], bx(full, (3, 8), full));
    for (step, rows) in p.steps.iter().zip([(0, 4), (4, 8)]) {
        let writes: Vec<_> = summary(&p, &step.transfers)
            .into_iter()
            .filter(|t| t.0 == TransferKind::Output)
            .collect();
        let piece = format!("c0..8 h{}..{} w0..8", rows.0, rows.1);
        assert_eq!(
            writes,
            vec![
                (TransferKind::Output, r1, piece.clone(), 1024),
                (TransferKind::Output, y, piece, 1024),
            ]
        );
        // Loads before the first reader (c1), r1's store after r1.
        let layers: Vec<_> = step.transfers.iter().map(|t| (t.kind, t.layer)).collect();
        assert_eq!(
            layers,
            vec![
                (TransferKind::Input, 0),
                (TransferKind::Weight, 0),
                (TransferKind::Weight, 0),
                (TransferKind::Output, 1),
                (TransferKind::Weight, 2),
                (TransferKind::Weight, 2),
                (TransferKind::Output, 4),
            ]
        );
    }
    // 12 rows of x (8x8x4 bytes each), r1 and y once, each conv's 2336
    // weight bytes per step.
    let expected = Traffic {
        input: 12 * 256,
        weight: 2 * 2 * 2336,
        output: 2 * 2048,
    };
    assert_eq!(p.traffic(), expected);
    // The model agrees, streaming the weights when they cannot stay.
    let e = model.evaluate_tiling(&t, &CostConfig::new(BIG));
    assert_eq!(e.resident_weights, 4672);
    assert_eq!(
        plan(&model, &t, &CostConfig::new(BIG)).unwrap().traffic(),
        e.traffic
    );
    // Streamed per use: c1 reads [0, 6) and [2, 8), the add [0, 4) and
    // [4, 8): 20 rows.
    let streamed = Tiling {
        stream_inputs: true,
        ..t
    };
    let p = plan_with_weights(&model, &streamed, WeightMode::Streamed).unwrap();
    assert!(p.tensors[tx].streamed);
    assert_eq!(p.traffic().input, 20 * 256);
    let e = model.evaluate_tiling(&streamed, &CostConfig::new(BIG));
    assert_eq!(p.traffic().input, e.traffic.input);
    let loads: Vec<_> = summary(&p, &p.steps[1].transfers)
        .into_iter()
        .filter(|t| t.0 == TransferKind::Input)
        .map(|t| t.2)
        .collect();
    assert_eq!(loads, vec!["c0..8 h2..8 w0..8", "c0..8 h4..8 w0..8"]);
}

/// x 1x4x4x4 -> conv 1x1 (2 filters) -> global pool: the pool's input
/// defines the grid; the accumulator is written once, after the last step.
#[test]
fn global_pool_writes_its_accumulator_once() {
    let mut b = GraphBuilder::new("gp", 4);
    let x = b.input(&[1, 4, 4, 4]).unwrap();
    let c = b.conv2d("c", x, 2, Window::square(1, 1, 0), 1).unwrap();
    let gp = b.global_pool("gp", c).unwrap();
    b.output(gp);
    let g = b.finish();
    let model = GroupModel::new(&g, &[0, 1]).unwrap();
    let t = tiling(2, 2, 2);
    let p = plan_with_weights(&model, &t, WeightMode::Streamed).unwrap();
    assert_eq!(p.tiles, [2, 2, 1]);
    let tgp = p.tensor_of(gp).unwrap();
    assert!(p.tensors[tgp].accumulator);
    for (i, step) in p.steps.iter().enumerate() {
        assert_eq!(step.regions[tgp], bx((0, 2), (0, 1), (0, 1)));
        let writes = step
            .transfers
            .iter()
            .filter(|t| t.kind == TransferKind::Output)
            .count();
        assert_eq!(writes, usize::from(i == 3));
        // The pool reads this step's 2x2 piece of the conv's output.
        assert_eq!(step.layers[1].reads[0], step.regions[1]);
        assert_eq!(step.regions[1].h.len() * step.regions[1].w.len(), 4);
    }
    let e = model.evaluate_tiling(&t, &CostConfig::new(BIG));
    assert_eq!(p.traffic().output, 8);
    assert_eq!(p.traffic().input, e.traffic.input);
    assert_eq!(p.traffic().output, e.traffic.output);
}

#[test]
fn unsupported_tilings_say_why() {
    // x 1x8x8x8 -> conv 3x3 (8) -> y.
    let mut b = GraphBuilder::new("one_conv", 4);
    let x = b.input(&[1, 8, 8, 8]).unwrap();
    let y = b.conv2d("c", x, 8, Window::square(3, 1, 1), 1).unwrap();
    b.output(y);
    let g = b.finish();
    let model = GroupModel::new(&g, &[0]).unwrap();
    let config = CostConfig::new(BIG);
    // Rows cached, one column tile: each band loads the input rows the band
    // before did not, and shifts the two it shares up its window.
    let rows_kept = cached(tiling(2, 8, 8), true, false);
    let p = checked_plan(&g, &model, &rows_kept, &config);
    let tx = p.tensor_of(x).unwrap();
    assert!(p.tensors[tx].cached && p.tensors[tx].line.is_none());
    let loads: Vec<Vec<_>> = p
        .steps
        .iter()
        .map(|step| summary(&p, &step.transfers[..1]))
        .collect();
    let rows = |h0: i64, h1: i64, bytes: u64| {
        vec![(
            TransferKind::Input,
            x,
            format!("c0..8 h{h0}..{h1} w0..8"),
            bytes,
        )]
    };
    assert_eq!(
        loads,
        [
            rows(0, 3, 768),
            rows(3, 5, 512),
            rows(5, 7, 512),
            rows(7, 8, 256)
        ]
    );
    let shifts: Vec<Vec<Move>> = p.steps.iter().map(|step| step.moves.clone()).collect();
    let shift = |h0: i64, h1: i64, from: (i64, i64)| {
        vec![Move {
            kind: MoveKind::Shift,
            tensor: tx,
            region: bx((0, 8), (h0, h1), (0, 8)),
            from: bx((0, 8), from, (0, 8)),
        }]
    };
    assert_eq!(
        shifts,
        [
            vec![],
            shift(1, 3, (0, 3)),
            shift(3, 5, (1, 5)),
            shift(5, 7, (3, 7))
        ]
    );
    // Nothing computed twice: the conv computes its band.
    assert!(
        p.steps
            .iter()
            .all(|step| step.layers[0].computes == step.regions[1])
    );
    // Two chunks of 4 output channels inside the bands: the input's window
    // (all 8 channels at every chunk) loads and shifts at a band's first
    // chunk; the second chunk reads it as it is.
    let inside = checked_plan(&g, &model, &cached(tiling(2, 8, 4), true, false), &config);
    let by_step = |p: &TilePlan| -> Vec<(usize, u64, usize)> {
        p.steps
            .iter()
            .map(|step| {
                let input = step
                    .transfers
                    .iter()
                    .filter(|t| t.kind == TransferKind::Input);
                (step.tile[2], input.map(|t| t.bytes).sum(), step.moves.len())
            })
            .collect()
    };
    assert_eq!(
        by_step(&inside),
        [
            (0, 768, 0),
            (1, 0, 0),
            (0, 512, 1),
            (1, 0, 0),
            (0, 512, 1),
            (1, 0, 0),
            (0, 256, 1),
            (1, 0, 0)
        ]
    );
    // Chunks outside: each chunk's sweep of the bands starts afresh.
    let outside = Tiling {
        order: LoopOrder::ChannelOuter,
        ..cached(tiling(2, 8, 4), true, false)
    };
    let outside = checked_plan(&g, &model, &outside, &config);
    let sweep = [(0, 768, 0), (0, 512, 1), (0, 512, 1), (0, 256, 1)];
    let second = sweep.map(|(_, bytes, moves)| (1, bytes, moves));
    assert_eq!(by_step(&outside), [sweep, second].concat());
    // Both cached, 2x2 tiles of 4x4: the second band restores the rows it
    // shares with the first (3 and 4) from the line buffer, where the first
    // band saved them column tile by column tile (up to where the next
    // tile's window starts, so that the band's own saves for the next band
    // never overwrite what its later tiles restore); the second column tile
    // of a band shifts the columns it shares with the first.
    let p = checked_plan(&g, &model, &cached(tiling(4, 4, 8), true, true), &config);
    assert_eq!(p.tensors[tx].line, Some(bx((0, 8), (0, 2), (0, 8))));
    let mv = |kind, h: (i64, i64), w: (i64, i64)| Move {
        kind,
        tensor: tx,
        region: bx((0, 8), h, w),
        from: Region::EMPTY,
    };
    let shift = |h: (i64, i64), w: (i64, i64), from: Region| Move {
        from,
        ..mv(Shift, h, w)
    };
    use MoveKind::{Restore, Save, Shift};
    assert_eq!(
        p.steps
            .iter()
            .map(|step| step.moves.clone())
            .collect::<Vec<_>>(),
        [
            vec![mv(Save, (3, 5), (0, 3))],
            vec![
                shift((0, 5), (3, 5), bx((0, 8), (0, 5), (0, 5))),
                mv(Save, (3, 5), (3, 8))
            ],
            vec![mv(Restore, (3, 5), (0, 5))],
            vec![
                shift((3, 8), (3, 5), bx((0, 8), (3, 8), (0, 5))),
                mv(Restore, (3, 5), (3, 8))
            ],
        ]
    );
    let loads: Vec<String> = p
        .steps
        .iter()
        .map(|step| summary(&p, &step.transfers[..1])[0].2.clone())
        .collect();
    assert_eq!(
        loads,
        [
            "c0..8 h0..5 w0..5",
            "c0..8 h0..5 w5..8",
            "c0..8 h5..8 w0..5",
            "c0..8 h5..8 w5..8"
        ]
    );
    // Every input byte once.
    assert_eq!(p.traffic().input, 8 * 8 * 8 * 4);
    // Caching columns when there is a single column tile keeps nothing:
    // the same plan as recomputing.
    let nothing_kept = cached(tiling(2, 8, 8), false, true);
    let p = plan(&model, &nothing_kept, &config).unwrap();
    assert_eq!(
        p.steps,
        plan(&model, &tiling(2, 8, 8), &config).unwrap().steps
    );
    // Three chunks of the output channels (3, 3 and 2): the conv runs in
    // the chunk loop, so each step loads its chunk's filter rows and bias.
    let chunked = plan(&model, &tiling(8, 8, 3), &config).unwrap();
    assert_eq!(chunked.tiles, [1, 1, 3]);
    let weights: Vec<Interval> = chunked
        .transfers()
        .filter_map(|t| match t.data {
            TransferData::Weight { elements, .. } if chunked.weights == WeightMode::Streamed => {
                Some(elements)
            }
            _ => None,
        })
        .collect();
    assert!(chunked.weights == WeightMode::Resident || weights.len() == 6);
    let streamed = plan_with_weights(&model, &tiling(8, 8, 3), WeightMode::Streamed).unwrap();
    let elements: Vec<(i64, i64)> = streamed
        .transfers()
        .filter_map(|t| match t.data {
            TransferData::Weight { elements, .. } => Some((elements.start, elements.end)),
            _ => None,
        })
        .collect();
    assert_eq!(
        elements,
        vec![(0, 216), (0, 3), (216, 432), (3, 6), (432, 576), (6, 8)]
    );
    assert_eq!(streamed.traffic().weight, 2336);
    // The input, read whole by every chunk's conv, is on chip from the
    // first chunk.
    let inputs: Vec<usize> = streamed
        .steps
        .iter()
        .map(|s| {
            s.transfers
                .iter()
                .filter(|t| t.kind == TransferKind::Input)
                .count()
        })
        .collect();
    assert_eq!(inputs, vec![1, 0, 0]);
    check_regions(&g, &streamed);
    // A chunk larger than the channels is one chunk.
    assert!(plan(&model, &tiling(8, 8, 100), &config).is_ok());
    // Four bands: the activations take 2x8x8x4 (output) + 4x8x8x4 (input
    // stream) + 73x4 (weight buffer) = 1828 bytes. 1900 bytes leave 72,
    // less than one output channel's weights (72 + 1 elements, 292 bytes):
    // nothing stays. 2500 bytes leave 672: two channels (584 bytes) stay,
    // loaded before the first step; every step loads the other six.
    let e = model.evaluate_tiling(&tiling(2, 8, 8), &CostConfig::new(1900));
    assert_eq!(e.resident_weights, 0);
    let config = CostConfig::new(2500);
    let e = model.evaluate_tiling(&tiling(2, 8, 8), &config);
    assert_eq!(e.resident_weights, 584);
    let p = plan(&model, &tiling(2, 8, 8), &config).unwrap();
    assert_eq!(
        (p.weights, &p.resident_channels[..]),
        (WeightMode::Partial, &[2][..])
    );
    let elements = |transfers: &[Transfer]| -> Vec<(i64, i64)> {
        transfers
            .iter()
            .filter_map(|t| match t.data {
                TransferData::Weight { elements, .. } => Some((elements.start, elements.end)),
                _ => None,
            })
            .collect()
    };
    assert_eq!(elements(&p.prologue), vec![(0, 144), (0, 2)]);
    for step in &p.steps {
        assert_eq!(elements(&step.transfers), vec![(144, 576), (2, 8)]);
    }
    // 584 + 4 x 1752 = 7592: the model's 4 x 2336 less 3 reads of 584.
    assert_eq!(p.traffic().weight, 7592);
    assert_eq!(p.traffic(), e.traffic);
}

/// Random networks on 1x4x9x9 inputs, with strided convs (1x1 stride-2
/// convs skip rows), dilations, pools and sometimes a global pool.
const NETWORKS: Profile = Profile {
    input: [1, 4, 9, 9],
    channels: [4, 6],
    pool_min_height: 4,
    strided: true,
    global_pool: true,
};

/// Every element of every output written exactly once; every layer reads
/// inside what the step has (computed or loaded); every output piece
/// inside what its producer computes.
fn check_regions(g: &LayerGraph, p: &TilePlan) {
    let inside = |a: &Region, b: &Region| {
        a.is_empty()
            || Dim::ALL
                .iter()
                .all(|&d| b.get(d).start <= a.get(d).start && a.get(d).end <= b.get(d).end)
    };
    let mut written: Vec<Vec<u8>> = p
        .tensors
        .iter()
        .map(|t| vec![0; t.dims.elements() as usize])
        .collect();
    // The layers outside the chunk loop come first: nothing that runs at
    // every chunk may run before them (its buffers could take the place of
    // what they keep on chip). With chunks inside the spatial tiles, they
    // compute nothing after a tile's first chunk.
    let outside = p.in_chunk_loop.iter().filter(|&&inside| !inside).count();
    assert!(p.in_chunk_loop[..outside].iter().all(|&inside| !inside));
    if p.tiling.order == LoopOrder::SpatialOuter {
        for step in p.steps.iter().filter(|step| step.tile[2] > 0) {
            assert!(step.layers[..outside].iter().all(|l| l.computes.is_empty()));
        }
    }
    for step in &p.steps {
        for (layer, member) in step.layers.iter().zip(&p.nodes) {
            assert_eq!(layer.node, *member);
            let node = &g.nodes[*member];
            let out = p.tensor_of(node.output).unwrap();
            // A layer outside the chunk loop computes nothing at a later
            // chunk; what it computed stays.
            if p.tensors[out].cached {
                // What the tiles before did not keep.
                assert!(inside(&layer.computes, &step.regions[out]));
            } else if !layer.computes.is_empty() || step.tile[2] == 0 {
                assert_eq!(layer.computes, step.regions[out]);
            }
            for (op, read) in node.inputs.iter().zip(&layer.reads) {
                let t = p.tensor_of(op.value).unwrap();
                assert!(inside(read, &step.regions[t]), "{read:?} of {op:?}");
            }
        }
        for transfer in &step.transfers {
            let TransferData::Tensor { tensor, region } = transfer.data else {
                continue;
            };
            let info = &p.tensors[tensor];
            assert!(!region.is_empty());
            assert_eq!(transfer.bytes, region.elements() * info.elem_bytes);
            if transfer.kind != TransferKind::Output {
                assert!(info.producer.is_none());
                continue;
            }
            assert!(info.is_output);
            assert_eq!(
                transfer.layer,
                p.nodes
                    .iter()
                    .position(|&n| Some(n) == info.producer)
                    .unwrap()
            );
            assert!(inside(&region, &step.regions[tensor]));
            let d = info.dims;
            for n in region.n.start..region.n.end {
                for c in region.c.start..region.c.end {
                    for h in region.h.start..region.h.end {
                        for w in region.w.start..region.w.end {
                            written[tensor][(((n * d.c + c) * d.h + h) * d.w + w) as usize] += 1;
                        }
                    }
                }
            }
        }
    }
    for (t, info) in p.tensors.iter().enumerate() {
        let expected = u8::from(info.is_output);
        assert!(
            written[t].iter().all(|&k| k == expected),
            "value {} written {:?} times",
            info.value,
            written[t].iter().max()
        );
    }
}

/// Runs a plan element by element: every load, computation, read, store
/// and move touches data that is on chip and current in its buffer, and a
/// cached tensor's window is whole at the end of every step (with chunks
/// inside, of every tile's last chunk). Windows of
/// tensors that are not cached start empty at every step, but at the later
/// chunks of a tile (chunks inside), where the windows kept across chunks
/// stay; a line buffer is simulated by its slots, a channel at its place in
/// the step's window.
fn check_data_flow(g: &LayerGraph, p: &TilePlan) {
    use std::collections::{HashMap, HashSet};
    let chunks_inside = p.tiles[2] > 1 && p.tiling.order == LoopOrder::SpatialOuter;
    let elements = |r: &Region| {
        let mut all = Vec::new();
        for c in r.c.start..r.c.end {
            for h in r.h.start..r.h.end {
                for w in r.w.start..r.w.end {
                    all.push([c, h, w]);
                }
            }
        }
        all
    };
    let nt = p.tensors.len();
    let mut valid: Vec<HashSet<[i64; 3]>> = vec![HashSet::new(); nt];
    // Per tensor: line buffer slot (channel in the window, row, w) -> the
    // tensor's channel and row it holds.
    let mut line: Vec<HashMap<[i64; 3], (i64, i64)>> = vec![HashMap::new(); nt];
    // Per cached tensor: the window its buffer holds.
    let mut held: Vec<Option<Region>> = vec![None; nt];
    for step in &p.steps {
        let mut carried: Vec<HashSet<[i64; 3]>> = vec![HashSet::new(); nt];
        for mv in &step.moves {
            let t = mv.tensor;
            assert!(p.tensors[t].cached);
            let window = step.regions[t];
            if mv.kind == MoveKind::Shift {
                assert_eq!(
                    Some(mv.from),
                    held[t],
                    "a shift from the window the buffer holds"
                );
            }
            for e @ [c, h, w] in elements(&mv.region) {
                assert!(window.c.start <= c && c < window.c.end);
                assert!(window.h.start <= h && h < window.h.end);
                assert!(window.w.start <= w && w < window.w.end);
                match mv.kind {
                    MoveKind::Shift => assert!(valid[t].contains(&e), "{mv:?}"),
                    MoveKind::Restore => {
                        let slot = [c - window.c.start, h - mv.region.h.start, w];
                        assert_eq!(
                            line[t].get(&slot),
                            Some(&(c, h)),
                            "{mv:?} {:?}",
                            p.steps
                                .iter()
                                .map(|s| (s.tile, s.regions[t].h, s.regions[t].w, s.moves.clone()))
                                .collect::<Vec<_>>()
                        );
                    }
                    MoveKind::Save => continue,
                }
                carried[t].insert(e);
            }
        }
        let later_chunk = chunks_inside && step.tile[2] > 0;
        for (t, tensor) in p.tensors.iter().enumerate() {
            // A cached buffer a step does not need keeps what it holds, as
            // do the windows kept across a tile's chunks.
            let kept = (tensor.cached && step.regions[t].is_empty())
                || (later_chunk && (tensor.cached || tensor.kept_across_chunks));
            if !tensor.accumulator && !kept {
                valid[t] = std::mem::take(&mut carried[t]);
            }
            if tensor.cached && !kept {
                held[t] = Some(step.regions[t]);
            }
        }
        for (l, layer) in step.layers.iter().enumerate() {
            for transfer in step.transfers.iter().filter(|t| t.layer == l) {
                let TransferData::Tensor { tensor, region } = transfer.data else {
                    continue;
                };
                if transfer.kind == TransferKind::Input && !p.tensors[tensor].streamed {
                    valid[tensor].extend(elements(&region));
                }
            }
            let node = &g.nodes[layer.node];
            for (op, read) in node.inputs.iter().zip(&layer.reads) {
                let t = p.tensor_of(op.value).unwrap();
                if !p.tensors[t].streamed {
                    for e in elements(read) {
                        assert!(
                            valid[t].contains(&e),
                            "{} reads {e:?} of {}",
                            node.label,
                            op.value
                        );
                    }
                }
            }
            let out = p.tensor_of(node.output).unwrap();
            if !p.tensors[out].accumulator {
                valid[out].extend(elements(&layer.computes));
            }
            for transfer in step.transfers.iter().filter(|t| t.layer == l) {
                if let TransferData::Tensor { tensor, region } = transfer.data
                    && transfer.kind == TransferKind::Output
                    && !p.tensors[tensor].accumulator
                {
                    assert!(elements(&region).iter().all(|e| valid[tensor].contains(e)));
                }
            }
        }
        // With chunks inside, a cached window is whole once the tile's last
        // chunk has computed its channels.
        let last_chunk = step.tile[2] + 1 == p.tiles[2];
        for (t, tensor) in p.tensors.iter().enumerate() {
            if tensor.cached && (!chunks_inside || last_chunk) {
                let window = elements(&step.regions[t]);
                assert!(
                    window.iter().all(|e| valid[t].contains(e)),
                    "value {}",
                    tensor.value
                );
            }
        }
        for mv in step.moves.iter().filter(|mv| mv.kind == MoveKind::Save) {
            let t = mv.tensor;
            let line_box = p.tensors[t].line.expect("a save has a line buffer");
            let first = step.regions[t].c.start;
            for e @ [c, h, w] in elements(&mv.region) {
                assert!(valid[t].contains(&e));
                let row = h - mv.region.h.start;
                assert!(c - first < line_box.c.len());
                assert!(0 <= row && row < line_box.h.end);
                assert!(line_box.w.start <= w && w < line_box.w.end);
                line[t].insert([c - first, row, w], (c, h));
            }
        }
    }
}

/// The plan's bytes against the evaluation of `model` under `config`.
fn check_against_model(model: &GroupModel, p: &TilePlan, e: &Evaluation) {
    let total_weights = model.weight_bytes();
    let traffic = p.traffic();
    assert_eq!(traffic.input, e.traffic.input, "input");
    assert_eq!(traffic.output, e.traffic.output, "output");
    // What a chunk keeps for its sweep: its first channels' weights.
    let swept: u64 = p
        .nodes
        .iter()
        .zip(&p.swept_channels)
        .map(|(&node, &channels)| {
            let member = model.members.iter().find(|m| m.node == node).unwrap();
            channels as u64 * member.weight_bytes / member.out_channels.max(1) as u64
        })
        .sum();
    match p.weights {
        WeightMode::Streamed => assert_eq!(e.resident_weights, swept),
        WeightMode::Resident => assert_eq!(e.resident_weights, total_weights),
        WeightMode::Partial => {
            assert!(e.resident_weights > 0 && e.resident_weights < total_weights)
        }
    }
    // The prologue loads what stays on chip for all steps.
    let kept: u64 = p.prologue.iter().map(|t| t.bytes).sum();
    assert_eq!(kept + swept, e.resident_weights);
    assert_eq!(
        traffic.weight, e.traffic.weight,
        "weight: {:?} tiles {:?} resident {:?} swept {:?}",
        p.tiling, p.tiles, p.resident_channels, p.swept_channels
    );
}

/// The model of every interval of `g`'s topological order that forms a
/// valid group.
fn interval_models(g: &LayerGraph) -> Vec<GroupModel<'_>> {
    let n = g.nodes.len();
    (0..n)
        .flat_map(|start| (start + 1..=n).map(move |end| (start..end).collect::<Vec<NodeId>>()))
        .filter_map(|nodes| GroupModel::new(g, &nodes).ok())
        .collect()
}

#[test]
fn plans_match_the_model_on_random_groups() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut planned, mut partial, mut chunked, mut uneven_sweeps) = (0, 0, 0, 0);
    for case in 0..40 {
        let dag = case % 2 == 1;
        let ops = 2 + case % 5;
        let g = random_graph(&mut rng, ops, dag, &NETWORKS);
        for model in interval_models(&g) {
            let [grid_c, grid_h, grid_w] = model.grid();
            let total = model.weight_bytes();
            for tile_h in [1, 2, 4, grid_h] {
                for tile_w in [1, 3, grid_w] {
                    for (k, stream_inputs) in [false, true].into_iter().enumerate() {
                        let t = Tiling {
                            tile_h,
                            tile_w,
                            tile_c: grid_c + k as i64,
                            order: if k == 0 {
                                LoopOrder::SpatialOuter
                            } else {
                                LoopOrder::ChannelOuter
                            },
                            overlap: Overlap::RECOMPUTE,
                            stream_inputs,
                        };
                        let ns = ((grid_h as u64).div_ceil(tile_h.min(grid_h) as u64))
                            * ((grid_w as u64).div_ceil(tile_w.min(grid_w) as u64));
                        let streamed = plan_with_weights(&model, &t, WeightMode::Streamed).unwrap();
                        check_regions(&g, &streamed);
                        assert_eq!(streamed.steps.len() as u64, ns);
                        assert_eq!(streamed.traffic().weight, ns * total);
                        let resident = plan_with_weights(&model, &t, WeightMode::Resident).unwrap();
                        assert_eq!(resident.traffic().weight, total);
                        assert_eq!(resident.steps, {
                            // Same steps without their weight loads.
                            let mut steps = streamed.steps.clone();
                            for s in &mut steps {
                                s.transfers.retain(|t| t.kind != TransferKind::Weight);
                            }
                            steps
                        });
                        for capacity in [1_000u64, 6_000, BIG] {
                            let config = CostConfig::new(capacity);
                            let e = model.evaluate_tiling(&t, &config);
                            match plan(&model, &t, &config) {
                                Ok(p) => {
                                    check_against_model(&model, &p, &e);
                                    planned += 1;
                                }
                                Err(Unsupported::UnplannedResidency { resident, .. }) => {
                                    assert!(resident > 0 && resident < total);
                                    assert_eq!(resident, e.resident_weights);
                                    // Inputs and outputs still agree.
                                    assert_eq!(streamed.traffic().input, e.traffic.input);
                                    assert_eq!(streamed.traffic().output, e.traffic.output);
                                    partial += 1;
                                }
                                Err(other) => panic!("case {case}: {other}"),
                            }
                        }
                    }
                }
            }
            // Several chunks, in both loop orders.
            for tile_c in [1, 4] {
                if tile_c >= grid_c {
                    continue;
                }
                for order in [LoopOrder::SpatialOuter, LoopOrder::ChannelOuter] {
                    for tile_h in [2, grid_h] {
                        for stream_inputs in [false, true] {
                            let t = Tiling {
                                order,
                                stream_inputs,
                                ..tiling(tile_h, grid_w, tile_c)
                            };
                            let streamed =
                                plan_with_weights(&model, &t, WeightMode::Streamed).unwrap();
                            check_regions(&g, &streamed);
                            for capacity in [1_000u64, 6_000, BIG] {
                                let config = CostConfig::new(capacity);
                                let e = model.evaluate_tiling(&t, &config);
                                assert_eq!(streamed.traffic().input, e.traffic.input);
                                assert_eq!(streamed.traffic().output, e.traffic.output);
                                match plan(&model, &t, &config) {
                                    Ok(p) => {
                                        check_against_model(&model, &p, &e);
                                        chunked += 1;
                                        // Kept per sweep of chunks whose
                                        // last one is smaller.
                                        let swept = p.swept_channels.iter().any(|&c| c > 0);
                                        uneven_sweeps += usize::from(swept && grid_c % tile_c != 0);
                                    }
                                    Err(Unsupported::UnplannedResidency { .. }) => partial += 1,
                                    Err(other) => panic!("case {case}: {other}"),
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(planned > 5_000, "{planned} plans");
    assert!(
        partial > 0 && chunked > 1_000 && uneven_sweeps > 10,
        "{partial} {chunked} {uneven_sweeps}"
    );
}

/// A downsampling residual block (ResNet's): x 1x4x8x8 -> a = conv 3x3 s2
/// -> b = conv 3x3 -> y = b + d, with d = conv 1x1 s2 of x. In bands of one
/// output row with rows cached, the last band computes no new row of a
/// (b's last row reads rows a kept), so x's window there is the one row d
/// reads, which ends before the window of the band before: what it keeps
/// still lies in that window, so the plan keeps it and shifts it.
#[test]
fn a_window_that_ends_earlier_keeps_what_it_shares() {
    let mut b = GraphBuilder::new("downsample", 4);
    let x = b.input(&[1, 4, 8, 8]).unwrap();
    let a = b.conv2d("a", x, 4, Window::square(3, 2, 1), 1).unwrap();
    let c = b.conv2d("b", a, 4, Window::square(3, 1, 1), 1).unwrap();
    let d = b.conv2d("d", x, 4, Window::square(1, 2, 0), 1).unwrap();
    let y = b.binary("y", "add", c, d).unwrap();
    b.output(y);
    let g = b.finish();
    let model = GroupModel::new(&g, &[0, 1, 2, 3]).unwrap();
    let t = cached(tiling(1, 4, 4), true, false);
    let p = checked_plan(&g, &model, &t, &CostConfig::new(BIG));
    let tx = p.tensor_of(x).unwrap();
    let rows: Vec<Interval> = p.steps.iter().map(|s| s.regions[tx].h).collect();
    assert_eq!(rows, [iv(0, 4), iv(2, 6), iv(4, 8), iv(6, 7)]);
    let last = p.steps.last().unwrap();
    assert_eq!(last.moves[0].region.h, iv(6, 7));
    // Every input row loaded once.
    assert_eq!(p.traffic().input, 4 * 8 * 8 * 4);
}

#[test]
fn cached_overlaps_match_the_model_and_keep_what_is_read() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let (mut planned, mut moved, mut lines, mut refused) = (0, 0, 0, 0);
    let (mut chunked, mut varying) = (0, 0);
    for case in 0..24 {
        let g = random_graph(&mut rng, 2 + case % 5, case % 2 == 1, &NETWORKS);
        for model in interval_models(&g) {
            let [grid_c, grid_h, grid_w] = model.grid();
            // One chunk, or chunks of half the channels (the last one
            // smaller when they are odd) in either loop order.
            let half = (grid_c + 1) / 2;
            let chunkings = [
                (grid_c, LoopOrder::SpatialOuter),
                (half, LoopOrder::SpatialOuter),
                (half, LoopOrder::ChannelOuter),
            ];
            for (tile_c, order) in chunkings {
                if tile_c == half && half == grid_c {
                    continue;
                }
                for (tile_h, tile_w) in [(1, 3), (2, 1), (2, grid_w), (4, 3), (grid_h, 2)] {
                    for (cache_rows, cache_cols) in [(true, false), (false, true), (true, true)] {
                        for stream_inputs in [false, true] {
                            let t = Tiling {
                                stream_inputs,
                                order,
                                ..cached(tiling(tile_h, tile_w, tile_c), cache_rows, cache_cols)
                            };
                            let p = match plan_with_weights(&model, &t, WeightMode::Streamed) {
                                Ok(p) => p,
                                Err(Unsupported::CachedOverlap { reason, .. }) => {
                                    assert!(reason.contains("advance"), "{reason}");
                                    refused += 1;
                                    continue;
                                }
                                Err(other) => panic!("case {case}: {other}"),
                            };
                            check_regions(&g, &p);
                            check_data_flow(&g, &p);
                            // Windows of every chunk's channels, each chunk
                            // computing its own.
                            varying += (0..p.tensors.len())
                                .filter(|&t| {
                                    p.tensors[t].cached
                                        && p.steps.iter().any(|s| {
                                            s.layers.iter().any(|l| {
                                                p.tensor_of(g.nodes[l.node].output) == Some(t)
                                                    && !l.computes.is_empty()
                                                    && l.computes.c != s.regions[t].c
                                            })
                                        })
                                })
                                .count();
                            let steps = p.steps.iter();
                            moved += steps.clone().filter(|s| !s.moves.is_empty()).count();
                            lines += p.tensors.iter().filter(|t| t.line.is_some()).count();
                            for capacity in [1_000u64, 6_000, BIG] {
                                let config = CostConfig::new(capacity);
                                let e = model.evaluate_tiling(&t, &config);
                                match plan(&model, &t, &config) {
                                    Ok(p) => check_against_model(&model, &p, &e),
                                    // Unequal chunks keeping weights per sweep.
                                    Err(Unsupported::UnplannedResidency { .. }) => continue,
                                    Err(other) => panic!("case {case}: {other}"),
                                }
                                planned += 1;
                                chunked += usize::from(p.tiles[2] > 1);
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(
        planned > 1_000 && moved > 1_000 && lines > 100,
        "{planned} {moved} {lines}"
    );
    assert!(chunked > 1_000 && varying > 0, "{chunked} {varying}");
    assert!(refused < planned / 10, "{refused} refused");
}

/// x 1x2x8x8 read by a strided conv a (4x4, a group output) and by a conv
/// b (8x8, the reference): in bands of one reference row, a's pieces are
/// [i / 2, (i + 1) / 2), empty for even bands, where a computes nothing.
/// The model still charges a's streamed weights at every step, so the plan
/// loads them at every step too.
#[test]
fn smaller_side_output_gets_proportional_pieces() {
    let mut b = GraphBuilder::new("side", 4);
    let x = b.input(&[1, 2, 8, 8]).unwrap();
    let a = b.conv2d("a", x, 2, Window::square(3, 2, 1), 1).unwrap();
    let y = b.conv2d("b", x, 2, Window::square(3, 1, 1), 1).unwrap();
    b.output(a);
    b.output(y);
    let g = b.finish();
    let model = GroupModel::new(&g, &[0, 1]).unwrap();
    assert_eq!(model.reference_node(), 1);
    let t = tiling(1, 8, 2);
    let p = plan_with_weights(&model, &t, WeightMode::Streamed).unwrap();
    let ta = p.tensor_of(a).unwrap();
    let pieces: Vec<Option<(i64, i64)>> = p
        .steps
        .iter()
        .map(|s| {
            s.transfers.iter().find_map(|t| match t.data {
                TransferData::Tensor { tensor, region } if tensor == ta => {
                    Some((region.h.start, region.h.end))
                }
                _ => None,
            })
        })
        .collect();
    assert_eq!(
        pieces,
        vec![
            None,
            Some((0, 1)),
            None,
            Some((1, 2)),
            None,
            Some((2, 3)),
            None,
            Some((3, 4))
        ]
    );
    assert!(p.steps[0].layers[0].computes.is_empty());
    // x (kept: two readers) is the hull of b's rows [i - 1, i + 2) and, in
    // odd bands i = 2j + 1, of a's rows [2j - 1, 2j + 2), clipped: 2 + 3 +
    // 3 + 3 rows in even bands, 3 + 4 + 4 + 3 in odd ones; 25 rows of 8
    // columns and 2 channels.
    assert_eq!(p.traffic().input, 25 * 8 * 2 * 4);
    // Each conv: 2x2x9 + 2 = 38 elements, 152 bytes, at each of 8 steps.
    assert_eq!(p.traffic().weight, 8 * 2 * 152);
    assert_eq!(p.traffic().output, (4 * 4 + 8 * 8) * 2 * 4);
    // The model agrees; with room it keeps every weight, read once.
    let e = model.evaluate_tiling(&t, &CostConfig::new(BIG));
    assert_eq!(e.resident_weights, 2 * 152);
    let resident = plan(&model, &t, &CostConfig::new(BIG)).unwrap();
    assert_eq!(resident.weights, WeightMode::Resident);
    assert_eq!(resident.traffic(), e.traffic);
    assert_eq!(p.traffic().input, e.traffic.input);
    assert_eq!(p.traffic().output, e.traffic.output);
    check_regions(&g, &p);
}
