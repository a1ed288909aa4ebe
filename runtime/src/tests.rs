//! Behaviour of the C ABI under sessions: copies, counters, checks, nesting.
//!
//! Generated code is played by Rust closures and `extern "C"` functions that
//! compute addresses the way it does: integers from the entry's base pointers.

use super::*;

const DRAM: usize = 256;
const PARAMS: usize = 128;
const CAPACITY: usize = 128;

/// One DMA call, with the ABI's arguments by name.
#[derive(Clone, Copy)]
struct Call {
    kind: i64,
    region: i64,
    dst: i64,
    src: i64,
    n: [i64; 2],
    row_bytes: i64,
    dst_s: [i64; 2],
    src_s: [i64; 2],
}

impl Call {
    /// A dense `n0 x n1` box of `row_bytes` rows on both sides.
    fn dense(kind: DmaKind, region: i64, dst: i64, src: i64, n: [i64; 2], row_bytes: i64) -> Self {
        let s = [n[1] * row_bytes, row_bytes];
        Call {
            kind: kind.code(),
            region,
            dst,
            src,
            n,
            row_bytes,
            dst_s: s,
            src_s: s,
        }
    }

    fn issue(self) {
        // SAFETY: tests issue calls only inside checked sessions, or with
        // ranges inside the session's buffers, or with no session at all.
        unsafe {
            deepfuse_rt_dma(
                self.kind,
                self.region,
                self.dst,
                self.src,
                self.n[0],
                self.n[1],
                self.row_bytes,
                self.dst_s[0],
                self.dst_s[1],
                self.src_s[0],
                self.src_s[1],
            )
        }
    }
}

/// Bases of the three memories as the integers generated code computes with.
#[derive(Clone, Copy)]
struct Bases {
    dram: i64,
    params: i64,
    arena: i64,
}

impl Bases {
    fn base(self, buffer: BufferName) -> i64 {
        match buffer {
            BufferName::Dram => self.dram,
            BufferName::Params => self.params,
            BufferName::Arena => self.arena,
        }
    }
}

impl From<KernelArgs> for Bases {
    fn from(args: KernelArgs) -> Self {
        Bases {
            dram: args.dram as i64,
            params: args.params as i64,
            arena: args.arena as i64,
        }
    }
}

/// A dram and params whose byte at offset `i` is `i` (plus 100 in params),
/// so every copied byte says where it came from.
fn memories() -> (AlignedBuffer, AlignedBuffer, Arena) {
    let mut dram = AlignedBuffer::new(DRAM);
    for (i, b) in dram.as_mut_slice().iter_mut().enumerate() {
        *b = i as u8;
    }
    let mut params = AlignedBuffer::new(PARAMS);
    for (i, b) in params.as_mut_slice().iter_mut().enumerate() {
        *b = (i + 100) as u8;
    }
    (dram, params, Arena::new(CAPACITY))
}

fn traffic(input: u64, weight: u64, output: u64) -> Traffic {
    Traffic {
        input,
        weight,
        output,
    }
}

/// Runs `calls` in a fresh checked session with 2 regions and returns the
/// run's result, the stats and the memories after it.
fn run_checked(
    calls: impl FnOnce(Bases) -> Vec<Call>,
) -> (Result<(), RuntimeError>, Stats, AlignedBuffer, Arena) {
    let (mut dram, params, mut arena) = memories();
    let mut session = Session::new(&mut dram, &params, &mut arena, 2, true);
    let result = session.run(|args| calls(args.into()).into_iter().for_each(Call::issue));
    let stats = session.stats();
    (result, stats, dram, arena)
}

fn rejected(result: Result<(), RuntimeError>) -> DmaProblem {
    match result {
        Err(RuntimeError::Dma { first, .. }) => first.problem,
        other => panic!("expected a rejected DMA, got {other:?}"),
    }
}

#[test]
fn input_copies_a_strided_box_into_a_dense_tile() {
    // 3 x 2 rows of 4 bytes: source rows 8 apart, row groups 40 apart.
    let (result, stats, dram, arena) = run_checked(|b| {
        vec![Call {
            kind: 0,
            region: 1,
            dst: b.arena + 16,
            src: b.dram + 10,
            n: [3, 2],
            row_bytes: 4,
            dst_s: [8, 4],
            src_s: [40, 8],
        }]
    });
    result.unwrap();
    let mut expected = [0u8; CAPACITY];
    for i in 0..3 {
        for j in 0..2 {
            for k in 0..4 {
                expected[16 + i * 8 + j * 4 + k] = (10 + i * 40 + j * 8 + k) as u8;
            }
        }
    }
    assert_eq!(arena.as_slice(), &expected[..]);
    assert_eq!(dram.as_slice()[5], 5, "the source is left alone");
    assert_eq!(stats.regions, vec![traffic(0, 0, 0), traffic(24, 0, 0)]);
    assert_eq!(stats.total, traffic(24, 0, 0));
    assert_eq!(stats.dma_calls, 1);
    assert_eq!(stats.arena_peak, 16 + 24);
    assert_eq!(stats.arena_capacity, CAPACITY);
}

#[test]
fn output_scatters_a_tile_into_strided_rows() {
    let (mut dram, params, mut arena) = memories();
    arena.as_mut_slice()[..12].copy_from_slice(b"abcdefghijkl");
    let before = dram.clone();
    let mut session = Session::new(&mut dram, &params, &mut arena, 1, true);
    session
        .run(|args| {
            let b = Bases::from(args);
            // 2 x 3 rows of 2 bytes, into dram rows 32 apart, columns 4 apart.
            Call {
                kind: 2,
                region: 0,
                dst: b.dram + 64,
                src: b.arena,
                n: [2, 3],
                row_bytes: 2,
                dst_s: [32, 4],
                src_s: [6, 2],
            }
            .issue();
        })
        .unwrap();
    let stats = session.stats();
    assert_eq!(stats.total, traffic(0, 0, 12));
    assert_eq!(
        stats.arena_peak, 12,
        "output stores count the arena bytes they read"
    );
    let mut expected = before.as_slice().to_vec();
    for (row, chunk) in b"abcdefghijkl".chunks(2).enumerate() {
        let at = 64 + (row / 3) * 32 + (row % 3) * 4;
        expected[at..at + 2].copy_from_slice(chunk);
    }
    assert_eq!(dram.as_slice(), &expected[..]);
}

#[test]
fn weight_copies_a_contiguous_box() {
    let (result, stats, _, arena) = run_checked(|b| {
        vec![Call::dense(
            DmaKind::Weight,
            0,
            b.arena + 64,
            b.params + 32,
            [4, 2],
            8,
        )]
    });
    result.unwrap();
    let expected: Vec<u8> = (132..196).map(|b| b as u8).collect();
    assert_eq!(&arena.as_slice()[64..128], &expected[..]);
    assert!(arena.as_slice()[..64].iter().all(|&b| b == 0));
    assert_eq!(stats.regions[0], traffic(0, 64, 0));
    assert_eq!(
        stats.arena_peak, CAPACITY,
        "a box may end exactly at the capacity"
    );
}

#[test]
fn negative_strides_copy_rows_in_reverse_and_are_range_checked() {
    let (result, stats, _, arena) = run_checked(|b| {
        vec![Call {
            kind: 0,
            region: 0,
            dst: b.arena,
            src: b.dram + 24,
            n: [4, 1],
            row_bytes: 8,
            dst_s: [8, 0],
            src_s: [-8, 0],
        }]
    });
    result.unwrap();
    let expected: Vec<u8> = [24..32, 16..24, 8..16, 0..8]
        .into_iter()
        .flatten()
        .map(|b| b as u8)
        .collect();
    assert_eq!(&arena.as_slice()[..32], &expected[..]);
    assert_eq!(stats.total.input, 32);

    // One row further back starts before dram.
    let (result, _, _, arena) = run_checked(|b| {
        vec![Call {
            kind: 0,
            region: 0,
            dst: b.arena,
            src: b.dram + 24,
            n: [5, 1],
            row_bytes: 8,
            dst_s: [8, 0],
            src_s: [-8, 0],
        }]
    });
    assert_eq!(
        rejected(result),
        DmaProblem::OutOfBounds {
            operand: Operand::Source,
            buffer: BufferName::Dram,
            start: -8,
            end: 32,
            len: DRAM
        }
    );
    assert!(arena.as_slice().iter().all(|&b| b == 0));
}

#[test]
fn moves_shift_within_the_arena_and_count_nothing() {
    // The arena holds 4 rows of 8 bytes (a 4x2 window of f32); rows 1..4
    // move up by one row, and in each, the last 4 bytes move to the front:
    // overlapping boxes, copied as by `memmove` in row order.
    let (result, stats, _, arena) = run_checked(|b| {
        let fill = Call::dense(DmaKind::Input, 0, b.arena, b.dram, [1, 1], 32);
        let rows_up = Call::dense(DmaKind::Move, 0, b.arena, b.arena + 8, [1, 3], 8);
        let columns_left = Call {
            kind: DmaKind::Move.code(),
            region: 1,
            dst: b.arena,
            src: b.arena + 4,
            n: [3, 1],
            row_bytes: 4,
            dst_s: [8, 0],
            src_s: [8, 0],
        };
        vec![fill, rows_up, columns_left]
    });
    result.unwrap();
    let expected: Vec<u8> = [12..16, 12..16, 20..24, 20..24, 28..32, 28..32, 24..32]
        .into_iter()
        .flatten()
        .map(|b| b as u8)
        .collect();
    assert_eq!(&arena.as_slice()[..32], &expected[..]);
    assert_eq!(
        stats.total,
        Traffic {
            input: 32,
            weight: 0,
            output: 0
        }
    );
    assert_eq!(stats.dma_calls, 3);

    // A move reads and writes the arena only.
    let (result, ..) =
        run_checked(|b| vec![Call::dense(DmaKind::Move, 0, b.arena, b.dram, [1, 1], 4)]);
    assert!(matches!(
        rejected(result),
        DmaProblem::OutOfBounds {
            operand: Operand::Source,
            buffer: BufferName::Arena,
            len: CAPACITY,
            ..
        }
    ));
}

#[test]
fn zero_size_boxes_copy_and_count_nothing_wherever_they_point() {
    let (result, stats, dram, arena) = run_checked(|b| {
        vec![
            Call::dense(DmaKind::Input, 0, b.arena, b.dram, [0, 4], 16),
            Call::dense(DmaKind::Weight, 1, b.arena, b.params, [4, 0], 16),
            Call::dense(DmaKind::Output, 1, b.dram, b.arena, [4, 4], 0),
            // Addresses nowhere near any buffer: nothing is touched.
            Call::dense(DmaKind::Input, 0, -1, 0, [0, 0], 0),
        ]
    });
    result.unwrap();
    assert_eq!(stats.total, Traffic::default());
    assert_eq!(stats.dma_calls, 4);
    assert_eq!(stats.arena_peak, 0);
    assert!(arena.as_slice().iter().all(|&b| b == 0));
    assert_eq!(dram.as_slice(), memories().0.as_slice());
}

#[test]
fn checked_mode_rejects_ranges_outside_the_required_buffers() {
    use BufferName::*;
    use Operand::*;
    /// A dense box and the side and buffer it must be rejected for.
    struct Case {
        kind: DmaKind,
        dst: (BufferName, i64),
        src: (BufferName, i64),
        n: [i64; 2],
        row_bytes: i64,
        bad: Operand,
        must_be_in: BufferName,
    }
    let case = |kind, dst, src, n, row_bytes, bad, must_be_in| Case {
        kind,
        dst,
        src,
        n,
        row_bytes,
        bad,
        must_be_in,
    };
    let cases = [
        // input: source past the end of dram
        case(
            DmaKind::Input,
            (Arena, 0),
            (Dram, 250),
            [1, 1],
            16,
            Source,
            Dram,
        ),
        // input: destination past the end of the arena
        case(
            DmaKind::Input,
            (Arena, 120),
            (Dram, 0),
            [2, 1],
            8,
            Destination,
            Arena,
        ),
        // input: source in params, not dram
        case(
            DmaKind::Input,
            (Arena, 0),
            (Params, 0),
            [1, 1],
            8,
            Source,
            Dram,
        ),
        // input: destination in dram, not the arena
        case(
            DmaKind::Input,
            (Dram, 0),
            (Dram, 64),
            [1, 1],
            8,
            Destination,
            Arena,
        ),
        // weight: source in dram, not params
        case(
            DmaKind::Weight,
            (Arena, 0),
            (Dram, 0),
            [1, 1],
            8,
            Source,
            Params,
        ),
        // weight: source past the end of params
        case(
            DmaKind::Weight,
            (Arena, 0),
            (Params, 64),
            [2, 5],
            8,
            Source,
            Params,
        ),
        // weight: destination before the arena
        case(
            DmaKind::Weight,
            (Arena, -1),
            (Params, 0),
            [1, 1],
            8,
            Destination,
            Arena,
        ),
        // output: source before the arena
        case(
            DmaKind::Output,
            (Dram, 0),
            (Arena, -4),
            [1, 1],
            8,
            Source,
            Arena,
        ),
        // output: destination past the end of dram
        case(
            DmaKind::Output,
            (Dram, 200),
            (Arena, 0),
            [8, 1],
            8,
            Destination,
            Dram,
        ),
        // output: destination in params, which is read-only
        case(
            DmaKind::Output,
            (Params, 0),
            (Arena, 0),
            [1, 1],
            8,
            Destination,
            Dram,
        ),
    ];
    let len = |buffer| match buffer {
        Dram => DRAM,
        Params => PARAMS,
        Arena => CAPACITY,
    };
    for (i, c) in cases.into_iter().enumerate() {
        let (mut dram, params, mut arena) = memories();
        let (dram_before, params_before) = (dram.clone(), params.clone());
        let mut session = Session::new(&mut dram, &params, &mut arena, 2, true);
        let mut bases = None;
        let result = session.run(|args| {
            let b = Bases::from(args);
            bases = Some(b);
            let at = |(buffer, offset)| b.base(buffer) + offset;
            Call::dense(c.kind, 1, at(c.dst), at(c.src), c.n, c.row_bytes).issue();
        });
        let b = bases.unwrap();
        let (buffer, offset) = if c.bad == Source { c.src } else { c.dst };
        let start = i128::from(b.base(buffer) + offset - b.base(c.must_be_in));
        let expected = DmaProblem::OutOfBounds {
            operand: c.bad,
            buffer: c.must_be_in,
            start,
            end: start + i128::from(c.n[0] * c.n[1] * c.row_bytes),
            len: len(c.must_be_in),
        };
        match result {
            Err(RuntimeError::Dma { first, rejected }) => {
                assert_eq!(first.problem, expected, "case {i}");
                assert_eq!(
                    (first.call, first.region, first.kind, rejected),
                    (0, 1, c.kind.code(), 1),
                    "case {i}"
                );
            }
            other => panic!("case {i}: expected {expected:?}, got {other:?}"),
        }
        let stats = session.stats();
        assert_eq!(stats.total, Traffic::default(), "case {i}: nothing counted");
        assert_eq!(stats.dma_calls, 0, "case {i}");
        assert!(
            arena.as_slice().iter().all(|&b| b == 0),
            "case {i}: arena untouched"
        );
        assert_eq!(
            dram.as_slice(),
            dram_before.as_slice(),
            "case {i}: dram untouched"
        );
        assert_eq!(params.as_slice(), params_before.as_slice(), "case {i}");
    }
}

#[test]
fn every_mode_rejects_bad_kinds_regions_and_sizes() {
    for checked in [true, false] {
        let cases: Vec<(Call, DmaProblem)> = vec![
            (Call { kind: 4, ..dummy() }, DmaProblem::InvalidKind),
            (
                Call {
                    kind: -1,
                    ..dummy()
                },
                DmaProblem::InvalidKind,
            ),
            (
                Call {
                    region: 2,
                    ..dummy()
                },
                DmaProblem::RegionOutOfRange { regions: 2 },
            ),
            (
                Call {
                    region: -1,
                    ..dummy()
                },
                DmaProblem::RegionOutOfRange { regions: 2 },
            ),
            (
                Call {
                    n: [-1, 1],
                    ..dummy()
                },
                DmaProblem::NegativeSize {
                    n0: -1,
                    n1: 1,
                    row_bytes: 8,
                },
            ),
            (
                Call {
                    row_bytes: -8,
                    ..dummy()
                },
                DmaProblem::NegativeSize {
                    n0: 1,
                    n1: 1,
                    row_bytes: -8,
                },
            ),
            (
                Call {
                    n: [1 << 32, 1 << 32],
                    ..dummy()
                },
                DmaProblem::SizeOverflow {
                    n0: 1 << 32,
                    n1: 1 << 32,
                    row_bytes: 8,
                },
            ),
        ];
        for (call, expected) in cases {
            let (mut dram, params, mut arena) = memories();
            let mut session = Session::new(&mut dram, &params, &mut arena, 2, checked);
            let result = session.run(|args| {
                let b = Bases::from(args);
                Call {
                    dst: b.arena,
                    src: b.dram,
                    ..call
                }
                .issue();
            });
            assert_eq!(rejected(result), expected, "checked: {checked}");
            assert_eq!(session.stats().total, Traffic::default());
            assert!(arena.as_slice().iter().all(|&b| b == 0));
        }
    }

    fn dummy() -> Call {
        Call::dense(DmaKind::Input, 0, 0, 0, [1, 1], 8)
    }
}

#[test]
fn the_first_problem_is_reported_and_later_valid_calls_still_run() {
    let (result, stats, _, arena) = run_checked(|b| {
        vec![
            Call::dense(DmaKind::Input, 0, b.arena, b.dram, [1, 1], 8),
            Call::dense(DmaKind::Input, 5, b.arena, b.dram, [1, 1], 8),
            Call::dense(DmaKind::Weight, 1, b.arena + 8, b.params, [1, 1], 8),
            Call::dense(DmaKind::Output, 1, b.dram + 1000, b.arena, [1, 1], 8),
        ]
    });
    let error = result.unwrap_err();
    assert_eq!(
        error.to_string(),
        "DMA call #1 of the run (input, region 5): region index out of range \
         (the session counts 2 regions) (2 DMA calls rejected in all)"
    );
    assert!(matches!(error, RuntimeError::Dma { rejected: 2, .. }));
    assert_eq!(stats.regions, vec![traffic(8, 0, 0), traffic(0, 8, 0)]);
    assert_eq!(stats.dma_calls, 2);
    assert_eq!(
        &arena.as_slice()[8..16],
        &[100, 101, 102, 103, 104, 105, 106, 107]
    );
}

#[test]
fn out_of_bounds_errors_name_the_buffer_and_range() {
    let (result, ..) = run_checked(|b| {
        vec![Call::dense(
            DmaKind::Output,
            0,
            b.dram + 250,
            b.arena,
            [1, 1],
            16,
        )]
    });
    assert_eq!(
        result.unwrap_err().to_string(),
        "DMA call #0 of the run (output, region 0): destination bytes [250, 266) of dram \
         are outside it (256 bytes)"
    );
    let (result, ..) = run_checked(|b| {
        vec![
            Call::dense(DmaKind::Input, 0, b.arena, b.dram, [1, 1], 8),
            Call {
                kind: 9,
                ..Call::dense(DmaKind::Input, 0, 0, 0, [1, 1], 8)
            },
        ]
    });
    assert_eq!(
        result.unwrap_err().to_string(),
        "DMA call #1 of the run (kind 9, region 0): unknown DMA kind (0 = input, 1 = weight, 2 = output)"
    );
}

#[test]
fn counters_are_kept_per_region_and_kind() {
    let (mut dram, params, mut arena) = memories();
    let mut session = Session::new(&mut dram, &params, &mut arena, 3, true);
    session
        .run(|args| {
            let b = Bases::from(args);
            Call::dense(DmaKind::Input, 0, b.arena, b.dram, [2, 2], 4).issue();
            Call::dense(DmaKind::Input, 0, b.arena, b.dram + 16, [1, 3], 4).issue();
            Call::dense(DmaKind::Weight, 0, b.arena + 32, b.params, [1, 1], 32).issue();
            Call::dense(DmaKind::Output, 0, b.dram + 128, b.arena, [1, 1], 16).issue();
            Call::dense(DmaKind::Weight, 2, b.arena, b.params, [4, 4], 4).issue();
            Call::dense(DmaKind::Output, 2, b.dram, b.arena + 100, [1, 1], 5).issue();
        })
        .unwrap();
    let stats = session.stats();
    assert_eq!(
        stats.regions,
        vec![traffic(28, 32, 16), traffic(0, 0, 0), traffic(0, 64, 5)]
    );
    assert_eq!(stats.total, traffic(28, 96, 21));
    assert_eq!(stats.total.total(), 145);
    assert_eq!(stats.dma_calls, 6);
    assert_eq!(stats.arena_peak, 105);
    assert_eq!(session.counted(0, DmaKind::Input), Some(28));
    assert_eq!(session.counted(2, DmaKind::Output), Some(5));
    assert_eq!(session.counted(3, DmaKind::Output), None);
    assert_eq!(
        serde_json::to_value(&stats).unwrap(),
        serde_json::json!({
            "regions": [
                {"input": 28, "weight": 32, "output": 16},
                {"input": 0, "weight": 0, "output": 0},
                {"input": 0, "weight": 64, "output": 5},
            ],
            "total": {"input": 28, "weight": 96, "output": 21},
            "dma_calls": 6,
            "arena_peak": 105,
            "arena_capacity": 128,
        })
    );
}

#[test]
fn unchecked_mode_skips_range_checks_but_still_copies_and_counts() {
    let (mut dram, params, mut arena) = memories();
    let mut session = Session::new(&mut dram, &params, &mut arena, 1, false);
    assert!(!session.is_checked());
    session
        .run(|args| {
            let b = Bases::from(args);
            // An "input" from params: wrong buffer, valid memory.
            Call::dense(DmaKind::Input, 0, b.arena, b.params, [1, 1], 8).issue();
            // A strided one from dram.
            Call {
                src_s: [16, 0],
                ..Call::dense(DmaKind::Input, 0, b.arena + 8, b.dram, [2, 1], 4)
            }
            .issue();
        })
        .unwrap();
    assert_eq!(session.stats().total, traffic(16, 0, 0));
    assert_eq!(session.stats().arena_peak, 16);
    assert_eq!(
        &arena.as_slice()[..16],
        &[
            100, 101, 102, 103, 104, 105, 106, 107, 0, 1, 2, 3, 16, 17, 18, 19
        ]
    );
}

#[test]
fn sequential_runs_accumulate_counts_and_start_with_no_error() {
    let (mut dram, params, mut arena) = memories();
    let mut session = Session::new(&mut dram, &params, &mut arena, 1, true);
    let load = |args: KernelArgs| {
        let b = Bases::from(args);
        Call::dense(DmaKind::Input, 0, b.arena, b.dram, [1, 1], 8).issue();
    };
    session.run(load).unwrap();
    let error = session
        .run(|args| {
            load(args);
            deepfuse_rt_trap(42);
        })
        .unwrap_err();
    assert_eq!(
        error,
        RuntimeError::Trap {
            code: 42,
            dma_calls: 1
        }
    );
    assert_eq!(
        session.run(load),
        Ok(()),
        "the error of a run does not leak into the next"
    );
    assert_eq!(session.stats().total.input, 24);
    assert_eq!(session.stats().dma_calls, 3);
    session.reset_stats();
    assert_eq!(session.stats().total, Traffic::default());
    assert_eq!(session.stats().arena_peak, 0);
    session.dram_mut().as_mut_slice()[0] = 77;
    session.run(load).unwrap();
    assert_eq!(session.arena().as_slice()[0], 77);
    assert_eq!(session.stats().total.input, 8);
    drop(session);

    // A second session over the same memories starts from zero.
    let mut session = Session::new(&mut dram, &params, &mut arena, 1, true);
    assert_eq!(session.stats().dma_calls, 0);
    session.run(load).unwrap();
    assert_eq!(session.stats().dma_calls, 1);
}

#[test]
fn nested_sessions_count_separately_and_the_outer_one_is_restored() {
    let (mut dram, params, mut arena) = memories();
    let (mut dram2, params2, mut arena2) = memories();
    let mut outer = Session::new(&mut dram, &params, &mut arena, 1, true);
    let mut inner = Session::new(&mut dram2, &params2, &mut arena2, 1, true);
    outer
        .run(|args| {
            let b = Bases::from(args);
            Call::dense(DmaKind::Input, 0, b.arena, b.dram, [1, 1], 8).issue();
            inner
                .run(|args| {
                    let b = Bases::from(args);
                    Call::dense(DmaKind::Weight, 0, b.arena, b.params, [1, 1], 16).issue();
                })
                .unwrap();
            // A panicking host closure inside a run still restores the outer session.
            let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                inner.run(|_| panic!("host bug")).ok();
            }));
            assert!(panicked.is_err());
            Call::dense(DmaKind::Output, 0, b.dram, b.arena, [1, 1], 4).issue();
        })
        .unwrap();
    assert_eq!(outer.stats().total, traffic(8, 0, 4));
    assert_eq!(inner.stats().total, traffic(0, 16, 0));
}

#[test]
fn a_session_is_only_current_on_its_own_thread() {
    let (mut dram, params, mut arena) = memories();
    let mut session = Session::new(&mut dram, &params, &mut arena, 1, true);
    let before = stray_calls();
    session
        .run(|args| {
            let b = Bases::from(args);
            std::thread::scope(|scope| {
                scope.spawn(|| Call::dense(DmaKind::Input, 0, b.arena, b.dram, [1, 1], 8).issue());
            });
        })
        .unwrap();
    assert!(stray_calls() > before);
    assert_eq!(session.stats().dma_calls, 0);
    assert!(arena.as_slice().iter().all(|&b| b == 0));
}

#[test]
fn calls_with_no_session_do_nothing_and_are_counted() {
    let (mut dram, _, mut arena) = memories();
    let before = stray_calls();
    Call::dense(
        DmaKind::Input,
        0,
        arena.as_mut_ptr() as i64,
        dram.as_mut_ptr() as i64,
        [1, 1],
        8,
    )
    .issue();
    deepfuse_rt_trap(3);
    assert!(stray_calls() >= before + 2);
    assert!(arena.as_slice().iter().all(|&b| b == 0));
}

#[test]
fn traps_are_reported_after_the_run_and_the_first_error_wins() {
    let (result, ..) = run_checked(|_| {
        deepfuse_rt_trap(7);
        vec![]
    });
    assert_eq!(
        result,
        Err(RuntimeError::Trap {
            code: 7,
            dma_calls: 0
        })
    );
    assert_eq!(
        result.unwrap_err().to_string(),
        "the kernel trapped with code 7 after 0 DMA calls"
    );

    let (mut dram, params, mut arena) = memories();
    let mut session = Session::new(&mut dram, &params, &mut arena, 1, true);
    let result = session.run(|_| {
        Call::dense(DmaKind::Input, 0, 0, 0, [1, 1], 8).issue();
        deepfuse_rt_trap(1);
    });
    assert!(matches!(result, Err(RuntimeError::Dma { rejected: 1, .. })));
}

/// A whole kernel behind the C ABI: load 16 bytes of input, increment them in
/// the scratchpad, store them 16 bytes further on.
unsafe extern "C" fn increment_kernel(dram: *mut u8, _params: *const u8, arena: *mut u8) {
    let (dram_at, arena_at) = (dram as i64, arena as i64);
    Call::dense(DmaKind::Input, 0, arena_at, dram_at, [1, 1], 16).issue();
    for i in 0..16 {
        // SAFETY: the first 16 arena bytes are inside its capacity.
        unsafe { *arena.add(i) += 1 };
    }
    Call::dense(DmaKind::Output, 0, dram_at + 16, arena_at, [1, 1], 16).issue();
}

#[test]
fn session_call_runs_a_c_abi_entry() {
    let mut dram = AlignedBuffer::from_bytes(&[5; 32]);
    let params = AlignedBuffer::new(0);
    let mut arena = Arena::new(16);
    let mut session = Session::new(&mut dram, &params, &mut arena, 1, true);
    // SAFETY: the kernel touches only the first 16 arena bytes by itself.
    unsafe { session.call(increment_kernel) }.unwrap();
    assert_eq!(session.stats().regions, vec![traffic(16, 0, 16)]);
    assert_eq!(&dram.as_slice()[..16], &[5; 16]);
    assert_eq!(&dram.as_slice()[16..], &[6; 16]);
}

/// Writes one byte past a 16-byte arena, as a miscompiled compute nest would.
unsafe extern "C" fn overrunning_kernel(_dram: *mut u8, _params: *const u8, arena: *mut u8) {
    // SAFETY: the arena's guard zone follows its capacity in the allocation.
    unsafe { arena.add(16).write(0) };
}

#[test]
fn compute_writes_past_the_arena_are_caught_by_the_guard() {
    let (mut dram, params) = (AlignedBuffer::new(0), AlignedBuffer::new(0));
    let mut arena = Arena::new(16);
    let mut session = Session::new(&mut dram, &params, &mut arena, 0, false);
    // SAFETY: the byte written is in the arena's allocation.
    let result = unsafe { session.call(overrunning_kernel) };
    assert_eq!(result, Err(RuntimeError::ArenaOverrun { capacity: 16 }));
    assert_eq!(
        session.run(|_| ()),
        Ok(()),
        "the guard is restored for the next run"
    );
}

#[test]
fn symbols_map_names_to_callable_addresses() {
    let symbols = symbols();
    let dma = symbols
        .iter()
        .find(|(name, _)| *name == DMA_SYMBOL)
        .unwrap()
        .1;
    assert_eq!(dma, deepfuse_rt_dma as *const () as usize);
    let trap = symbols
        .iter()
        .find(|(name, _)| *name == TRAP_SYMBOL)
        .unwrap()
        .1;
    assert_eq!(trap, deepfuse_rt_trap as *const () as usize);
    assert_eq!(symbols.len(), 2);

    // Call through the address, as JIT-compiled code does.
    type Dma = unsafe extern "C" fn(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64);
    // SAFETY: the address is `deepfuse_rt_dma`, whose signature is `Dma`.
    let dma: Dma = unsafe { std::mem::transmute::<usize, Dma>(dma) };
    let (mut dram, params, mut arena) = memories();
    let mut session = Session::new(&mut dram, &params, &mut arena, 1, true);
    session
        .run(|args| {
            let b = Bases::from(args);
            // SAFETY: checked session.
            unsafe { dma(0, 0, b.arena, b.dram + 4, 1, 1, 4, 4, 4, 4, 4) };
        })
        .unwrap();
    assert_eq!(session.stats().total.input, 4);
    assert_eq!(&arena.as_slice()[..4], &[4, 5, 6, 7]);
}

#[test]
fn dma_kind_codes_match_the_abi() {
    for kind in DmaKind::ALL {
        assert_eq!(DmaKind::from_code(kind.code()), Some(kind));
    }
    assert_eq!(DmaKind::Input.code(), 0);
    assert_eq!(DmaKind::Weight.code(), 1);
    assert_eq!(DmaKind::Output.code(), 2);
    assert_eq!(DmaKind::Move.code(), 3);
    assert_eq!(DmaKind::from_code(4), None);
}
