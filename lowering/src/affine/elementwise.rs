//! Elementwise kernels as explicit vectors along the rows.
//!
//! A tile kernel's rows are as wide as its step's frame, known only at run
//! time, and often 7, 14 or 28 columns: LLVM's loop vectoriser then leaves
//! most of a row to its scalar remainder (and a kernel computing in place,
//! without `noalias`, can only be vectorised behind overlap checks). Here
//! every row is a loop of
//! [`LANES`]-wide vectors whose last one is masked, so any width runs in
//! vectors.

use super::conv::{LANES, load_at, store_at, symbol};
use super::kernels::{Frame, View, broadcast};
use super::text::FunctionText;

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
    value: impl FnOnce(&mut FunctionText, &[String], &str) -> Result<String, String>,
) -> Result<bool, String> {
    let rank = out.shape.len();
    let columns = |view: &View| view.shape.last().copied();
    let along_rows = ins.iter().all(|view| {
        view.shape.len() <= rank && (columns(view) != Some(1) || columns(out) == Some(1))
    });
    if rank < 2 || !along_rows {
        return Ok(false);
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
