//! Host-owned memory of a run: aligned byte buffers for off-chip memory
//! (`dram`, `params`) and the scratchpad [`Arena`].

use std::fmt;

use crate::RuntimeError;

/// Alignment of every buffer's storage, in bytes.
///
/// A cache line, and the width of an AVX-512 vector: the compiler plans
/// offsets as multiples of this, so generated code may use aligned vector
/// loads on any planned buffer.
pub const ALIGN: usize = 64;

/// One aligned line of storage. Storing lines rather than bytes is what makes
/// the allocation 64-byte aligned without hand-written allocator calls.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([u8; ALIGN]);

// SAFETY: `Line` is exactly 64 `u8`s with alignment 64, so it has no padding,
// every bit pattern is a valid value and all zeros is one of them.
unsafe impl bytemuck::Zeroable for Line {}
// SAFETY: as above; `Line` is also `Copy`, `'static` and `repr(C)`.
unsafe impl bytemuck::Pod for Line {}

/// A zero-initialised byte buffer whose storage is [`ALIGN`]-byte aligned.
///
/// Used for all three memories of a run; its heap storage never moves, so the
/// addresses handed to compiled code stay valid while the buffer is borrowed.
#[derive(Clone)]
pub struct AlignedBuffer {
    lines: Vec<Line>,
    len: usize,
}

impl AlignedBuffer {
    /// A buffer of `len` zero bytes.
    ///
    /// The allocation is zeroed by the allocator, so large buffers cost
    /// nothing until touched.
    pub fn new(len: usize) -> Self {
        Self {
            lines: bytemuck::allocation::zeroed_vec(len.div_ceil(ALIGN)),
            len,
        }
    }

    /// A buffer holding a copy of `bytes`, e.g. packed parameters.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        let mut buffer = Self::new(bytes.len());
        buffer.as_mut_slice().copy_from_slice(bytes);
        buffer
    }

    /// A buffer holding `values` in native byte order.
    pub fn from_f32s(values: &[f32]) -> Self {
        Self::from_bytes(bytemuck::cast_slice(values))
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the buffer holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Base address, for compiled code that only reads (the parameters).
    pub fn as_ptr(&self) -> *const u8 {
        self.lines.as_ptr().cast()
    }

    /// Base address, for compiled code that writes.
    pub fn as_mut_ptr(&mut self) -> *mut u8 {
        self.lines.as_mut_ptr().cast()
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &bytemuck::cast_slice::<Line, u8>(&self.lines)[..self.len]
    }

    /// The bytes, writable.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut bytemuck::cast_slice_mut::<Line, u8>(&mut self.lines)[..self.len]
    }

    /// Sets every byte to `byte`.
    pub fn fill(&mut self, byte: u8) {
        self.as_mut_slice().fill(byte);
    }

    /// The whole buffer as `f32`s.
    ///
    /// # Panics
    ///
    /// If the length is not a multiple of 4.
    pub fn as_f32s(&self) -> &[f32] {
        self.f32s(0, self.f32_len())
    }

    /// The whole buffer as writable `f32`s.
    ///
    /// # Panics
    ///
    /// If the length is not a multiple of 4.
    pub fn as_f32s_mut(&mut self) -> &mut [f32] {
        let count = self.f32_len();
        self.f32s_mut(0, count)
    }

    /// `count` `f32`s starting at byte `offset`: a tensor at its planned
    /// offset, e.g. the network output.
    ///
    /// # Panics
    ///
    /// If `offset` is not a multiple of 4 or the range exceeds the buffer.
    pub fn f32s(&self, offset: usize, count: usize) -> &[f32] {
        let range = self.f32_range(offset, count);
        bytemuck::cast_slice(&self.as_slice()[range])
    }

    /// `count` writable `f32`s starting at byte `offset`: where the host
    /// writes the network input before a run.
    ///
    /// # Panics
    ///
    /// If `offset` is not a multiple of 4 or the range exceeds the buffer.
    pub fn f32s_mut(&mut self, offset: usize, count: usize) -> &mut [f32] {
        let range = self.f32_range(offset, count);
        bytemuck::cast_slice_mut(&mut self.as_mut_slice()[range])
    }

    fn f32_len(&self) -> usize {
        assert!(
            self.len.is_multiple_of(4),
            "a buffer of {} bytes is not a whole number of f32s",
            self.len
        );
        self.len / 4
    }

    /// Checked here rather than left to `bytemuck` so that the panic names
    /// the offending offset instead of a cast error.
    fn f32_range(&self, offset: usize, count: usize) -> std::ops::Range<usize> {
        assert!(
            offset.is_multiple_of(4),
            "f32 view at byte offset {offset}, which is not 4-byte aligned"
        );
        let end = count
            .checked_mul(4)
            .and_then(|bytes| bytes.checked_add(offset))
            .filter(|&end| end <= self.len);
        match end {
            Some(end) => offset..end,
            None => panic!(
                "f32 view of {count} values at byte offset {offset} exceeds the buffer ({} bytes)",
                self.len
            ),
        }
    }
}

impl fmt::Debug for AlignedBuffer {
    /// Only the length: the contents are megabytes of tensors.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlignedBuffer")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl AsRef<[u8]> for AlignedBuffer {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsMut<[u8]> for AlignedBuffer {
    fn as_mut(&mut self) -> &mut [u8] {
        self.as_mut_slice()
    }
}

/// Bytes past the end of the arena's capacity, filled with [`GUARD_BYTE`], so
/// that compute code that writes just past the scratchpad (which DMA checks
/// cannot see) is caught after the run.
const GUARD: usize = ALIGN;
/// Not zero, so that a stray write of zeros (the commonest value) shows.
const GUARD_BYTE: u8 = 0xA5;

/// The emulated scratchpad: exactly `capacity` usable bytes, zero-initialised
/// and [`ALIGN`]-byte aligned.
///
/// The capacity is fixed at creation; the session's checked mode rejects any
/// DMA that reaches past it, and every run checks a guard zone behind it.
#[derive(Clone, Debug)]
pub struct Arena {
    storage: AlignedBuffer,
    capacity: usize,
}

impl Arena {
    /// A scratchpad of `capacity` bytes (the `S` the kernel was compiled for).
    pub fn new(capacity: usize) -> Self {
        let mut storage = AlignedBuffer::new(capacity + GUARD);
        storage.as_mut_slice()[capacity..].fill(GUARD_BYTE);
        Self { storage, capacity }
    }

    /// Usable bytes.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Fails if a kernel whose scratchpad buffers end at byte `footprint`
    /// does not fit, so a mismatched arena is refused before anything runs.
    pub fn check_footprint(&self, footprint: usize) -> Result<(), RuntimeError> {
        if footprint <= self.capacity {
            Ok(())
        } else {
            Err(RuntimeError::FootprintTooLarge {
                footprint,
                capacity: self.capacity,
            })
        }
    }

    /// Base address.
    pub fn as_ptr(&self) -> *const u8 {
        self.storage.as_ptr()
    }

    /// Base address, the `arena` argument of a compiled entry.
    pub fn as_mut_ptr(&mut self) -> *mut u8 {
        self.storage.as_mut_ptr()
    }

    /// The usable bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.storage.as_slice()[..self.capacity]
    }

    /// The usable bytes, writable.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.storage.as_mut_slice()[..self.capacity]
    }

    /// Sets every usable byte to `byte`: poisoning the scratchpad between runs
    /// shows kernels that read scratchpad bytes no DMA or compute wrote.
    pub fn fill(&mut self, byte: u8) {
        self.as_mut_slice().fill(byte);
    }

    /// Whether the guard zone is intact; restores it either way so that the
    /// next run's check is independent of this one.
    pub(crate) fn check_and_restore_guard(&mut self) -> bool {
        let guard = &mut self.storage.as_mut_slice()[self.capacity..];
        let intact = guard.iter().all(|&b| b == GUARD_BYTE);
        guard.fill(GUARD_BYTE);
        intact
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_aligned_zeroed_and_exact_length() {
        for len in [0, 1, 63, 64, 65, 1000] {
            let buffer = AlignedBuffer::new(len);
            assert_eq!(buffer.len(), len);
            assert_eq!(buffer.is_empty(), len == 0);
            assert_eq!(buffer.as_ptr().addr() % ALIGN, 0);
            assert!(buffer.as_slice().iter().all(|&b| b == 0));
        }
    }

    #[test]
    fn f32_views_read_and_write_at_offsets() {
        let mut buffer = AlignedBuffer::new(32);
        buffer.f32s_mut(8, 3).copy_from_slice(&[1.0, 2.0, 3.0]);
        assert_eq!(buffer.f32s(8, 3), &[1.0, 2.0, 3.0]);
        assert_eq!(buffer.as_f32s(), &[0.0, 0.0, 1.0, 2.0, 3.0, 0.0, 0.0, 0.0]);
        assert_eq!(&buffer.as_slice()[8..12], &1.0f32.to_ne_bytes());
        let copy = AlignedBuffer::from_f32s(buffer.as_f32s());
        assert_eq!(copy.as_slice(), buffer.as_slice());
    }

    #[test]
    #[should_panic(expected = "exceeds the buffer")]
    fn f32_view_out_of_range_panics() {
        AlignedBuffer::new(16).f32s(8, 3);
    }

    #[test]
    #[should_panic(expected = "not 4-byte aligned")]
    fn f32_view_misaligned_panics() {
        AlignedBuffer::new(16).f32s(2, 1);
    }

    #[test]
    fn arena_has_exact_capacity_and_a_guard() {
        let mut arena = Arena::new(100);
        assert_eq!(arena.capacity(), 100);
        assert_eq!(arena.as_slice().len(), 100);
        assert_eq!(arena.as_ptr().addr() % ALIGN, 0);
        assert!(arena.as_slice().iter().all(|&b| b == 0));
        arena.fill(0xFF);
        assert!(arena.check_and_restore_guard());
        // SAFETY: byte 100 is the first guard byte, inside the allocation.
        unsafe { arena.as_mut_ptr().add(100).write(0) };
        assert!(!arena.check_and_restore_guard());
        assert!(arena.check_and_restore_guard());
    }

    #[test]
    fn footprint_is_checked_against_capacity() {
        let arena = Arena::new(1024);
        assert_eq!(arena.check_footprint(1024), Ok(()));
        assert_eq!(
            arena.check_footprint(1025),
            Err(RuntimeError::FootprintTooLarge {
                footprint: 1025,
                capacity: 1024
            })
        );
    }
}
