//! `df.matmul`: `op(lhs) x op(rhs) + bias`, the fully connected layer.

use melior::ir::OperationRef;

use super::{Tensor, attributes::flag, elementwise::broadcast, tensor::format_shape};

/// Which operands a `df.matmul` transposes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MatMulAttrs {
    /// Use the transpose of the left operand.
    pub transpose_lhs: bool,
    /// Use the transpose of the right operand.
    pub transpose_rhs: bool,
}

/// Evaluates a `df.matmul` operation.
pub fn eval_matmul(op: &OperationRef, operands: &[&Tensor]) -> Result<Tensor, String> {
    let attrs = MatMulAttrs {
        transpose_lhs: flag(op, "transpose_lhs"),
        transpose_rhs: flag(op, "transpose_rhs"),
    };
    match operands {
        [lhs, rhs] => matmul(lhs, rhs, None, attrs),
        [lhs, rhs, bias] => matmul(lhs, rhs, Some(bias), attrs),
        _ => Err(format!("expects 2 or 3 operands, got {}", operands.len())),
    }
}

fn dims2(tensor: &Tensor, what: &str) -> Result<[usize; 2], String> {
    match tensor.shape() {
        &[rows, columns] => Ok([rows, columns]),
        shape => Err(format!(
            "{what} must be a matrix, got shape {}",
            format_shape(shape)
        )),
    }
}

/// The transpose of a row-major `rows x columns` matrix.
fn transpose(data: &[f32], rows: usize, columns: usize) -> Vec<f32> {
    let mut out = vec![0.0; data.len()];
    for r in 0..rows {
        for c in 0..columns {
            out[c * rows + r] = data[r * columns + c];
        }
    }
    out
}

/// `op(lhs) x op(rhs)`, plus `bias` broadcast to the output.
pub fn matmul(
    lhs: &Tensor,
    rhs: &Tensor,
    bias: Option<&Tensor>,
    attrs: MatMulAttrs,
) -> Result<Tensor, String> {
    let [a0, a1] = dims2(lhs, "lhs")?;
    let [b0, b1] = dims2(rhs, "rhs")?;
    let (m, k) = if attrs.transpose_lhs {
        (a1, a0)
    } else {
        (a0, a1)
    };
    let (k_rhs, n) = if attrs.transpose_rhs {
        (b1, b0)
    } else {
        (b0, b1)
    };
    if k != k_rhs {
        return Err(format!(
            "contraction sizes differ: lhs has {k}, rhs has {k_rhs}"
        ));
    }
    // Row-major op(lhs) (m x k) and op(rhs)^T (n x k), so that every output
    // element is a dot product of two contiguous rows.
    let left = if attrs.transpose_lhs {
        std::borrow::Cow::Owned(transpose(lhs.data(), a0, a1))
    } else {
        std::borrow::Cow::Borrowed(lhs.data())
    };
    let right = if attrs.transpose_rhs {
        std::borrow::Cow::Borrowed(rhs.data())
    } else {
        std::borrow::Cow::Owned(transpose(rhs.data(), b0, b1))
    };
    let mut data = Vec::with_capacity(m * n);
    for i in 0..m {
        let row = &left[i * k..][..k];
        for j in 0..n {
            let column = &right[j * k..][..k];
            data.push(row.iter().zip(column).map(|(a, b)| a * b).sum::<f32>());
        }
    }
    let product = Tensor::new(vec![m, n], data)?;
    match bias {
        None => Ok(product),
        Some(bias) => {
            let sum = broadcast(&product, bias, |a, b| a + b)?;
            if sum.shape() != product.shape() {
                return Err(format!(
                    "bias of shape {} does not broadcast to the output {}",
                    format_shape(bias.shape()),
                    format_shape(product.shape())
                ));
            }
            Ok(sum)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor(shape: &[usize], data: &[f32]) -> Tensor {
        Tensor::new(shape.to_vec(), data.to_vec()).unwrap()
    }

    #[test]
    fn plain_product() {
        // [1 2; 3 4] x [5 6; 7 8] = [19 22; 43 50].
        let a = tensor(&[2, 2], &[1.0, 2.0, 3.0, 4.0]);
        let b = tensor(&[2, 2], &[5.0, 6.0, 7.0, 8.0]);
        let out = matmul(&a, &b, None, MatMulAttrs::default()).unwrap();
        assert_eq!(out.data(), &[19.0, 22.0, 43.0, 50.0]);
    }

    #[test]
    fn fully_connected_with_transposed_weights_and_bias() {
        // x (1x3) times W^T, W 2x3 (torch's Linear layout), plus bias.
        let x = tensor(&[1, 3], &[1.0, 2.0, 3.0]);
        let w = tensor(&[2, 3], &[1.0, 0.0, -1.0, 0.5, 0.5, 0.5]);
        let b = tensor(&[2], &[10.0, 20.0]);
        let attrs = MatMulAttrs {
            transpose_rhs: true,
            ..Default::default()
        };
        let out = matmul(&x, &w, Some(&b), attrs).unwrap();
        assert_eq!(out.shape(), &[1, 2]);
        // 1 - 3 + 10 = 8; 0.5 + 1 + 1.5 + 20 = 23.
        assert_eq!(out.data(), &[8.0, 23.0]);
    }

    #[test]
    fn transposed_lhs_and_column_bias() {
        // lhs stored 3x2 is used as its 2x3 transpose [1 3 5; 2 4 6];
        // rhs 3x1 is [1; 1; 1]; a 2x1 bias adds per row.
        let a = tensor(&[3, 2], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let b = tensor(&[3, 1], &[1.0, 1.0, 1.0]);
        let bias = tensor(&[2, 1], &[100.0, 200.0]);
        let attrs = MatMulAttrs {
            transpose_lhs: true,
            ..Default::default()
        };
        let out = matmul(&a, &b, Some(&bias), attrs).unwrap();
        assert_eq!(out.data(), &[109.0, 212.0]);
    }

    #[test]
    fn mismatched_contraction_is_an_error() {
        let a = tensor(&[1, 3], &[0.0; 3]);
        let b = tensor(&[2, 2], &[0.0; 4]);
        let error = matmul(&a, &b, None, MatMulAttrs::default()).unwrap_err();
        assert_eq!(error, "contraction sizes differ: lhs has 3, rhs has 2");
    }
}
