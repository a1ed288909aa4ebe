//! Filters stored chunk by chunk for their DMAs.
//!
//! A staged layer that streams its input in chunks of input channels loads,
//! per chunk and group of output channels, the filter's slice `[k, k + g)`
//! by `[c, c + w)`: `g` rows of `w` input channels, one filter row apart in
//! the `[K, C, kh, kw]` layout. With chunks of 8 or 32 channels of a 1x1
//! convolution those rows are 32 or 128 bytes, thousands of bytes apart, so
//! every DMA reads a few scattered cache lines from DRAM, which the
//! hardware prefetchers do not follow. Copying such a filter once, in the
//! init function, into chunk-major order (chunk by chunk, each chunk's
//! output channels one after the other) makes every slice one contiguous
//! run, and a sweep over the chunks one stream through memory. The bytes a
//! DMA moves do not change, only where they come from.
//!
//! [`plan`] decides which filters qualify and [`apply`] adds their copies
//! to the program; the buffer plan gives the copies their place among the
//! parameters ([`crate::buffers`]), the init function fills them and the
//! staged DMAs read them ([`crate::affine`]).

use crate::{
    program::{Program, TensorValue, ValueClass, ValueId},
    staging::RegionStaging,
};

/// A filter with a chunk-major copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PackedFilter {
    /// The filter, `[K, C, kh, kw]`.
    pub original: ValueId,
    /// Its copy: for each chunk `[c0, c0 + w)` of `chunk` input channels
    /// (the last may be narrower), at element `c0 * K * kh * kw`, the
    /// `[K, w, kh, kw]` slice of the filter.
    pub packed: ValueId,
    /// Input channels per chunk.
    pub chunk: i64,
}

/// The filters of staged layers whose every forward read is a chunk load
/// that a chunk-major copy can serve, with the chunk width: the layer
/// streams its input in chunks and loads the filter's slices per chunk
/// (not a depthwise layer, which loads per channel, nor one that keeps some
/// channels' weights on chip, which loads them whole), and at every step
/// its chunks start at multiples of the width from the filter's first
/// channel and end at one, or at the last channel. Nothing else in the
/// forward function reads the filter.
pub fn plan(program: &Program, staging: &[RegionStaging]) -> Vec<(ValueId, i64)> {
    let mut readers = vec![0usize; program.values.len()];
    for step in &program.forward {
        for &operand in &step.operands {
            readers[operand] += 1;
        }
    }
    let mut filters = Vec::new();
    for region in staging.iter().filter_map(RegionStaging::staged) {
        for (p, layer) in region.layers.iter().enumerate() {
            let Some(chunked_use) = layer.chunked else {
                continue;
            };
            let sliced = layer.weights.first().is_some_and(|w| w.sliced);
            if !sliced || layer.depthwise || layer.resident_channels > 0 || layer.swept_channels > 0
            {
                continue;
            }
            let width = layer.chunk_channels;
            for weight in layer.weights.iter().filter(|w| w.chunked) {
                let channels = weight.channels;
                let aligned = region.plan.steps.iter().all(|step| {
                    let read = step.layers[p].reads[chunked_use].c;
                    read.len() <= 0
                        || (read.start % width == 0
                            && (read.end == channels || read.len() % width == 0))
                });
                if aligned
                    && width < channels
                    && readers[weight.value] == 1
                    && weight.resident.is_none()
                    && program.values[weight.value].shape.len() == 4
                {
                    filters.push((weight.value, width));
                }
            }
        }
    }
    filters.sort_unstable();
    filters.dedup_by_key(|(value, _)| *value);
    filters
}

/// Adds a derived value for the packed copy of each of `filters` (from
/// [`plan`]) to `program`.
pub fn apply(program: &mut Program, filters: &[(ValueId, i64)]) -> Vec<PackedFilter> {
    filters
        .iter()
        .map(|&(original, chunk)| {
            let packed = program.values.len();
            program.values.push(TensorValue {
                shape: vec![program.values[original].elements()],
                class: ValueClass::Derived,
            });
            PackedFilter {
                original,
                packed,
                chunk,
            }
        })
        .collect()
}
