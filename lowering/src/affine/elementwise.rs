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
//! time), a channel's rows are one run in each, and one loop runs along
//! that run instead: a row of 14 columns took two vectors, one of them
//! masked, and the loop's bookkeeping per vector cost more than the
//! arithmetic (an in-place relu of ResNet-50's 1024x14x14 tiles took 8
//! times as long as the whole layer's flat loop).

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
    // so that a run of it is the output run's elements, and every window
    // as wide as the output's (else no frame spans whole rows of all, and
    // the branch would only cost compile time).
    let runs = rank == 4
        && ins.iter().all(|view| {
            view.shape.len() == 4
                && view.shape[3] == out.shape[3]
                && (0..4).all(|d| view.shape[d] != 1 || out.shape[d] == 1)
        });
    if runs {
        let condition = whole_rows(f, frame, ins, out);
        f.open(format!("affine.if {condition} {{"));
        channel_runs(f, frame, ins, out, value)?;
        f.else_branch();
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
    if runs {
        f.close();
    }
    Ok(true)
}

/// The integer set (applied to its operands) that holds when `frame`'s
/// columns are every column of each of `views` and `out`: their windows
/// start at the frame's first column and are as wide as the frame.
fn whole_rows(f: &mut FunctionText, frame: &Frame, ins: &[View], out: &View) -> String {
    let (w0, w1) = &frame.bounds[3];
    let mut operands = vec![symbol(f, w0), symbol(f, w1)];
    let mut constraints = Vec::new();
    for view in ins.iter().chain([out]) {
        let width = view.shape[3];
        match view.origin.get(3).filter(|origin| !origin.is_empty()) {
            Some(origin) => {
                let s = operands.len();
                operands.push(origin.clone());
                constraints.push(format!("s0 - s{s} == 0"));
            }
            None => constraints.push("s0 == 0".to_string()),
        }
        let spans = format!("s1 - s0 - {width} == 0");
        if !constraints.contains(&spans) {
            constraints.push(spans);
        }
    }
    let symbols: Vec<String> = (0..operands.len()).map(|s| format!("s{s}")).collect();
    format!(
        "affine_set<()[{}] : ({})>()[{}]",
        symbols.join(", "),
        constraints.join(", "),
        operands.join(", ")
    )
}

/// [`rows`] when the frame spans whole rows of every view: per batch and
/// channel, one loop of vectors along the frame's rows merged into one run.
fn channel_runs(
    f: &mut FunctionText,
    frame: &Frame,
    ins: &[View],
    out: &View,
    value: &VectorValue,
) -> Result<(), String> {
    let width = out.shape[3];
    let (h0, h1) = &frame.bounds[2];
    let (h0, h1) = (symbol(f, h0), symbol(f, h1));
    let length = f.assign(
        "n",
        format!("affine.apply affine_map<()[s0, s1] -> ((s1 - s0) * {width})>()[{h0}, {h1}]"),
    );
    // Each view merged to [N, C, H * W], its run starting at the frame's
    // first row.
    let run = |f: &mut FunctionText, view: &View| {
        let [n, c, h, w] = view.shape[..] else {
            unreachable!("four dimensions");
        };
        let merged = View {
            origin: view.origin.iter().take(2).cloned().collect(),
            ..collapse(f, view, [n, c, h * w])
        };
        let start = match view.origin.get(2).filter(|origin| !origin.is_empty()) {
            Some(origin) => f.assign(
                "p",
                format!(
                    "affine.apply affine_map<()[s0, s1] -> ((s0 - s1) * {width})>()[{h0}, {origin}]"
                ),
            ),
            None => f.assign(
                "p",
                format!("affine.apply affine_map<()[s0] -> (s0 * {width})>()[{h0}]"),
            ),
        };
        (merged, start)
    };
    let operands: Vec<(View, String)> = ins.iter().map(|view| run(f, view)).collect();
    let (merged_out, out_start) = run(f, out);
    let at = frame.open(f, 0..2);
    let offset = f.fresh("i");
    f.open(format!(
        "affine.for {offset} = 0 to {length} step {LANES} {{"
    ));
    let (_, mask) = lanes_before(f, &offset, &length);
    let index = |f: &mut FunctionText, start: &str| {
        f.assign(
            "p",
            format!("affine.apply affine_map<(d0)[s0] -> (d0 + s0)>({offset})[{start}]"),
        )
    };
    let mut values = Vec::new();
    for (view, start) in &operands {
        let position = index(f, start);
        let indices = [at[0].clone(), at[1].clone(), position];
        values.push(load_at(f, view, &indices, 2, Some(&mask)));
    }
    let result = value(f, &values, &format!("vector<{LANES}xf32>"))?;
    let position = index(f, &out_start);
    let indices = [at[0].clone(), at[1].clone(), position];
    store_at(f, &merged_out, &indices, 2, &result, Some(&mask));
    f.close_n(3);
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
