//! Lowering of scheduled df programs to native kernels.
//!
//! The stages, each a separate module:
//! - [`program`]: the entry function flattened into init and forward steps,
//!   every tensor classified (input, parameter, derived parameter,
//!   activation);
//! - [`buffers`]: the buffer plan (parameters packed, activations placed by
//!   liveness), the analysis behind bufferization;
//! - [`staging`]: which fusion regions run tile by tile through the
//!   scratchpad, with their tile plans and arena buffers;
//! - [`packing`]: which filters the init function copies into the order
//!   their staged chunk loads read them;
//! - [`affine`]: the affine/memref/arith/math module computing every op on
//!   views of the planned buffers;
//! - [`llvm_pipeline`]: upstream MLIR passes down to the LLVM dialect;
//! - [`codegen`]: LLVM IR, O3 for the host CPU, object files, shared
//!   libraries and the JIT.
//!
//! [`lower`] runs the first four in order; [`passes`] offers them to
//! `deepfuse-opt` as `df-lower-to-affine` and the upstream stages as the
//! `df-lower-to-llvm` pipeline.

#![warn(missing_docs)]

pub mod affine;
pub mod buffers;
pub mod codegen;
pub mod llvm_pipeline;
pub mod lower;
pub mod packing;
pub mod passes;
pub mod program;
pub mod staging;

use deepfuse_passes::ir::{describe_location, op_name};
use melior::ir::{OperationRef, operation::OperationLike};
use thiserror::Error;

/// Why a program cannot be lowered.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum LowerError {
    /// An op that cannot be lowered, with its location.
    #[error("{location}: '{op}' {message}")]
    Op {
        /// `file:line:col` when known.
        location: String,
        /// The op name.
        op: String,
        /// What is wrong.
        message: String,
    },
    /// A program-level limitation.
    #[error("{0}")]
    Unsupported(String),
}

impl LowerError {
    /// An error located at `op`.
    pub fn at(op: &OperationRef, message: &str) -> Self {
        LowerError::Op {
            location: describe_location(&op.location().to_string()),
            op: op_name(op),
            message: message.to_string(),
        }
    }
}
