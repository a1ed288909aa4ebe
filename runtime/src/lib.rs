//! The runtime of compiled deepfuse kernels: the scratchpad arena, DMA byte
//! counters per fusion region, parameter loading and the C ABI.
//!
//! Not implemented yet. It depends on no other deepfuse crate, so compiled
//! kernels can link it alone.

#![warn(missing_docs)]
