//! The C ABI that generated code calls: DMA copies with their checks and byte
//! counters, and traps.
//!
//! Nothing here may unwind: a panic crossing generated frames is undefined
//! behaviour in spirit and an abort in practice, so every problem is recorded
//! in the current session and the function returns normally.

use std::fmt;
use std::io::Write;
use std::panic::{self, AssertUnwindSafe};
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::session::{SessionState, Span, with_current};
use crate::{BufferName, DmaKind, DmaProblem, DmaViolation, Operand, RuntimeError};

/// The link name of [`deepfuse_rt_dma`], for the code generator's
/// declaration and the JIT's mapping.
pub const DMA_SYMBOL: &str = "deepfuse_rt_dma";
/// The link name of [`deepfuse_rt_trap`].
pub const TRAP_SYMBOL: &str = "deepfuse_rt_trap";

/// Copies an `n0 x n1` box of rows of `row_bytes` contiguous bytes: row
/// `(i, j)` goes from `src + i*src_s0 + j*src_s1` to
/// `dst + i*dst_s0 + j*dst_s1`, and the bytes count towards `(region, kind)`.
///
/// Addresses and strides are bytes, as `i64` because generated code computes
/// them with index arithmetic. `kind` is a [`DmaKind`] code. A zero-size box
/// copies and counts nothing. Rejected calls (see [`Session::new`]) copy and
/// count nothing and make [`Session::run`] fail. Called with no session
/// installed on the thread it does nothing but count a [`stray_calls`].
///
/// In LLVM terms: `declare void @deepfuse_rt_dma(i64, i64, i64, i64, i64,
/// i64, i64, i64, i64, i64, i64)`.
///
/// # Safety
///
/// In an unchecked session every row of both boxes must lie in memory valid
/// for the access (a checked session validates them instead). Rows may
/// overlap: each row is copied as by `memmove`, in `(i, j)` order.
///
/// [`Session::new`]: crate::Session::new
/// [`Session::run`]: crate::Session::run
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)] // the C ABI is flat by design
pub unsafe extern "C" fn deepfuse_rt_dma(
    kind: i64,
    region: i64,
    dst: i64,
    src: i64,
    n0: i64,
    n1: i64,
    row_bytes: i64,
    dst_s0: i64,
    dst_s1: i64,
    src_s0: i64,
    src_s1: i64,
) {
    let request = DmaRequest {
        kind,
        region,
        dst,
        src,
        n0,
        n1,
        row_bytes,
        dst_s0,
        dst_s1,
        src_s0,
        src_s1,
    };
    guarded(|| {
        if with_current(|state| state.dma(&request)).is_none() {
            stray(format_args!("{DMA_SYMBOL}"));
        }
    });
}

/// Records that an assertion inside the kernel failed with `code`;
/// [`Session::run`](crate::Session::run) then returns
/// [`RuntimeError::Trap`]. Execution continues after the call (the runtime
/// cannot unwind generated code), so generated code should return early.
///
/// In LLVM terms: `declare void @deepfuse_rt_trap(i64)`.
#[unsafe(no_mangle)]
pub extern "C" fn deepfuse_rt_trap(code: i64) {
    guarded(|| {
        let recorded = with_current(|state| {
            let dma_calls = state.calls_this_run;
            state.record(RuntimeError::Trap { code, dma_calls });
        });
        if recorded.is_none() {
            stray(format_args!("{TRAP_SYMBOL}({code})"));
        }
    });
}

/// The name and address of every C ABI function of the runtime.
///
/// A JIT maps them by name (LLVM's `add_global_mapping`). Calling this also
/// keeps the functions in a binary that never calls them directly; a shared
/// library of compiled code loaded with `dlopen` resolves them against the
/// executable's dynamic symbols, which needs the executable linked with
/// `-Wl,--export-dynamic` (or `--export-dynamic-symbol=deepfuse_rt_*`).
pub fn symbols() -> Vec<(&'static str, usize)> {
    vec![
        (
            DMA_SYMBOL,
            (deepfuse_rt_dma as *const ()).expose_provenance(),
        ),
        (
            TRAP_SYMBOL,
            (deepfuse_rt_trap as *const ()).expose_provenance(),
        ),
    ]
}

static STRAY_CALLS: AtomicU64 = AtomicU64::new(0);

/// How many C ABI calls, on any thread, arrived with no session installed.
///
/// Such calls are ignored rather than aborting the process: with no session
/// there are no known buffers, so the only safe copy is none, and a host
/// (or a test harness running many kernels) survives its own mistake. The
/// first one also prints a warning to stderr so it cannot go unnoticed.
pub fn stray_calls() -> u64 {
    STRAY_CALLS.load(Ordering::Relaxed)
}

fn stray(call: fmt::Arguments<'_>) {
    if STRAY_CALLS.fetch_add(1, Ordering::Relaxed) == 0 {
        // `writeln!` rather than `eprintln!`, which panics if stderr is gone.
        let _ = writeln!(
            std::io::stderr(),
            "deepfuse-runtime: {call} called with no session installed on this thread; \
             ignored (run compiled code inside Session::run)"
        );
    }
}

/// Runs a C ABI function's body, turning a panic (a bug in the runtime) into
/// a recorded error instead of an abort at the FFI boundary.
fn guarded(body: impl FnOnce()) {
    if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(body)) {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic with a non-string payload".to_string());
        let _ = with_current(|state| state.record(RuntimeError::Internal(message)));
    }
}

/// The arguments of one call, as passed.
#[derive(Debug, Clone, Copy)]
struct DmaRequest {
    kind: i64,
    region: i64,
    dst: i64,
    src: i64,
    n0: i64,
    n1: i64,
    row_bytes: i64,
    dst_s0: i64,
    dst_s1: i64,
    src_s0: i64,
    src_s1: i64,
}

/// A byte range `[start, end)` of addresses. `i128` because the extent of a
/// box from arbitrary `i64` arguments cannot overflow it: validation must not
/// be fooled by wrap-around.
type Extent = (i128, i128);

impl DmaRequest {
    /// The smallest address range covering every row of one side of a
    /// non-empty box. Exact: the rows at the corners are part of the box.
    fn extent(&self, base: i64, s0: i64, s1: i64) -> Extent {
        let reach = |n: i64, stride: i64| (i128::from(n) - 1) * i128::from(stride);
        let (d0, d1) = (reach(self.n0, s0), reach(self.n1, s1));
        let start = i128::from(base) + d0.min(0) + d1.min(0);
        let end = i128::from(base) + d0.max(0) + d1.max(0) + i128::from(self.row_bytes);
        (start, end)
    }
}

/// A validated call.
struct Planned {
    kind: DmaKind,
    region: usize,
    bytes: u64,
    /// One past the highest arena offset touched, if the arena side lies in
    /// the arena (unknown in unchecked mode when it does not).
    arena_end: Option<usize>,
}

impl SessionState {
    fn dma(&mut self, request: &DmaRequest) {
        let call = self.calls_this_run;
        self.calls_this_run = self.calls_this_run.wrapping_add(1);
        match self.plan(request) {
            Ok(plan) => {
                if plan.bytes > 0 {
                    // SAFETY: `plan` checked the sizes; in checked mode it
                    // also checked that both boxes lie in the session's
                    // buffers, which the session keeps borrowed; in unchecked
                    // mode the caller of `deepfuse_rt_dma` vouches for them.
                    unsafe { copy_box(request) };
                }
                if let Some(traffic) = self.traffic.get_mut(plan.region) {
                    traffic.add_bytes(plan.kind, plan.bytes);
                }
                self.dma_calls = self.dma_calls.wrapping_add(1);
                if let Some(end) = plan.arena_end {
                    self.arena_peak = self.arena_peak.max(end);
                }
            }
            Err(problem) => {
                self.rejected_this_run = self.rejected_this_run.wrapping_add(1);
                self.record(RuntimeError::Dma {
                    first: DmaViolation {
                        call,
                        region: request.region,
                        kind: request.kind,
                        problem,
                    },
                    // Filled in at the end of the run.
                    rejected: 0,
                });
            }
        }
    }

    /// Validates a call. Kind, region and sizes are checked in every mode,
    /// because the counters and the copy loop rely on them; ranges only in
    /// checked mode.
    fn plan(&self, r: &DmaRequest) -> Result<Planned, DmaProblem> {
        let kind = DmaKind::from_code(r.kind).ok_or(DmaProblem::InvalidKind)?;
        let regions = self.traffic.len();
        let region = usize::try_from(r.region)
            .ok()
            .filter(|&region| region < regions)
            .ok_or(DmaProblem::RegionOutOfRange { regions })?;
        let (n0, n1, row_bytes) = (r.n0, r.n1, r.row_bytes);
        if n0 < 0 || n1 < 0 || row_bytes < 0 {
            return Err(DmaProblem::NegativeSize { n0, n1, row_bytes });
        }
        let bytes = n0
            .checked_mul(n1)
            .and_then(|rows| rows.checked_mul(row_bytes))
            .ok_or(DmaProblem::SizeOverflow { n0, n1, row_bytes })?;
        if bytes == 0 {
            // Nothing is touched, so there is no range to check.
            return Ok(Planned {
                kind,
                region,
                bytes: 0,
                arena_end: None,
            });
        }
        let src = r.extent(r.src, r.src_s0, r.src_s1);
        let dst = r.extent(r.dst, r.dst_s0, r.dst_s1);
        if self.checked {
            let (src_buffer, dst_buffer) = kind.buffers();
            self.check_within(Operand::Source, src_buffer, src)?;
            self.check_within(Operand::Destination, dst_buffer, dst)?;
        }
        let arena_side = if kind == DmaKind::Output { src } else { dst };
        Ok(Planned {
            kind,
            region,
            bytes: bytes.unsigned_abs(),
            arena_end: relative_end(self.arena, arena_side),
        })
    }

    fn check_within(
        &self,
        operand: Operand,
        buffer: BufferName,
        (start, end): Extent,
    ) -> Result<(), DmaProblem> {
        let span = self.span(buffer);
        let base = span.base as i128;
        if start >= base && end <= base + span.len as i128 {
            Ok(())
        } else {
            Err(DmaProblem::OutOfBounds {
                operand,
                buffer,
                start: start - base,
                end: end - base,
                len: span.len,
            })
        }
    }
}

/// `end` relative to `span` if the whole extent lies in it.
fn relative_end(span: Span, (start, end): Extent) -> Option<usize> {
    let base = span.base as i128;
    (start >= base && end <= base + span.len as i128).then(|| (end - base) as usize)
}

/// Copies the rows of a box, one `memmove` per run of rows that are back to
/// back on both sides: a whole contiguous tile is a single copy.
///
/// # Safety
///
/// The sizes are non-negative with a product that fits in `i64`, and every
/// row of both boxes lies in memory valid for the access.
unsafe fn copy_box(r: &DmaRequest) {
    let mut row = r.row_bytes;
    let mut dims = [(r.n0, r.src_s0, r.dst_s0), (r.n1, r.src_s1, r.dst_s1)];
    // Fold dimensions into the row from the innermost out while they are
    // contiguous on both sides; stop at the first that is not.
    for dim in dims.iter_mut().rev() {
        let (n, src_stride, dst_stride) = *dim;
        if n == 1 || (src_stride == row && dst_stride == row) {
            // Cannot overflow: the result is at most the box's byte count.
            row *= n;
            *dim = (1, 0, 0);
        } else {
            break;
        }
    }
    let [(n0, src_s0, dst_s0), (n1, src_s1, dst_s1)] = dims;
    let row = row as usize;
    for i in 0..n0 {
        for j in 0..n1 {
            let src = r
                .src
                .wrapping_add(i.wrapping_mul(src_s0))
                .wrapping_add(j.wrapping_mul(src_s1));
            let dst = r
                .dst
                .wrapping_add(i.wrapping_mul(dst_s0))
                .wrapping_add(j.wrapping_mul(dst_s1));
            // SAFETY: the caller guarantees that this row lies in valid
            // memory on both sides. The addresses came from pointers whose
            // provenance the session exposed.
            unsafe {
                ptr::copy(
                    ptr::with_exposed_provenance::<u8>(src as usize),
                    ptr::with_exposed_provenance_mut::<u8>(dst as usize),
                    row,
                );
            }
        }
    }
}
