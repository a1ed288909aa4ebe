//! Data-movement ops: `df.concat`, `df.reshape`, `df.flatten`, `df.pad` and
//! `df.resize`.

use melior::ir::OperationRef;

use super::{
    Tensor,
    attributes::{f32_attr, i64_array, i64_attr, result_shape, usize_array},
    tensor::{element_count, format_shape},
};

fn axis_attr(op: &OperationRef) -> Result<usize, String> {
    let axis = i64_attr(op, "axis")?;
    usize::try_from(axis).map_err(|_| format!("axis {axis} is negative"))
}

/// Evaluates a `df.concat` operation.
pub fn eval_concat(op: &OperationRef, operands: &[&Tensor]) -> Result<Tensor, String> {
    concat(operands, axis_attr(op)?)
}

/// Joins `inputs` along `axis`; every other dimension must agree.
pub fn concat(inputs: &[&Tensor], axis: usize) -> Result<Tensor, String> {
    let Some(first) = inputs.first() else {
        return Err("needs at least one input".into());
    };
    let rank = first.shape().len();
    if axis >= rank {
        return Err(format!("axis {axis} is out of range for rank {rank}"));
    }
    let mut shape = first.shape().to_vec();
    shape[axis] = 0;
    for (i, input) in inputs.iter().enumerate() {
        let s = input.shape();
        let agrees = s.len() == rank && (0..rank).all(|d| d == axis || s[d] == first.shape()[d]);
        if !agrees {
            return Err(format!(
                "input #{i} of shape {} does not match {} outside axis {axis}",
                format_shape(s),
                format_shape(first.shape())
            ));
        }
        shape[axis] += s[axis];
    }
    // Each input contributes a contiguous run of `dim[axis] * inner` elements
    // per outer index.
    let outer: usize = shape[..axis].iter().product();
    let inner: usize = shape[axis + 1..].iter().product();
    let mut data = Vec::with_capacity(element_count(&shape));
    for o in 0..outer {
        for input in inputs {
            let run = input.shape()[axis] * inner;
            data.extend_from_slice(&input.data()[o * run..][..run]);
        }
    }
    Tensor::new(shape, data)
}

/// Evaluates a `df.reshape` operation: the result type gives the shape.
pub fn eval_reshape(op: &OperationRef, operands: &[&Tensor]) -> Result<Tensor, String> {
    let [input] = operands else {
        return Err(format!("expects 1 operand, got {}", operands.len()));
    };
    reshape(input, result_shape(op, 0)?)
}

/// The same elements under `shape`.
pub fn reshape(input: &Tensor, shape: Vec<usize>) -> Result<Tensor, String> {
    if element_count(&shape) != input.len() {
        return Err(format!(
            "cannot reshape {} elements into {}",
            input.len(),
            format_shape(&shape)
        ));
    }
    (*input).clone().reshaped(shape)
}

/// Evaluates a `df.flatten` operation.
pub fn eval_flatten(op: &OperationRef, operands: &[&Tensor]) -> Result<Tensor, String> {
    let [input] = operands else {
        return Err(format!("expects 1 operand, got {}", operands.len()));
    };
    flatten(input, axis_attr(op)?)
}

/// Flattens to 2-D: the dimensions before `axis`, and from `axis` on.
pub fn flatten(input: &Tensor, axis: usize) -> Result<Tensor, String> {
    let shape = input.shape();
    if axis > shape.len() {
        return Err(format!(
            "axis {axis} is out of range for rank {}",
            shape.len()
        ));
    }
    let outer = shape[..axis].iter().product();
    let inner = shape[axis..].iter().product();
    reshape(input, vec![outer, inner])
}

/// Evaluates a `df.pad` operation.
pub fn eval_pad(op: &OperationRef, operands: &[&Tensor]) -> Result<Tensor, String> {
    let [input] = operands else {
        return Err(format!("expects 1 operand, got {}", operands.len()));
    };
    let pads = i64_array(op, "pads")?
        .into_iter()
        .map(|p| usize::try_from(p).map_err(|_| format!("padding {p} is negative")))
        .collect::<Result<Vec<_>, _>>()?;
    pad(input, &pads, f32_attr(op, "value")?)
}

/// Pads with `value`: `pads` holds every dimension's begin padding, then
/// every end padding (ONNX order).
pub fn pad(input: &Tensor, pads: &[usize], value: f32) -> Result<Tensor, String> {
    let in_shape = input.shape();
    let rank = in_shape.len();
    if pads.len() != 2 * rank {
        return Err(format!(
            "'pads' must have {} values for rank {rank}, got {}",
            2 * rank,
            pads.len()
        ));
    }
    let out_shape: Vec<usize> = (0..rank)
        .map(|d| in_shape[d] + pads[d] + pads[rank + d])
        .collect();
    let mut output = Tensor::from_fn(out_shape.clone(), |_| value);
    if input.is_empty() {
        return Ok(output);
    }
    // Copy the input row by row (the last dimension is contiguous in both).
    let row = in_shape[rank - 1];
    let out_strides = strides(&out_shape);
    for (r, chunk) in input.data().chunks_exact(row).enumerate() {
        // Multi-index of the row's first element in the input, shifted by
        // the begin paddings.
        let mut remainder = r;
        let mut offset = pads[rank - 1];
        for d in (0..rank - 1).rev() {
            let index = remainder % in_shape[d];
            remainder /= in_shape[d];
            offset += (index + pads[d]) * out_strides[d];
        }
        output.data_mut()[offset..offset + row].copy_from_slice(chunk);
    }
    Ok(output)
}

/// Row-major strides of `shape`.
fn strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![1; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        strides[d] = strides[d + 1] * shape[d + 1];
    }
    strides
}

/// Evaluates a `df.resize` operation.
pub fn eval_resize(op: &OperationRef, operands: &[&Tensor]) -> Result<Tensor, String> {
    let [input] = operands else {
        return Err(format!("expects 1 operand, got {}", operands.len()));
    };
    resize(input, usize_array(op, "scales")?)
}

/// Nearest-neighbour upsampling: output `(h, w)` copies input `(h / sh, w /
/// sw)`.
pub fn resize(input: &Tensor, [scale_h, scale_w]: [usize; 2]) -> Result<Tensor, String> {
    let [batch, channels, height, width] = input.dims4("the input")?;
    if scale_h == 0 || scale_w == 0 {
        return Err("scales must be at least 1".into());
    }
    let (out_h, out_w) = (height * scale_h, width * scale_w);
    let mut data = Vec::with_capacity(batch * channels * out_h * out_w);
    for plane in input.data().chunks_exact((height * width).max(1)) {
        for y in 0..out_h {
            let row = &plane[(y / scale_h) * width..][..width];
            data.extend((0..out_w).map(|x| row[x / scale_w]));
        }
    }
    Tensor::new(vec![batch, channels, out_h, out_w], data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(shape: &[usize]) -> Tensor {
        Tensor::from_fn(shape.to_vec(), |i| (i + 1) as f32)
    }

    #[test]
    fn concat_along_channels_and_rows() {
        let a = ramp(&[1, 1, 1, 2]);
        let b = Tensor::from_fn(vec![1, 2, 1, 2], |i| 10.0 + i as f32);
        let out = concat(&[&a, &b], 1).unwrap();
        assert_eq!(out.shape(), &[1, 3, 1, 2]);
        assert_eq!(out.data(), &[1.0, 2.0, 10.0, 11.0, 12.0, 13.0]);
        // Along the last axis the inputs interleave row by row.
        let c = ramp(&[2, 1]);
        let d = Tensor::from_fn(vec![2, 2], |i| 10.0 + i as f32);
        let out = concat(&[&c, &d], 1).unwrap();
        assert_eq!(out.data(), &[1.0, 10.0, 11.0, 2.0, 12.0, 13.0]);
        assert!(concat(&[&a, &c], 1).is_err());
    }

    #[test]
    fn flatten_and_reshape_keep_the_order() {
        let x = ramp(&[1, 2, 2, 2]);
        let flat = flatten(&x, 1).unwrap();
        assert_eq!(flat.shape(), &[1, 8]);
        assert_eq!(flat.data(), x.data());
        assert_eq!(flatten(&x, 0).unwrap().shape(), &[1, 8]);
        assert_eq!(flatten(&x, 4).unwrap().shape(), &[8, 1]);
        assert_eq!(reshape(&x, vec![4, 2]).unwrap().shape(), &[4, 2]);
        assert!(reshape(&x, vec![3, 3]).is_err());
    }

    #[test]
    fn pad_puts_the_input_inside_the_border() {
        // 2x2 [1 2; 3 4] padded top 1, left 0, bottom 0, right 1 with -1.
        let x = ramp(&[2, 2]);
        let out = pad(&x, &[1, 0, 0, 1], -1.0).unwrap();
        assert_eq!(out.shape(), &[3, 3]);
        assert_eq!(
            out.data(),
            &[-1.0, -1.0, -1.0, 1.0, 2.0, -1.0, 3.0, 4.0, -1.0]
        );
        // NCHW spatial padding by one on every side.
        let y = pad(&ramp(&[1, 1, 1, 1]), &[0, 0, 1, 1, 0, 0, 1, 1], 0.0).unwrap();
        assert_eq!(y.shape(), &[1, 1, 3, 3]);
        assert_eq!(y.data(), &[0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn nearest_resize_repeats_pixels() {
        let x = ramp(&[1, 1, 2, 2]);
        let out = resize(&x, [2, 3]).unwrap();
        assert_eq!(out.shape(), &[1, 1, 4, 6]);
        assert_eq!(
            &out.data()[..12],
            &[1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0]
        );
        assert_eq!(&out.data()[12..15], &[3.0, 3.0, 3.0]);
    }
}
