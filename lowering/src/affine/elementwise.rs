//! Elementwise kernels as explicit vectors along the rows.
//!
//! A tile kernel's rows are as wide as its step's frame, known only at run
//! time, and often 7, 14 or 28 columns: LLVM's loop vectoriser then leaves
//! most of a row to its scalar remainder (and a kernel computing in place,
//! without `noalias`, can only be vectorised behind overlap checks). Here
//! every row is a loop of
//! [`LANES`]-wide vectors whose last one is masked, so any width runs in
//! vectors.
//!
//! When a step's frame spans whole rows of every buffer (checked at run
//! time), a channel's rows are one run in each, and the loop runs along
//! that run instead of row by row: a row of 14 columns took two vectors,
//! one of them masked, and the loop's bookkeeping per vector cost more
//! than the arithmetic (an in-place relu of ResNet-50's 1024x14x14 tiles
//! took 8 times as long as the whole layer's flat loop).

use super::conv::{LANES, collapse, load_at, store_at, symbol};
use super::kernels::{Frame, View, broadcast};
use super::text::FunctionText;

/// The operands' vectors and their type to the result's vector.
type VectorValue<'a> = dyn Fn(&mut FunctionText, &[String], &str) -> Result<String, String> + 'a;

/// Computes `out = value(operands)` over `frame` a vector of [`LANES`]
/// columns at a time: `value` gets the operands' vectors (in the order of
/// `ins`) and their type, and returns the result's.
///
/// Returns `false`, having emitted nothing, when the output has fewer than
/// two dimensions (a flat loop, which LLVM vectorises whole) or an operand
/// repeats one column along the rows (a broadcast the scalar loops handle).
pub(super) fn rows(
    f: &mut FunctionText,
    frame: &Frame,
    ins: &[View],
    out: &View,
    value: &VectorValue,
) -> Result<bool, String> {
    let rank = out.shape.len();
    let columns = |view: &View| view.shape.last().copied();
    let along_rows = ins.iter().all(|view| {
        view.shape.len() <= rank && (columns(view) != Some(1) || columns(out) == Some(1))
    });
    if rank < 2 || !along_rows {
        return Ok(false);
    }
    // Every operand a window of its own tensor (no dimension broadcast),
    // so that its rows merge as the output's do.
    let windows = rank == 4
        && ins.iter().all(|view| {
            view.shape.len() == 4 && (0..4).all(|d| view.shape[d] != 1 || out.shape[d] == 1)
        });
    if windows {
        merged_rows(f, frame, ins, out, value)?;
        return Ok(true);
    }
    let last = rank - 1;
    let mut at = frame.open(f, 0..last);
    let (lower, upper) = &frame.bounds[last];
    let column = f.fresh("i");
    f.open(format!(
        "affine.for {column} = {lower} to {upper} step {LANES} {{"
    ));
    at.push(column.clone());
    let (_, mask) = lanes_before(f, &column, upper);
    let operands: Vec<String> = ins
        .iter()
        .map(|view| {
            let indices = broadcast(&at, &view.shape, &out.shape);
            load_at(f, view, &indices, indices.len() - 1, Some(&mask))
        })
        .collect();
    let result = value(f, &operands, &format!("vector<{LANES}xf32>"))?;
    store_at(f, out, &at, last, &result, Some(&mask));
    f.close_n(rank);
    Ok(true)
}

/// [`rows`] on 4-D windows, over views of them with each channel's rows
/// merged (`[N, C, H * W]`): per batch and channel, a loop over runs and,
/// in each, a loop of vectors. A run is a row of the frame, or, when the
/// frame spans whole rows of every window (its columns are each window's,
/// decided at run time), all its rows at once.
fn merged_rows(
    f: &mut FunctionText,
    frame: &Frame,
    ins: &[View],
    out: &View,
    value: &VectorValue,
) -> Result<(), String> {
    let [(h0, h1), (w0, w1)] = [2, 3].map(|d| {
        let (lower, upper) = &frame.bounds[d];
        (symbol(f, lower), symbol(f, upper))
    });
    let apply = |f: &mut FunctionText, map: &str, symbols: &[&str]| {
        f.assign("p", format!("affine.apply {map}[{}]", symbols.join(", ")))
    };
    let rows = apply(f, "affine_map<()[s0, s1] -> (s1 - s0)>()", &[&h0, &h1]);
    let columns = apply(f, "affine_map<()[s0, s1] -> (s1 - s0)>()", &[&w0, &w1]);
    // Whole rows: every window starts at the frame's first column and is
    // as wide as the frame.
    let mut pairs: Vec<String> = Vec::new();
    for view in ins.iter().chain([out]) {
        let (left, width) = (view.start(f, 3), f.index(view.shape[3]));
        for pair in [format!("{w0}, {left}"), format!("{columns}, {width}")] {
            if !pairs.contains(&pair) {
                pairs.push(pair);
            }
        }
    }
    let equal: Vec<String> = pairs
        .iter()
        .map(|pair| f.assign("w", format!("arith.cmpi eq, {pair} : index")))
        .collect();
    let whole = equal
        .into_iter()
        .reduce(|all, next| f.assign("w", format!("arith.andi {all}, {next} : i1")))
        .expect("the output's condition");
    let one = f.index(1);
    let runs = f.assign("r", format!("arith.select {whole}, {one}, {rows} : index"));
    let merged = apply(
        f,
        &format!("affine_map<()[s0] -> (s0 * {})>()", out.shape[3]),
        &[&rows],
    );
    let length = f.assign(
        "r",
        format!("arith.select {whole}, {merged}, {columns} : index"),
    );
    // Per view, the merged view and where the frame's first row starts in
    // it; run `r` starts `r` rows later.
    let merge = |f: &mut FunctionText, view: &View| {
        let [n, c, h, w] = view.shape[..] else {
            unreachable!("four dimensions");
        };
        let (top, left) = (view.start(f, 2), view.start(f, 3));
        let start = apply(
            f,
            &format!("affine_map<()[s0, s1, s2, s3] -> ((s0 - s1) * {w} + s2 - s3)>()"),
            &[&h0, &top, &w0, &left],
        );
        let merged = View {
            origin: view.origin.iter().take(2).cloned().collect(),
            ..collapse(f, view, [n, c, h * w])
        };
        (merged, start, w)
    };
    let operands: Vec<(View, String, i64)> = ins.iter().map(|view| merge(f, view)).collect();
    let (merged_out, out_start, out_width) = merge(f, out);
    let at = frame.open(f, 0..2);
    let run = f.open_for("0", &runs);
    let offset = f.fresh("i");
    f.open(format!(
        "affine.for {offset} = 0 to {length} step {LANES} {{"
    ));
    let (_, mask) = lanes_before(f, &offset, &length);
    let position = |f: &mut FunctionText, start: &str, width: i64| {
        f.assign(
            "p",
            format!(
                "affine.apply affine_map<(d0, d1)[s0] -> (d0 * {width} + d1 + s0)>({run}, {offset})[{start}]"
            ),
        )
    };
    let mut values = Vec::new();
    for (view, start, width) in &operands {
        let indices = [at[0].clone(), at[1].clone(), position(f, start, *width)];
        values.push(load_at(f, view, &indices, 2, Some(&mask)));
    }
    let result = value(f, &values, &format!("vector<{LANES}xf32>"))?;
    let indices = [
        at[0].clone(),
        at[1].clone(),
        position(f, &out_start, out_width),
    ];
    store_at(f, &merged_out, &indices, 2, &result, Some(&mask));
    f.close_n(4);
    Ok(())
}

/// The lanes of a vector of columns from `column` (an `index` value) that
/// lie before `end` (a frame bound: an integer or an `index` value): their
/// count, at most [`LANES`], and their mask.
pub(super) fn lanes_before(f: &mut FunctionText, column: &str, end: &str) -> (String, String) {
    let end = symbol(f, end);
    let count = f.assign(
        "n",
        format!("affine.min affine_map<(d0)[s0] -> ({LANES}, s0 - d0)>({column})[{end}]"),
    );
    let mask = f.assign(
        "m",
        format!("vector.create_mask {count} : vector<{LANES}xi1>"),
    );
    (count, mask)
}
