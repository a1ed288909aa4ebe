//! Loading an ONNX model: the protobuf (through `tract-onnx`'s generated
//! prost types, so the schema is ONNX's own), the default-domain opset, and
//! tensor data stored inline or as external data beside the model.

use std::{
    fs::File,
    io::{Read, Seek, SeekFrom},
    path::{Component, Path, PathBuf},
};

use prost::Message;
use tract_onnx::pb::{
    GraphProto, ModelProto, TensorProto,
    tensor_proto::{DataLocation, DataType},
};

use super::{
    error::{ImportError, Result},
    fold::{Const, ConstData, ElemType, checked_count},
};

/// The oldest default-domain opset accepted. Opsets 7 to 10 are read with
/// their own semantics where they differ (Clip and Pad attributes, Upsample,
/// Resize-10, Softmax before 13); 11 to 21 is the range the tests cover.
pub const MIN_OPSET: i64 = 7;
/// The newest default-domain opset accepted.
pub const MAX_OPSET: i64 = 21;

/// A parsed model, with what the importer needs to resolve its tensors.
#[derive(Debug)]
pub struct Model {
    /// The model file.
    pub path: PathBuf,
    /// The main graph.
    pub graph: GraphProto,
    /// The version of the default (`ai.onnx`) operator set.
    pub opset: i64,
    /// `producer_name producer_version`, for the IR header.
    pub producer: String,
}

/// Reads and parses `path`, refusing files that are not ONNX models or use
/// an opset outside [`MIN_OPSET`]..=[`MAX_OPSET`].
pub fn load(path: &Path) -> Result<Model> {
    let file_error = |reason: String| ImportError::File {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| file_error(format!("cannot read: {e}")))?;
    let model = ModelProto::decode(bytes.as_slice()).map_err(|e| {
        file_error(format!(
            "not a valid ONNX model (protobuf decoding failed: {e}); is the file truncated or not ONNX?"
        ))
    })?;
    // Protobuf decoding is lenient: arbitrary bytes may decode into a message
    // with unknown fields only. A real model has an IR version, a graph and
    // an opset.
    let Some(graph) = model.graph else {
        return Err(file_error(
            "not an ONNX model: it holds no graph (is the file truncated or not ONNX?)".into(),
        ));
    };
    if model.ir_version < 3 {
        return Err(file_error(format!(
            "not a supported ONNX model: IR version {} (need 3 or later; is the file truncated or not ONNX?)",
            model.ir_version
        )));
    }
    let opset = model
        .opset_import
        .iter()
        .find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
        .map(|o| o.version)
        .ok_or_else(|| {
            file_error(
                "the model imports no default-domain (ai.onnx) opset (is the file truncated?)"
                    .into(),
            )
        })?;
    if !(MIN_OPSET..=MAX_OPSET).contains(&opset) {
        return Err(file_error(format!(
            "opset {opset} is not supported (supported: {MIN_OPSET} to {MAX_OPSET})"
        )));
    }
    let producer = format!("{} {}", model.producer_name, model.producer_version)
        .trim()
        .to_string();
    Ok(Model {
        path: path.to_path_buf(),
        graph,
        opset,
        producer,
    })
}

/// The name of an ONNX data type code, as the ONNX spec spells it.
pub fn data_type_name(code: i32) -> String {
    DataType::try_from(code)
        .map(|t| t.as_str_name().to_string())
        .unwrap_or_else(|_| format!("unknown data type {code}"))
}

/// The element type of an ONNX data type code, if the importer can hold it.
/// Integers of every width are held as i64 (they only feed shape arithmetic).
pub fn elem_type(code: i32) -> Result<ElemType, String> {
    Ok(match DataType::try_from(code) {
        Ok(DataType::Float) => ElemType::F32,
        Ok(DataType::Int64) => ElemType::I64,
        Ok(DataType::Int32) => ElemType::I32,
        Ok(DataType::Int16) => ElemType::I16,
        Ok(DataType::Int8) => ElemType::I8,
        Ok(DataType::Uint8) => ElemType::U8,
        Ok(DataType::Uint16) => ElemType::U16,
        Ok(DataType::Uint32) => ElemType::U32,
        Ok(DataType::Uint64) => ElemType::U64,
        Ok(DataType::Bool) => ElemType::Bool,
        _ => {
            return Err(format!(
                "data type {} is not supported (float32 only, integers for shapes)",
                data_type_name(code)
            ));
        }
    })
}

/// Decodes a tensor's data, reading external data relative to the model file
/// `model_path`.
pub fn decode_tensor(tensor: &TensorProto, model_path: &Path) -> Result<Const, String> {
    let elem = elem_type(tensor.data_type)?;
    let shape = tensor
        .dims
        .iter()
        .map(|&dim| usize::try_from(dim).map_err(|_| format!("has a negative dimension {dim}")))
        .collect::<Result<Vec<_>, _>>()?;
    let count = checked_count(&shape).map_err(|_| format!("has shape {shape:?}, too large"))?;
    let external = tensor.data_location == Some(DataLocation::External as i32);
    let data = if external {
        let bytes = read_external(tensor, model_path, count * elem.byte_size())?;
        from_bytes(elem, &bytes, count)?
    } else if !tensor.raw_data.is_empty() {
        from_bytes(elem, &tensor.raw_data, count)?
    } else {
        from_typed_fields(elem, tensor, count)?
    };
    Ok(Const { elem, shape, data })
}

/// Reads the external data of `tensor`: `expected` bytes from the file its
/// `location` names, relative to the model's directory.
fn read_external(
    tensor: &TensorProto,
    model_path: &Path,
    expected: usize,
) -> Result<Vec<u8>, String> {
    let mut location = None;
    let mut offset = 0u64;
    let mut length = None;
    for entry in &tensor.external_data {
        let number = || {
            entry.value.parse::<u64>().map_err(|_| {
                format!(
                    "has external data {} '{}', not a byte count",
                    entry.key, entry.value
                )
            })
        };
        match entry.key.as_str() {
            "location" => location = Some(entry.value.as_str()),
            "offset" => offset = number()?,
            "length" => length = Some(number()?),
            // The checksum is optional and advisory; nothing else is defined.
            _ => {}
        }
    }
    let location = location.ok_or("is stored externally but names no location")?;
    let relative = Path::new(location);
    // ONNX requires locations relative to the model, inside its directory;
    // refusing anything else keeps a model from reading arbitrary files.
    if relative
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(format!(
            "has external data location '{location}', which is not a relative path inside the model's directory"
        ));
    }
    let path = model_path
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join(relative);
    if let Some(length) = length
        && length != expected as u64
    {
        return Err(format!(
            "has external data of {length} bytes in {}, expected {expected} for its shape",
            path.display()
        ));
    }
    let fail = |e: std::io::Error| format!("cannot read its external data {}: {e}", path.display());
    let mut file = File::open(&path).map_err(fail)?;
    let size = file.metadata().map_err(fail)?.len();
    if offset
        .checked_add(expected as u64)
        .is_none_or(|end| end > size)
    {
        return Err(format!(
            "has external data at bytes {offset}..{} of {}, but the file has {size} bytes",
            offset.saturating_add(expected as u64),
            path.display()
        ));
    }
    file.seek(SeekFrom::Start(offset)).map_err(fail)?;
    let mut bytes = vec![0; expected];
    file.read_exact(&mut bytes).map_err(fail)?;
    Ok(bytes)
}

/// Little-endian fixed-width elements, as `raw_data` and external data hold them.
fn from_bytes(elem: ElemType, bytes: &[u8], count: usize) -> Result<ConstData, String> {
    let width = elem.byte_size();
    if bytes.len() != count * width {
        return Err(format!(
            "holds {} bytes of data, expected {} ({count} elements of {width} bytes)",
            bytes.len(),
            count * width
        ));
    }
    let ints = |f: fn(&[u8]) -> i64| ConstData::I64(bytes.chunks_exact(width).map(f).collect());
    Ok(match elem {
        ElemType::F32 => {
            // One copy (bytes may be unaligned), not a conversion per element.
            let mut values = vec![0f32; count];
            bytemuck::cast_slice_mut::<f32, u8>(&mut values).copy_from_slice(bytes);
            if cfg!(target_endian = "big") {
                for value in &mut values {
                    *value = f32::from_bits(value.to_bits().swap_bytes());
                }
            }
            ConstData::F32(values.into())
        }
        ElemType::I64 => ints(|b| i64::from_le_bytes(b.try_into().unwrap_or_default())),
        ElemType::U64 => {
            let values = bytes
                .chunks_exact(8)
                .map(|b| {
                    let value = u64::from_le_bytes(b.try_into().unwrap_or_default());
                    i64::try_from(value).map_err(|_| format!("holds the uint64 {value}, too large"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            ConstData::I64(values)
        }
        ElemType::I32 => ints(|b| i32::from_le_bytes(b.try_into().unwrap_or_default()) as i64),
        ElemType::U32 => ints(|b| u32::from_le_bytes(b.try_into().unwrap_or_default()) as i64),
        ElemType::I16 => ints(|b| i16::from_le_bytes(b.try_into().unwrap_or_default()) as i64),
        ElemType::U16 => ints(|b| u16::from_le_bytes(b.try_into().unwrap_or_default()) as i64),
        ElemType::I8 => ints(|b| b[0] as i8 as i64),
        ElemType::U8 => ints(|b| b[0] as i64),
        ElemType::Bool => ints(|b| (b[0] != 0) as i64),
    })
}

/// Elements stored in the typed repeated fields (`float_data`, ...).
fn from_typed_fields(
    elem: ElemType,
    tensor: &TensorProto,
    count: usize,
) -> Result<ConstData, String> {
    let check = |len: usize, field: &str| {
        if len == count {
            Ok(())
        } else {
            Err(format!(
                "holds {len} elements in {field}, expected {count} for its shape"
            ))
        }
    };
    Ok(match elem {
        ElemType::F32 => {
            check(tensor.float_data.len(), "float_data")?;
            ConstData::F32(tensor.float_data.clone().into())
        }
        ElemType::I64 => {
            check(tensor.int64_data.len(), "int64_data")?;
            ConstData::I64(tensor.int64_data.clone())
        }
        ElemType::U32 | ElemType::U64 => {
            check(tensor.uint64_data.len(), "uint64_data")?;
            let values = tensor
                .uint64_data
                .iter()
                .map(|&v| i64::try_from(v).map_err(|_| format!("holds the integer {v}, too large")))
                .collect::<Result<Vec<_>, _>>()?;
            ConstData::I64(values)
        }
        ElemType::I32
        | ElemType::I16
        | ElemType::I8
        | ElemType::U8
        | ElemType::U16
        | ElemType::Bool => {
            check(tensor.int32_data.len(), "int32_data")?;
            ConstData::I64(tensor.int32_data.iter().map(|&v| v as i64).collect())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn float_tensor(dims: Vec<i64>) -> TensorProto {
        TensorProto {
            dims,
            data_type: DataType::Float as i32,
            ..Default::default()
        }
    }

    #[test]
    fn raw_and_typed_float_data() {
        let mut raw = float_tensor(vec![2]);
        raw.raw_data = [1.5f32, -2.0]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        let decoded = decode_tensor(&raw, Path::new("m.onnx")).unwrap();
        assert_eq!(decoded.shape, vec![2]);
        assert_eq!(decoded.data, ConstData::F32(vec![1.5, -2.0].into()));

        let mut typed = float_tensor(vec![1, 2]);
        typed.float_data = vec![3.0, 4.0];
        let decoded = decode_tensor(&typed, Path::new("m.onnx")).unwrap();
        assert_eq!(decoded.data, ConstData::F32(vec![3.0, 4.0].into()));
    }

    #[test]
    fn data_that_does_not_fit_the_shape_is_an_error() {
        let mut short = float_tensor(vec![3]);
        short.raw_data = vec![0; 8];
        assert_eq!(
            decode_tensor(&short, Path::new("m.onnx")).unwrap_err(),
            "holds 8 bytes of data, expected 12 (3 elements of 4 bytes)"
        );
        let negative = float_tensor(vec![-1]);
        assert!(decode_tensor(&negative, Path::new("m.onnx")).is_err());
    }

    #[test]
    fn doubles_are_refused_by_name() {
        let tensor = TensorProto {
            data_type: DataType::Double as i32,
            ..Default::default()
        };
        assert_eq!(
            decode_tensor(&tensor, Path::new("m.onnx")).unwrap_err(),
            "data type DOUBLE is not supported (float32 only, integers for shapes)"
        );
    }

    #[test]
    fn external_locations_stay_inside_the_model_directory() {
        let mut tensor = float_tensor(vec![1]);
        tensor.data_location = Some(DataLocation::External as i32);
        tensor.external_data = vec![tract_onnx::pb::StringStringEntryProto {
            key: "location".into(),
            value: "../secret.bin".into(),
        }];
        let error = decode_tensor(&tensor, Path::new("dir/m.onnx")).unwrap_err();
        assert!(error.contains("not a relative path inside"), "{error}");
    }

    #[test]
    fn garbage_is_not_a_model() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("garbage.onnx");
        std::fs::write(&path, b"this is not a model").unwrap();
        let error = load(&path).unwrap_err().to_string();
        assert!(error.contains("not"), "{error}");
    }
}
