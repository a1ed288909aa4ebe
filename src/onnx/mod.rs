//! ONNX import: lifts an ONNX model into one `func.func` of df ops, with the
//! weights as named parameters.
//!
//! [`import`] decides everything first and returns an [`Imported`] plan:
//! the IR text (already parsed and verified by MLIR) and the parameters the
//! IR's `df.param` ops name. [`Imported::write`] then writes the `.mlir`
//! file and the `.safetensors` file beside it. Nothing is approximated:
//! an operator, attribute value, data type or dynamic shape the df dialect
//! cannot express exactly is refused with an [`ImportError`] that names the
//! node, its operator and the reason.
//!
//! Layout: `model` loads the protobuf (with `tract-onnx`'s generated types)
//! and tensor data (external data included), `fold` holds constants and the
//! shape arithmetic folded at import time, `graph` walks the graph, `ops`
//! converts nodes (one module per op family behind one dispatch `match`),
//! `emit` writes the IR text, `verify` runs MLIR's parser and verifiers on
//! it, and `weights` writes the `.safetensors` file.

pub mod cli;
mod emit;
mod error;
mod fold;
mod graph;
mod model;
mod node;
mod ops;
mod verify;
mod weights;

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    rc::Rc,
    time::Instant,
};

pub use error::ImportError;
pub use model::{MAX_OPSET, MIN_OPSET};

/// Options of an import.
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    /// Shapes that replace the ones graph inputs declare (to pin dynamic
    /// dimensions), by input name.
    pub input_shapes: HashMap<String, Vec<usize>>,
}

/// A named float32 parameter of the imported network.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    /// The name `df.param` uses: the ONNX initializer or constant name, with
    /// a suffix when its data was changed (`.alpha_scaled`, `.negated`).
    pub name: String,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Its elements, row-major.
    pub data: Rc<Vec<f32>>,
}

/// What an import produced, ready to be written.
#[derive(Debug)]
pub struct Imported {
    /// The df IR: one `func.func`, verified.
    pub ir: String,
    /// The parameters the IR names, in first-use order.
    pub params: Vec<Param>,
    /// Facts for the report.
    pub summary: Summary,
}

/// Facts about an import.
#[derive(Clone, Debug)]
pub struct Summary {
    /// The model file.
    pub model: PathBuf,
    /// The default-domain opset.
    pub opset: i64,
    /// The producer the model names.
    pub producer: String,
    /// ONNX nodes converted (nodes no output depends on are skipped).
    pub nodes: usize,
    /// Ops in the function, `df.param` and `func.return` included.
    pub ops: usize,
    /// The total number of parameter elements.
    pub param_elements: usize,
    /// Seconds spent loading, converting and verifying.
    pub seconds: f64,
}

/// Imports the ONNX model at `path`.
pub fn import(path: &Path, options: &ImportOptions) -> Result<Imported, ImportError> {
    let start = Instant::now();
    let mut model = model::load(path)?;
    let converted = graph::convert(&mut model, options)?;
    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut ir = format!(
        "// Imported by `deepfuse import` from {} (ONNX opset {}{}).\n\
         // Parameters are in the .safetensors file beside this one.\n",
        one_line(&file_name),
        model.opset,
        if model.producer.is_empty() {
            String::new()
        } else {
            format!(", produced by {}", one_line(&model.producer))
        }
    );
    ir.push_str(&converted.function);
    verify::verify(&ir, &file_name)?;
    let summary = Summary {
        model: path.to_path_buf(),
        opset: model.opset,
        producer: model.producer,
        nodes: converted.nodes,
        ops: converted.ops,
        param_elements: converted.params.iter().map(|p| p.data.len()).sum(),
        seconds: start.elapsed().as_secs_f64(),
    };
    Ok(Imported {
        ir,
        params: converted.params,
        summary,
    })
}

impl Imported {
    /// The parameters as a map from name to data, for evaluating the IR in
    /// memory.
    pub fn param_map(&self) -> HashMap<String, crate::interpreter::Tensor> {
        self.params
            .iter()
            .filter_map(|p| {
                crate::interpreter::Tensor::new(p.shape.clone(), p.data.to_vec())
                    .ok()
                    .map(|tensor| (p.name.clone(), tensor))
            })
            .collect()
    }

    /// Writes the IR to `mlir_path` and the parameters to the same path with
    /// the extension `.safetensors`; returns the latter.
    pub fn write(&self, mlir_path: &Path) -> Result<PathBuf, ImportError> {
        let params_path = mlir_path.with_extension("safetensors");
        let model = &self.summary.model;
        if same_file(mlir_path, model) || same_file(&params_path, model) {
            return Err(ImportError::Write {
                path: mlir_path.to_path_buf(),
                reason: "writing there would overwrite the model".into(),
            });
        }
        let metadata = HashMap::from([
            ("generator".to_string(), "deepfuse import".to_string()),
            ("source".to_string(), model.display().to_string()),
        ]);
        weights::write(&params_path, &self.params, metadata)?;
        std::fs::write(mlir_path, &self.ir).map_err(|e| ImportError::Write {
            path: mlir_path.to_path_buf(),
            reason: e.to_string(),
        })?;
        Ok(params_path)
    }
}

/// `text` with control characters (line breaks) replaced, for a comment.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Whether two paths name the same existing file.
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
