//! The runtime of compiled deepfuse kernels: the memories of a run, the
//! scratchpad arena, DMA copies with byte counters per fusion region, and the
//! C ABI that generated code calls.
//!
//! It depends on no other deepfuse crate and links neither MLIR nor LLVM, so
//! compiled kernels and their hosts can link it alone.
//!
//! # The contract with generated code
//!
//! The host owns three [`AlignedBuffer`]-like memories per run: `dram` (all
//! activations at offsets the compiler planned; the network input is written
//! there before the call and outputs read after), `params` (all weights packed
//! at planned offsets) and the scratchpad [`Arena`] of capacity `S`. The
//! compiled entry has the signature [`EntryFn`]:
//! `extern "C" fn(dram: *mut u8, params: *const u8, arena: *mut u8)`.
//!
//! Compute reads and writes only the arena. Every byte that crosses the
//! off-chip boundary goes through [`deepfuse_rt_dma`], which copies and counts
//! it; a failed in-kernel assertion calls [`deepfuse_rt_trap`]. Both find
//! their state in the thread's current [`Session`], installed by
//! [`Session::run`] around the call, because a C call carries no context.
//!
//! ```ignore
//! let mut session = Session::new(&mut dram, &params, &mut arena, regions, checked);
//! session.run(|args| unsafe { entry(args.dram, args.params, args.arena) })?;
//! let stats = session.stats(); // counted bytes, next to the prediction
//! ```
//!
//! # Checked and unchecked sessions
//!
//! A checked session (debug mode) validates every DMA: an input must read
//! from `dram`, a weight from `params`, and both write the arena; an output
//! reads the arena and writes `dram`. An unchecked session trusts the ranges
//! but still validates the kind, the region index and the sizes, which the
//! counters and the copy loop rely on. A rejected call copies and counts
//! nothing; the first problem of the run is returned by [`Session::run`]
//! after the call, since nothing may unwind through generated code. Every run
//! also checks a guard zone behind the arena for overruns by compute code.
//!
//! # Symbols
//!
//! The C ABI functions are `#[no_mangle] pub`. A JIT maps them by name from
//! [`symbols`]; a binary that loads compiled code as a shared library must
//! keep them (calling [`symbols`] does) and export them dynamically (link
//! with `-Wl,--export-dynamic`).

#![warn(missing_docs)]

mod buffer;
mod dma;
mod error;
mod session;
mod stats;

pub use buffer::{ALIGN, AlignedBuffer, Arena};
pub use dma::{DMA_SYMBOL, TRAP_SYMBOL, deepfuse_rt_dma, deepfuse_rt_trap, stray_calls, symbols};
pub use error::{BufferName, DmaKind, DmaProblem, DmaViolation, Operand, RuntimeError};
pub use session::{EntryFn, KernelArgs, Session};
pub use stats::{Stats, Traffic};

#[cfg(test)]
mod tests;
