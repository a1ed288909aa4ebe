//! One affine loop nest per df op, on memref views of the run-time buffers.
//!
//! Every kernel reads its operands and writes its result through views, in
//! NCHW row-major order. Padding never reads out of bounds: the loops over
//! output positions start and stop where the window is inside the input
//! (affine `max`/`min` bounds), and pools test each tap with `affine.if`.
//! Reductions keep their accumulator in registers (`iter_args`).

use deepfuse_passes::attributes::{f32_attr, flag, i64_array, i64_attr, i64_attr_or, optional_f32};
use melior::ir::OperationRef;

use super::text::{FunctionText, memref_type};

/// A tensor as a kernel sees it: its view's SSA name and its shape.
///
/// A kernel indexes every tensor in the tensor's own coordinates. A view
/// that holds only a window of its tensor (a tile buffer in the scratchpad)
/// has an `origin`: per dimension, the SSA name of the window's start (an
/// `index` argument, so a valid affine symbol), subtracted from every index;
/// an empty entry (or an empty `origin`) means the window starts at 0.
#[derive(Clone, Debug)]
pub struct View {
    /// The SSA name of the memref view.
    pub name: String,
    /// Static shape.
    pub shape: Vec<i64>,
    /// Per dimension, the SSA name of the window's start, or empty.
    pub origin: Vec<String>,
}

impl View {
    /// A view of a whole tensor.
    pub fn whole(name: String, shape: Vec<i64>) -> Self {
        Self {
            name,
            shape,
            origin: Vec::new(),
        }
    }

    /// Where the window starts along dimension `d`: its origin's SSA name,
    /// or an `index` constant 0 for a whole tensor.
    pub(crate) fn start(&self, f: &mut FunctionText, d: usize) -> String {
        match self.origin.get(d).filter(|origin| !origin.is_empty()) {
            Some(origin) => origin.clone(),
            None => f.index(0),
        }
    }

    /// `indices` in the view's memref (the window's origin subtracted).
    pub(crate) fn at(&self, indices: &[String]) -> String {
        self.relative(indices).join(", ")
    }

    /// Each of `indices` (tensor coordinates) relative to the window's
    /// origin.
    pub(crate) fn relative(&self, indices: &[String]) -> Vec<String> {
        indices
            .iter()
            .enumerate()
            .map(
                |(d, index)| match self.origin.get(d).filter(|o| !o.is_empty()) {
                    Some(origin) => format!("{index} - {origin}"),
                    None => index.clone(),
                },
            )
            .collect()
    }

    /// Loads the element at `indices` (tensor coordinates).
    pub(crate) fn load(&self, f: &mut FunctionText, indices: &[String]) -> String {
        let value = f.fresh("v");
        f.line(format!(
            "{value} = affine.load {}[{}] : {}",
            self.name,
            self.at(indices),
            memref_type(&self.shape)
        ));
        value
    }

    /// Stores `value` at `indices` (tensor coordinates).
    pub(crate) fn store(&self, f: &mut FunctionText, value: &str, indices: &[String]) {
        f.line(format!(
            "affine.store {value}, {}[{}] : {}",
            self.name,
            self.at(indices),
            memref_type(&self.shape)
        ));
    }
}

/// The part of its output a kernel computes: per output dimension, the
/// lower and upper loop bound, each an integer or the SSA name of an
/// `index` argument. [`Frame::whole`] is the whole output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// `(lower, upper)` per output dimension.
    pub bounds: Vec<(String, String)>,
    /// For a reduction over input channels (a convolution), the bounds of
    /// the (group-local) input channels to add; `None`: all of them.
    pub reduce: Option<(String, String)>,
}

/// Which part of a convolution a kernel computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvPart {
    /// The bias, then every input channel's products.
    Whole,
    /// The bias only (the first chunk of a chunked input comes next).
    Init,
    /// The products of the frame's input channels, added to the output.
    Accumulate,
}

impl Frame {
    /// Every element of an output of `shape`.
    pub fn whole(shape: &[i64]) -> Self {
        Self {
            bounds: shape
                .iter()
                .map(|extent| ("0".to_string(), extent.to_string()))
                .collect(),
            reduce: None,
        }
    }

    /// Opens one loop per dimension in `dims`, outermost first.
    pub(super) fn open(&self, f: &mut FunctionText, dims: std::ops::Range<usize>) -> Vec<String> {
        dims.map(|d| f.open_for(&self.bounds[d].0, &self.bounds[d].1))
            .collect()
    }

    /// Bounds of dimension `d` for a loop whose constant range would be
    /// `0..extent`: the frame's own when they are not those constants.
    fn lower(&self, d: usize) -> Option<&str> {
        let lower = self.bounds[d].0.as_str();
        (lower != "0").then_some(lower)
    }

    fn upper(&self, d: usize, extent: i64) -> Option<&str> {
        let upper = self.bounds[d].1.as_str();
        (upper != extent.to_string()).then_some(upper)
    }
}

type KernelResult = Result<(), String>;

/// `arith.{op}` on two f32 values.
pub(crate) fn binary(f: &mut FunctionText, op: &str, a: &str, b: &str) -> String {
    binary_of(f, op, a, b, "f32")
}

/// `arith.{op}` on two values of type `ty` (`f32` or a vector of it).
fn binary_of(f: &mut FunctionText, op: &str, a: &str, b: &str, ty: &str) -> String {
    let value = f.fresh("v");
    f.line(format!("{value} = arith.{op} {a}, {b} : {ty}"));
    value
}

fn unary(f: &mut FunctionText, op: &str, a: &str) -> String {
    unary_of(f, op, a, "f32")
}

fn unary_of(f: &mut FunctionText, op: &str, a: &str, ty: &str) -> String {
    let value = f.fresh("v");
    f.line(format!("{value} = {op} {a} : {ty}"));
    value
}

/// The constant `value` of type `ty`: an `f32`, or a vector of it with
/// `value` in every lane.
fn constant_of(f: &mut FunctionText, value: f32, ty: &str) -> String {
    if ty == "f32" {
        f.f32(value)
    } else {
        f.constant_literal(&format!("dense<0x{:08X}> : {ty}", value.to_bits()), "f")
    }
}

fn dims4(view: &View, what: &str) -> Result<[i64; 4], String> {
    view.shape
        .as_slice()
        .try_into()
        .map_err(|_| format!("{what} must be 4-D, got rank {}", view.shape.len()))
}

fn pair(op: &OperationRef, name: &str, default: [i64; 2]) -> Result<[i64; 2], String> {
    if !flag(op, name) {
        return Ok(default);
    }
    i64_array(op, name)?
        .try_into()
        .map_err(|_| format!("attribute '{name}' must have 2 values"))
}

fn quad(op: &OperationRef, name: &str) -> Result<[i64; 4], String> {
    i64_array(op, name)?
        .try_into()
        .map_err(|_| format!("attribute '{name}' must have 4 values"))
}

/// The output positions `o` in `0..out` whose tap `k` (dilation `d`, stride
/// `s`, padding `p`) reads inside `0..size`, as affine loop bounds over the
/// tap's induction variable.
#[cfg(test)]
fn valid_range(tap: &str, out: i64, size: i64, s: i64, d: i64, p: i64) -> (String, String) {
    valid_range_within(tap, None, (None, out), size, s, d, p)
}

/// [`valid_range`] within a frame's bounds along that dimension: `lower`
/// (an SSA symbol, 0 when `None`) and `upper` (a symbol, or the constant
/// `out`).
fn valid_range_within(
    tap: &str,
    lower: Option<&str>,
    (upper, out): (Option<&str>, i64),
    size: i64,
    s: i64,
    d: i64,
    p: i64,
) -> (String, String) {
    // o*s + k*d - p >= 0  <=>  o >= ceil((p - k*d) / s)
    // o*s + k*d - p <= size - 1  <=>  o <= floor((size - 1 + p - k*d) / s)
    let lower = match lower {
        None => format!("max affine_map<(d0) -> (0, ({p} - d0 * {d}) ceildiv {s})>({tap})"),
        Some(symbol) => {
            format!(
                "max affine_map<(d0)[s0] -> (s0, ({p} - d0 * {d}) ceildiv {s})>({tap})[{symbol}]"
            )
        }
    };
    let last = size - 1 + p;
    let upper = match upper {
        None => {
            format!("min affine_map<(d0) -> ({out}, ({last} - d0 * {d}) floordiv {s} + 1)>({tap})")
        }
        Some(symbol) => format!(
            "min affine_map<(d0)[s0] -> (s0, ({last} - d0 * {d}) floordiv {s} + 1)>({tap})[{symbol}]"
        ),
    };
    (lower, upper)
}

/// `df.conv2d`: for each output channel, the bias (or zero) is stored, then
/// every (input channel, tap) adds its products over the output rows and
/// columns that tap reaches, innermost along a row so the loop vectorises.
///
/// `sizes` are the input's `[n, c, h, w]` and the output's `[oh, ow]` (a
/// tile kernel's views hold windows, so their shapes are not the tensors').
pub fn conv2d(
    f: &mut FunctionText,
    op: &OperationRef,
    ins: &[View],
    out: &View,
    frame: &Frame,
    sizes: ([i64; 4], [i64; 2]),
    part: ConvPart,
) -> KernelResult {
    let (input, filter) = (&ins[0], &ins[1]);
    let ([_, c, h, w], [oh, ow]) = sizes;
    let [_, _, kh, kw] = dims4(filter, "the filter")?;
    let k = op_filter_channels(op, filter)?;
    let [sh, sw] = pair(op, "strides", [1, 1])?;
    let [dh, dw] = pair(op, "dilations", [1, 1])?;
    let [pt, pl, _, _] = if flag(op, "pads") {
        quad(op, "pads")?
    } else {
        [0; 4]
    };
    let groups = i64_attr_or(op, "groups", 1)?;
    if groups <= 0 || c % groups != 0 || k % groups != 0 {
        return Err(format!(
            "groups {groups} do not divide {c} input and {k} output channels"
        ));
    }
    let blocked = super::conv::ConvShape {
        input: sizes.0,
        output: [sizes.0[0], k, oh, ow],
        kernel: [kh, kw],
        strides: [sh, sw],
        dilations: [dh, dw],
        pads: [pt, pl],
        groups,
    };
    let whole = part == ConvPart::Whole
        && out.origin.is_empty()
        && input.origin.is_empty()
        && *frame == Frame::whole(&out.shape)
        && out.shape == blocked.output;
    // The plain loops: the fallback of the blocked kernels, and of the
    // product's tile steps whose frame is not whole rows.
    let plain = |f: &mut FunctionText| {
        let (cg, kg) = (c / groups, k / groups);
        let ivs = frame.open(f, 0..2);
        let (ni, ki) = (&ivs[0], &ivs[1]);
        if part != ConvPart::Accumulate {
            let init = match ins.get(2) {
                Some(bias) => bias.load(f, std::slice::from_ref(ki)),
                None => f.f32(0.0),
            };
            let yx = frame.open(f, 2..4);
            out.store(
                f,
                &init,
                &[ni.clone(), ki.clone(), yx[0].clone(), yx[1].clone()],
            );
            f.close_n(2);
        }
        if part == ConvPart::Init {
            f.close_n(2);
            return;
        }
        let ci = match &frame.reduce {
            Some((lower, upper)) => f.open_for(lower, upper),
            None => f.open_for("0", cg.to_string()),
        };
        let ky = f.open_for("0", kh.to_string());
        let (lo, hi) =
            valid_range_within(&ky, frame.lower(2), (frame.upper(2, oh), oh), h, sh, dh, pt);
        let y = f.open_for(lo, hi);
        let kx = f.open_for("0", kw.to_string());
        let weight = filter.load(f, &[ki.clone(), ci.clone(), ky.clone(), kx.clone()]);
        let (lo, hi) =
            valid_range_within(&kx, frame.lower(3), (frame.upper(3, ow), ow), w, sw, dw, pl);
        let x = f.open_for(lo, hi);
        let channel = format!("({ki} floordiv {kg}) * {cg} + {ci}");
        let row = format!("{y} * {sh} + {ky} * {dh} - {pt}");
        let col = format!("{x} * {sw} + {kx} * {dw} - {pl}");
        let value = input.load(f, &[ni.clone(), channel, row, col]);
        let at = [ni.clone(), ki.clone(), y.clone(), x.clone()];
        let acc = out.load(f, &at);
        let product = binary(f, "mulf", &value, &weight);
        let sum = binary(f, "addf", &acc, &product);
        out.store(f, &sum, &at);
        f.close_n(5);
        f.close_n(2);
    };
    let done = if whole {
        super::conv::conv2d(f, &blocked, input, filter, ins.get(2), out)
    } else {
        let operands = (input, filter, ins.get(2));
        super::conv::conv2d_pixel(f, &blocked, operands, out, frame, part)
            || super::product::conv2d_tile(f, &blocked, operands, out, frame, part, &plain)
            || super::conv::conv2d_tile(f, &blocked, operands, out, frame, part)
    };
    if !done {
        plain(f);
    }
    Ok(())
}

/// Output channels of a convolution: the filter's leading dimension, or,
/// when the filter view holds one output channel, the op's result's.
fn op_filter_channels(op: &OperationRef, filter: &View) -> Result<i64, String> {
    let shape = deepfuse_passes::attributes::result_shape(op, 0)?;
    let channels = shape.get(1).map_or(filter.shape[0], |&c| c as i64);
    Ok(channels)
}

/// `affine.if test -> (f32...)`: the values `inside` computes where the test
/// holds, `outside` elsewhere.
fn select_if(
    f: &mut FunctionText,
    test: &str,
    inside: impl FnOnce(&mut FunctionText) -> Vec<String>,
    outside: &[String],
) -> Vec<String> {
    let types = vec!["f32"; outside.len()].join(", ");
    let results = f.fresh("r");
    f.open(format!(
        "{results}:{} = affine.if {test} -> ({types}) {{",
        outside.len()
    ));
    let values = inside(f);
    f.line(format!("affine.yield {} : {types}", values.join(", ")));
    f.else_branch();
    f.line(format!("affine.yield {} : {types}", outside.join(", ")));
    f.close();
    (0..outside.len())
        .map(|i| format!("{results}#{i}"))
        .collect()
}

/// `df.pool2d`: max or average over each window; padding and ceil-mode
/// overhang are skipped, and an average divides by the taps inside the input
/// or, with `count_include_pad`, inside the padded input. Column strides
/// of 1 and 2 run in vectors along the rows ([`super::pool`]); larger ones
/// test each tap here.
///
/// `input_size` is the input's `[h, w]` (a tile view holds a window).
pub fn pool2d(
    f: &mut FunctionText,
    op: &OperationRef,
    ins: &[View],
    out: &View,
    frame: &Frame,
    input_size: [i64; 2],
) -> KernelResult {
    let input = &ins[0];
    let [h, w] = input_size;
    let max = i64_attr(op, "kind")? == 0;
    let [kh, kw] = pair(op, "kernel", [1, 1])?;
    let [sh, sw] = pair(op, "strides", [1, 1])?;
    let [pt, pl, pb, pr] = quad(op, "pads")?;
    let include_pad = flag(op, "count_include_pad");
    let pool = super::pool::Pool {
        max,
        kernel: [kh, kw],
        strides: [sh, sw],
        pads: [pt, pl, pb, pr],
        include_pad,
        input_size,
    };
    if super::pool::rows(f, &pool, input, out, frame) {
        return Ok(());
    }
    let ivs = frame.open(f, 0..4);
    let (y, x) = (ivs[2].clone(), ivs[3].clone());
    let start = if max {
        f.f32(f32::NEG_INFINITY)
    } else {
        f.f32(0.0)
    };
    let zero = f.f32(0.0);
    let one = f.f32(1.0);
    // Accumulator, taps inside the input, taps inside the padded input.
    let acc = f.fresh("acc");
    let ky = f.fresh("i");
    let (a0, v0, p0) = (f.fresh("a"), f.fresh("n"), f.fresh("p"));
    f.open(format!(
        "{acc}:3 = affine.for {ky} = 0 to {kh} iter_args({a0} = {start}, {v0} = {zero}, {p0} = {zero}) -> (f32, f32, f32) {{"
    ));
    let inner = f.fresh("acc");
    let kx = f.fresh("i");
    let (a1, v1, p1) = (f.fresh("a"), f.fresh("n"), f.fresh("p"));
    f.open(format!(
        "{inner}:3 = affine.for {kx} = 0 to {kw} iter_args({a1} = {a0}, {v1} = {v0}, {p1} = {p0}) -> (f32, f32, f32) {{"
    ));
    let row = format!("d0 * {sh} + d1 - {pt}");
    let col = format!("d2 * {sw} + d3 - {pl}");
    let operands = format!("({y}, {ky}, {x}, {kx})");
    let in_input = format!(
        "affine_set<(d0, d1, d2, d3) : ({row} >= 0, -({row}) + {} >= 0, {col} >= 0, -({col}) + {} >= 0)>{operands}",
        h - 1,
        w - 1
    );
    let in_padded = format!(
        "affine_set<(d0, d1, d2, d3) : ({row} + {pt} >= 0, -({row}) + {} >= 0, {col} + {pl} >= 0, -({col}) + {} >= 0)>{operands}",
        h - 1 + pb,
        w - 1 + pr
    );
    let at = [
        ivs[0].clone(),
        ivs[1].clone(),
        format!("{y} * {sh} + {ky} - {pt}"),
        format!("{x} * {sw} + {kx} - {pl}"),
    ];
    let padded = select_if(
        f,
        &in_padded,
        |f| vec![binary(f, "addf", &p1, &one)],
        std::slice::from_ref(&p1),
    );
    let inside = select_if(
        f,
        &in_input,
        |f| {
            let value = input.load(f, &at);
            let folded = binary(f, if max { "maximumf" } else { "addf" }, &a1, &value);
            vec![folded, binary(f, "addf", &v1, &one)]
        },
        &[a1.clone(), v1.clone()],
    );
    f.line(format!(
        "affine.yield {}, {}, {} : f32, f32, f32",
        inside[0], inside[1], padded[0]
    ));
    f.close();
    f.line(format!(
        "affine.yield {inner}#0, {inner}#1, {inner}#2 : f32, f32, f32"
    ));
    f.close();
    let result = if max {
        format!("{acc}#0")
    } else {
        let count = if include_pad {
            format!("{acc}#2")
        } else {
            format!("{acc}#1")
        };
        binary(f, "divf", &format!("{acc}#0"), &count)
    };
    out.store(f, &result, &ivs);
    f.close_n(4);
    Ok(())
}

/// `df.global_pool`: max or average over each channel's plane.
pub fn global_pool(
    f: &mut FunctionText,
    op: &OperationRef,
    ins: &[View],
    out: &View,
) -> KernelResult {
    let input = &ins[0];
    let [n, c, h, w] = dims4(input, "the input")?;
    let max = i64_attr(op, "kind")? == 0;
    let ivs = f.open_nest(&[n, c]);
    let start = if max {
        f.f32(f32::NEG_INFINITY)
    } else {
        f.f32(0.0)
    };
    let acc = reduce(f, &[h, w], &start, |f, taps, acc| {
        let value = input.load(
            f,
            &[
                ivs[0].clone(),
                ivs[1].clone(),
                taps[0].clone(),
                taps[1].clone(),
            ],
        );
        binary(f, if max { "maximumf" } else { "addf" }, acc, &value)
    });
    let result = if max {
        acc
    } else {
        let count = f.f32((h * w) as f32);
        binary(f, "divf", &acc, &count)
    };
    let zero = "0".to_string();
    out.store(
        f,
        &result,
        &[ivs[0].clone(), ivs[1].clone(), zero.clone(), zero],
    );
    f.close_n(2);
    Ok(())
}

/// A reduction over the loop nest `extents` with an f32 accumulator;
/// `step` gets the induction variables and the accumulator and returns the
/// next accumulator.
fn reduce(
    f: &mut FunctionText,
    extents: &[i64],
    start: &str,
    step: impl FnOnce(&mut FunctionText, &[String], &str) -> String,
) -> String {
    let bounds: Vec<(String, String)> = extents
        .iter()
        .map(|extent| ("0".to_string(), extent.to_string()))
        .collect();
    reduce_within(f, &bounds, start, step)
}

/// [`reduce`] over loops with the given `(lower, upper)` bounds.
fn reduce_within(
    f: &mut FunctionText,
    bounds: &[(String, String)],
    start: &str,
    step: impl FnOnce(&mut FunctionText, &[String], &str) -> String,
) -> String {
    let mut results = Vec::new();
    let mut ivs = Vec::new();
    let mut carried = start.to_string();
    for (lower, upper) in bounds {
        let result = f.fresh("acc");
        let iv = f.fresh("i");
        let arg = f.fresh("a");
        f.open(format!(
            "{result} = affine.for {iv} = {lower} to {upper} iter_args({arg} = {carried}) -> (f32) {{"
        ));
        results.push(result);
        ivs.push(iv);
        carried = arg;
    }
    let mut next = step(f, &ivs, &carried);
    // Innermost first: each loop yields what the loop inside it produced.
    for result in results.iter().rev() {
        f.line(format!("affine.yield {next} : f32"));
        f.close();
        next = result.clone();
    }
    next
}

/// The first value of a global pool's accumulator.
fn pool_start(f: &mut FunctionText, max: bool) -> String {
    if max {
        f.f32(f32::NEG_INFINITY)
    } else {
        f.f32(0.0)
    }
}

/// A staged `df.global_pool`, first part: the `n x c x 1 x 1` accumulator
/// set to the reduction's identity.
pub fn global_pool_start(f: &mut FunctionText, op: &OperationRef, acc: &View) -> KernelResult {
    let start = pool_start(f, i64_attr(op, "kind")? == 0);
    let ivs = f.open_nest(&acc.shape);
    acc.store(f, &start, &ivs);
    f.close_n(ivs.len());
    Ok(())
}

/// A staged `df.global_pool`, per step: the input window `frame` folded
/// into the accumulator.
pub fn global_pool_accumulate(
    f: &mut FunctionText,
    op: &OperationRef,
    input: &View,
    acc: &View,
    frame: &Frame,
) -> KernelResult {
    let max = i64_attr(op, "kind")? == 0;
    let ivs = frame.open(f, 0..2);
    let start = pool_start(f, max);
    let folded = reduce_within(f, &frame.bounds[2..4], &start, |f, taps, acc| {
        let at = [
            ivs[0].clone(),
            ivs[1].clone(),
            taps[0].clone(),
            taps[1].clone(),
        ];
        let value = input.load(f, &at);
        binary(f, if max { "maximumf" } else { "addf" }, acc, &value)
    });
    let zero = "0".to_string();
    let at = [ivs[0].clone(), ivs[1].clone(), zero.clone(), zero];
    let previous = acc.load(f, &at);
    let next = binary(f, if max { "maximumf" } else { "addf" }, &previous, &folded);
    acc.store(f, &next, &at);
    f.close_n(2);
    Ok(())
}

/// A staged `df.global_pool`, once channels `[from, to)` are accumulated
/// over every step: an average divides their sums by the `plane` elements
/// of each channel.
pub fn global_pool_finish(
    f: &mut FunctionText,
    op: &OperationRef,
    acc: &View,
    plane: i64,
    (from, to): (&str, &str),
) -> KernelResult {
    if i64_attr(op, "kind")? == 0 {
        return Ok(());
    }
    let count = f.f32(plane as f32);
    let c = f.open_for(from, to);
    let ivs = ["0".to_string(), c, "0".into(), "0".into()];
    let sum = acc.load(f, &ivs);
    let mean = binary(f, "divf", &sum, &count);
    acc.store(f, &mean, &ivs);
    f.close();
    Ok(())
}

/// The indices of a broadcast operand for the output's induction variables
/// (NumPy rules: shapes aligned on the right, size-1 dimensions stay 0).
pub(super) fn broadcast(ivs: &[String], operand: &[i64], output: &[i64]) -> Vec<String> {
    let offset = output.len() - operand.len();
    operand
        .iter()
        .enumerate()
        .map(|(d, &size)| {
            if size == 1 && output[d + offset] != 1 {
                "0".to_string()
            } else {
                ivs[d + offset].clone()
            }
        })
        .collect()
}

/// `df.add` / `df.mul` with broadcasting.
pub fn binary_op(
    f: &mut FunctionText,
    kind: &str,
    ins: &[View],
    out: &View,
    frame: &Frame,
) -> KernelResult {
    let rows = super::elementwise::rows(f, frame, ins, out, &|f, values, ty| {
        Ok(binary_of(f, kind, &values[0], &values[1], ty))
    })?;
    if rows {
        return Ok(());
    }
    let ivs = frame.open(f, 0..out.shape.len());
    let a = ins[0].load(f, &broadcast(&ivs, &ins[0].shape, &out.shape));
    let b = ins[1].load(f, &broadcast(&ivs, &ins[1].shape, &out.shape));
    let result = binary(f, kind, &a, &b);
    out.store(f, &result, &ivs);
    f.close_n(ivs.len());
    Ok(())
}

/// The activation function at `x`, an `f32`.
pub fn activation_value(
    f: &mut FunctionText,
    op: &OperationRef,
    x: &str,
) -> Result<String, String> {
    activation_value_of(f, op, x, "f32")
}

/// The activation function at `x` of type `ty` (`f32`, or a vector of it
/// computed lane by lane).
fn activation_value_of(
    f: &mut FunctionText,
    op: &OperationRef,
    x: &str,
    ty: &str,
) -> Result<String, String> {
    let sigmoid = |f: &mut FunctionText, x: &str| {
        let one = constant_of(f, 1.0, ty);
        let negated = unary_of(f, "arith.negf", x, ty);
        let exp = unary_of(f, "math.exp", &negated, ty);
        let denominator = binary_of(f, "addf", &one, &exp, ty);
        binary_of(f, "divf", &one, &denominator, ty)
    };
    let hard_sigmoid = |f: &mut FunctionText, x: &str, alpha: f32, beta: f32| {
        let (a, b) = (constant_of(f, alpha, ty), constant_of(f, beta, ty));
        let (zero, one) = (constant_of(f, 0.0, ty), constant_of(f, 1.0, ty));
        let scaled = binary_of(f, "mulf", &a, x, ty);
        let shifted = binary_of(f, "addf", &scaled, &b, ty);
        let low = binary_of(f, "maximumf", &shifted, &zero, ty);
        binary_of(f, "minimumf", &low, &one, ty)
    };
    Ok(match i64_attr(op, "kind")? {
        0 => {
            let zero = constant_of(f, 0.0, ty);
            binary_of(f, "maximumf", x, &zero, ty)
        }
        1 => {
            let low = optional_f32(op, "min")?.unwrap_or(f32::NEG_INFINITY);
            let high = optional_f32(op, "max")?.unwrap_or(f32::INFINITY);
            let (low, high) = (constant_of(f, low, ty), constant_of(f, high, ty));
            let clamped = binary_of(f, "maximumf", x, &low, ty);
            binary_of(f, "minimumf", &clamped, &high, ty)
        }
        2 => {
            let alpha = constant_of(f, f32_attr(op, "alpha")?, ty);
            let zero = constant_of(f, 0.0, ty);
            let scaled = binary_of(f, "mulf", &alpha, x, ty);
            let positive = f.fresh("v");
            f.line(format!("{positive} = arith.cmpf oge, {x}, {zero} : {ty}"));
            // A vector select names its condition's type too.
            let types = match ty.strip_prefix("vector<").and_then(|t| t.split_once('x')) {
                Some((lanes, _)) => format!("vector<{lanes}xi1>, {ty}"),
                None => ty.to_string(),
            };
            let value = f.fresh("v");
            f.line(format!(
                "{value} = arith.select {positive}, {x}, {scaled} : {types}"
            ));
            value
        }
        3 => sigmoid(f, x),
        4 => unary_of(f, "math.tanh", x, ty),
        5 => hard_sigmoid(f, x, f32_attr(op, "alpha")?, f32_attr(op, "beta")?),
        6 => {
            let gate = hard_sigmoid(f, x, 1.0 / 6.0, 0.5);
            binary_of(f, "mulf", x, &gate, ty)
        }
        7 => {
            let gate = sigmoid(f, x);
            binary_of(f, "mulf", x, &gate, ty)
        }
        kind => return Err(format!("unknown activation kind {kind}")),
    })
}

/// `df.activation`.
pub fn activation(
    f: &mut FunctionText,
    op: &OperationRef,
    ins: &[View],
    out: &View,
    frame: &Frame,
) -> KernelResult {
    let rows = super::elementwise::rows(f, frame, ins, out, &|f, values, ty| {
        activation_value_of(f, op, &values[0], ty)
    })?;
    if rows {
        return Ok(());
    }
    let ivs = frame.open(f, 0..out.shape.len());
    let x = ins[0].load(f, &ivs);
    let y = activation_value(f, op, &x)?;
    out.store(f, &y, &ivs);
    f.close_n(ivs.len());
    Ok(())
}

/// The index of a per-channel vector (`[C]`, or broadcastable to the
/// output like `[1, C, 1, 1]`) for a 4-D tensor's induction variables.
fn channel_index(vector: &View, ivs: &[String]) -> Vec<String> {
    channel_index_1d(vector, &ivs[1])
}

/// `df.batch_norm` (inference): `(x - mean) / sqrt(variance + epsilon) *
/// scale + offset` per channel.
pub fn batch_norm(
    f: &mut FunctionText,
    op: &OperationRef,
    ins: &[View],
    out: &View,
    frame: &Frame,
) -> KernelResult {
    let epsilon = f.f32(f32_attr(op, "epsilon")?);
    let ivs = frame.open(f, 0..out.shape.len());
    let x = ins[0].load(f, &ivs);
    let [scale, offset, mean, variance] = [1, 2, 3, 4].map(|i| {
        let index = channel_index(&ins[i], &ivs);
        ins[i].load(f, &index)
    });
    let centred = binary(f, "subf", &x, &mean);
    let shifted = binary(f, "addf", &variance, &epsilon);
    let deviation = unary(f, "math.sqrt", &shifted);
    let normalised = binary(f, "divf", &centred, &deviation);
    let scaled = binary(f, "mulf", &normalised, &scale);
    let y = binary(f, "addf", &scaled, &offset);
    out.store(f, &y, &ivs);
    f.close_n(ivs.len());
    Ok(())
}

/// `df.fold_batch_norm`, run by the init function: the folded filter and bias.
pub fn fold_batch_norm(
    f: &mut FunctionText,
    op: &OperationRef,
    ins: &[View],
    outs: &[View],
) -> KernelResult {
    let has_bias = ins.len() == 6;
    let filter = &ins[0];
    let bias = has_bias.then(|| &ins[1]);
    let first = if has_bias { 2 } else { 1 };
    let [scale, offset, mean, variance] = [0, 1, 2, 3].map(|i| &ins[first + i]);
    let epsilon = f.f32(f32_attr(op, "epsilon")?);
    let channels = filter.shape[0];
    let o = f.open_for("0", channels.to_string());
    let at = std::slice::from_ref(&o);
    let s = scale.load(f, at);
    let v = variance.load(f, at);
    let shifted = binary(f, "addf", &v, &epsilon);
    let deviation = unary(f, "math.sqrt", &shifted);
    let factor = binary(f, "divf", &s, &deviation);
    let b = match bias {
        Some(bias) => bias.load(f, at),
        None => f.f32(0.0),
    };
    let m = mean.load(f, at);
    let off = offset.load(f, at);
    let centred = binary(f, "subf", &b, &m);
    let scaled = binary(f, "mulf", &centred, &factor);
    let new_bias = binary(f, "addf", &scaled, &off);
    outs[1].store(f, &new_bias, &channel_index_1d(&outs[1], &o));
    let rest = f.open_nest(&filter.shape[1..]);
    let mut index = vec![o.clone()];
    index.extend(rest.iter().cloned());
    let w = filter.load(f, &index);
    let folded = binary(f, "mulf", &w, &factor);
    outs[0].store(f, &folded, &index);
    f.close_n(rest.len());
    f.close();
    Ok(())
}

fn channel_index_1d(vector: &View, channel: &str) -> Vec<String> {
    let mut index = vec!["0".to_string(); vector.shape.len()];
    if let Some(position) = vector.shape.iter().position(|&d| d != 1) {
        index[position] = channel.to_string();
    } else if let Some(last) = index.last_mut() {
        *last = channel.to_string();
    }
    index
}

/// `df.matmul`: `op(lhs) x op(rhs) + bias`, for every output column, or
/// for those of `columns` (`[start, end)` as SSA index names) when the
/// right operand (transposed, its rows the output columns) and the bias are
/// slices of those columns (views whose origin is the slice's first
/// column).
pub fn matmul(
    f: &mut FunctionText,
    op: &OperationRef,
    ins: &[View],
    out: &View,
    columns: Option<(&str, &str)>,
) -> KernelResult {
    let (lhs, rhs) = (&ins[0], &ins[1]);
    let (transpose_lhs, transpose_rhs) = (flag(op, "transpose_lhs"), flag(op, "transpose_rhs"));
    let [m, n] = <[i64; 2]>::try_from(out.shape.as_slice())
        .map_err(|_| "the output must be 2-D".to_string())?;
    let k = if transpose_lhs {
        lhs.shape[0]
    } else {
        lhs.shape[1]
    };
    if columns.is_some() && !transpose_rhs {
        return Err("slices of output columns need a transposed right operand".into());
    }
    let mi = f.open_for("0", m.to_string());
    let ni = match columns {
        Some((start, end)) => f.open_for(start, end),
        None => f.open_for("0", n.to_string()),
    };
    let ivs = [mi.clone(), ni.clone()];
    let start = match ins.get(2) {
        // A slice of the bias is indexed by the output column.
        Some(bias) if columns.is_some() => bias.load(f, std::slice::from_ref(&ni)),
        Some(bias) => bias.load(f, &broadcast(&ivs, &bias.shape, &out.shape)),
        None => f.f32(0.0),
    };
    let acc = reduce(f, &[k], &start, |f, taps, acc| {
        let ki = taps[0].clone();
        let a_at = if transpose_lhs {
            [ki.clone(), mi.clone()]
        } else {
            [mi.clone(), ki.clone()]
        };
        let b_at = if transpose_rhs {
            [ni.clone(), ki]
        } else {
            [ki, ni.clone()]
        };
        let a = lhs.load(f, &a_at);
        let b = rhs.load(f, &b_at);
        let product = binary(f, "mulf", &a, &b);
        binary(f, "addf", acc, &product)
    });
    out.store(f, &acc, &ivs);
    f.close_n(2);
    Ok(())
}

/// `df.softmax` along `axis`: max, sum of exponentials, then the quotients.
pub fn softmax(f: &mut FunctionText, op: &OperationRef, ins: &[View], out: &View) -> KernelResult {
    let axis = usize::try_from(i64_attr(op, "axis")?).map_err(|_| "negative axis".to_string())?;
    let shape = &out.shape;
    if axis >= shape.len() {
        return Err(format!(
            "axis {axis} is out of range for rank {}",
            shape.len()
        ));
    }
    let outer: Vec<i64> = shape
        .iter()
        .enumerate()
        .filter(|&(d, _)| d != axis)
        .map(|(_, &s)| s)
        .collect();
    let ivs = f.open_nest(&outer);
    let index = |ivs: &[String], tap: &str| {
        let mut index = ivs.to_vec();
        index.insert(axis, tap.to_string());
        index
    };
    let input = &ins[0];
    let lowest = f.f32(f32::NEG_INFINITY);
    let max = reduce(f, &[shape[axis]], &lowest, |f, taps, acc| {
        let value = input.load(f, &index(&ivs, &taps[0]));
        binary(f, "maximumf", acc, &value)
    });
    let zero = f.f32(0.0);
    let sum = reduce(f, &[shape[axis]], &zero, |f, taps, acc| {
        let value = input.load(f, &index(&ivs, &taps[0]));
        let shifted = binary(f, "subf", &value, &max);
        let exp = unary(f, "math.exp", &shifted);
        out.store(f, &exp, &index(&ivs, &taps[0]));
        binary(f, "addf", acc, &exp)
    });
    let tap = f.open_for("0", shape[axis].to_string());
    let at = index(&ivs, &tap);
    let exp = out.load(f, &at);
    let quotient = binary(f, "divf", &exp, &sum);
    out.store(f, &quotient, &at);
    f.close();
    f.close_n(ivs.len());
    Ok(())
}

/// `df.concat`: each input copied to its slice of the output (the part of
/// the slice inside `frame`). `pieces` are the inputs' first index and
/// extent along the axis: a staged concat leaves out the inputs that were
/// loaded into the output directly.
pub fn concat(
    f: &mut FunctionText,
    op: &OperationRef,
    ins: &[View],
    out: &View,
    frame: &Frame,
    pieces: &[(i64, i64)],
) -> KernelResult {
    let axis = usize::try_from(i64_attr(op, "axis")?).map_err(|_| "negative axis".to_string())?;
    if axis >= out.shape.len() {
        return Err(format!("axis {axis} is out of range"));
    }
    for (input, &(start, length)) in ins.iter().zip(pieces) {
        let end = start + length;
        let (lower, upper) = &frame.bounds[axis];
        let lower = match lower.parse::<i64>() {
            Ok(constant) => constant.max(start).to_string(),
            Err(_) => format!("max affine_map<()[s0] -> (s0, {start})>()[{lower}]"),
        };
        let upper = match upper.parse::<i64>() {
            Ok(constant) => constant.min(end).to_string(),
            Err(_) => format!("min affine_map<()[s0] -> (s0, {end})>()[{upper}]"),
        };
        let mut ivs = Vec::with_capacity(out.shape.len());
        for d in 0..out.shape.len() {
            ivs.push(if d == axis {
                f.open_for(&lower, &upper)
            } else {
                f.open_for(&frame.bounds[d].0, &frame.bounds[d].1)
            });
        }
        let mut at = ivs.clone();
        at[axis] = format!("{} - {start}", ivs[axis]);
        let value = input.load(f, &at);
        out.store(f, &value, &ivs);
        f.close_n(ivs.len());
    }
    Ok(())
}

/// `df.reshape` / `df.flatten`: a copy between 1-D views of the same bytes'
/// layout (both are row-major, so the element order is unchanged).
pub fn copy_flat(f: &mut FunctionText, input: &View, out: &View) -> KernelResult {
    let ivs = f.open_nest(&[out.shape.iter().product()]);
    let value = input.load(f, &ivs);
    out.store(f, &value, &ivs);
    f.close();
    Ok(())
}

/// `df.resize`: nearest upsampling by integer scales.
pub fn resize(f: &mut FunctionText, op: &OperationRef, ins: &[View], out: &View) -> KernelResult {
    let [sh, sw] = pair(op, "scales", [1, 1])?;
    let ivs = f.open_nest(&out.shape);
    let at = [
        ivs[0].clone(),
        ivs[1].clone(),
        format!("{} floordiv {sh}", ivs[2]),
        format!("{} floordiv {sw}", ivs[3]),
    ];
    let value = ins[0].load(f, &at);
    out.store(f, &value, &ivs);
    f.close_n(4);
    Ok(())
}

/// `df.pad`: the output filled with the padding value, then the input copied
/// inside it.
pub fn pad(f: &mut FunctionText, op: &OperationRef, ins: &[View], out: &View) -> KernelResult {
    let pads = i64_array(op, "pads")?;
    let rank = out.shape.len();
    if pads.len() != 2 * rank {
        return Err(format!("'pads' must have {} values", 2 * rank));
    }
    let value = f.f32(f32_attr(op, "value")?);
    let ivs = f.open_nest(&out.shape);
    out.store(f, &value, &ivs);
    f.close_n(rank);
    let ivs = f.open_nest(&ins[0].shape);
    let x = ins[0].load(f, &ivs);
    let at: Vec<String> = ivs
        .iter()
        .zip(&pads)
        .map(|(iv, p)| format!("{iv} + {p}"))
        .collect();
    out.store(f, &x, &at);
    f.close_n(rank);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_range_bounds_match_the_taps_inside_the_input() {
        // 3-tap window, stride 2, padding 1 over 5 inputs -> 3 outputs.
        let (lower, upper) = valid_range("%k", 3, 5, 2, 1, 1);
        assert_eq!(
            lower,
            "max affine_map<(d0) -> (0, (1 - d0 * 1) ceildiv 2)>(%k)"
        );
        assert_eq!(
            upper,
            "min affine_map<(d0) -> (3, (5 - d0 * 1) floordiv 2 + 1)>(%k)"
        );
        // Tap 0 reads input 2o - 1: valid from o = 1 (ceil(1/2)) to o = 2
        // (floor(5/2) = 2); tap 2 reads 2o + 1: o from 0 to 1.
        let lo = |k: i64| (2 - k).div_euclid(2).max(0);
        let hi = |k: i64| ((5 - k).div_euclid(2) + 1).min(3);
        assert_eq!((lo(0), hi(0)), (1, 3));
        assert_eq!((lo(2), hi(2)), (0, 2));
    }
}
