//! deepfuse: a Deep Fusion compiler on MLIR.
//!
//! This facade crate is what tools and embedders use: [`context`] creates an
//! MLIR context with every dialect and pass deepfuse needs, [`pipeline`]
//! parses textual pass pipelines that mix deepfuse and upstream passes, and
//! [`opt`] is the `deepfuse-opt` driver. [`zoo`] builds torchvision's CNNs
//! as df IR with seeded weights, [`params`] reads and writes their
//! `.safetensors` files, and [`interpreter`] evaluates df IR as the
//! numerical reference; [`cli`] holds the `deepfuse zoo` and `deepfuse run`
//! commands. [`onnx`] imports ONNX models (`deepfuse import`). [`report`]
//! is `deepfuse report`: the Deep Fusion schedule and its traffic.

#![warn(missing_docs)]

pub mod cli;
pub mod compile;
pub mod context;
pub mod demo;
pub mod examples;
pub mod interpreter;
pub mod onnx;
pub mod opt;
pub mod params;
pub mod pipeline;
pub mod report;
pub mod zoo;

pub use deepfuse_dialects as dialects;
pub use deepfuse_passes as passes;
