//! Small queries and edits on IR that the typed melior API leaves out: use
//! lists, shapes of tensor values, whether a value is a parameter.

use melior::ir::{
    BlockLike, Module, OperationRef, Type, Value, ValueLike,
    operation::{OperationLike, OperationResult},
    r#type::{DimSize, RankedTensorType, ShapedTypeLike},
};

/// The name of an operation, such as `df.conv2d`.
pub fn op_name(op: &OperationRef) -> String {
    op.name()
        .as_string_ref()
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The first `func.func` directly in `module`: the function the compiler
/// and the interpreter take as the network.
pub fn first_function<'c, 'a>(module: &'a Module<'c>) -> Option<OperationRef<'c, 'a>> {
    let mut next = module.body().first_operation();
    while let Some(op) = next {
        if op_name(&op) == "func.func" {
            return Some(op);
        }
        next = op.next_in_block();
    }
    None
}

/// The operation that defines `value`, if it is an operation result.
pub fn defining_op<'c, 'a>(value: Value<'c, 'a>) -> Option<OperationRef<'c, 'a>> {
    OperationResult::try_from(value)
        .ok()
        .map(|result| result.owner())
}

/// The number of uses of `value`.
pub fn use_count(value: Value) -> usize {
    let mut count = 0;
    // SAFETY: walks the use list of a live value without changing it.
    unsafe {
        let mut operand = mlir_sys::mlirValueGetFirstUse(value.to_raw());
        while !operand.ptr.is_null() {
            count += 1;
            operand = mlir_sys::mlirOpOperandGetNextUse(operand);
        }
    }
    count
}

/// The static shape of a ranked tensor value.
pub fn shape_of(value: Value) -> Option<Vec<i64>> {
    let tensor = RankedTensorType::try_from(value.r#type()).ok()?;
    (0..tensor.rank())
        .map(|d| match tensor.dim_size(d).ok()? {
            DimSize::Static(size) => Some(size as i64),
            DimSize::Dynamic => None,
        })
        .collect()
}

/// The element type of a shaped value.
pub fn element_type_of<'c>(value: Value<'c, '_>) -> Option<Type<'c>> {
    RankedTensorType::try_from(value.r#type())
        .ok()
        .map(|t| t.element())
}

/// Whether `value` is computed from network parameters only (a `df.param`,
/// or a df op whose operands all are), so that it can be evaluated once when
/// the parameters are loaded.
pub fn is_parameter(value: Value) -> bool {
    let Some(op) = defining_op(value) else {
        return false;
    };
    match op_name(&op).as_str() {
        "df.param" => true,
        "df.fold_batch_norm" | "df.reshape" | "df.flatten" | "df.add" | "df.mul" => {
            op.operands().all(is_parameter)
        }
        _ => false,
    }
}

/// Replaces every use of `from` by `to`.
pub fn replace_all_uses(from: Value, to: Value) {
    // SAFETY: both values are live; MLIR rewires the use lists.
    unsafe { mlir_sys::mlirValueReplaceAllUsesOfWith(from.to_raw(), to.to_raw()) }
}

/// Erases an operation whose results have no uses left.
pub fn erase(op: OperationRef) {
    debug_assert!(op.results().all(|r| use_count(r.into()) == 0));
    // SAFETY: the operation is unused; destroying it unlinks it from its
    // block. Callers hold no other reference to it afterwards.
    unsafe { mlir_sys::mlirOperationDestroy(op.to_raw()) }
}

/// Reports an error at `location` through the context's diagnostic handlers.
pub fn emit_error(location: melior::ir::Location, message: &str) {
    let message = std::ffi::CString::new(message.replace('\0', " ")).expect("no NUL left");
    // SAFETY: the location is live and the message NUL-terminated.
    unsafe { mlir_sys::mlirEmitError(location.to_raw(), message.as_ptr()) }
}

/// `loc("net.mlir":3:8)` becomes `net.mlir:3:8`; other locations (fused,
/// unknown) keep MLIR's spelling without the `loc(...)` wrapper.
pub fn describe_location(text: &str) -> String {
    let inner = text
        .strip_prefix("loc(")
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or(text);
    if let Some(rest) = inner.strip_prefix('"')
        && let Some((file, position)) = rest.split_once("\":")
        && position.split(':').all(|part| part.parse::<u64>().is_ok())
    {
        return format!("{file}:{position}");
    }
    inner.to_string()
}
