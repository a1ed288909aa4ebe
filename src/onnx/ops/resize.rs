//! `Resize` and `Upsample` in nearest mode by integer factors as
//! `df.resize`, which repeats every input pixel `scale` times. ONNX's nearest
//! resize maps output pixels back through a coordinate transformation and a
//! rounding mode; a combination is accepted only if, for this input size and
//! factor, it picks exactly the pixel `df.resize` picks (checked pixel by
//! pixel), so no approximation is ever made.

use super::super::{
    emit::{list, tensor_type},
    error::Result,
    graph::Converter,
    node::Node,
};

/// The largest upsampling factor accepted (beyond it, a model is malformed).
const MAX_SCALE: usize = 1 << 16;

/// Converts `Resize` (opset 10 to 21).
pub fn convert_resize(cx: &mut Converter, node: &Node) -> Result<()> {
    let mut known = vec!["mode"];
    if node.opset >= 11 {
        known.extend([
            "coordinate_transformation_mode",
            "cubic_coeff_a",
            "exclude_outside",
            "extrapolation_value",
            "nearest_mode",
        ]);
    }
    if node.opset >= 18 {
        known.extend(["antialias", "axes", "keep_aspect_ratio_policy"]);
    }
    node.expect_attributes(&known)?;
    node.expect_inputs(if node.opset >= 11 { 4 } else { 2 })?;
    let mode = node.string_or("mode", "nearest")?;
    if mode != "nearest" {
        return Err(node.error(format!("mode '{mode}' is not supported (nearest only)")));
    }
    let x = cx.tensor(node, 0)?;
    let rank = x.shape.len();
    // Opset 10 has no coordinate modes: it maps output o to input floor(o / scale).
    let (transform, rounding) = if node.opset >= 11 {
        (
            node.string_or("coordinate_transformation_mode", "half_pixel")?,
            node.string_or("nearest_mode", "round_prefer_floor")?,
        )
    } else {
        ("asymmetric".to_string(), "floor".to_string())
    };
    let axes: Vec<usize> = match node.ints("axes")? {
        None => (0..rank).collect(),
        Some(axes) => axes
            .iter()
            .map(|&a| super::super::fold::normalize_axis(a, rank))
            .collect::<Result<_, _>>()
            .map_err(|r| node.error(r))?,
    };
    let scales_index = if node.opset >= 11 { 2 } else { 1 };
    let scales = cx
        .opt_constant(node, scales_index, "scales")?
        .filter(|c| !c.is_empty());
    let sizes = if node.opset >= 11 {
        cx.opt_constant(node, 3, "sizes")?.filter(|c| !c.is_empty())
    } else {
        None
    };
    let mut factors = vec![1usize; rank];
    match (scales, sizes) {
        (Some(scales), None) => {
            let values = scales
                .f32s()
                .map_err(|r| node.error(format!("the scales {r}")))?;
            if values.len() != axes.len() {
                return Err(node.error(format!("{} scales for {} axes", values.len(), axes.len())));
            }
            for (&axis, &scale) in axes.iter().zip(values.iter()) {
                factors[axis] = integer_scale(node, scale)?;
            }
        }
        (None, Some(sizes)) => {
            let policy = node.string_or("keep_aspect_ratio_policy", "stretch")?;
            if policy != "stretch" {
                return Err(node.error(format!(
                    "keep_aspect_ratio_policy '{policy}' is not supported (stretch only)"
                )));
            }
            let values = sizes
                .ints()
                .map_err(|r| node.error(format!("the sizes {r}")))?;
            if values.len() != axes.len() {
                return Err(node.error(format!("{} sizes for {} axes", values.len(), axes.len())));
            }
            for (&axis, &size) in axes.iter().zip(values) {
                let input = x.shape[axis] as i64;
                if size < input || size % input != 0 {
                    return Err(node.error(format!(
                        "size {size} of dimension {axis} is not an integer multiple of the input's {input}"
                    )));
                }
                factors[axis] = usize::try_from(size / input)
                    .ok()
                    .filter(|&f| f <= MAX_SCALE)
                    .ok_or_else(|| {
                        node.error(format!("size {size} of dimension {axis} is too large"))
                    })?;
            }
        }
        _ => {
            return Err(node.error("exactly one of scales and sizes must be given as a constant"));
        }
    }
    emit_resize(cx, node, &factors, &transform, &rounding)
}

/// Converts `Upsample` (opsets 7 to 9: nearest maps output o to input
/// floor(o / scale)).
pub fn convert_upsample(cx: &mut Converter, node: &Node) -> Result<()> {
    node.expect_attributes(if node.opset < 9 {
        &["mode", "scales"]
    } else {
        &["mode"]
    })?;
    node.expect_inputs(if node.opset < 9 { 1 } else { 2 })?;
    let mode = node.string_or("mode", "nearest")?;
    if mode != "nearest" {
        return Err(node.error(format!("mode '{mode}' is not supported (nearest only)")));
    }
    let scales: Vec<f32> = if node.opset < 9 {
        node.floats("scales")?
            .ok_or_else(|| node.error("the scales attribute is missing"))?
    } else {
        cx.constant(node, 1, "scales")?
            .f32s()
            .map_err(|r| node.error(format!("the scales {r}")))?
            .to_vec()
    };
    let factors = scales
        .iter()
        .map(|&s| integer_scale(node, s))
        .collect::<Result<Vec<_>>>()?;
    emit_resize(cx, node, &factors, "asymmetric", "floor")
}

/// A scale factor that must be a whole number of at least 1.
fn integer_scale(node: &Node, scale: f32) -> Result<usize> {
    if scale >= 1.0 && scale.fract() == 0.0 && scale <= MAX_SCALE as f32 {
        Ok(scale as usize)
    } else {
        Err(node.error(format!(
            "scale {scale} is not supported (integer upsampling factors only)"
        )))
    }
}

fn emit_resize(
    cx: &mut Converter,
    node: &Node,
    factors: &[usize],
    transform: &str,
    rounding: &str,
) -> Result<()> {
    let x = cx.tensor(node, 0)?;
    let (&[n, c, h, w], &[1, 1, sh, sw]) = (x.shape.as_slice(), factors) else {
        return Err(node.error(format!(
            "only spatial resizing of NCHW tensors is supported (input {:?}, factors {factors:?})",
            x.shape
        )));
    };
    for (input, scale) in [(h, sh), (w, sw)] {
        // The check below visits every output pixel of the dimension.
        if input.saturating_mul(scale) > 1 << 24 {
            return Err(node.error(format!(
                "the output dimension {input} x {scale} is too large"
            )));
        }
        check_mapping(transform, rounding, input, scale).map_err(|r| node.error(r))?;
    }
    let shape = vec![n, c, h * sh, w * sw];
    let text = format!(
        "df.resize {} scales {} : {} -> {}",
        x.ssa,
        list(&[sh, sw]),
        x.ty(),
        tensor_type(&shape)
    );
    cx.define(node, 0, &text, shape)
}

/// Checks that ONNX nearest resizing with `transform` and `rounding` maps
/// every output pixel `o` of a dimension of `input` pixels upsampled by
/// `scale` to input pixel `o / scale`, as df.resize does. The arithmetic is
/// onnxruntime's (float32).
fn check_mapping(
    transform: &str,
    rounding: &str,
    input: usize,
    scale: usize,
) -> Result<(), String> {
    let output = input * scale;
    let s = scale as f32;
    for o in 0..output {
        let of = o as f32;
        let x = match transform {
            "half_pixel" | "half_pixel_symmetric" => (of + 0.5) / s - 0.5,
            "pytorch_half_pixel" if output > 1 => (of + 0.5) / s - 0.5,
            "pytorch_half_pixel" => 0.0,
            "align_corners" if output > 1 => of * (input as f32 - 1.0) / (output as f32 - 1.0),
            "align_corners" => 0.0,
            "asymmetric" => of / s,
            "tf_half_pixel_for_nn" => (of + 0.5) / s,
            other => {
                return Err(format!(
                    "coordinate_transformation_mode '{other}' is not supported"
                ));
            }
        };
        let tie = x == x.floor() + 0.5;
        let index = match rounding {
            "round_prefer_floor" if tie => x.floor(),
            "round_prefer_ceil" if tie => x.ceil(),
            "round_prefer_floor" | "round_prefer_ceil" => x.round(),
            "floor" => x.floor(),
            "ceil" => x.ceil(),
            other => return Err(format!("nearest_mode '{other}' is not supported")),
        };
        let index = index.clamp(0.0, input as f32 - 1.0) as usize;
        if index != o / scale {
            return Err(format!(
                "coordinate_transformation_mode '{transform}' with nearest_mode '{rounding}' maps output pixel {o} to input pixel {index}, not {} (= {o} / scale {scale}); only resizes that repeat every pixel are supported",
                o / scale
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pixel_repeating_mappings() {
        for scale in 1..=4 {
            check_mapping("half_pixel", "round_prefer_floor", 7, scale).unwrap();
            check_mapping("half_pixel", "round_prefer_ceil", 7, scale).unwrap();
            check_mapping("asymmetric", "floor", 7, scale).unwrap();
            check_mapping("pytorch_half_pixel", "round_prefer_floor", 7, scale).unwrap();
        }
        // PyTorch's legacy 'nearest' export: asymmetric + floor.
        check_mapping("asymmetric", "floor", 5, 2).unwrap();
    }

    #[test]
    fn other_mappings_are_refused() {
        // align_corners happens to repeat pixels for some sizes (4 -> 8), not
        // for others (4 -> 12 maps output 2 to input 1).
        check_mapping("align_corners", "round_prefer_floor", 4, 2).unwrap();
        let error = check_mapping("align_corners", "round_prefer_floor", 4, 3).unwrap_err();
        assert!(error.contains("maps output pixel"), "{error}");
        assert!(check_mapping("asymmetric", "round_prefer_ceil", 4, 2).is_err());
        assert!(check_mapping("half_pixel", "floor", 4, 2).is_err());
        assert!(check_mapping("tf_crop_and_resize", "floor", 4, 2).is_err());
    }
}
