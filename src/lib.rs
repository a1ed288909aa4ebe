//! deepfuse: a Deep Fusion compiler on MLIR.
//!
//! This facade crate is what tools and embedders use: [`context`] creates an
//! MLIR context with every dialect and pass deepfuse needs, [`pipeline`]
//! parses textual pass pipelines that mix deepfuse and upstream passes, and
//! [`opt`] is the `deepfuse-opt` driver.

pub mod context;
pub mod demo;
pub mod examples;
pub mod opt;
pub mod pipeline;

pub use deepfuse_dialects as dialects;
pub use deepfuse_passes as passes;
