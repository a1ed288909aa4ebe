//! Normalisations: `df.batch_norm`, `df.fold_batch_norm` (the parameter-time
//! fold the canonicaliser introduces) and `df.softmax`.

use melior::ir::OperationRef;

use super::{
    Tensor,
    attributes::{f32_attr, i64_attr},
    tensor::format_shape,
};

/// The per-channel statistics of a batch normalisation.
#[derive(Clone, Copy, Debug)]
pub struct BatchNormParams<'a> {
    /// Multiplier (gamma).
    pub scale: &'a Tensor,
    /// Addend (beta).
    pub offset: &'a Tensor,
    /// Running mean.
    pub mean: &'a Tensor,
    /// Running variance.
    pub variance: &'a Tensor,
    /// Added to the variance before the square root.
    pub epsilon: f32,
}

impl BatchNormParams<'_> {
    fn check(&self, channels: usize) -> Result<(), String> {
        for (name, vector) in [
            ("scale", self.scale),
            ("offset", self.offset),
            ("mean", self.mean),
            ("variance", self.variance),
        ] {
            if vector.shape() != [channels] {
                return Err(format!(
                    "{name} of shape {} is not a vector of {channels} per-channel values",
                    format_shape(vector.shape())
                ));
            }
        }
        Ok(())
    }

    /// `sqrt(variance[c] + epsilon)`.
    fn deviation(&self, channel: usize) -> f32 {
        (self.variance.data()[channel] + self.epsilon).sqrt()
    }
}

fn batch_norm_params<'a>(
    op: &OperationRef,
    operands: &[&'a Tensor; 4],
) -> Result<BatchNormParams<'a>, String> {
    let [scale, offset, mean, variance] = *operands;
    Ok(BatchNormParams {
        scale,
        offset,
        mean,
        variance,
        epsilon: f32_attr(op, "epsilon")?,
    })
}

/// Evaluates a `df.batch_norm` operation.
pub fn eval_batch_norm(op: &OperationRef, operands: &[&Tensor]) -> Result<Tensor, String> {
    let [input, scale, offset, mean, variance] = operands else {
        return Err(format!("expects 5 operands, got {}", operands.len()));
    };
    batch_norm(
        input,
        &batch_norm_params(op, &[scale, offset, mean, variance])?,
    )
}

/// `(x - mean[c]) / sqrt(variance[c] + epsilon) * scale[c] + offset[c]`.
pub fn batch_norm(input: &Tensor, params: &BatchNormParams) -> Result<Tensor, String> {
    let [_, channels, height, width] = input.dims4("the input")?;
    params.check(channels)?;
    let mut output = input.clone();
    if height * width == 0 {
        return Ok(output);
    }
    for (index, plane) in output
        .data_mut()
        .chunks_exact_mut(height * width)
        .enumerate()
    {
        let c = index % channels;
        let (mean, deviation) = (params.mean.data()[c], params.deviation(c));
        let (scale, offset) = (params.scale.data()[c], params.offset.data()[c]);
        for x in plane {
            *x = (*x - mean) / deviation * scale + offset;
        }
    }
    Ok(output)
}

/// Evaluates a `df.fold_batch_norm` operation: returns the new filter and
/// the new bias.
pub fn eval_fold_batch_norm(
    op: &OperationRef,
    operands: &[&Tensor],
) -> Result<Vec<Tensor>, String> {
    let (filter, bias, rest) = match operands {
        [filter, scale, offset, mean, variance] => {
            (*filter, None, [*scale, *offset, *mean, *variance])
        }
        [filter, bias, scale, offset, mean, variance] => {
            (*filter, Some(*bias), [*scale, *offset, *mean, *variance])
        }
        _ => return Err(format!("expects 5 or 6 operands, got {}", operands.len())),
    };
    let (filter, bias) = fold_batch_norm(filter, bias, &batch_norm_params(op, &rest)?)?;
    Ok(vec![filter, bias])
}

/// With `s = scale[o] / sqrt(variance[o] + epsilon)`: `filter'[o] = filter[o]
/// * s` and `bias'[o] = (bias[o] - mean[o]) * s + offset[o]`.
pub fn fold_batch_norm(
    filter: &Tensor,
    bias: Option<&Tensor>,
    params: &BatchNormParams,
) -> Result<(Tensor, Tensor), String> {
    let [out_channels, ..] = filter.dims4("the filter")?;
    params.check(out_channels)?;
    if let Some(bias) = bias
        && bias.shape() != [out_channels]
    {
        return Err(format!(
            "bias of shape {} is not a vector of {out_channels} per-channel values",
            format_shape(bias.shape())
        ));
    }
    let factor = |o: usize| params.scale.data()[o] / params.deviation(o);
    let mut new_filter = filter.clone();
    let per_channel = filter.len() / out_channels.max(1);
    if per_channel > 0 {
        for (o, weights) in new_filter
            .data_mut()
            .chunks_exact_mut(per_channel)
            .enumerate()
        {
            let s = factor(o);
            weights.iter_mut().for_each(|w| *w *= s);
        }
    }
    let new_bias = Tensor::from_fn(vec![out_channels], |o| {
        let b = bias.map_or(0.0, |b| b.data()[o]);
        (b - params.mean.data()[o]) * factor(o) + params.offset.data()[o]
    });
    Ok((new_filter, new_bias))
}

/// Evaluates a `df.softmax` operation.
pub fn eval_softmax(op: &OperationRef, operands: &[&Tensor]) -> Result<Tensor, String> {
    let [input] = operands else {
        return Err(format!("expects 1 operand, got {}", operands.len()));
    };
    let axis = i64_attr(op, "axis")?;
    let axis = usize::try_from(axis).map_err(|_| format!("axis {axis} is negative"))?;
    softmax(input, axis)
}

/// `exp(x - max) / sum(exp(x - max))` along `axis` (the max keeps large
/// logits finite).
pub fn softmax(input: &Tensor, axis: usize) -> Result<Tensor, String> {
    let shape = input.shape();
    if axis >= shape.len() {
        return Err(format!(
            "axis {axis} is out of range for shape {}",
            format_shape(shape)
        ));
    }
    let length = shape[axis];
    let inner: usize = shape[axis + 1..].iter().product();
    let mut output = input.clone();
    if length * inner == 0 {
        return Ok(output);
    }
    for block in output.data_mut().chunks_exact_mut(length * inner) {
        for i in 0..inner {
            let max = (0..length).fold(f32::NEG_INFINITY, |m, k| m.max(block[k * inner + i]));
            let mut sum = 0.0;
            for k in 0..length {
                let e = (block[k * inner + i] - max).exp();
                block[k * inner + i] = e;
                sum += e;
            }
            for k in 0..length {
                block[k * inner + i] /= sum;
            }
        }
    }
    Ok(output)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector(data: &[f32]) -> Tensor {
        Tensor::new(vec![data.len()], data.to_vec()).unwrap()
    }

    #[test]
    fn batch_norm_by_hand() {
        // Channel 0: (x - 1) / sqrt(3 + 1) * 2 + 0.5; channel 1: identity.
        let input = Tensor::new(vec![1, 2, 1, 2], vec![1.0, 5.0, 7.0, -7.0]).unwrap();
        let (scale, offset) = (vector(&[2.0, 1.0]), vector(&[0.5, 0.0]));
        let (mean, variance) = (vector(&[1.0, 0.0]), vector(&[3.0, 0.0]));
        let params = BatchNormParams {
            scale: &scale,
            offset: &offset,
            mean: &mean,
            variance: &variance,
            epsilon: 1.0,
        };
        let out = batch_norm(&input, &params).unwrap();
        // 0 / 2 * 2 + 0.5 = 0.5; 4 / 2 * 2 + 0.5 = 4.5; then x / sqrt(1).
        assert_eq!(out.data(), &[0.5, 4.5, 7.0, -7.0]);
    }

    #[test]
    fn folding_matches_the_formula() {
        let filter = Tensor::new(vec![2, 1, 1, 2], vec![1.0, 2.0, 3.0, 4.0]).unwrap();
        let bias = vector(&[1.0, -1.0]);
        let (scale, offset) = (vector(&[2.0, 1.0]), vector(&[0.5, 0.0]));
        let (mean, variance) = (vector(&[1.0, 0.0]), vector(&[3.0, 0.0]));
        let params = BatchNormParams {
            scale: &scale,
            offset: &offset,
            mean: &mean,
            variance: &variance,
            epsilon: 1.0,
        };
        // s0 = 2 / sqrt(3 + 1) = 1 and s1 = 1 / sqrt(0 + 1) = 1, so only the
        // bias moves: b0 = (1 - 1) * 1 + 0.5 = 0.5, b1 = (-1 - 0) * 1 + 0 = -1.
        let (new_filter, new_bias) = fold_batch_norm(&filter, Some(&bias), &params).unwrap();
        assert_eq!(new_filter.data(), filter.data());
        assert_eq!(new_bias.data(), &[0.5, -1.0]);
        // Scale 4 on channel 0 doubles its weights (s0 = 4 / 2 = 2), and
        // without a bias b0 = (0 - 1) * 2 + 0.5 = -1.5.
        let scale = vector(&[4.0, 1.0]);
        let params = BatchNormParams {
            scale: &scale,
            ..params
        };
        let (new_filter, new_bias) = fold_batch_norm(&filter, None, &params).unwrap();
        assert_eq!(new_filter.data(), &[2.0, 4.0, 3.0, 4.0]);
        assert_eq!(new_bias.data(), &[-1.5, 0.0]);
    }

    #[test]
    fn softmax_rows_and_columns() {
        // Row [0, ln 3]: exp gives [1, 3], so [0.25, 0.75].
        let x = Tensor::new(vec![2, 2], vec![0.0, 3f32.ln(), 1000.0, 1000.0]).unwrap();
        let rows = softmax(&x, 1).unwrap();
        let expected = [0.25, 0.75, 0.5, 0.5];
        for (a, b) in rows.data().iter().zip(expected) {
            assert!((a - b).abs() < 1e-6, "{rows:?}");
        }
        // Along axis 0: columns [0, 1000] and [ln 3, 1000].
        let columns = softmax(&x, 0).unwrap();
        assert!(columns.data()[0] < 1e-30 && (columns.data()[2] - 1.0).abs() < 1e-6);
        assert!(softmax(&x, 2).is_err());
    }
}
