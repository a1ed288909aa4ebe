//! Reads a `func.func` of df ops into a [`LayerGraph`].
//!
//! A value is an *activation* when it is a function argument or a result of
//! an op with an activation operand; everything else (`df.param`,
//! `df.fold_batch_norm` and reshapes or adds of parameters, constants) is a
//! parameter, charged as weight bytes to each node that reads it.

use std::collections::HashMap;

use melior::ir::{
    Location, OperationRef, RegionLike, TypeLike, Value, ValueLike,
    attribute::{DenseI64ArrayAttribute, IntegerAttribute, StringAttribute},
    block::BlockLike,
    operation::OperationLike,
    r#type::{RankedTensorType, ShapedTypeLike},
};
use mlir_sys::MlirOperation;

use super::{
    Dim, Dims, GraphError, LayerGraph, Node, NodeId, OpKind, Operand, PoolKind,
    Value as GraphValue, Weight, Window,
};
use crate::ir::{defining_op, op_name, shape_of};

/// A graph read from IR, with the operation behind each node.
#[derive(Debug)]
pub struct IrGraph {
    /// The layer graph.
    pub graph: LayerGraph,
    /// `ops[node]` is the operation of node `node`.
    pub ops: Vec<MlirOperation>,
    /// Per `df.fusion_region` (in program order), its member nodes; empty
    /// unless read by [`build_flattened`].
    pub regions: Vec<Vec<NodeId>>,
}

/// A graph that could not be read, with the operation at fault.
#[derive(Debug)]
pub struct IrGraphError {
    /// The operation at fault, if any.
    pub op: Option<MlirOperation>,
    /// What is wrong.
    pub error: GraphError,
}

/// Bytes per element of a float tensor type; `None` for other types.
fn elem_bytes_of(value: Value) -> Option<u64> {
    let tensor = RankedTensorType::try_from(value.r#type()).ok()?;
    let element = tensor.element();
    // SAFETY: queries a live type.
    unsafe {
        if !mlir_sys::mlirTypeIsAFloat(element.to_raw()) {
            return None;
        }
        Some(mlir_sys::mlirFloatTypeGetWidth(element.to_raw()).div_ceil(8) as u64)
    }
}

/// The name of a name location (`loc("conv1")`), if `location` is one.
fn location_name(location: Location) -> Option<String> {
    // SAFETY: queries a live location; the identifier's string is owned by
    // the context.
    unsafe {
        let raw = location.to_raw();
        if !mlir_sys::mlirLocationIsAName(raw) {
            return None;
        }
        let name = mlir_sys::mlirIdentifierStr(mlir_sys::mlirLocationNameGetName(raw));
        let bytes = std::slice::from_raw_parts(name.data as *const u8, name.length);
        Some(String::from_utf8_lossy(bytes).into_owned())
    }
}

fn i64_array<const N: usize>(op: &OperationRef, name: &str) -> Result<[i64; N], GraphError> {
    let bad = || GraphError::Unsupported {
        what: op_name(op),
        reason: format!("attribute '{name}' is not an array of {N} integers"),
    };
    let attribute = op.attribute(name).map_err(|_| bad())?;
    let array = DenseI64ArrayAttribute::try_from(attribute).map_err(|_| bad())?;
    if array.len() != N {
        return Err(bad());
    }
    let mut out = [0; N];
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = array.element(i).map_err(|_| bad())?;
    }
    Ok(out)
}

fn integer(op: &OperationRef, name: &str) -> Option<i64> {
    IntegerAttribute::try_from(op.attribute(name).ok()?)
        .ok()
        .map(|a| a.value())
}

fn pool_kind(op: &OperationRef) -> PoolKind {
    // The df enum: max = 0, avg = 1.
    if integer(op, "kind") == Some(1) {
        PoolKind::Avg
    } else {
        PoolKind::Max
    }
}

const ACTIVATIONS: [&str; 8] = [
    "relu",
    "clip",
    "leaky_relu",
    "sigmoid",
    "tanh",
    "hard_sigmoid",
    "hard_swish",
    "silu",
];

/// The canonical dimension of `axis` of a rank-`rank` tensor.
fn axis_dim(op: &OperationRef, axis: Option<i64>, rank: usize) -> Result<Dim, GraphError> {
    axis.and_then(|a| usize::try_from(a).ok())
        .and_then(|a| Dim::of_axis(a, rank))
        .ok_or_else(|| GraphError::Unsupported {
            what: op_name(op),
            reason: format!("axis {axis:?} of a rank-{rank} tensor"),
        })
}

/// The node kind of `op`, whose first activation operand has rank
/// `input_rank` (axes and paddings are mapped to canonical dimensions).
fn kind_of(op: &OperationRef, input_rank: usize) -> Result<OpKind, GraphError> {
    let name = op_name(op);
    Ok(match name.as_str() {
        "df.conv2d" => OpKind::Conv2d {
            window: Window {
                kernel: {
                    let filter = shape_of(op.operand(1).map_err(|_| GraphError::Unsupported {
                        what: name.clone(),
                        reason: "missing filter".into(),
                    })?)
                    .unwrap_or_default();
                    [
                        filter.get(2).copied().unwrap_or(1),
                        filter.get(3).copied().unwrap_or(1),
                    ]
                },
                strides: i64_array(op, "strides")?,
                pads: i64_array(op, "pads")?,
                dilations: i64_array(op, "dilations")?,
            },
            groups: integer(op, "groups").unwrap_or(1),
        },
        "df.pool2d" => OpKind::Pool2d {
            kind: pool_kind(op),
            window: Window {
                kernel: i64_array(op, "kernel")?,
                strides: i64_array(op, "strides")?,
                pads: i64_array(op, "pads")?,
                dilations: [1, 1],
            },
            ceil_mode: op.has_attribute("ceil_mode"),
        },
        "df.global_pool" => OpKind::GlobalPool {
            kind: pool_kind(op),
        },
        "df.resize" => OpKind::Resize {
            scales: i64_array(op, "scales")?,
        },
        "df.pad" => {
            let attribute = op
                .attribute("pads")
                .ok()
                .and_then(|a| DenseI64ArrayAttribute::try_from(a).ok());
            let values: Vec<i64> = attribute
                .map(|a| (0..a.len()).filter_map(|i| a.element(i).ok()).collect())
                .unwrap_or_default();
            if values.len() != 2 * input_rank {
                return Err(GraphError::Unsupported {
                    what: name,
                    reason: "pads do not match the input rank".into(),
                });
            }
            let mut pads = [0; 8];
            for axis in 0..input_rank {
                let dim = axis_dim(op, Some(axis as i64), input_rank)?;
                pads[dim.index()] = values[axis];
                pads[4 + dim.index()] = values[input_rank + axis];
            }
            OpKind::Pad { pads }
        }
        "df.activation" => OpKind::Elementwise {
            op: integer(op, "kind")
                .and_then(|k| ACTIVATIONS.get(k as usize))
                .unwrap_or(&"activation")
                .to_string(),
        },
        "df.batch_norm" => OpKind::Elementwise {
            op: "batch_norm".into(),
        },
        "df.add" => OpKind::Binary { op: "add".into() },
        "df.mul" => OpKind::Binary { op: "mul".into() },
        "df.concat" => OpKind::Concat {
            dim: axis_dim(op, integer(op, "axis"), input_rank)?,
        },
        "df.matmul" => OpKind::MatMul {
            transpose_lhs: op.has_attribute("transpose_lhs"),
            transpose_rhs: op.has_attribute("transpose_rhs"),
        },
        "df.softmax" => OpKind::Softmax {
            dim: axis_dim(op, integer(op, "axis"), input_rank)?,
        },
        "df.reshape" | "df.flatten" => OpKind::Reshape,
        _ => OpKind::Opaque { name },
    })
}

/// `label`, or `label#k` when `label` was taken already.
fn unique(label: String, taken: &mut HashMap<String, usize>) -> String {
    let seen = taken.entry(label.clone()).or_insert(0);
    *seen += 1;
    if *seen == 1 {
        label
    } else {
        format!("{label}#{}", *seen - 1)
    }
}

/// Reads the body of `func` (a `func.func`) into a layer graph. Ops with
/// regions (such as formed fusion regions) are rejected.
pub fn build(func: &OperationRef) -> Result<IrGraph, IrGraphError> {
    read(func, false)
}

/// Reads `func` like [`build`], but walks into `df.fusion_region` bodies:
/// their block arguments are the region's operands and their `df.yield`
/// operands its results, so the graph is the one the regions were formed
/// from, and [`IrGraph::regions`] lists each region's nodes.
pub fn build_flattened(func: &OperationRef) -> Result<IrGraph, IrGraphError> {
    read(func, true)
}

fn read(func: &OperationRef, flatten: bool) -> Result<IrGraph, IrGraphError> {
    let fail = |op: Option<&OperationRef>, error: GraphError| IrGraphError {
        op: op.map(|o| o.to_raw()),
        error,
    };
    let name = func
        .attribute("sym_name")
        .ok()
        .and_then(|a| StringAttribute::try_from(a).ok())
        .map(|s| s.value().to_string())
        .unwrap_or_default();
    let mut graph = LayerGraph {
        name,
        ..LayerGraph::default()
    };
    let mut ops = Vec::new();
    let mut regions: Vec<Vec<NodeId>> = Vec::new();
    let Some(block) = func.region(0).ok().and_then(|r| r.first_block()) else {
        return Ok(IrGraph {
            graph,
            ops,
            regions,
        });
    };

    // Raw value handle -> activation value id; raw handle -> parameter name.
    let mut activations: HashMap<*const std::ffi::c_void, usize> = HashMap::new();
    let mut parameters: HashMap<*const std::ffi::c_void, String> = HashMap::new();
    let key = |value: Value| value.to_raw().ptr;

    for index in 0..block.argument_count() {
        let argument: Value = block.argument(index).expect("in range").into();
        let (Some(shape), Some(elem_bytes)) = (shape_of(argument), elem_bytes_of(argument)) else {
            continue;
        };
        let dims = Dims::from_shape(&shape).ok_or_else(|| {
            fail(
                Some(func),
                GraphError::Shape {
                    what: format!("argument #{index}"),
                    shape: shape.clone(),
                },
            )
        })?;
        graph.values.push(GraphValue {
            shape,
            dims,
            elem_bytes,
            producer: None,
            consumers: Vec::new(),
        });
        activations.insert(key(argument), graph.values.len() - 1);
        graph.inputs.push(graph.values.len() - 1);
    }

    let mut counters: HashMap<String, usize> = HashMap::new();
    let mut taken: HashMap<String, usize> = HashMap::new();
    // The fusion regions being walked (innermost last) and where to resume
    // after each.
    let mut open: Vec<(OperationRef, Option<OperationRef>)> = Vec::new();
    let mut current = block.first_operation();
    loop {
        let Some(op) = current else {
            match open.pop() {
                Some((_, resume)) => {
                    current = resume;
                    continue;
                }
                None => break,
            }
        };
        current = op.next_in_block();
        let name = op_name(&op);
        if flatten && name == "df.fusion_region" {
            let body = op.region(0).ok().and_then(|r| r.first_block());
            let Some(body) = body else {
                continue;
            };
            for (index, operand) in op.operands().enumerate() {
                let Ok(argument) = body.argument(index) else {
                    break;
                };
                let argument: Value = argument.into();
                if let Some(&id) = activations.get(&key(operand)) {
                    activations.insert(key(argument), id);
                } else if let Some(param) = parameters.get(&key(operand)).cloned() {
                    parameters.insert(key(argument), param);
                }
            }
            regions.push(Vec::new());
            open.push((op, current));
            current = body.first_operation();
            continue;
        }
        if flatten && name == "df.yield" {
            if let Some(&(region, _)) = open.last() {
                for (index, yielded) in op.operands().enumerate() {
                    let Ok(result) = region.result(index) else {
                        break;
                    };
                    if let Some(&id) = activations.get(&key(yielded)) {
                        activations.insert(key(result.into()), id);
                    }
                }
            }
            continue;
        }
        if name == "func.return" {
            for operand in op.operands() {
                if let Some(&id) = activations.get(&key(operand)) {
                    graph.outputs.push(id);
                }
            }
            continue;
        }
        if op.region_count() > 0 {
            return Err(fail(
                Some(&op),
                GraphError::Unsupported {
                    what: name,
                    reason: "ops with regions (such as formed fusion regions) are not layers"
                        .into(),
                },
            ));
        }
        let is_activation = op.operands().any(|v| activations.contains_key(&key(v)));
        if !is_activation {
            // A parameter: name it after the df.param it derives from.
            let param_name = if name == "df.param" {
                op.attribute("name")
                    .ok()
                    .and_then(|a| StringAttribute::try_from(a).ok())
                    .map(|s| s.value().to_string())
            } else {
                op.operands().find_map(|v| parameters.get(&key(v)).cloned())
            }
            .unwrap_or_else(|| name.clone());
            for result in op.results() {
                parameters.insert(key(result.into()), param_name.clone());
            }
            continue;
        }
        if op.result_count() != 1 {
            return Err(fail(
                Some(&op),
                GraphError::Unsupported {
                    what: name,
                    reason: "an op on activations must have exactly one result".into(),
                },
            ));
        }
        let result: Value = op.result(0).expect("one result").into();
        let (Some(shape), Some(elem_bytes)) = (shape_of(result), elem_bytes_of(result)) else {
            return Err(fail(
                Some(&op),
                GraphError::Unsupported {
                    what: name,
                    reason: "the result is not a statically shaped float tensor".into(),
                },
            ));
        };
        let dims = Dims::from_shape(&shape).ok_or_else(|| {
            fail(
                Some(&op),
                GraphError::Shape {
                    what: name.clone(),
                    shape: shape.clone(),
                },
            )
        })?;
        let node_id = graph.nodes.len();
        let mut inputs = Vec::new();
        let mut weights = Vec::new();
        let mut has_parameter_operand = false;
        for (slot, operand) in op.operands().enumerate() {
            if let Some(&value) = activations.get(&key(operand)) {
                let view = if matches!(name.as_str(), "df.add" | "df.mul") {
                    Dims::aligned(&graph.values[value].shape, shape.len())
                } else {
                    Some(graph.values[value].dims)
                }
                .ok_or_else(|| {
                    fail(
                        Some(&op),
                        GraphError::Shape {
                            what: format!("{name} operand #{slot}"),
                            shape: graph.values[value].shape.clone(),
                        },
                    )
                })?;
                inputs.push(Operand { value, view, slot });
            } else if let (Some(weight_shape), Some(bytes)) =
                (shape_of(operand), elem_bytes_of(operand))
            {
                has_parameter_operand = true;
                let param = parameters.get(&key(operand)).cloned().unwrap_or_else(|| {
                    defining_op(operand)
                        .map(|d| op_name(&d))
                        .unwrap_or_else(|| "argument".into())
                });
                weights.push(Weight {
                    name: param,
                    elements: weight_shape.iter().map(|&s| s.max(0) as u64).product(),
                    elem_bytes: bytes,
                });
            }
        }
        let input_rank = inputs
            .first()
            .map(|o| graph.values[o.value].shape.len())
            .unwrap_or(0);
        let mut kind = kind_of(&op, input_rank).map_err(|e| fail(Some(&op), e))?;
        // Concat offsets come from the activation operands; a parameter
        // operand in between would shift them, so such a concat is opaque.
        if matches!(kind, OpKind::Concat { .. }) && has_parameter_operand {
            kind = OpKind::Opaque { name: name.clone() };
        }
        let short = kind.short_name();
        // A name location names the op; else a layer with a named weight is
        // named after it (`layer1.0.conv1.weight` -> `layer1.0.conv1`); else
        // its kind and a counter.
        let from_weight = weights
            .first()
            .filter(|w| !w.name.starts_with("df.") && w.name.contains('.'))
            .map(|w| w.name.trim_end_matches(".weight").to_string());
        let label = location_name(op.location())
            .or(from_weight)
            .unwrap_or_else(|| {
                let base = name.trim_start_matches("df.").to_string();
                let base = if base == "activation" {
                    short.clone()
                } else {
                    base
                };
                let counter = counters.entry(base.clone()).or_insert(0);
                *counter += 1;
                format!("{base}_{}", *counter - 1)
            });
        let label = unique(label, &mut taken);
        for operand in &inputs {
            let consumers = &mut graph.values[operand.value].consumers;
            if consumers.last() != Some(&node_id) {
                consumers.push(node_id);
            }
        }
        graph.values.push(GraphValue {
            shape,
            dims,
            elem_bytes,
            producer: Some(node_id),
            consumers: Vec::new(),
        });
        let output = graph.values.len() - 1;
        activations.insert(key(result), output);
        graph.nodes.push(Node {
            label,
            kind,
            inputs,
            output,
            weights,
        });
        ops.push(op.to_raw());
        if let Some(members) = regions.last_mut().filter(|_| !open.is_empty()) {
            members.push(node_id);
        }
    }
    Ok(IrGraph {
        graph,
        ops,
        regions,
    })
}
