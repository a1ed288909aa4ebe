//! Pools as explicit vectors along the output rows.
//!
//! Left to LLVM, a pool's scalar loops (a test per tap for the padding) ran
//! 3.5 times as long per tap with stride 2 as with stride 1 (GoogLeNet's
//! pools), and with the taps outermost, as the plain convolution's loops,
//! LLVM vectorised across rows with gathers. Here each output row is
//! computed [`LANES`] columns at a time: every tap of the window loads a
//! vector of the input row (two, keeping the even lanes, with stride 2),
//! the lanes outside the input or past the frame masked off, and folds it
//! into accumulators kept in registers, channel after channel with the
//! masks of the block of columns computed once. The
//! rows a window reaches inside the input are the tap loop's bounds; an
//! average divides by its window's count, rows times columns (the window
//! is a box).

use super::conv::{LANES, Reduction, load_at, store_at};
use super::elementwise::lanes_before;
use super::kernels::{Frame, View};
use super::text::FunctionText;

/// A `df.pool2d`'s parameters.
pub(super) struct Pool {
    /// Max (else average).
    pub(super) max: bool,
    /// `[kh, kw]`.
    pub(super) kernel: [i64; 2],
    /// `[sh, sw]`.
    pub(super) strides: [i64; 2],
    /// Top, left, bottom, right.
    pub(super) pads: [i64; 4],
    /// An average divides by the taps inside the padded input, not the
    /// input.
    pub(super) include_pad: bool,
    /// The input's `[h, w]` (a tile's view holds a window of it).
    pub(super) input_size: [i64; 2],
}

/// Emits the pool of `input` into `out` over `frame`; `false` (nothing
/// written) for a column stride above 2, which the scalar loops compute.
pub(super) fn rows(
    f: &mut FunctionText,
    pool: &Pool,
    input: &View,
    out: &View,
    frame: &Frame,
) -> bool {
    let [kh, kw] = pool.kernel;
    let [sh, sw] = pool.strides;
    let [pt, pl, _, _] = pool.pads;
    let [h, w] = pool.input_size;
    if !(1..=2).contains(&sw) || input.shape.len() != 4 || out.shape.len() != 4 {
        return false;
    }
    let vector = format!("vector<{LANES}xf32>");
    let [batch, channels, out_rows, (lower, upper)] = &frame.bounds[..] else {
        return false;
    };
    // Channels innermost: the masks and counts of a block of columns do
    // not depend on the channel, so they are computed once for all of them
    // (with the frame's bounds known only at run time, per channel they
    // were most of a tile's instructions, and staged pools ran several
    // times as long as whole ones).
    let ni = f.open_for(&batch.0, &batch.1);
    let y = f.open_for(&out_rows.0, &out_rows.1);
    let x0 = f.fresh("i");
    f.open(format!(
        "affine.for {x0} = {lower} to {upper} step {LANES} {{"
    ));
    let identity = if pool.max { f32::NEG_INFINITY } else { 0.0 };
    let identity = f.constant_literal(
        &format!("dense<0x{:08X}> : {vector}", identity.to_bits()),
        "f",
    );
    // The output lanes in the frame: the others are neither stored nor,
    // so that a tile's loads stay in its input window, loaded.
    let (lanes, mask) = lanes_before(f, &x0, upper);
    // The window's rows inside the input, for this output row.
    let rows = (
        format!("max affine_map<(d0) -> (0, {pt} - d0 * {sh})>({y})"),
        format!(
            "min affine_map<(d0) -> ({kh}, {} - d0 * {sh})>({y})",
            h + pt
        ),
    );
    // The loads of input columns from `column` whose first `needed` lanes
    // (an affine expression of the frame's lanes) are needed: the column
    // and the mask of the lanes to load.
    let load_mask = |f: &mut FunctionText, column: String, needed: &str| {
        let needed = f.assign(
            "n",
            format!("affine.apply affine_map<(d0) -> ({needed})>({lanes})"),
        );
        let needed = f.assign(
            "m",
            format!("vector.create_mask {needed} : vector<{LANES}xi1>"),
        );
        let in_row = inside(f, &column, w);
        let mask = f.assign(
            "m",
            format!("arith.andi {in_row}, {needed} : vector<{LANES}xi1>"),
        );
        (column, mask)
    };
    // Per tap column, its one load (two with stride 2, of which output
    // lane i keeps input lane 2i: the first 2n - 1 are needed).
    let tap_loads: Vec<Vec<(String, String)>> = (0..kw)
        .map(|kx| {
            let base = f.assign(
                "b",
                format!(
                    "affine.apply affine_map<(d0) -> (d0 * {sw} + {})>({x0})",
                    kx - pl
                ),
            );
            if sw == 1 {
                return vec![load_mask(f, base, "d0")];
            }
            let next = f.assign(
                "b",
                format!("affine.apply affine_map<(d0) -> (d0 + {LANES})>({base})"),
            );
            vec![
                load_mask(f, base, "d0 * 2 - 1"),
                load_mask(f, next, &format!("d0 * 2 - 1 - {LANES}")),
            ]
        })
        .collect();
    let count = (!pool.max).then(|| window_count(f, pool, &y, &x0));
    let ci = f.open_for(&channels.0, &channels.1);
    let taps = Reduction::open(f, &[rows], std::slice::from_ref(&identity), &vector);
    let ky = &taps.ivs[0];
    let row = format!("{y} * {sh} + {ky} - {pt}");
    let fold = if pool.max { "maximumf" } else { "addf" };
    let mut folded = taps.inner[0].clone();
    for loads in &tap_loads {
        let parts: Vec<String> = loads
            .iter()
            .map(|(column, mask)| {
                let indices = [ni.clone(), ci.clone(), row.clone(), column.clone()];
                let value = load_at(f, input, &indices, 3, Some(mask));
                // Masked-off lanes are zero: the fold's identity where it
                // differs.
                if pool.max {
                    f.assign(
                        "v",
                        format!(
                            "arith.select {mask}, {value}, {identity} : vector<{LANES}xi1>, {vector}"
                        ),
                    )
                } else {
                    value
                }
            })
            .collect();
        let value = match &parts[..] {
            [one] => one.clone(),
            [low, high] => {
                let even: Vec<String> = (0..LANES).map(|i| (2 * i).to_string()).collect();
                f.assign(
                    "v",
                    format!(
                        "vector.shuffle {low}, {high} [{}] : {vector}, {vector}",
                        even.join(", ")
                    ),
                )
            }
            _ => unreachable!("one or two loads per tap"),
        };
        folded = f.assign("v", format!("arith.{fold} {folded}, {value} : {vector}"));
    }
    let mut result = taps.close(f, &[folded]).remove(0);
    if let Some(count) = count {
        result = f.assign("v", format!("arith.divf {result}, {count} : {vector}"));
    }
    let at = [ni.clone(), ci.clone(), y.clone(), x0.clone()];
    store_at(f, out, &at, 3, &result, Some(&mask));
    f.close_n(4);
    true
}

/// The lanes of a vector of input columns from `column` (an `index`
/// value) that lie in `0..width`.
fn inside(f: &mut FunctionText, column: &str, width: i64) -> String {
    let before_end = f.assign(
        "n",
        format!("affine.apply affine_map<(d0) -> ({width} - d0)>({column})"),
    );
    let before_start = f.assign(
        "n",
        format!("affine.apply affine_map<(d0) -> (-d0)>({column})"),
    );
    let ty = format!("vector<{LANES}xi1>");
    let in_row = f.assign("m", format!("vector.create_mask {before_end} : {ty}"));
    let left = f.assign("m", format!("vector.create_mask {before_start} : {ty}"));
    let all = f.constant_literal(&format!("dense<true> : {ty}"), "m");
    let right = f.assign("m", format!("arith.xori {left}, {all} : {ty}"));
    f.assign("m", format!("arith.andi {in_row}, {right} : {ty}"))
}

/// The taps an average divides by at output row `y` and the [`LANES`]
/// columns from `x0`: the window's rows times its columns inside the
/// input, or inside the padded input (never past its end: ceil-mode
/// overhang) with `count_include_pad`.
fn window_count(f: &mut FunctionText, pool: &Pool, y: &str, x0: &str) -> String {
    let [kh, kw] = pool.kernel;
    let [sh, sw] = pool.strides;
    let [pt, pl, pb, pr] = pool.pads;
    let [h, w] = pool.input_size;
    // Along an axis, taps k with low <= o * s + k < high.
    let span = |before: i64, size: i64, after: i64| {
        if pool.include_pad {
            (0, size + before + after)
        } else {
            (before, size + before)
        }
    };
    let (low, high) = span(pt, h, pb);
    let first = f.assign(
        "t",
        format!("affine.max affine_map<(d0) -> (0, {low} - d0 * {sh})>({y})"),
    );
    let end = f.assign(
        "t",
        format!("affine.min affine_map<(d0) -> ({kh}, {high} - d0 * {sh})>({y})"),
    );
    let none = f.index(0);
    let rows = f.assign("t", format!("arith.subi {end}, {first} : index"));
    let rows = f.assign("t", format!("arith.maxsi {rows}, {none} : index"));
    let rows = f.assign("t", format!("arith.index_cast {rows} : index to i32"));
    let rows = f.assign("t", format!("arith.sitofp {rows} : i32 to f32"));
    let vector = format!("vector<{LANES}xf32>");
    let rows = f.assign("t", format!("vector.broadcast {rows} : f32 to {vector}"));

    let ints = format!("vector<{LANES}xi32>");
    let splat = |f: &mut FunctionText, value: i64| {
        f.constant_literal(&format!("dense<{value}> : {ints}"), "k")
    };
    let lanes: Vec<String> = (0..LANES).map(|i| i.to_string()).collect();
    let iota = f.constant_literal(&format!("dense<[{}]> : {ints}", lanes.join(", ")), "k");
    let start = f.assign("t", format!("arith.index_cast {x0} : index to i32"));
    let start = f.assign("t", format!("vector.broadcast {start} : i32 to {ints}"));
    let columns = f.assign("t", format!("arith.addi {start}, {iota} : {ints}"));
    let stride = splat(f, sw);
    let reach = f.assign("t", format!("arith.muli {columns}, {stride} : {ints}"));
    let (low, high) = span(pl, w, pr);
    let (low, high, taps, zero) = (splat(f, low), splat(f, high), splat(f, kw), splat(f, 0));
    let first = f.assign("t", format!("arith.subi {low}, {reach} : {ints}"));
    let first = f.assign("t", format!("arith.maxsi {first}, {zero} : {ints}"));
    let end = f.assign("t", format!("arith.subi {high}, {reach} : {ints}"));
    let end = f.assign("t", format!("arith.minsi {end}, {taps} : {ints}"));
    let columns = f.assign("t", format!("arith.subi {end}, {first} : {ints}"));
    let columns = f.assign("t", format!("arith.maxsi {columns}, {zero} : {ints}"));
    let columns = f.assign("t", format!("arith.sitofp {columns} : {ints} to {vector}"));
    f.assign("t", format!("arith.mulf {rows}, {columns} : {vector}"))
}
