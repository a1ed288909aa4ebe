//! The cost model on tiny groups, every number computed by hand in the
//! comments (f32, so 4 bytes per element).

use super::*;
use crate::graph::{GraphBuilder, Window};

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

const BIG: u64 = 1 << 30;

/// x: 1x4x8x8 -> conv 3x3 s1 p1 (4 filters) -> y.
/// x and y are 4*8*8*4 = 1024 bytes; weights 4*4*9 + 4 = 148 elements,
/// 592 bytes.
fn one_conv() -> LayerGraph {
    let mut b = GraphBuilder::new("one_conv", 4);
    let x = b.input(&[1, 4, 8, 8]).unwrap();
    let y = b.conv2d("c", x, 4, Window::square(3, 1, 1), 1).unwrap();
    b.output(y);
    b.finish()
}

#[test]
fn one_tile_reads_everything_once() {
    let g = one_conv();
    let model = GroupModel::new(&g, &[0]).unwrap();
    let e = model.evaluate_tiling(&tiling(8, 8, 4), &CostConfig::new(BIG));
    assert_eq!(e.tiles, [1, 1, 1]);
    assert_eq!(
        e.traffic,
        Traffic {
            input: 1024,
            weight: 592,
            output: 1024
        }
    );
    // The single-use input streams through 8 rows x 8 cols x 4 channels
    // (1024); the output tile is 1024; the weight buffer one filter,
    // 592 / 4 = 148. One tile reads the weights once: nothing to keep.
    assert_eq!(e.footprint, 1024 + 1024 + 148);
    assert_eq!(e.resident_weights, 0);
    assert!(e.feasible);
}

#[test]
fn row_bands_recompute_or_cache_the_halo() {
    let g = one_conv();
    let model = GroupModel::new(&g, &[0]).unwrap();
    // Bands of 2 output rows read input rows [0,3) [1,5) [3,7) [5,8):
    // 3 + 4 + 4 + 3 = 14 rows of 8 x 4 x 4 bytes = 1792.
    let e = model.evaluate_tiling(&tiling(2, 8, 4), &CostConfig::new(BIG));
    assert_eq!(e.tiles, [4, 1, 1]);
    assert_eq!(e.traffic.input, 14 * 8 * 4 * 4);
    // Four tiles would stream the weights 4 times (2368); resident, once.
    assert_eq!(e.traffic.weight, 592);
    assert_eq!(e.resident_weights, 592);
    // Output tile 2x8x4x4 = 256, input stream buffer 4x8x4x4 = 512, weight
    // buffer 148, resident weights 592.
    assert_eq!(e.footprint, 256 + 512 + 148 + 592);

    // Cached rows: the new rows are [0,3) [3,5) [5,7) [7,8), 8 in all, so
    // the input is read once; the window (at most 4 rows, 512 bytes) stays.
    let cached = Tiling {
        overlap: Overlap {
            cache_rows: true,
            cache_cols: false,
        },
        ..tiling(2, 8, 4)
    };
    let e = model.evaluate_tiling(&cached, &CostConfig::new(BIG));
    assert_eq!(e.traffic.input, 1024);
    assert_eq!(e.footprint, 512 + 256 + 148 + 592);

    // With 1000 bytes, 1000 - 916 = 84 bytes are left, less than one output
    // channel's weights (148): nothing stays. With 1100, 184 bytes hold one
    // channel, which saves 3 reads: 2368 - 3 * 148.
    let e = model.evaluate_tiling(&tiling(2, 8, 4), &CostConfig::new(1000));
    assert!(e.feasible);
    assert_eq!(e.resident_weights, 0);
    assert_eq!(e.traffic.weight, 2368);
    assert_eq!(e.footprint, 916);
    let e = model.evaluate_tiling(&tiling(2, 8, 4), &CostConfig::new(1100));
    assert_eq!(e.resident_weights, 148);
    assert_eq!(e.traffic.weight, 2368 - 3 * 148);
    assert_eq!(e.footprint, 916 + 148);
    // 900 bytes cannot hold even the activations.
    assert!(
        !model
            .evaluate_tiling(&tiling(2, 8, 4), &CostConfig::new(900))
            .feasible
    );
}

#[test]
fn column_tiles_and_line_buffers() {
    let g = one_conv();
    let model = GroupModel::new(&g, &[0]).unwrap();
    // 2x2 tiles of 4x4 outputs: each needs an input window of 5x5 (clamped
    // at the border), so 2 x 5 rows by 2 x 5 columns = 100 of 64 pixels.
    let e = model.evaluate_tiling(&tiling(4, 4, 4), &CostConfig::new(BIG));
    assert_eq!(e.tiles, [2, 2, 1]);
    assert_eq!(e.traffic.input, 10 * 10 * 4 * 4);
    // Fully cached: read once. The input keeps its 5x5 window (400 bytes)
    // and a line buffer of the 2 overlapping rows ([3, 5)) over all 8
    // columns (2 x 8 x 4 x 4 = 256).
    let cached = Tiling {
        overlap: Overlap {
            cache_rows: true,
            cache_cols: true,
        },
        ..tiling(4, 4, 4)
    };
    let e = model.evaluate_tiling(&cached, &CostConfig::new(BIG));
    assert_eq!(e.traffic.input, 1024);
    // Window 400 + line buffer 256 + output tile 4x4x4x4 = 256 + weight
    // buffer 148 + resident weights 592.
    assert_eq!(e.footprint, 400 + 256 + 256 + 148 + 592);
}

#[test]
fn fused_chain_keeps_the_intermediate_on_chip() {
    // x 1x4x8x8 -> conv 3x3 -> relu -> conv 3x3 -> y.
    let mut b = GraphBuilder::new("chain", 4);
    let x = b.input(&[1, 4, 8, 8]).unwrap();
    let c1 = b.conv2d("c1", x, 4, Window::square(3, 1, 1), 1).unwrap();
    let r1 = b.unary("r1", "relu", c1).unwrap();
    let c2 = b.conv2d("c2", r1, 4, Window::square(3, 1, 1), 1).unwrap();
    b.output(c2);
    let g = b.finish();
    let model = GroupModel::new(&g, &[0, 1, 2]).unwrap();
    assert_eq!(model.external_inputs(), vec![x]);
    assert_eq!(model.outputs(), vec![c2]);
    // Two bands of 4 rows. Band 0: y rows [0,4) <- mid [0,5) <- x [0,6);
    // band 1: y [4,8) <- mid [3,8) <- x [2,8). x: 6 + 6 = 12 rows.
    let e = model.evaluate_tiling(&tiling(4, 8, 4), &CostConfig::new(BIG));
    assert_eq!(
        e.traffic,
        Traffic {
            input: 12 * 8 * 4 * 4,
            weight: 2 * 592,
            output: 1024
        }
    );
    // Peak at c1: x stream buffer 6x8x4x4 = 768, c1 tile 5x8x4x4 = 640,
    // weight buffer 148 (the relu overwrites c1's tile in place; at c2: 640
    // + 512 + 148). Plus both layers' weights resident: 1184.
    assert_eq!(e.footprint, 768 + 640 + 148 + 1184);
    // The ideal traffic reads x once: 1024 + 1184 + 1024.
    assert_eq!(model.ideal_traffic().total(), 1024 + 1184 + 1024);
}

#[test]
fn loop_order_trades_input_rereads_for_weight_rereads() {
    // x 1x64x4x4 (4096 bytes) -> conv 1x1 64 -> y (4096 bytes); weights
    // 64*64 + 64 = 4160 elements, 16640 bytes. Four 1-row tiles, 8 chunks
    // of 8 output channels, 4000 bytes of scratchpad.
    let mut b = GraphBuilder::new("wide", 4);
    let x = b.input(&[1, 64, 4, 4]).unwrap();
    let y = b.conv2d("c", x, 64, Window::square(1, 1, 0), 1).unwrap();
    b.output(y);
    let g = b.finish();
    let model = GroupModel::new(&g, &[0]).unwrap();
    let config = CostConfig::new(4000);

    // Channel chunks outer: x is streamed once per chunk, 8 x 4096 = 32768;
    // each chunk's weights (16640 / 8 = 2080 bytes) stay for its sweep, so
    // the weights are read once.
    let channel_outer = Tiling {
        order: LoopOrder::ChannelOuter,
        ..tiling(1, 4, 8)
    };
    let e = model.evaluate_tiling(&channel_outer, &config);
    assert_eq!(e.tiles, [4, 1, 8]);
    assert_eq!(e.traffic.input, 32768);
    assert_eq!(e.traffic.weight, 16640);
    assert_eq!(e.resident_weights, 2080);
    // Stream buffer 1x4x8x4 = 128, output tile 128, weight buffer 260.
    assert_eq!(e.footprint, 128 + 128 + 260 + 2080);

    // Spatial tiles outer: x's row (1x4x64x4 = 1024) stays for all chunks,
    // so x is read once, but the weights are streamed per tile (4 x 16640 =
    // 66560) except for what fits: 4000 - 1024 - 128 - 260 = 2588 bytes
    // hold 9 output channels' weights (260 bytes each), each byte saving 3
    // reads: 66560 - 3 * 2340 = 59540.
    let e = model.evaluate_tiling(&tiling(1, 4, 8), &config);
    assert_eq!(e.traffic.input, 4096);
    assert_eq!(e.traffic.weight, 66560 - 3 * 2340);
    assert_eq!(e.footprint, 4000 - 2588 + 2340);
    // Here channel chunks outer is cheaper: 53504 against 67732.
    assert_eq!(
        model
            .evaluate_tiling(&channel_outer, &config)
            .traffic
            .total(),
        53504
    );
    assert_eq!(e.traffic.total(), 67732);
}

#[test]
fn residual_block_reads_the_shortcut_once_or_streams_it() {
    // x 1x8x8x8 -> conv 3x3 -> relu -> conv 3x3 -> add x -> relu -> y.
    let mut b = GraphBuilder::new("residual", 4);
    let x = b.input(&[1, 8, 8, 8]).unwrap();
    let c1 = b.conv2d("c1", x, 8, Window::square(3, 1, 1), 1).unwrap();
    let r1 = b.unary("r1", "relu", c1).unwrap();
    let c2 = b.conv2d("c2", r1, 8, Window::square(3, 1, 1), 1).unwrap();
    let s = b.binary("s", "add", c2, x).unwrap();
    let y = b.unary("r2", "relu", s).unwrap();
    b.output(y);
    let g = b.finish();
    let model = GroupModel::new(&g, &[0, 1, 2, 3, 4]).unwrap();
    // One tile: x (2048 bytes) kept from c1 to the add: read once.
    let e = model.evaluate_tiling(&tiling(8, 8, 8), &CostConfig::new(BIG));
    assert_eq!(e.traffic.input, 2048);
    // Streamed per use: read by c1 and again by the add.
    let streamed = Tiling {
        stream_inputs: true,
        ..tiling(8, 8, 8)
    };
    let s = model.evaluate_tiling(&streamed, &CostConfig::new(BIG));
    assert_eq!(s.traffic.input, 4096);
    // Each conv's weights are 8*8*9 + 8 = 584 elements, 2336 bytes (one
    // tile: streamed once, none resident); weight buffer 2336 / 8 = 292.
    // Kept, x (2048) lives from c1 to the add: the peak is at c2, with x,
    // r1's tile and c2's tile: 3 x 2048 + 292.
    assert_eq!(e.footprint, 3 * 2048 + 292);
    // Streamed in chunks of 2 channels (8x8x2x4 = 512 bytes), x is never
    // whole on chip: the peak at c2 is r1 + c2 + 292.
    let config = CostConfig {
        stream_channels: 2,
        ..CostConfig::new(BIG)
    };
    let s = model.evaluate_tiling(&streamed, &config);
    assert_eq!(s.footprint, 2 * 2048 + 292);
}

#[test]
fn group_errors() {
    let mut b = GraphBuilder::new("errors", 4);
    let x = b.input(&[1, 4, 4, 4]).unwrap();
    let a = b.unary("a", "relu", x).unwrap();
    let c = b.unary("c", "relu", a).unwrap();
    let d = b.binary("d", "add", a, c).unwrap();
    let gp = b.global_pool("gp", d).unwrap();
    let e = b.unary("e", "relu", gp).unwrap();
    b.output(e);
    let g = b.finish();
    assert_eq!(GroupModel::new(&g, &[]).unwrap_err(), GroupError::Empty);
    assert_eq!(
        GroupModel::new(&g, &[0, 0]).unwrap_err(),
        GroupError::BadNode(0)
    );
    // a -> c -> d with c outside.
    assert_eq!(
        GroupModel::new(&g, &[0, 2]).unwrap_err(),
        GroupError::NotConvex {
            from: "a".into(),
            to: "d".into()
        }
    );
    // The global pool is read by e in the same group.
    assert_eq!(
        GroupModel::new(&g, &[3, 4]).unwrap_err(),
        GroupError::EndsGroup("gp".into())
    );
    // A group ending with the global pool tiles the pool's input.
    let model = GroupModel::new(&g, &[0, 1, 2, 3]).unwrap();
    assert_eq!(model.grid(), [4, 4, 4]);
    let e = model.evaluate_tiling(&tiling(1, 4, 4), &CostConfig::new(BIG));
    // x read once in 4 bands, gp written once (4 x 4 bytes).
    assert_eq!(e.traffic.input, 256);
    assert_eq!(e.traffic.output, 16);
}

#[test]
fn sizes() {
    assert_eq!(parse_size("1MiB"), Ok(1 << 20));
    assert_eq!(parse_size("256KiB"), Ok(256 << 10));
    assert_eq!(parse_size("64KB"), Ok(64_000));
    assert_eq!(parse_size("2M"), Ok(2 << 20));
    assert_eq!(parse_size("4096"), Ok(4096));
    assert!(parse_size("1XB").is_err());
    assert!(parse_size("0").is_err());
    assert!(parse_size("MiB").is_err());
}

/// x: 1x4x8x8 -> conv a 3x3 (1 filter) -> conv b 1x1 (16) -> relu r, with
/// b's and r's outputs both written, in chunks of 8 of the 16 channels
/// inside the spatial tile. a runs once per tile (phase 1), b and r once
/// per chunk. a's output (8x8x1x4 = 256 bytes), which b reads at every
/// chunk, stays on chip to the end of the step, so at r (position 2) it
/// lives with b's and r's chunks (8x8x8x4 = 2048 each; r cannot overwrite
/// b's, a group output): 256 + 2048 + 2048 = 4352 bytes, the peak (at b:
/// 256 + 2048 + b's one-channel weight buffer of 8 bytes).
#[test]
fn phase_one_results_outlive_the_chunk_loop() {
    let mut b = GraphBuilder::new("chunks", 4);
    let x = b.input(&[1, 4, 8, 8]).unwrap();
    let a = b.conv2d("a", x, 1, Window::square(3, 1, 1), 1).unwrap();
    let y = b.conv2d("b", a, 16, Window::square(1, 1, 0), 1).unwrap();
    let r = b.unary("r", "relu", y).unwrap();
    b.output(y);
    b.output(r);
    let g = b.finish();
    let model = GroupModel::new(&g, &[0, 1, 2]).unwrap();
    let e = model.evaluate_tiling(&tiling(8, 8, 8), &CostConfig::new(BIG));
    assert_eq!(e.tiles, [1, 1, 2]);
    assert_eq!(e.footprint - e.resident_weights, 256 + 2048 + 2048);
    // Chunks outside: a runs at every step, nothing outlives it.
    let outer = Tiling {
        order: LoopOrder::ChannelOuter,
        ..tiling(8, 8, 8)
    };
    let e = model.evaluate_tiling(&outer, &CostConfig::new(BIG));
    assert_eq!(e.footprint - e.resident_weights, 2048 + 2048);
}
