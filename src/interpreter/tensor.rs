//! A dense f32 tensor in row-major (NCHW for 4-D) order: the value type of
//! the reference interpreter and of parameter files.

use std::fmt;

/// A dense, row-major f32 tensor.
#[derive(Clone, PartialEq)]
pub struct Tensor {
    shape: Vec<usize>,
    data: Vec<f32>,
}

impl Tensor {
    /// A tensor of `shape` holding `data`; fails when the lengths disagree.
    pub fn new(shape: Vec<usize>, data: Vec<f32>) -> Result<Self, String> {
        let expected = element_count(&shape);
        if expected != data.len() {
            return Err(format!(
                "a tensor of shape {} needs {expected} elements, got {}",
                format_shape(&shape),
                data.len()
            ));
        }
        Ok(Self { shape, data })
    }

    /// A tensor of `shape` filled with zeros.
    pub fn zeros(shape: Vec<usize>) -> Self {
        let data = vec![0.0; element_count(&shape)];
        Self { shape, data }
    }

    /// A tensor of `shape` whose elements are `f(index)` in row-major order.
    pub fn from_fn(shape: Vec<usize>, f: impl FnMut(usize) -> f32) -> Self {
        let data = (0..element_count(&shape)).map(f).collect();
        Self { shape, data }
    }

    /// The dimensions.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The elements in row-major order.
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    /// The elements in row-major order, mutable.
    pub fn data_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }

    /// The elements, consuming the tensor.
    pub fn into_data(self) -> Vec<f32> {
        self.data
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The same elements under another shape with as many elements.
    pub fn reshaped(self, shape: Vec<usize>) -> Result<Self, String> {
        Self::new(shape, self.data)
    }

    /// The four dimensions of an NCHW tensor, or an error naming `what`.
    pub fn dims4(&self, what: &str) -> Result<[usize; 4], String> {
        match self.shape[..] {
            [n, c, h, w] => Ok([n, c, h, w]),
            _ => Err(format!(
                "{what} must be a 4-D (NCHW) tensor, got shape {}",
                format_shape(&self.shape)
            )),
        }
    }
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Whole weight tensors are unreadable in test failures: show the
        // shape and the first few elements.
        const SHOWN: usize = 16;
        write!(f, "Tensor{} {:?}", format_shape(&self.shape), {
            &self.data[..self.data.len().min(SHOWN)]
        })?;
        if self.data.len() > SHOWN {
            write!(f, " ...")?;
        }
        Ok(())
    }
}

/// The number of elements of a tensor of `shape`.
pub fn element_count(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// `[1, 3, 224, 224]`, for messages.
pub fn format_shape(shape: &[usize]) -> String {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    format!("[{}]", dims.join(", "))
}

/// `tensor<1x3x224x224xf32>`, the MLIR spelling of an f32 tensor type.
pub fn tensor_type(shape: &[usize]) -> String {
    let mut text = String::from("tensor<");
    for dim in shape {
        text.push_str(&dim.to_string());
        text.push('x');
    }
    text.push_str("f32>");
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_checks_the_element_count() {
        assert!(Tensor::new(vec![2, 3], vec![0.0; 6]).is_ok());
        let error = Tensor::new(vec![2, 3], vec![0.0; 5]).unwrap_err();
        assert_eq!(error, "a tensor of shape [2, 3] needs 6 elements, got 5");
    }

    #[test]
    fn spells_types_and_shapes() {
        assert_eq!(tensor_type(&[1, 3, 8, 8]), "tensor<1x3x8x8xf32>");
        assert_eq!(format_shape(&[10]), "[10]");
    }
}
