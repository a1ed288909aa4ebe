//! The `df` dialect: layer-level ops on NCHW tensors, defined in ODS
//! (`df/DfOps.td`) and compiled to C++ by `build.rs`.
//!
//! [`register`] makes the dialect known to an MLIR context; [`ops`] holds the
//! typed builders and accessors that `melior::dialect!` generates from the
//! same ODS files, so the Rust API cannot drift from the C++ definitions.

#![warn(missing_docs)]

#[allow(missing_docs)] // generated from the ODS, which carries the docs
pub mod ops;
pub mod source;

use melior::dialect::{DialectHandle, DialectRegistry};

unsafe extern "C" {
    fn mlirGetDialectHandle__df__() -> mlir_sys::MlirDialectHandle;
}

/// The handle of the `df` dialect, for registries and contexts.
pub fn handle() -> DialectHandle {
    // SAFETY: the C++ glue defines the handle function with C linkage; it
    // returns a pointer to a static registration hook.
    unsafe { DialectHandle::from_raw(mlirGetDialectHandle__df__()) }
}

/// Adds the `df` dialect to `registry`.
pub fn register(registry: &DialectRegistry) {
    handle().insert_dialect(registry);
}
