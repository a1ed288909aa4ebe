//! Counted traffic, in the shape of the scheduler's prediction so the host can
//! print one next to the other.

use std::ops::{Add, AddAssign};

use serde::{Deserialize, Serialize};

use crate::DmaKind;

/// Bytes moved across the off-chip boundary, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Traffic {
    /// Activation bytes read into the scratchpad.
    pub input: u64,
    /// Weight bytes read into the scratchpad.
    pub weight: u64,
    /// Activation bytes written back off-chip.
    pub output: u64,
}

impl Traffic {
    /// All bytes moved.
    pub fn total(&self) -> u64 {
        self.input + self.weight + self.output
    }

    /// Bytes of one kind (none for on-chip moves).
    pub fn get(&self, kind: DmaKind) -> u64 {
        match kind {
            DmaKind::Input => self.input,
            DmaKind::Weight => self.weight,
            DmaKind::Output => self.output,
            DmaKind::Move => 0,
        }
    }

    pub(crate) fn add_bytes(&mut self, kind: DmaKind, bytes: u64) {
        let counter = match kind {
            DmaKind::Input => &mut self.input,
            DmaKind::Weight => &mut self.weight,
            DmaKind::Output => &mut self.output,
            DmaKind::Move => return,
        };
        // Wrapping is unreachable in practice (2^64 bytes) but must not panic
        // inside a C ABI function.
        *counter = counter.wrapping_add(bytes);
    }
}

impl Add for Traffic {
    type Output = Traffic;

    fn add(self, other: Traffic) -> Traffic {
        Traffic {
            input: self.input + other.input,
            weight: self.weight + other.weight,
            output: self.output + other.output,
        }
    }
}

impl AddAssign for Traffic {
    fn add_assign(&mut self, other: Traffic) {
        *self = *self + other;
    }
}

impl std::iter::Sum for Traffic {
    fn sum<I: Iterator<Item = Traffic>>(iter: I) -> Traffic {
        iter.fold(Traffic::default(), Add::add)
    }
}

/// What a session counted, over all its runs since creation or the last
/// [`Session::reset_stats`](crate::Session::reset_stats).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Traffic of each fusion region, indexed by the `region` argument.
    pub regions: Vec<Traffic>,
    /// The sum over regions.
    pub total: Traffic,
    /// DMA calls performed (rejected calls are not counted).
    pub dma_calls: u64,
    /// One past the highest arena byte any performed DMA touched (written by
    /// an input or weight load, or read by an output store): a lower bound on
    /// the footprint the compiler planned, to set next to it.
    pub arena_peak: usize,
    /// The arena's capacity, so the peak can be read as a fraction of it.
    pub arena_capacity: usize,
}
