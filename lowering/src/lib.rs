//! Lowering of scheduled fusion regions to native kernels: tiling, loop
//! interchange, scratchpad staging, affine and LLVM code generation.
//!
//! Not implemented yet; the crate exists so that the dependency arrows of the
//! workspace (tools -> facade -> lowering -> passes -> dialects) hold from the
//! start.

#![warn(missing_docs)]
