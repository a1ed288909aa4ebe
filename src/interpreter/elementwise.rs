//! Elementwise ops: `df.add` and `df.mul` with NumPy broadcasting, and
//! `df.activation`.

use melior::ir::OperationRef;

use super::{
    Tensor,
    attributes::{f32_attr, i64_attr},
    tensor::format_shape,
};

/// Evaluates a `df.add` operation.
pub fn eval_add(_op: &OperationRef, operands: &[&Tensor]) -> Result<Tensor, String> {
    let [lhs, rhs] = operands else {
        return Err(format!("expects 2 operands, got {}", operands.len()));
    };
    broadcast(lhs, rhs, |a, b| a + b)
}

/// Evaluates a `df.mul` operation.
pub fn eval_mul(_op: &OperationRef, operands: &[&Tensor]) -> Result<Tensor, String> {
    let [lhs, rhs] = operands else {
        return Err(format!("expects 2 operands, got {}", operands.len()));
    };
    broadcast(lhs, rhs, |a, b| a * b)
}

/// The highest rank df tensors have.
const MAX_RANK: usize = 4;

/// `f(lhs, rhs)` elementwise, with NumPy broadcasting: shapes align at the
/// right, and a dimension of 1 repeats along the other operand's.
pub fn broadcast(
    lhs: &Tensor,
    rhs: &Tensor,
    f: impl Fn(f32, f32) -> f32,
) -> Result<Tensor, String> {
    if lhs.shape() == rhs.shape() {
        let data = lhs
            .data()
            .iter()
            .zip(rhs.data())
            .map(|(&a, &b)| f(a, b))
            .collect();
        return Tensor::new(lhs.shape().to_vec(), data);
    }
    let rank = lhs.shape().len().max(rhs.shape().len());
    if rank > MAX_RANK {
        return Err(format!(
            "broadcasting supports rank up to {MAX_RANK}, got {rank}"
        ));
    }
    // Both shapes padded to rank 4 with leading 1s, and strides that are 0
    // along broadcast dimensions.
    let padded = |shape: &[usize]| {
        let mut dims = [1; MAX_RANK];
        dims[MAX_RANK - shape.len()..].copy_from_slice(shape);
        dims
    };
    let (a, b) = (padded(lhs.shape()), padded(rhs.shape()));
    let mut out = [1; MAX_RANK];
    for d in 0..MAX_RANK {
        out[d] = match (a[d], b[d]) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => {
                return Err(format!(
                    "shapes {} and {} do not broadcast",
                    format_shape(lhs.shape()),
                    format_shape(rhs.shape())
                ));
            }
        };
    }
    let strides = |dims: [usize; MAX_RANK]| {
        let mut strides = [0; MAX_RANK];
        let mut step = 1;
        for d in (0..MAX_RANK).rev() {
            strides[d] = if dims[d] == 1 { 0 } else { step };
            step *= dims[d];
        }
        strides
    };
    let (sa, sb) = (strides(a), strides(b));
    let (da, db) = (lhs.data(), rhs.data());
    let mut data = Vec::with_capacity(out.iter().product());
    for i0 in 0..out[0] {
        for i1 in 0..out[1] {
            for i2 in 0..out[2] {
                let base_a = i0 * sa[0] + i1 * sa[1] + i2 * sa[2];
                let base_b = i0 * sb[0] + i1 * sb[1] + i2 * sb[2];
                data.extend(
                    (0..out[3]).map(|i3| f(da[base_a + i3 * sa[3]], db[base_b + i3 * sb[3]])),
                );
            }
        }
    }
    Tensor::new(out[MAX_RANK - rank..].to_vec(), data)
}

/// An activation function with its parameters, in the order of
/// `Df_ActivationKind`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    /// `max(0, x)`.
    Relu,
    /// `min(max, max(min, x))`.
    Clip {
        /// Lower bound.
        min: f32,
        /// Upper bound.
        max: f32,
    },
    /// `x` if `x >= 0`, else `alpha * x`.
    LeakyRelu {
        /// Slope for negative inputs.
        alpha: f32,
    },
    /// `1 / (1 + exp(-x))`.
    Sigmoid,
    /// Hyperbolic tangent.
    Tanh,
    /// `max(0, min(1, alpha * x + beta))`.
    HardSigmoid {
        /// Slope.
        alpha: f32,
        /// Offset.
        beta: f32,
    },
    /// `x * hard_sigmoid(x)` with alpha 1/6 and beta 1/2.
    HardSwish,
    /// `x * sigmoid(x)`.
    Silu,
}

impl Activation {
    /// Reads the kind and its attributes from a `df.activation`.
    pub fn from_op(op: &OperationRef) -> Result<Self, String> {
        Ok(match i64_attr(op, "kind")? {
            0 => Self::Relu,
            1 => Self::Clip {
                min: f32_attr(op, "min")?,
                max: f32_attr(op, "max")?,
            },
            2 => Self::LeakyRelu {
                alpha: f32_attr(op, "alpha")?,
            },
            3 => Self::Sigmoid,
            4 => Self::Tanh,
            5 => Self::HardSigmoid {
                alpha: f32_attr(op, "alpha")?,
                beta: f32_attr(op, "beta")?,
            },
            6 => Self::HardSwish,
            7 => Self::Silu,
            kind => return Err(format!("unknown activation kind {kind}")),
        })
    }

    /// The function at `x`.
    pub fn apply(self, x: f32) -> f32 {
        let sigmoid = |x: f32| 1.0 / (1.0 + (-x).exp());
        let hard_sigmoid = |x: f32, alpha: f32, beta: f32| (alpha * x + beta).clamp(0.0, 1.0);
        match self {
            Self::Relu => x.max(0.0),
            // Not f32::clamp: it panics on inverted bounds, which the
            // verifier rejects but a hand-built op might carry.
            Self::Clip { min, max } => x.max(min).min(max),
            Self::LeakyRelu { alpha } => {
                if x >= 0.0 {
                    x
                } else {
                    alpha * x
                }
            }
            Self::Sigmoid => sigmoid(x),
            Self::Tanh => x.tanh(),
            Self::HardSigmoid { alpha, beta } => hard_sigmoid(x, alpha, beta),
            Self::HardSwish => x * hard_sigmoid(x, 1.0 / 6.0, 0.5),
            Self::Silu => x * sigmoid(x),
        }
    }
}

/// Evaluates a `df.activation` operation.
pub fn eval_activation(op: &OperationRef, operands: &[&Tensor]) -> Result<Tensor, String> {
    let [input] = operands else {
        return Err(format!("expects 1 operand, got {}", operands.len()));
    };
    Ok(activation(input, Activation::from_op(op)?))
}

/// Applies `activation` to every element.
pub fn activation(input: &Tensor, activation: Activation) -> Tensor {
    let mut output = input.clone();
    for x in output.data_mut() {
        *x = activation.apply(*x);
    }
    output
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor(shape: &[usize], data: &[f32]) -> Tensor {
        Tensor::new(shape.to_vec(), data.to_vec()).unwrap()
    }

    #[test]
    fn per_channel_broadcast() {
        // NCHW 1x2x1x2 plus a 1x2x1x1 per-channel bias.
        let x = tensor(&[1, 2, 1, 2], &[1.0, 2.0, 3.0, 4.0]);
        let bias = tensor(&[1, 2, 1, 1], &[10.0, 20.0]);
        let sum = broadcast(&x, &bias, |a, b| a + b).unwrap();
        assert_eq!(sum.shape(), &[1, 2, 1, 2]);
        assert_eq!(sum.data(), &[11.0, 12.0, 23.0, 24.0]);
    }

    #[test]
    fn lower_rank_operand_aligns_right() {
        // [2, 3] * [3]: the vector repeats along rows; and [2, 1] * [3]
        // broadcasts both ways to [2, 3].
        let m = tensor(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let v = tensor(&[3], &[1.0, 10.0, 100.0]);
        let product = broadcast(&m, &v, |a, b| a * b).unwrap();
        assert_eq!(product.data(), &[1.0, 20.0, 300.0, 4.0, 50.0, 600.0]);
        let column = tensor(&[2, 1], &[1.0, 2.0]);
        let outer = broadcast(&column, &v, |a, b| a * b).unwrap();
        assert_eq!(outer.shape(), &[2, 3]);
        assert_eq!(outer.data(), &[1.0, 10.0, 100.0, 2.0, 20.0, 200.0]);
    }

    #[test]
    fn incompatible_shapes_are_errors() {
        let error = broadcast(
            &tensor(&[2, 3], &[0.0; 6]),
            &tensor(&[2], &[0.0; 2]),
            |a, b| a + b,
        )
        .unwrap_err();
        assert_eq!(error, "shapes [2, 3] and [2] do not broadcast");
    }

    #[test]
    fn activations_at_hand_computed_points() {
        let close = |a: f32, b: f32| (a - b).abs() < 1e-6;
        assert_eq!(Activation::Relu.apply(-2.0), 0.0);
        assert_eq!(Activation::Relu.apply(3.0), 3.0);
        let relu6 = Activation::Clip { min: 0.0, max: 6.0 };
        assert_eq!(relu6.apply(7.5), 6.0);
        assert_eq!(relu6.apply(-1.0), 0.0);
        assert_eq!(Activation::LeakyRelu { alpha: 0.1 }.apply(-2.0), -0.2);
        assert!(close(Activation::Sigmoid.apply(0.0), 0.5));
        // sigmoid(2) = 0.880797.
        assert!(close(Activation::Sigmoid.apply(2.0), 0.880_797_1));
        assert!(close(Activation::Tanh.apply(1.0), 0.761_594_2));
        let hard_sigmoid = Activation::HardSigmoid {
            alpha: 0.2,
            beta: 0.5,
        };
        assert!(close(hard_sigmoid.apply(1.0), 0.7));
        assert_eq!(hard_sigmoid.apply(5.0), 1.0);
        assert_eq!(hard_sigmoid.apply(-5.0), 0.0);
        // hard_swish(1) = 1 * (1/6 + 1/2) = 2/3; hard_swish(4) = 4.
        assert!(close(Activation::HardSwish.apply(1.0), 2.0 / 3.0));
        assert_eq!(Activation::HardSwish.apply(4.0), 4.0);
        assert_eq!(Activation::HardSwish.apply(-3.0), 0.0);
        // silu(1) = 1 / (1 + e^-1) = 0.731059.
        assert!(close(Activation::Silu.apply(1.0), 0.731_058_6));
    }
}
