//! The graph walk: binds graph inputs, converts every live node in order
//! through the one dispatch in [`super::ops`], and returns the function text
//! and the parameters. Values are either tensors computed by df ops (an SSA
//! name and a static shape) or constants known at import time; constants
//! become `df.param` ops only where a df op consumes them.

use std::{
    collections::{HashMap, HashSet},
    rc::Rc,
};

use tract_onnx::pb::{TensorProto, ValueInfoProto, tensor_shape_proto::dimension, type_proto};

use super::{
    ImportOptions, Param,
    emit::{Emitter, string_literal, symbol_name, tensor_type},
    error::{ImportError, Result},
    fold::Const,
    model::{Model, data_type_name, decode_tensor},
    node::Node,
    ops,
};

/// A tensor computed at run time by df ops.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tensor {
    /// Its SSA name, with the `%`.
    pub ssa: String,
    /// Its static shape.
    pub shape: Vec<usize>,
}

impl Tensor {
    /// Its MLIR type.
    pub fn ty(&self) -> String {
        tensor_type(&self.shape)
    }
}

/// What an ONNX value is during import.
#[derive(Clone, Debug)]
pub enum Value {
    /// Computed at run time.
    Tensor(Tensor),
    /// Known at import time.
    Const(Rc<Const>),
}

/// The function and parameters a graph converts to.
#[derive(Debug)]
pub struct Converted {
    /// The `func.func` text.
    pub function: String,
    /// The parameters its `df.param` ops name.
    pub params: Vec<Param>,
    /// How many nodes were converted (dead nodes are skipped).
    pub nodes: usize,
    /// How many ops the function holds.
    pub ops: usize,
}

/// The state of one conversion.
pub struct Converter<'m> {
    model: &'m Model,
    values: HashMap<String, Value>,
    /// Initializers not decoded yet; each is removed when decoded, so its
    /// protobuf bytes are freed as soon as its values exist.
    initializers: HashMap<String, TensorProto>,
    /// Values some live node or the graph outputs read.
    needed: HashSet<&'m str>,
    emitter: Emitter,
    params: Vec<Param>,
    param_index: HashMap<String, usize>,
    /// The `df.param` already emitted for each parameter name.
    param_values: HashMap<String, Tensor>,
}

impl<'m> Converter<'m> {
    /// The model file (external data paths are relative to it).
    pub fn model_path(&self) -> &'m std::path::Path {
        &self.model.path
    }

    /// The value of input `index` of `node`, which must be present.
    pub fn value(&mut self, node: &Node, index: usize) -> Result<Value> {
        self.opt_value(node, index)?
            .ok_or_else(|| node.error(format!("input #{index} is missing")))
    }

    /// The value of input `index` of `node`, if present.
    pub fn opt_value(&mut self, node: &Node, index: usize) -> Result<Option<Value>> {
        let Some(name) = node.input_name(index) else {
            return Ok(None);
        };
        self.lookup(name)
            .map(Some)
            .map_err(|reason| node.error(format!("input #{index}: {reason}")))
    }

    fn lookup(&mut self, name: &str) -> Result<Value, String> {
        if let Some(value) = self.values.get(name) {
            return Ok(value.clone());
        }
        // Initializers are decoded on first use, so that unused ones (of any
        // type) cost nothing.
        let tensor = self.initializers.remove(name).ok_or_else(|| {
            format!("'{name}' is not produced by an earlier node, an initializer or a graph input")
        })?;
        let constant = decode_tensor(&tensor, &self.model.path)
            .map_err(|reason| format!("initializer '{name}' {reason}"))?;
        let value = Value::Const(Rc::new(constant));
        self.values.insert(name.to_string(), value.clone());
        Ok(value)
    }

    /// Input `index` as a run-time tensor; a float constant becomes a
    /// `df.param`.
    pub fn tensor(&mut self, node: &Node, index: usize) -> Result<Tensor> {
        match self.value(node, index)? {
            Value::Tensor(tensor) => Ok(tensor),
            Value::Const(constant) => {
                let name = node.input_name(index).unwrap_or_default().to_string();
                self.param(node, &name, &constant)
            }
        }
    }

    /// Input `index` as a run-time tensor, if present.
    pub fn opt_tensor(&mut self, node: &Node, index: usize) -> Result<Option<Tensor>> {
        if node.input_name(index).is_none() {
            return Ok(None);
        }
        self.tensor(node, index).map(Some)
    }

    /// Input `index`, which must be known at import time (`what` says what
    /// it is, for the error).
    pub fn constant(&mut self, node: &Node, index: usize, what: &str) -> Result<Rc<Const>> {
        self.opt_constant(node, index, what)?
            .ok_or_else(|| node.error(format!("input #{index} ({what}) is missing")))
    }

    /// Input `index` if present, which must be known at import time.
    pub fn opt_constant(
        &mut self,
        node: &Node,
        index: usize,
        what: &str,
    ) -> Result<Option<Rc<Const>>> {
        match self.opt_value(node, index)? {
            None => Ok(None),
            Some(Value::Const(constant)) => Ok(Some(constant)),
            Some(Value::Tensor(_)) => Err(node.error(format!(
                "input #{index} ({what}) is computed at run time; it must be a constant"
            ))),
        }
    }

    /// A float constant as a `df.param` named `name` (made unique if another
    /// parameter has that name). Scalars become 1-element vectors, which
    /// broadcast the same way.
    pub fn param(&mut self, node: &Node, name: &str, constant: &Const) -> Result<Tensor> {
        let data = constant.f32s().map_err(|reason| {
            node.error(format!(
                "constant '{name}' {reason}: df computes on float32 tensors"
            ))
        })?;
        let shape = if constant.shape.is_empty() {
            vec![1]
        } else {
            constant.shape.clone()
        };
        self.check_shape(node, &shape, &format!("constant '{name}'"))?;
        let registered = self.register(name, shape.clone(), data.clone());
        if let Some(tensor) = self.param_values.get(&registered) {
            return Ok(tensor.clone());
        }
        let text = format!(
            "df.param {} : {}",
            string_literal(&registered),
            tensor_type(&shape)
        );
        let ssa = self.emitter.op(&registered, &text, node.label);
        let tensor = Tensor { ssa, shape };
        self.param_values.insert(registered, tensor.clone());
        Ok(tensor)
    }

    /// Records parameter data under `name`, or under `name.1`, `name.2`...
    /// when a different tensor already has it. Returns the name used.
    fn register(&mut self, name: &str, shape: Vec<usize>, data: Rc<Vec<f32>>) -> String {
        let mut candidate = if name.is_empty() {
            "param".to_string()
        } else {
            name.to_string()
        };
        let mut n = 0;
        while let Some(&index) = self.param_index.get(&candidate) {
            let existing = &self.params[index];
            if existing.shape == shape && Rc::ptr_eq(&existing.data, &data) {
                return candidate;
            }
            n += 1;
            candidate = format!("{name}.{n}");
        }
        self.param_index
            .insert(candidate.clone(), self.params.len());
        self.params.push(Param {
            name: candidate.clone(),
            shape,
            data,
        });
        candidate
    }

    /// Refuses shapes df tensors cannot have (`what` names the value).
    pub fn check_shape(&self, node: &Node, shape: &[usize], what: &str) -> Result<()> {
        if !(1..=4).contains(&shape.len()) {
            return Err(node.error(format!(
                "{what} has shape {shape:?}, of rank {}; df tensors have rank 1 to 4",
                shape.len()
            )));
        }
        if shape.contains(&0) {
            return Err(node.error(format!("{what} has shape {shape:?}, with no elements")));
        }
        if !fits_in_memory(shape) {
            return Err(node.error(format!("{what} has shape {shape:?}, too large")));
        }
        Ok(())
    }

    /// Emits `text` (a df op with its types) as an op of `node` whose result
    /// has `shape`, named after output `output`.
    pub fn emit(
        &mut self,
        node: &Node,
        output: usize,
        text: &str,
        shape: Vec<usize>,
    ) -> Result<Tensor> {
        let hint = node.output_name(output).unwrap_or(node.label);
        self.check_shape(node, &shape, "the result")?;
        let ssa = self.emitter.op(hint, text, node.label);
        Ok(Tensor { ssa, shape })
    }

    /// Emits an op and binds its result to output `output` of `node`.
    pub fn define(
        &mut self,
        node: &Node,
        output: usize,
        text: &str,
        shape: Vec<usize>,
    ) -> Result<()> {
        let tensor = self.emit(node, output, text, shape)?;
        self.bind(node, output, Value::Tensor(tensor));
        Ok(())
    }

    /// Binds output `output` of `node` to `value`.
    pub fn bind(&mut self, node: &Node, output: usize, value: Value) {
        if let Some(name) = node.output_name(output) {
            self.values.insert(name.to_string(), value);
        }
    }

    /// Binds output `output` of `node` to a constant.
    pub fn bind_const(&mut self, node: &Node, output: usize, constant: Const) {
        self.bind(node, output, Value::Const(Rc::new(constant)));
    }

    /// Whether anything reads output `output` of `node`.
    pub fn output_used(&self, node: &Node, output: usize) -> bool {
        node.output_name(output)
            .is_some_and(|name| self.needed.contains(name))
    }

    /// Refuses a node whose outputs from `first` on are read: outputs the
    /// importer does not compute (indices, masks, running statistics).
    pub fn expect_unused_outputs(&self, node: &Node, first: usize, what: &str) -> Result<()> {
        match (first..node.proto.output.len()).find(|&i| self.output_used(node, i)) {
            Some(i) => Err(node.error(format!(
                "output #{i} ({what}) is used; only output #0 is supported"
            ))),
            None => Ok(()),
        }
    }
}

/// The most elements a run-time tensor may have (2^40). Bounding every
/// shape keeps the importer's shape arithmetic from overflowing.
const MAX_ELEMENTS: usize = 1 << 40;

/// Whether a tensor of `shape` has at most [`MAX_ELEMENTS`] elements.
fn fits_in_memory(shape: &[usize]) -> bool {
    shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .is_some_and(|n| n <= MAX_ELEMENTS)
}

/// The shape of a graph input, or why it cannot be imported.
fn input_shape(input: &ValueInfoProto, options: &ImportOptions) -> Result<Vec<usize>> {
    let name = &input.name;
    let fail = |reason: String| ImportError::Graph(format!("graph input '{name}' {reason}"));
    let Some(type_proto::Value::TensorType(tensor)) =
        input.r#type.as_ref().and_then(|t| t.value.as_ref())
    else {
        return Err(fail("is not a tensor".into()));
    };
    if tensor.elem_type != tract_onnx::pb::tensor_proto::DataType::Float as i32 {
        return Err(fail(format!(
            "has element type {}; only float32 inputs are supported",
            data_type_name(tensor.elem_type)
        )));
    }
    let shape = if let Some(shape) = options.input_shapes.get(name) {
        shape.clone()
    } else {
        let dims = &tensor
            .shape
            .as_ref()
            .ok_or_else(|| fail("has no shape; pin it with --input-shape".into()))?
            .dim;
        let mut shape = Vec::with_capacity(dims.len());
        for (i, dim) in dims.iter().enumerate() {
            match &dim.value {
                Some(dimension::Value::DimValue(v)) if *v > 0 => shape.push(*v as usize),
                Some(dimension::Value::DimValue(v)) => {
                    return Err(fail(format!("has dimension {i} of size {v}")));
                }
                Some(dimension::Value::DimParam(param)) => {
                    return Err(fail(format!(
                        "has dynamic dimension {i} ('{param}'); only static shapes are supported, pin it with --input-shape {name}=..."
                    )));
                }
                None => {
                    return Err(fail(format!(
                        "has dynamic dimension {i} (unnamed); only static shapes are supported, pin it with --input-shape {name}=..."
                    )));
                }
            }
        }
        shape
    };
    if !(1..=4).contains(&shape.len()) || shape.contains(&0) || !fits_in_memory(&shape) {
        return Err(fail(format!(
            "has shape {shape:?}; df tensors have rank 1 to 4, no empty dimension and at most 2^40 elements"
        )));
    }
    Ok(shape)
}

/// The values the graph outputs depend on, and the nodes that compute them.
fn liveness(model: &Model) -> (HashSet<&str>, Vec<bool>) {
    let graph = &model.graph;
    let mut needed: HashSet<&str> = graph.output.iter().map(|o| o.name.as_str()).collect();
    let mut live = vec![false; graph.node.len()];
    for (index, node) in graph.node.iter().enumerate().rev() {
        if node.output.iter().any(|o| needed.contains(o.as_str())) {
            live[index] = true;
            needed.extend(node.input.iter().map(String::as_str));
        }
    }
    (needed, live)
}

/// Converts the main graph of `model` (its initializers are moved out).
pub fn convert(model: &mut Model, options: &ImportOptions) -> Result<Converted> {
    let initializers = std::mem::take(&mut model.graph.initializer)
        .into_iter()
        .map(|t| (t.name.clone(), t))
        .collect();
    let model: &Model = model;
    let graph = &model.graph;
    let (needed, live) = liveness(model);
    let mut cx = Converter {
        model,
        values: HashMap::new(),
        initializers,
        needed,
        emitter: Emitter::default(),
        params: Vec::new(),
        param_index: HashMap::new(),
        param_values: HashMap::new(),
    };
    for name in options.input_shapes.keys() {
        if !graph.input.iter().any(|input| &input.name == name) {
            return Err(ImportError::Graph(format!(
                "--input-shape names '{name}', which is not a graph input"
            )));
        }
    }

    // An input with an initializer of the same name is a constant with a
    // default value (IR 4+); it is imported as that constant.
    let mut arguments = Vec::new();
    for input in &graph.input {
        if cx.initializers.contains_key(input.name.as_str()) {
            continue;
        }
        let shape = input_shape(input, options)?;
        let ssa = cx.emitter.fresh(&input.name);
        arguments.push(format!(
            "{ssa}: {} loc({})",
            tensor_type(&shape),
            string_literal(&input.name)
        ));
        cx.values
            .insert(input.name.clone(), Value::Tensor(Tensor { ssa, shape }));
    }

    let mut converted = 0;
    for (index, proto) in graph.node.iter().enumerate() {
        if !live[index] {
            continue;
        }
        let fallback;
        let label = if proto.name.is_empty() {
            fallback = format!("{}#{index}", proto.op_type);
            fallback.as_str()
        } else {
            proto.name.as_str()
        };
        let node = Node {
            proto,
            label,
            opset: model.opset,
        };
        if !matches!(proto.domain.as_str(), "" | "ai.onnx") {
            return Err(node.error(format!(
                "operators of domain '{}' are not supported (only the default ai.onnx domain)",
                proto.domain
            )));
        }
        ops::convert(&mut cx, &node)?;
        converted += 1;
        for (i, output) in proto.output.iter().enumerate() {
            if cx.output_used(&node, i) && !cx.values.contains_key(output) {
                return Err(node.error(format!(
                    "output #{i} ('{output}') is not computed by the importer"
                )));
            }
        }
    }

    let mut results = Vec::new();
    for output in &graph.output {
        let value = cx.lookup(&output.name).map_err(|reason| {
            ImportError::Graph(format!("graph output '{}': {reason}", output.name))
        })?;
        match value {
            Value::Tensor(tensor) => results.push(tensor),
            Value::Const(_) => {
                return Err(ImportError::Graph(format!(
                    "graph output '{}' is a constant: the graph computes nothing from its inputs",
                    output.name
                )));
            }
        }
    }
    if results.is_empty() {
        return Err(ImportError::Graph("the graph has no outputs".into()));
    }
    let ssas: Vec<&str> = results.iter().map(|t| t.ssa.as_str()).collect();
    let types: Vec<String> = results.iter().map(Tensor::ty).collect();
    let location = if graph.name.is_empty() {
        "main"
    } else {
        graph.name.as_str()
    };
    cx.emitter.terminator(
        &format!("return {} : {}", ssas.join(", "), types.join(", ")),
        location,
    );
    let result_types = if types.len() == 1 {
        types[0].clone()
    } else {
        format!("({})", types.join(", "))
    };
    let function = format!(
        "func.func @{}({}) -> {result_types} {{\n{}}} loc({})\n",
        symbol_name(&graph.name),
        arguments.join(", "),
        cx.emitter.body(),
        string_literal(location)
    );
    Ok(Converted {
        function,
        params: cx.params,
        nodes: converted,
        ops: cx.emitter.op_count(),
    })
}
