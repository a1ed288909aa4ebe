//! Sliding-window output sizes, with exactly the formula of the df verifiers
//! (`dialects/cpp/DfVerifiers.cpp`, `expectWindowDim`), shared by the
//! interpreter and the zoo's shape tracking so that neither can disagree
//! with the IR.

/// The geometry of a window along one spatial dimension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Kernel extent (before dilation).
    pub kernel: usize,
    /// Step between windows.
    pub stride: usize,
    /// Padding before the first element.
    pub pad_begin: usize,
    /// Padding after the last element.
    pub pad_end: usize,
    /// Spacing between kernel taps.
    pub dilation: usize,
    /// Round the output size up (pooling only).
    pub ceil_mode: bool,
}

impl Window {
    /// A window of `kernel` with `stride` and symmetric `pad`, no dilation.
    pub fn new(kernel: usize, stride: usize, pad: usize) -> Self {
        Self {
            kernel,
            stride,
            pad_begin: pad,
            pad_end: pad,
            dilation: 1,
            ceil_mode: false,
        }
    }

    /// The extent the window covers, dilation included.
    pub fn span(&self) -> usize {
        self.dilation * (self.kernel - 1) + 1
    }

    /// The output size for an input of `input` elements, or why the window
    /// does not fit.
    pub fn output_size(&self, input: usize) -> Result<usize, String> {
        if self.kernel == 0 || self.stride == 0 || self.dilation == 0 {
            return Err(format!(
                "kernel {}, stride {} and dilation {} must all be at least 1",
                self.kernel, self.stride, self.dilation
            ));
        }
        let padded = input + self.pad_begin + self.pad_end;
        let window = self.span();
        if padded < window {
            return Err(format!(
                "window of {window} does not fit the padded input {padded} (input {input}, padding {}+{})",
                self.pad_begin, self.pad_end
            ));
        }
        let span = padded - window;
        let mut size = if self.ceil_mode {
            span.div_ceil(self.stride)
        } else {
            span / self.stride
        } + 1;
        // A window that starts in the end padding is dropped, as in PyTorch
        // and ONNX opset 19+.
        if self.ceil_mode && (size - 1) * self.stride >= input + self.pad_begin {
            size -= 1;
        }
        Ok(size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floor_mode_sizes() {
        // ResNet stem: 224, kernel 7, stride 2, padding 3 -> 112.
        assert_eq!(Window::new(7, 2, 3).output_size(224), Ok(112));
        // Its max pool: 112, kernel 3, stride 2, padding 1 -> 56.
        assert_eq!(Window::new(3, 2, 1).output_size(112), Ok(56));
        // Inception v3 stem: 299, kernel 3, stride 2 -> 149.
        assert_eq!(Window::new(3, 2, 0).output_size(299), Ok(149));
    }

    #[test]
    fn ceil_mode_sizes() {
        let ceil = |kernel, stride, pad| Window {
            ceil_mode: true,
            ..Window::new(kernel, stride, pad)
        };
        // GoogLeNet: 112 -> 56 with kernel 3 stride 2 ceil mode (floor: 55).
        assert_eq!(ceil(3, 2, 0).output_size(112), Ok(56));
        assert_eq!(Window::new(3, 2, 0).output_size(112), Ok(55));
        // 14, kernel 2, stride 2: exact either way.
        assert_eq!(ceil(2, 2, 0).output_size(14), Ok(7));
        // 5 with padding 1, kernel 2, stride 2: ceil gives 4 windows, but the
        // last would start at 6 >= 5 + 1 (in the end padding): dropped.
        assert_eq!(ceil(2, 2, 1).output_size(5), Ok(3));
    }

    #[test]
    fn dilation_widens_the_window() {
        let window = Window {
            dilation: 2,
            ..Window::new(3, 1, 0)
        };
        assert_eq!(window.span(), 5);
        assert_eq!(window.output_size(8), Ok(4));
    }

    #[test]
    fn too_small_inputs_are_errors() {
        let error = Window::new(7, 1, 0).output_size(4).unwrap_err();
        assert_eq!(
            error,
            "window of 7 does not fit the padded input 4 (input 4, padding 0+0)"
        );
    }
}
