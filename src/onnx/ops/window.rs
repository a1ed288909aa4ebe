//! Sliding-window attributes shared by Conv and the pools: strides,
//! dilations, explicit or automatic padding, and the output size with the
//! df verifier's formula (`expectWindowDim` in `DfVerifiers.cpp`).

use super::super::{error::Result, node::Node};

/// The largest stride, dilation, kernel or padding accepted: beyond it a
/// model is malformed, and the shape arithmetic could overflow.
pub const MAX_WINDOW: i64 = 1 << 24;

/// A 2-valued attribute (height, width) of values at least 1, `default`
/// when absent.
pub fn pair(node: &Node, name: &str, default: usize) -> Result<[usize; 2]> {
    let fits = |v: i64| (1..=MAX_WINDOW).contains(&v);
    match node.ints(name)? {
        None => Ok([default; 2]),
        Some(values) => match values.as_slice() {
            &[h, w] if fits(h) && fits(w) => Ok([h as usize, w as usize]),
            _ => Err(node.error(format!(
                "attribute '{name}' is {values:?}; expected two values of at least 1 (2-D windows only)"
            ))),
        },
    }
}

/// The geometry of a 2-D window op.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// Input height and width.
    pub input: [usize; 2],
    /// Kernel height and width.
    pub kernel: [usize; 2],
    /// Strides.
    pub strides: [usize; 2],
    /// Dilations.
    pub dilations: [usize; 2],
}

/// The `[top, left, bottom, right]` padding of a window op: explicit `pads`,
/// or computed from `auto_pad` as ONNX defines it (SAME_UPPER puts the odd
/// pixel at the end, SAME_LOWER at the beginning).
pub fn pads(node: &Node, geometry: &Geometry) -> Result<[usize; 4]> {
    let auto_pad = node.string_or("auto_pad", "NOTSET")?;
    let explicit = match node.ints("pads")? {
        None => None,
        Some(values) => match values.as_slice() {
            &[t, l, b, r] if values.iter().all(|&p| (0..=MAX_WINDOW).contains(&p)) => {
                Some([t as usize, l as usize, b as usize, r as usize])
            }
            _ => {
                return Err(node.error(format!(
                    "attribute 'pads' is {values:?}; expected four non-negative values [top, left, bottom, right]"
                )));
            }
        },
    };
    match auto_pad.as_str() {
        "NOTSET" => Ok(explicit.unwrap_or([0; 4])),
        "VALID" | "SAME_UPPER" | "SAME_LOWER" if explicit.is_some_and(|pads| pads != [0; 4]) => {
            Err(node.error(format!(
                "auto_pad '{auto_pad}' and explicit pads {explicit:?} are both given"
            )))
        }
        "VALID" => Ok([0; 4]),
        "SAME_UPPER" | "SAME_LOWER" => {
            let mut pads = [0; 4];
            for d in 0..2 {
                let (input, stride) = (geometry.input[d] as u128, geometry.strides[d] as u128);
                let span = geometry.dilations[d] as u128 * (geometry.kernel[d] as u128 - 1) + 1;
                let output = input.div_ceil(stride);
                let total = ((output - 1) * stride + span).saturating_sub(input);
                let total = usize::try_from(total)
                    .map_err(|_| node.error("the automatic padding is too large"))?;
                let small = total / 2;
                let (begin, end) = if auto_pad == "SAME_UPPER" {
                    (small, total - small)
                } else {
                    (total - small, small)
                };
                pads[d] = begin;
                pads[d + 2] = end;
            }
            Ok(pads)
        }
        other => Err(node.error(format!("auto_pad '{other}' is not supported"))),
    }
}

/// The output size along one dimension, exactly as the df verifier computes
/// it (a ceil-mode window starting in the end padding is dropped).
pub fn output_size(
    input: usize,
    kernel: usize,
    stride: usize,
    pads: (usize, usize),
    dilation: usize,
    ceil_mode: bool,
) -> Result<usize, String> {
    // u128: the operands are bounded by the callers, but a product of two
    // of them may not fit a usize.
    let wide = |v: usize| v as u128;
    let padded = wide(input) + wide(pads.0) + wide(pads.1);
    let window = wide(dilation) * wide(kernel.max(1) - 1) + 1;
    if padded < window {
        return Err(format!(
            "the window of {window} does not fit the padded input {padded} (input {input}, padding {}+{})",
            pads.0, pads.1
        ));
    }
    let (span, stride) = (padded - window, wide(stride.max(1)));
    let mut size = if ceil_mode {
        span.div_ceil(stride)
    } else {
        span / stride
    } + 1;
    if ceil_mode && (size - 1) * stride >= wide(input) + wide(pads.0) {
        size -= 1;
    }
    usize::try_from(size).map_err(|_| format!("the output size {size} is too large"))
}

/// The output height and width of a window op.
pub fn output_hw(
    node: &Node,
    geometry: &Geometry,
    pads: &[usize; 4],
    ceil_mode: bool,
) -> Result<[usize; 2]> {
    let mut out = [0; 2];
    for d in 0..2 {
        out[d] = output_size(
            geometry.input[d],
            geometry.kernel[d],
            geometry.strides[d],
            (pads[d], pads[d + 2]),
            geometry.dilations[d],
            ceil_mode,
        )
        .map_err(|reason| node.error(format!("{} {reason}", ["height:", "width:"][d])))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_match_the_verifier() {
        assert_eq!(output_size(224, 7, 2, (3, 3), 1, false), Ok(112));
        assert_eq!(output_size(112, 3, 2, (1, 1), 1, false), Ok(56));
        // Ceil mode: 5 with kernel 2, stride 2 gives 3 windows.
        assert_eq!(output_size(5, 2, 2, (0, 0), 1, true), Ok(3));
        // A window that would start in the end padding is dropped.
        assert_eq!(output_size(4, 2, 2, (0, 1), 1, true), Ok(2));
        assert_eq!(output_size(7, 3, 1, (0, 0), 2, false), Ok(3));
        assert!(output_size(2, 3, 1, (0, 0), 1, false).is_err());
    }
}
