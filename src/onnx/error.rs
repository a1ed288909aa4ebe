//! Why an import failed. Every refusal names what is at fault (the file, the
//! graph input, or the node with its operator) and the reason, so that the
//! message alone tells the user what to change.

use std::path::PathBuf;

use thiserror::Error;

/// An import failure.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ImportError {
    /// The model file cannot be read, or is not an ONNX model.
    #[error("{path}: {reason}")]
    File {
        /// The file at fault (the model or one of its external data files).
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The graph as a whole cannot be imported: its opset, an input or
    /// output, an initializer that no node can be blamed for.
    #[error("{0}")]
    Graph(String),
    /// A node cannot be imported.
    #[error("node '{node}' ({op}): {reason}")]
    Node {
        /// The node's name, or `op_type#index` when it has none.
        node: String,
        /// The node's operator, with its domain when not the default one.
        op: String,
        /// Why it is refused.
        reason: String,
    },
    /// The generated IR does not parse or verify: an importer bug, reported
    /// with MLIR's diagnostics (they name the node through its location).
    #[error("the imported IR does not verify (an importer bug):\n{0}")]
    Verify(String),
    /// The output files cannot be written.
    #[error("{path}: {reason}")]
    Write {
        /// The file that could not be written.
        path: PathBuf,
        /// The system's reason.
        reason: String,
    },
}

/// The result type of the importer.
pub type Result<T, E = ImportError> = std::result::Result<T, E>;
