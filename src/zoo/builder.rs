//! A network builder: appends df ops as text, tracks every tensor's shape
//! with the verifiers' formulas, names parameters the way torchvision's
//! state dicts do (`layer1.0.conv1.weight`), and counts parameters and
//! multiply-accumulates.

use std::{collections::HashSet, fmt::Write};

use indexmap::IndexMap;

use crate::interpreter::{
    tensor::{element_count, tensor_type},
    window::Window,
};

use super::weights::ParamInit;

/// A tensor value of the network being built: its SSA name and its shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Value {
    name: String,
    shape: Vec<usize>,
}

impl Value {
    /// The dimensions.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The channel dimension of an NCHW value.
    pub fn channels(&self) -> usize {
        self.shape.get(1).copied().unwrap_or(1)
    }

    /// The MLIR type.
    fn r#type(&self) -> String {
        tensor_type(&self.shape)
    }
}

/// A network parameter: its state-dict name, shape, and how to initialise it.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamSpec {
    /// The state-dict name, such as `layer1.0.bn1.running_var`.
    pub name: String,
    /// The dimensions.
    pub shape: Vec<usize>,
    /// The distribution of its seeded values.
    pub init: ParamInit,
    /// Whether it is a trained parameter (counted in the parameter count),
    /// not a buffer such as a batch norm's running statistics.
    pub trainable: bool,
}

/// A finished network: df IR text, its parameters and its cost.
#[derive(Clone, Debug)]
pub struct Network {
    /// The function name.
    pub name: String,
    /// The input shape (NCHW).
    pub input_shape: Vec<usize>,
    /// The output shape.
    pub output_shape: Vec<usize>,
    /// One `func.func` in the df dialect.
    pub text: String,
    /// Every `df.param`, in order of appearance.
    pub params: Vec<ParamSpec>,
    /// Multiply-accumulates of the convolutions and matrix products.
    pub macs: u64,
    /// How many ops of each kind (without `df.param`), in first-seen order.
    pub op_counts: IndexMap<&'static str, usize>,
}

impl Network {
    /// The number of trained parameters (buffers excluded), as torchvision
    /// counts them.
    pub fn parameter_count(&self) -> u64 {
        self.params
            .iter()
            .filter(|p| p.trainable)
            .map(|p| element_count(&p.shape) as u64)
            .sum()
    }

    /// The number of compute ops (every df op but `df.param`).
    pub fn layer_count(&self) -> usize {
        self.op_counts.values().sum()
    }
}

/// Convolution hyper-parameters, in torchvision's terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv {
    /// Output channels.
    pub out_channels: usize,
    /// Kernel height and width.
    pub kernel: [usize; 2],
    /// Vertical and horizontal stride.
    pub stride: [usize; 2],
    /// Vertical and horizontal padding (symmetric).
    pub padding: [usize; 2],
    /// Channel groups.
    pub groups: usize,
    /// Whether the conv has a bias.
    pub bias: bool,
}

impl Conv {
    /// A square `kernel` x `kernel` conv to `out_channels`, stride 1, no
    /// padding, no bias.
    pub fn new(out_channels: usize, kernel: usize) -> Self {
        Self {
            out_channels,
            kernel: [kernel; 2],
            stride: [1; 2],
            padding: [0; 2],
            groups: 1,
            bias: false,
        }
    }

    /// A rectangular kernel, as in Inception's 1x7 and 7x1 convs.
    pub fn rect(out_channels: usize, kernel: [usize; 2], padding: [usize; 2]) -> Self {
        Self {
            kernel,
            padding,
            ..Self::new(out_channels, 1)
        }
    }

    /// With stride `stride` in both directions.
    pub fn stride(self, stride: usize) -> Self {
        Self {
            stride: [stride; 2],
            ..self
        }
    }

    /// With padding `padding` on every side.
    pub fn pad(self, padding: usize) -> Self {
        Self {
            padding: [padding; 2],
            ..self
        }
    }

    /// With `groups` channel groups.
    pub fn groups(self, groups: usize) -> Self {
        Self { groups, ..self }
    }

    /// With a bias.
    pub fn bias(self) -> Self {
        Self { bias: true, ..self }
    }
}

/// Pooling hyper-parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool {
    /// Square window size.
    pub kernel: usize,
    /// Stride.
    pub stride: usize,
    /// Padding on every side.
    pub padding: usize,
    /// Round output sizes up.
    pub ceil_mode: bool,
    /// Averages divide by the padded window.
    pub count_include_pad: bool,
}

impl Pool {
    /// A `kernel` window with `stride` and `padding`, floor mode.
    pub fn new(kernel: usize, stride: usize, padding: usize) -> Self {
        Self {
            kernel,
            stride,
            padding,
            ceil_mode: false,
            count_include_pad: false,
        }
    }

    /// In ceil mode.
    pub fn ceil(self) -> Self {
        Self {
            ceil_mode: true,
            ..self
        }
    }

    /// Counting padding in averages (PyTorch's `avg_pool2d` default).
    pub fn count_pad(self) -> Self {
        Self {
            count_include_pad: true,
            ..self
        }
    }

    fn window(&self) -> Window {
        Window {
            ceil_mode: self.ceil_mode,
            ..Window::new(self.kernel, self.stride, self.padding)
        }
    }
}

/// A network under construction.
pub struct Builder {
    name: String,
    input: Value,
    body: String,
    params: Vec<ParamSpec>,
    names: HashSet<String>,
    macs: u64,
    op_counts: IndexMap<&'static str, usize>,
}

/// Lines longer than this break before their types.
const MAX_LINE: usize = 100;

/// Builder results: errors say which layer does not fit and why.
pub type BuildResult<T> = Result<T, String>;

/// `1.000000e-5`: an f32 literal MLIR parses (it needs the decimal point).
fn float(value: f32) -> String {
    format!("{value:.6e}")
}

fn list(values: &[usize]) -> String {
    let items: Vec<String> = values.iter().map(usize::to_string).collect();
    format!("[{}]", items.join(", "))
}

impl Builder {
    /// Starts a network `name` taking one NCHW input of `input_shape`.
    pub fn new(name: &str, input_shape: [usize; 4]) -> Self {
        let mut builder = Self {
            name: name.into(),
            input: Value {
                name: String::new(),
                shape: input_shape.to_vec(),
            },
            body: String::new(),
            params: Vec::new(),
            names: HashSet::new(),
            macs: 0,
            op_counts: IndexMap::new(),
        };
        builder.input.name = builder.fresh("input");
        builder
    }

    /// The network input.
    pub fn input(&self) -> Value {
        self.input.clone()
    }

    /// A unique SSA name derived from `hint` (MLIR allows letters, digits
    /// and `$._-`; a leading digit would make it a numbered value).
    fn fresh(&mut self, hint: &str) -> String {
        let mut base: String = hint
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "$._-".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if !base.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
            base.insert(0, 'v');
        }
        let mut name = base.clone();
        let mut counter = 1;
        while !self.names.insert(name.clone()) {
            name = format!("{base}_{counter}");
            counter += 1;
        }
        name
    }

    /// Appends `%result = text` and returns the result. A long line breaks
    /// before its type signature, as hand-written df IR does.
    fn emit(&mut self, op: &'static str, hint: &str, shape: Vec<usize>, text: String) -> Value {
        let name = self.fresh(hint);
        let line = format!("  %{name} = {text}");
        match line.rsplit_once(" : ") {
            Some((head, types)) if line.len() > MAX_LINE => {
                writeln!(self.body, "{head}\n      : {types}")
            }
            _ => writeln!(self.body, "{line}"),
        }
        .expect("writing to a String");
        *self.op_counts.entry(op).or_insert(0) += 1;
        Value { name, shape }
    }

    /// A `df.param` named `name`.
    pub fn param(
        &mut self,
        name: &str,
        shape: &[usize],
        init: ParamInit,
        trainable: bool,
    ) -> Value {
        let value_name = self.fresh(name);
        writeln!(
            self.body,
            "  %{value_name} = df.param \"{name}\" : {}",
            tensor_type(shape)
        )
        .expect("writing to a String");
        self.params.push(ParamSpec {
            name: name.into(),
            shape: shape.to_vec(),
            init,
            trainable,
        });
        Value {
            name: value_name,
            shape: shape.to_vec(),
        }
    }

    fn dims4(x: &Value, layer: &str) -> BuildResult<[usize; 4]> {
        match x.shape[..] {
            [n, c, h, w] => Ok([n, c, h, w]),
            _ => Err(format!("{layer}: expects an NCHW input, got {:?}", x.shape)),
        }
    }

    /// `prefix.weight` (and `prefix.bias`) and a `df.conv2d`.
    pub fn conv(&mut self, x: &Value, prefix: &str, conv: Conv) -> BuildResult<Value> {
        let [n, c, h, w] = Self::dims4(x, prefix)?;
        let Conv {
            out_channels,
            kernel: [kh, kw],
            stride: [sh, sw],
            padding: [ph, pw],
            groups,
            bias,
        } = conv;
        if groups == 0 || c % groups != 0 || out_channels % groups != 0 {
            return Err(format!(
                "{prefix}: groups {groups} must divide {c} input and {out_channels} output channels"
            ));
        }
        let out_h = Window::new(kh, sh, ph)
            .output_size(h)
            .map_err(|e| format!("{prefix}: height: {e}"))?;
        let out_w = Window::new(kw, sw, pw)
            .output_size(w)
            .map_err(|e| format!("{prefix}: width: {e}"))?;
        let filter_shape = [out_channels, c / groups, kh, kw];
        let fan_in = c / groups * kh * kw;
        let weight = self.param(
            &format!("{prefix}.weight"),
            &filter_shape,
            ParamInit::Weight { fan_in },
            true,
        );
        let mut operands = format!("%{}, %{}", x.name, weight.name);
        let mut types = format!("{}, {}", x.r#type(), weight.r#type());
        if bias {
            let b = self.param(
                &format!("{prefix}.bias"),
                &[out_channels],
                ParamInit::Bias,
                true,
            );
            write!(operands, ", %{}", b.name).expect("writing to a String");
            write!(types, ", {}", b.r#type()).expect("writing to a String");
        }
        let shape = vec![n, out_channels, out_h, out_w];
        self.macs += (element_count(&shape) * fan_in) as u64;
        let groups_attr = if groups == 1 {
            String::new()
        } else {
            format!(" {{groups = {groups} : i64}}")
        };
        let text = format!(
            "df.conv2d {operands} strides {} pads {} dilations [1, 1]{groups_attr} : ({types}) -> {}",
            list(&[sh, sw]),
            list(&[ph, pw, ph, pw]),
            tensor_type(&shape)
        );
        Ok(self.emit("df.conv2d", prefix, shape, text))
    }

    /// A `df.batch_norm` with torchvision's parameter names: `prefix.weight`
    /// (scale), `prefix.bias` (offset), `prefix.running_mean`,
    /// `prefix.running_var`.
    pub fn batch_norm(&mut self, x: &Value, prefix: &str, epsilon: f32) -> BuildResult<Value> {
        Self::dims4(x, prefix)?;
        let c = x.channels();
        let scale = self.param(&format!("{prefix}.weight"), &[c], ParamInit::BnScale, true);
        let offset = self.param(&format!("{prefix}.bias"), &[c], ParamInit::BnOffset, true);
        let mean = self.param(
            &format!("{prefix}.running_mean"),
            &[c],
            ParamInit::BnMean,
            false,
        );
        let variance = self.param(
            &format!("{prefix}.running_var"),
            &[c],
            ParamInit::BnVariance,
            false,
        );
        let vector = tensor_type(&[c]);
        let text = format!(
            "df.batch_norm %{}, %{}, %{}, %{}, %{} epsilon {} : ({}, {vector}, {vector}, {vector}, {vector}) -> {}",
            x.name,
            scale.name,
            offset.name,
            mean.name,
            variance.name,
            float(epsilon),
            x.r#type(),
            x.r#type()
        );
        Ok(self.emit("df.batch_norm", prefix, x.shape.clone(), text))
    }

    /// `df.activation relu`.
    pub fn relu(&mut self, x: &Value, hint: &str) -> Value {
        let text = format!("df.activation relu %{} : {}", x.name, x.r#type());
        self.emit("df.activation", hint, x.shape.clone(), text)
    }

    /// `df.activation clip` to `[0, 6]` (torch's ReLU6).
    pub fn relu6(&mut self, x: &Value, hint: &str) -> Value {
        let text = format!(
            "df.activation clip %{} {{max = 6.0 : f32, min = 0.0 : f32}} : {}",
            x.name,
            x.r#type()
        );
        self.emit("df.activation", hint, x.shape.clone(), text)
    }

    /// A `df.pool2d` of `kind` (`max` or `avg`).
    fn pool(&mut self, kind: &str, x: &Value, hint: &str, pool: Pool) -> BuildResult<Value> {
        let [n, c, h, w] = Self::dims4(x, hint)?;
        if pool.padding >= pool.kernel {
            return Err(format!(
                "{hint}: padding {} must be smaller than the kernel {}",
                pool.padding, pool.kernel
            ));
        }
        let window = pool.window();
        let out_h = window
            .output_size(h)
            .map_err(|e| format!("{hint}: height: {e}"))?;
        let out_w = window
            .output_size(w)
            .map_err(|e| format!("{hint}: width: {e}"))?;
        let shape = vec![n, c, out_h, out_w];
        let mut flags = String::new();
        if pool.ceil_mode {
            flags.push_str(" ceil_mode");
        }
        if pool.count_include_pad {
            flags.push_str(" count_include_pad");
        }
        let p = pool.padding;
        let text = format!(
            "df.pool2d {kind} %{} kernel {} strides {} pads {}{flags} : {} -> {}",
            x.name,
            list(&[pool.kernel; 2]),
            list(&[pool.stride; 2]),
            list(&[p; 4]),
            x.r#type(),
            tensor_type(&shape)
        );
        Ok(self.emit("df.pool2d", hint, shape, text))
    }

    /// Max pooling.
    pub fn max_pool(&mut self, x: &Value, hint: &str, pool: Pool) -> BuildResult<Value> {
        self.pool("max", x, hint, pool)
    }

    /// Average pooling.
    pub fn avg_pool(&mut self, x: &Value, hint: &str, pool: Pool) -> BuildResult<Value> {
        self.pool("avg", x, hint, pool)
    }

    /// `df.global_pool avg`: torchvision's `AdaptiveAvgPool2d((1, 1))`.
    pub fn global_avg_pool(&mut self, x: &Value, hint: &str) -> BuildResult<Value> {
        let [n, c, _, _] = Self::dims4(x, hint)?;
        let shape = vec![n, c, 1, 1];
        let text = format!(
            "df.global_pool avg %{} : {} -> {}",
            x.name,
            x.r#type(),
            tensor_type(&shape)
        );
        Ok(self.emit("df.global_pool", hint, shape, text))
    }

    /// `df.resize` by integer scales (nearest neighbour).
    pub fn resize(&mut self, x: &Value, hint: &str, scale: usize) -> BuildResult<Value> {
        let [n, c, h, w] = Self::dims4(x, hint)?;
        let shape = vec![n, c, h * scale, w * scale];
        let text = format!(
            "df.resize %{} scales {} : {} -> {}",
            x.name,
            list(&[scale; 2]),
            x.r#type(),
            tensor_type(&shape)
        );
        Ok(self.emit("df.resize", hint, shape, text))
    }

    /// `df.add` of two values of the same shape, or of a value and a
    /// broadcastable one.
    pub fn add(&mut self, a: &Value, b: &Value, hint: &str) -> BuildResult<Value> {
        let shape = broadcast_shape(&a.shape, &b.shape)
            .ok_or_else(|| format!("{hint}: {:?} and {:?} do not broadcast", a.shape, b.shape))?;
        let text = format!(
            "df.add %{}, %{} : ({}, {}) -> {}",
            a.name,
            b.name,
            a.r#type(),
            b.r#type(),
            tensor_type(&shape)
        );
        Ok(self.emit("df.add", hint, shape, text))
    }

    /// An exporter-style bias: `df.add` of a `1xCx1x1` parameter
    /// `prefix.bias` (the canonicaliser folds it into the conv before it).
    pub fn bias_add(&mut self, x: &Value, prefix: &str) -> BuildResult<Value> {
        let bias = self.param(
            &format!("{prefix}.bias"),
            &[1, x.channels(), 1, 1],
            ParamInit::Bias,
            true,
        );
        self.add(x, &bias, prefix)
    }

    /// `df.concat` along the channels.
    pub fn concat(&mut self, inputs: &[Value], hint: &str) -> BuildResult<Value> {
        let first = inputs
            .first()
            .ok_or_else(|| format!("{hint}: nothing to concatenate"))?;
        let mut shape = first.shape.clone();
        shape[1] = 0;
        for input in inputs {
            let agrees = input.shape.len() == 4
                && (0..4).all(|d| d == 1 || input.shape[d] == first.shape[d]);
            if !agrees {
                return Err(format!(
                    "{hint}: cannot concatenate {:?} with {:?} along channels",
                    input.shape, first.shape
                ));
            }
            shape[1] += input.shape[1];
        }
        let names: Vec<String> = inputs.iter().map(|v| format!("%{}", v.name)).collect();
        let types: Vec<String> = inputs.iter().map(Value::r#type).collect();
        let text = format!(
            "df.concat {} axis 1 : ({}) -> {}",
            names.join(", "),
            types.join(", "),
            tensor_type(&shape)
        );
        Ok(self.emit("df.concat", hint, shape, text))
    }

    /// `df.flatten` from axis 1: `NxCxHxW -> Nx(C*H*W)`.
    pub fn flatten(&mut self, x: &Value, hint: &str) -> Value {
        let shape = vec![x.shape[0], x.shape[1..].iter().product()];
        let text = format!(
            "df.flatten %{} axis 1 : {} -> {}",
            x.name,
            x.r#type(),
            tensor_type(&shape)
        );
        self.emit("df.flatten", hint, shape, text)
    }

    /// torch's `Linear`: `df.matmul` with the `out x in` weight transposed,
    /// and a bias.
    pub fn linear(&mut self, x: &Value, prefix: &str, out_features: usize) -> BuildResult<Value> {
        let [batch, in_features] = x.shape[..] else {
            return Err(format!("{prefix}: expects a matrix, got {:?}", x.shape));
        };
        let weight = self.param(
            &format!("{prefix}.weight"),
            &[out_features, in_features],
            ParamInit::Weight {
                fan_in: in_features,
            },
            true,
        );
        let bias = self.param(
            &format!("{prefix}.bias"),
            &[out_features],
            ParamInit::Bias,
            true,
        );
        let shape = vec![batch, out_features];
        self.macs += (batch * out_features * in_features) as u64;
        let text = format!(
            "df.matmul %{}, %{}, %{} transpose_rhs : ({}, {}, {}) -> {}",
            x.name,
            weight.name,
            bias.name,
            x.r#type(),
            weight.r#type(),
            bias.r#type(),
            tensor_type(&shape)
        );
        Ok(self.emit("df.matmul", prefix, shape, text))
    }

    /// Ends the function, returning `output`.
    pub fn finish(self, output: &Value) -> Network {
        let text = format!(
            "func.func @{}(%{}: {}) -> {} {{\n{}  return %{} : {}\n}}\n",
            self.name,
            self.input.name,
            self.input.r#type(),
            output.r#type(),
            self.body,
            output.name,
            output.r#type()
        );
        Network {
            name: self.name,
            input_shape: self.input.shape,
            output_shape: output.shape.clone(),
            text,
            params: self.params,
            macs: self.macs,
            op_counts: self.op_counts,
        }
    }
}

/// NumPy broadcasting of two shapes.
fn broadcast_shape(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let rank = a.len().max(b.len());
    (0..rank)
        .map(|d| {
            let x = (d + a.len()).checked_sub(rank).map_or(1, |i| a[i]);
            let y = (d + b.len()).checked_sub(rank).map_or(1, |i| b[i]);
            match (x, y) {
                _ if x == y => Some(x),
                (1, _) => Some(y),
                (_, 1) => Some(x),
                _ => None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conv_bn_relu_text_shapes_and_counts() {
        let mut b = Builder::new("net", [1, 3, 8, 8]);
        let x = b.input();
        let y = b
            .conv(&x, "conv1", Conv::new(4, 3).stride(2).pad(1))
            .unwrap();
        let y = b.batch_norm(&y, "bn1", 1e-5).unwrap();
        let y = b.relu(&y, "relu");
        assert_eq!(y.shape(), &[1, 4, 4, 4]);
        let net = b.finish(&y);
        // 4*3*3*3 weights + 2*4 scale/offset; running stats are buffers.
        assert_eq!(net.parameter_count(), 108 + 8);
        // 64 outputs, 27 MACs each.
        assert_eq!(net.macs, 64 * 27);
        assert_eq!(net.layer_count(), 3);
        let names: Vec<&str> = net.params.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "conv1.weight",
                "bn1.weight",
                "bn1.bias",
                "bn1.running_mean",
                "bn1.running_var"
            ]
        );
        assert!(
            net.text.contains(
                "  %conv1 = df.conv2d %input, %conv1.weight strides [2, 2] pads [1, 1, 1, 1] \
                 dilations [1, 1]\n      : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) \
                 -> tensor<1x4x4x4xf32>\n"
            ),
            "{}",
            net.text
        );
        assert!(
            net.text.contains("epsilon 1.000000e-5\n      : ("),
            "{}",
            net.text
        );
        assert!(
            net.text.starts_with(
                "func.func @net(%input: tensor<1x3x8x8xf32>) -> tensor<1x4x4x4xf32> {"
            )
        );
    }

    #[test]
    fn names_stay_unique_and_valid() {
        let mut b = Builder::new("net", [1, 3, 8, 8]);
        let x = b.input();
        let a = b.relu(&x, "relu");
        let c = b.relu(&a, "relu");
        let d = b.relu(&c, "0.weird name");
        assert_eq!((a.name.as_str(), c.name.as_str()), ("relu", "relu_1"));
        assert_eq!(d.name, "v0.weird_name");
    }

    #[test]
    fn layers_that_do_not_fit_say_why() {
        let mut b = Builder::new("net", [1, 3, 4, 4]);
        let x = b.input();
        let error = b.conv(&x, "conv1", Conv::new(8, 7)).unwrap_err();
        assert_eq!(
            error,
            "conv1: height: window of 7 does not fit the padded input 4 (input 4, padding 0+0)"
        );
    }

    #[test]
    fn broadcasting_shapes() {
        assert_eq!(
            broadcast_shape(&[1, 8, 4, 4], &[1, 8, 1, 1]),
            Some(vec![1, 8, 4, 4])
        );
        assert_eq!(broadcast_shape(&[1, 10], &[10]), Some(vec![1, 10]));
        assert_eq!(broadcast_shape(&[1, 8], &[3]), None);
    }
}
