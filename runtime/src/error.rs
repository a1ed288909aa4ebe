//! What can go wrong in a run, as reported to the host after the call.

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// What a DMA moves, and so which buffers its source and destination must
/// lie in. The discriminants are the `kind` codes of the C ABI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[repr(i64)]
pub enum DmaKind {
    /// An activation read: `dram` -> arena.
    Input = 0,
    /// A weight read: `params` -> arena.
    Weight = 1,
    /// An activation write: arena -> `dram`.
    Output = 2,
    /// An on-chip copy: arena -> arena, which crosses no off-chip boundary
    /// and counts nothing (a cached overlap carried from one tile's buffer
    /// to the next). Source and destination may overlap.
    Move = 3,
}

impl DmaKind {
    /// Every kind, in code order.
    pub const ALL: [DmaKind; 4] = [
        DmaKind::Input,
        DmaKind::Weight,
        DmaKind::Output,
        DmaKind::Move,
    ];

    /// The kind with C ABI code `code`, if any.
    pub fn from_code(code: i64) -> Option<Self> {
        match code {
            0 => Some(DmaKind::Input),
            1 => Some(DmaKind::Weight),
            2 => Some(DmaKind::Output),
            3 => Some(DmaKind::Move),
            _ => None,
        }
    }

    /// The C ABI code, what generated code passes as `kind`.
    pub fn code(self) -> i64 {
        self as i64
    }

    /// The buffers a DMA of this kind reads from and writes to.
    pub fn buffers(self) -> (BufferName, BufferName) {
        match self {
            DmaKind::Input => (BufferName::Dram, BufferName::Arena),
            DmaKind::Weight => (BufferName::Params, BufferName::Arena),
            DmaKind::Output => (BufferName::Arena, BufferName::Dram),
            DmaKind::Move => (BufferName::Arena, BufferName::Arena),
        }
    }
}

impl fmt::Display for DmaKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DmaKind::Input => "input",
            DmaKind::Weight => "weight",
            DmaKind::Output => "output",
            DmaKind::Move => "move",
        })
    }
}

/// One of the three memories of a run, to say where a bad range was meant
/// to lie.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BufferName {
    /// Off-chip activations.
    Dram,
    /// Off-chip weights.
    Params,
    /// The scratchpad.
    Arena,
}

impl fmt::Display for BufferName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BufferName::Dram => "dram",
            BufferName::Params => "params",
            BufferName::Arena => "arena",
        })
    }
}

/// Which side of a copy a bad range is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operand {
    /// Where the bytes come from.
    Source,
    /// Where the bytes go.
    Destination,
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operand::Source => "source",
            Operand::Destination => "destination",
        })
    }
}

/// Why a DMA call was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DmaProblem {
    /// `kind` is not a [`DmaKind`] code.
    #[error("unknown DMA kind (0 = input, 1 = weight, 2 = output)")]
    InvalidKind,
    /// `region` is negative or not below the session's region count.
    #[error("region index out of range (the session counts {regions} regions)")]
    RegionOutOfRange {
        /// The session's region count.
        regions: usize,
    },
    /// A box dimension or the row length is negative.
    #[error("negative box size: {n0} x {n1} rows of {row_bytes} bytes")]
    NegativeSize {
        /// Outer row count.
        n0: i64,
        /// Inner row count.
        n1: i64,
        /// Bytes per row.
        row_bytes: i64,
    },
    /// The box holds more than `i64::MAX` bytes.
    #[error("box size {n0} x {n1} rows of {row_bytes} bytes overflows")]
    SizeOverflow {
        /// Outer row count.
        n0: i64,
        /// Inner row count.
        n1: i64,
        /// Bytes per row.
        row_bytes: i64,
    },
    /// Checked mode: a range the box touches is not inside the buffer its kind
    /// requires. Offsets are relative to that buffer's start (negative before
    /// it) and `end` is exclusive: the smallest range covering every row.
    #[error("{operand} bytes [{start}, {end}) of {buffer} are outside it ({len} bytes)")]
    OutOfBounds {
        /// Which side of the copy.
        operand: Operand,
        /// The buffer the range must lie in.
        buffer: BufferName,
        /// First byte, relative to the buffer.
        start: i128,
        /// One past the last byte, relative to the buffer.
        end: i128,
        /// The buffer's length.
        len: usize,
    },
}

/// A rejected DMA call: its raw arguments' identity and the problem. The copy
/// was skipped and nothing was counted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("DMA call #{call} of the run ({}, region {region}): {problem}", KindLabel(*kind))]
pub struct DmaViolation {
    /// Index of the call among all DMA calls of the run, from 0, to find it in
    /// a trace of the generated code.
    pub call: u64,
    /// The `region` argument as passed.
    pub region: i64,
    /// The `kind` argument as passed.
    pub kind: i64,
    /// What was wrong.
    pub problem: DmaProblem,
}

/// Formats a raw `kind` argument by name when it is valid.
struct KindLabel(i64);

impl fmt::Display for KindLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match DmaKind::from_code(self.0) {
            Some(kind) => write!(f, "{kind}"),
            None => write!(f, "kind {}", self.0),
        }
    }
}

/// An error of the runtime. Errors raised inside compiled code are recorded
/// (the first one wins) and returned by [`Session::run`](crate::Session::run)
/// after the call, since nothing may unwind through generated frames.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RuntimeError {
    /// A DMA call was rejected; later ones may have been too.
    #[error("{first}{}", MoreRejected(*rejected))]
    Dma {
        /// The first rejected call.
        first: DmaViolation,
        /// How many calls of the run were rejected, `first` included.
        rejected: u64,
    },
    /// Generated code called `deepfuse_rt_trap`: an in-kernel assertion
    /// failed.
    #[error("the kernel trapped with code {code} after {dma_calls} DMA calls")]
    Trap {
        /// The code the kernel passed.
        code: i64,
        /// DMA calls of the run before the trap, to locate it.
        dma_calls: u64,
    },
    /// The guard zone behind the arena changed during the run: compute code
    /// wrote past the scratchpad, which no DMA check can see.
    #[error("the kernel wrote past the end of the scratchpad arena ({capacity} bytes)")]
    ArenaOverrun {
        /// The arena's capacity.
        capacity: usize,
    },
    /// The kernel's scratchpad buffers do not fit in the arena.
    #[error("the kernel needs {footprint} bytes of scratchpad but the arena holds {capacity}")]
    FootprintTooLarge {
        /// Bytes the kernel needs.
        footprint: usize,
        /// The arena's capacity.
        capacity: usize,
    },
    /// A bug in the runtime itself panicked inside a C ABI function; the panic
    /// was caught there rather than unwound into generated code.
    #[error("internal error in the runtime: {0}")]
    Internal(String),
}

struct MoreRejected(u64);

impl fmt::Display for MoreRejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 > 1 {
            write!(f, " ({} DMA calls rejected in all)", self.0)
        } else {
            Ok(())
        }
    }
}
