//! The reference interpreter: evaluates `df` IR on the CPU in plain Rust
//! loops over f32 NCHW buffers, exactly per the op semantics in
//! `dialects/df/DfOps.td`. It is the oracle that compiled kernels, passes
//! and importers are checked against, so it favours clarity over speed
//! (except in the conv, where the time goes).
//!
//! [`run_function`] walks a function body in order and hands each op to
//! [`eval_op`], one `match` that dispatches to a module per op family
//! (`conv`, `pool`, `elementwise`, `norm`, `matmul`, `shape`). Each family
//! has `eval_<op>` adapters that read the attributes through melior, and
//! plain functions on [`Tensor`]s that its unit tests check against
//! hand-computed numbers.

pub use deepfuse_passes::attributes;
pub mod conv;
pub mod elementwise;
pub mod matmul;
pub mod norm;
pub mod pool;
pub mod shape;
pub mod tensor;
pub mod window;

use std::{collections::HashMap, rc::Rc};

use melior::ir::{
    BlockRef, Module, OperationRef, Value, ValueLike, attribute::StringAttribute, block::BlockLike,
    operation::OperationLike,
};
use thiserror::Error;

pub use tensor::Tensor;

use deepfuse_passes::ir::describe_location;

use attributes::{result_shape, tensor_shape};
use tensor::format_shape;

/// Where `df.param` ops get their data.
pub trait ParamSource {
    /// The parameter `name`, which the IR declares with `shape`. Errors say
    /// what is missing or disagrees.
    fn param(&self, name: &str, shape: &[usize]) -> Result<Tensor, String>;
}

impl ParamSource for HashMap<String, Tensor> {
    fn param(&self, name: &str, shape: &[usize]) -> Result<Tensor, String> {
        let tensor = self
            .get(name)
            .ok_or_else(|| format!("parameter '{name}' is missing"))?;
        if tensor.shape() != shape {
            return Err(format!(
                "parameter '{name}' has shape {}, the IR declares {}",
                format_shape(tensor.shape()),
                format_shape(shape)
            ));
        }
        Ok(tensor.clone())
    }
}

/// Why an evaluation failed.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum InterpretError {
    /// The module or the inputs do not fit the function to run.
    #[error("{0}")]
    Setup(String),
    /// An op could not be evaluated.
    #[error("{location}: '{op}' {message}")]
    Op {
        /// Where the op is, as `file:line:col` when known.
        location: String,
        /// The op name, such as `df.conv2d`.
        op: String,
        /// What went wrong.
        message: String,
    },
}

/// The first `func.func` of `module`: the function [`run_module`] runs.
pub fn entry_function<'c, 'a>(
    module: &'a Module<'c>,
) -> Result<OperationRef<'c, 'a>, InterpretError> {
    deepfuse_passes::ir::first_function(module)
        .ok_or_else(|| InterpretError::Setup("the module holds no func.func to run".into()))
}

fn body<'c, 'a>(op: &OperationRef<'c, 'a>) -> Result<BlockRef<'c, 'a>, InterpretError> {
    op.region(0)
        .ok()
        .and_then(|region| melior::ir::RegionLike::first_block(&region))
        .ok_or_else(|| op_error(op, "has no body".into()))
}

/// The shapes of a function's arguments.
pub fn argument_shapes(function: &OperationRef) -> Result<Vec<Vec<usize>>, InterpretError> {
    let block = body(function)?;
    (0..block.argument_count())
        .map(|i| {
            let argument = block
                .argument(i)
                .map_err(|e| InterpretError::Setup(e.to_string()))?;
            tensor_shape(argument.r#type())
                .map_err(|e| InterpretError::Setup(format!("argument #{i}: {e}")))
        })
        .collect()
}

/// Runs the first function of `module` on `inputs`.
pub fn run_module(
    module: &Module,
    params: &dyn ParamSource,
    inputs: Vec<Tensor>,
) -> Result<Vec<Tensor>, InterpretError> {
    run_function(&entry_function(module)?, params, inputs)
}

/// Runs a `func.func` on `inputs` and returns the values it returns.
pub fn run_function(
    function: &OperationRef,
    params: &dyn ParamSource,
    inputs: Vec<Tensor>,
) -> Result<Vec<Tensor>, InterpretError> {
    let shapes = argument_shapes(function)?;
    if shapes.len() != inputs.len() {
        return Err(InterpretError::Setup(format!(
            "the function takes {} arguments, got {} inputs",
            shapes.len(),
            inputs.len()
        )));
    }
    for (i, (shape, input)) in shapes.iter().zip(&inputs).enumerate() {
        if shape != input.shape() {
            return Err(InterpretError::Setup(format!(
                "input #{i} has shape {}, the function expects {}",
                format_shape(input.shape()),
                format_shape(shape)
            )));
        }
    }
    let arguments = inputs.into_iter().map(Rc::new).collect();
    let results = eval_block(&body(function)?, arguments, params)?;
    // The environment is gone, so every result has one owner left, unless
    // the function returns the same value twice.
    Ok(results
        .into_iter()
        .map(|rc| Rc::try_unwrap(rc).unwrap_or_else(|shared| (*shared).clone()))
        .collect())
}

/// A hashable identity of an SSA value.
fn key(value: Value) -> usize {
    value.to_raw().ptr as usize
}

/// Evaluates a block's ops in order and returns the operands of its
/// terminator (`func.return` or `df.yield`). A value is dropped after its
/// last use, so memory follows the live set, not the whole network.
fn eval_block(
    block: &BlockRef,
    arguments: Vec<Rc<Tensor>>,
    params: &dyn ParamSource,
) -> Result<Vec<Rc<Tensor>>, InterpretError> {
    let mut ops = Vec::new();
    let mut next = block.first_operation();
    while let Some(op) = next {
        next = op.next_in_block();
        ops.push(op);
    }
    let mut last_use = HashMap::new();
    for (index, op) in ops.iter().enumerate() {
        for operand in op.operands() {
            last_use.insert(key(operand), index);
        }
    }
    let mut values: HashMap<usize, Rc<Tensor>> = HashMap::new();
    for (i, argument) in arguments.into_iter().enumerate() {
        let value: Value = block
            .argument(i)
            .map_err(|e| InterpretError::Setup(e.to_string()))?
            .into();
        values.insert(key(value), argument);
    }
    for (index, op) in ops.iter().enumerate() {
        let operands =
            op.operands()
                .map(|operand| {
                    values.get(&key(operand)).cloned().ok_or_else(|| {
                        op_error(op, "uses a value defined outside its block".into())
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
        if matches!(op_name(op).as_str(), "func.return" | "df.yield") {
            return Ok(operands);
        }
        let results = eval_op(op, &operands, params).map_err(|message| op_error(op, message))?;
        drop(operands);
        check_results(op, &results)?;
        values.retain(|k, _| last_use.get(k).is_some_and(|&last| last > index));
        for (i, result) in results.into_iter().enumerate() {
            let value: Value = op
                .result(i)
                .map_err(|e| op_error(op, e.to_string()))?
                .into();
            if last_use.contains_key(&key(value)) {
                values.insert(key(value), Rc::new(result));
            }
        }
    }
    Err(InterpretError::Setup(
        "a block ends without func.return or df.yield".into(),
    ))
}

/// Evaluates one op on its operands: the one dispatch point of the
/// interpreter.
pub fn eval_op(
    op: &OperationRef,
    operands: &[Rc<Tensor>],
    params: &dyn ParamSource,
) -> Result<Vec<Tensor>, String> {
    let tensors: Vec<&Tensor> = operands.iter().map(Rc::as_ref).collect();
    let inputs = tensors.as_slice();
    let name = op_name(op);
    let one = |tensor: Tensor| vec![tensor];
    Ok(match name.as_str() {
        "df.param" => one(eval_param(op, params)?),
        "df.conv2d" => one(conv::eval_conv2d(op, inputs)?),
        "df.pool2d" => one(pool::eval_pool2d(op, inputs)?),
        "df.global_pool" => one(pool::eval_global_pool(op, inputs)?),
        "df.batch_norm" => one(norm::eval_batch_norm(op, inputs)?),
        "df.fold_batch_norm" => norm::eval_fold_batch_norm(op, inputs)?,
        "df.softmax" => one(norm::eval_softmax(op, inputs)?),
        "df.activation" => one(elementwise::eval_activation(op, inputs)?),
        "df.add" => one(elementwise::eval_add(op, inputs)?),
        "df.mul" => one(elementwise::eval_mul(op, inputs)?),
        "df.matmul" => one(matmul::eval_matmul(op, inputs)?),
        "df.concat" => one(shape::eval_concat(op, inputs)?),
        "df.reshape" => one(shape::eval_reshape(op, inputs)?),
        "df.flatten" => one(shape::eval_flatten(op, inputs)?),
        "df.pad" => one(shape::eval_pad(op, inputs)?),
        "df.resize" => one(shape::eval_resize(op, inputs)?),
        "df.fusion_region" => eval_fusion_region(op, operands, params)?,
        _ => {
            return Err(
                "is not supported by the reference interpreter (it evaluates df ops on tensors)"
                    .into(),
            );
        }
    })
}

/// Reads a `df.param` from `params`, checked against its declared shape.
fn eval_param(op: &OperationRef, params: &dyn ParamSource) -> Result<Tensor, String> {
    let name = op
        .attribute("name")
        .ok()
        .and_then(|attribute| StringAttribute::try_from(attribute).ok())
        .ok_or("has no string attribute 'name'")?;
    params.param(name.value(), &result_shape(op, 0)?)
}

/// A fusion region computes what its body computes, with the block
/// arguments bound to the operands: tiling changes where data lives, never
/// the values.
fn eval_fusion_region(
    op: &OperationRef,
    operands: &[Rc<Tensor>],
    params: &dyn ParamSource,
) -> Result<Vec<Tensor>, String> {
    let block = body(op).map_err(|e| e.to_string())?;
    let results = eval_block(&block, operands.to_vec(), params).map_err(|e| e.to_string())?;
    Ok(results.into_iter().map(|rc| (*rc).clone()).collect())
}

/// Checks that every result has the shape the IR declares: a disagreement
/// means the op's semantics here and in the verifier have drifted apart.
fn check_results(op: &OperationRef, results: &[Tensor]) -> Result<(), InterpretError> {
    if results.len() != op.result_count() {
        return Err(op_error(
            op,
            format!(
                "produced {} results, the op has {}",
                results.len(),
                op.result_count()
            ),
        ));
    }
    for (i, result) in results.iter().enumerate() {
        let declared = result_shape(op, i).map_err(|message| op_error(op, message))?;
        if declared != result.shape() {
            return Err(op_error(
                op,
                format!(
                    "computed result #{i} of shape {}, but the IR declares {}",
                    format_shape(result.shape()),
                    format_shape(&declared)
                ),
            ));
        }
    }
    Ok(())
}

fn op_name(op: &OperationRef) -> String {
    op.name()
        .as_string_ref()
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn op_error(op: &OperationRef, message: String) -> InterpretError {
    InterpretError::Op {
        location: describe_location(&op.location().to_string()),
        op: op_name(op),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_read_like_compiler_messages() {
        assert_eq!(describe_location("loc(\"net.mlir\":3:8)"), "net.mlir:3:8");
        assert_eq!(describe_location("loc(unknown)"), "unknown");
        assert_eq!(
            describe_location("loc(fused[\"a\":1:2, \"a\":3:4])"),
            "fused[\"a\":1:2, \"a\":3:4]"
        );
    }

    #[test]
    fn map_params_check_shapes() {
        let mut params = HashMap::new();
        params.insert("w".to_string(), Tensor::zeros(vec![2, 3]));
        assert!(params.param("w", &[2, 3]).is_ok());
        assert_eq!(
            params.param("w", &[3, 2]).unwrap_err(),
            "parameter 'w' has shape [2, 3], the IR declares [3, 2]"
        );
        assert_eq!(
            params.param("b", &[3]).unwrap_err(),
            "parameter 'b' is missing"
        );
    }
}
