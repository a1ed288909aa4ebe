//! Reading op attributes and result types through melior, with errors that
//! name the attribute instead of panicking.

use melior::ir::{
    OperationRef, Type,
    attribute::{DenseI64ArrayAttribute, FloatAttribute, IntegerAttribute},
    operation::OperationLike,
    r#type::{DimSize, RankedTensorType, ShapedTypeLike, TypeLike},
};

/// A required dense i64 array attribute of exactly `N` non-negative values.
pub fn usize_array<const N: usize>(op: &OperationRef, name: &str) -> Result<[usize; N], String> {
    let values = i64_array(op, name)?;
    if values.len() != N {
        return Err(format!(
            "attribute '{name}' must have {N} values, got {}",
            values.len()
        ));
    }
    let mut result = [0; N];
    for (slot, value) in result.iter_mut().zip(values) {
        *slot = usize::try_from(value)
            .map_err(|_| format!("attribute '{name}' holds the negative value {value}"))?;
    }
    Ok(result)
}

/// A required dense i64 array attribute.
pub fn i64_array(op: &OperationRef, name: &str) -> Result<Vec<i64>, String> {
    let attribute = required(op, name)?;
    let array = DenseI64ArrayAttribute::try_from(attribute)
        .map_err(|_| format!("attribute '{name}' is not a dense i64 array"))?;
    (0..array.len())
        .map(|i| array.element(i).map_err(|e| e.to_string()))
        .collect()
}

/// A required float attribute, as f32.
pub fn f32_attr(op: &OperationRef, name: &str) -> Result<f32, String> {
    optional_f32(op, name)?.ok_or_else(|| format!("missing attribute '{name}'"))
}

/// An optional float attribute, as f32.
pub fn optional_f32(op: &OperationRef, name: &str) -> Result<Option<f32>, String> {
    let Ok(attribute) = op.attribute(name) else {
        return Ok(None);
    };
    let float = FloatAttribute::try_from(attribute)
        .map_err(|_| format!("attribute '{name}' is not a float"))?;
    Ok(Some(float.value() as f32))
}

/// A required integer attribute (also how `I32EnumAttr` kinds are stored).
pub fn i64_attr(op: &OperationRef, name: &str) -> Result<i64, String> {
    let attribute = required(op, name)?;
    IntegerAttribute::try_from(attribute)
        .map(|integer| integer.value())
        .map_err(|_| format!("attribute '{name}' is not an integer"))
}

/// An integer attribute that defaults to `default` when absent (as ODS
/// `DefaultValuedAttr`s are when they hold their default).
pub fn i64_attr_or(op: &OperationRef, name: &str, default: i64) -> Result<i64, String> {
    if op.has_attribute(name) {
        i64_attr(op, name)
    } else {
        Ok(default)
    }
}

/// Whether a unit attribute is set.
pub fn flag(op: &OperationRef, name: &str) -> bool {
    op.has_attribute(name)
}

fn required<'c>(
    op: &OperationRef<'c, '_>,
    name: &str,
) -> Result<melior::ir::Attribute<'c>, String> {
    op.attribute(name)
        .map_err(|_| format!("missing attribute '{name}'"))
}

/// The static shape of an f32 ranked tensor type.
pub fn tensor_shape(r#type: Type) -> Result<Vec<usize>, String> {
    let tensor = RankedTensorType::try_from(r#type)
        .map_err(|_| format!("type {type} is not a ranked tensor"))?;
    if !tensor.element().is_f32() {
        return Err(format!(
            "type {type} has elements of type {}; deepfuse computes in f32 only",
            tensor.element()
        ));
    }
    (0..tensor.rank())
        .map(|d| match tensor.dim_size(d) {
            Ok(DimSize::Static(size)) => Ok(size as usize),
            _ => Err(format!("type {type} has a dynamic dimension {d}")),
        })
        .collect()
}

/// The shape of result `index` of `op`.
pub fn result_shape(op: &OperationRef, index: usize) -> Result<Vec<usize>, String> {
    let result = op.result(index).map_err(|e| e.to_string())?;
    tensor_shape(melior::ir::ValueLike::r#type(&result))
}

/// A required string attribute.
pub fn string_attr(op: &OperationRef, name: &str) -> Result<String, String> {
    let attribute = required(op, name)?;
    melior::ir::attribute::StringAttribute::try_from(attribute)
        .map(|string| string.value().to_string())
        .map_err(|_| format!("attribute '{name}' is not a string"))
}
