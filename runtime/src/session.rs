//! The host side of a run: a [`Session`] borrows the three memories, installs
//! itself as the current thread's session around the call into compiled
//! code, and turns what the C ABI functions recorded into a `Result`.

use std::cell::Cell;
use std::ptr;

use crate::{AlignedBuffer, Arena, BufferName, DmaKind, RuntimeError, Stats, Traffic};

/// The signature of a compiled entry point.
pub type EntryFn = unsafe extern "C" fn(dram: *mut u8, params: *const u8, arena: *mut u8);

/// The arguments of a compiled entry point, derived from the session's
/// buffers so that the kernel addresses exactly the memory the checks know.
#[derive(Debug, Clone, Copy)]
pub struct KernelArgs {
    /// Base of the activation buffer.
    pub dram: *mut u8,
    /// Base of the parameter buffer.
    pub params: *const u8,
    /// Base of the scratchpad.
    pub arena: *mut u8,
}

/// An address range, kept as integers because DMA arguments arrive as
/// integers and are compared, not dereferenced, when checked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Span {
    pub(crate) base: usize,
    pub(crate) len: usize,
}

/// Everything the C ABI functions read and update. Separate from [`Session`]
/// so that the thread-local pointer aliases none of the buffer borrows.
#[derive(Debug)]
pub(crate) struct SessionState {
    pub(crate) checked: bool,
    pub(crate) dram: Span,
    pub(crate) params: Span,
    pub(crate) arena: Span,
    pub(crate) traffic: Vec<Traffic>,
    pub(crate) dma_calls: u64,
    pub(crate) arena_peak: usize,
    /// All DMA calls of the current run, performed or rejected.
    pub(crate) calls_this_run: u64,
    pub(crate) rejected_this_run: u64,
    pub(crate) error: Option<RuntimeError>,
}

impl SessionState {
    /// Keeps the first error of the run: later ones are usually consequences.
    pub(crate) fn record(&mut self, error: RuntimeError) {
        if self.error.is_none() {
            self.error = Some(error);
        }
    }

    pub(crate) fn span(&self, buffer: BufferName) -> Span {
        match buffer {
            BufferName::Dram => self.dram,
            BufferName::Params => self.params,
            BufferName::Arena => self.arena,
        }
    }

    fn begin_run(&mut self) {
        self.calls_this_run = 0;
        self.rejected_this_run = 0;
        self.error = None;
    }

    fn finish_run(&mut self) -> Option<RuntimeError> {
        let mut error = self.error.take();
        if let Some(RuntimeError::Dma { rejected, .. }) = &mut error {
            *rejected = self.rejected_this_run;
        }
        error
    }
}

thread_local! {
    /// The session whose `run` is active on this thread, innermost first;
    /// null outside any run. A raw pointer because generated code reaches the
    /// runtime through plain C calls that carry no context argument.
    static CURRENT: Cell<*mut SessionState> = const { Cell::new(ptr::null_mut()) };
}

/// Installs a state as current for its lifetime and reinstates the previous
/// one on drop, also when the host closure panics, so sessions nest.
struct Installed {
    previous: *mut SessionState,
}

impl Installed {
    fn new(state: &mut SessionState) -> Self {
        let state: *mut SessionState = state;
        let previous = CURRENT
            .try_with(|current| current.replace(state))
            .unwrap_or(ptr::null_mut());
        Installed { previous }
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        // Fails only during thread teardown, when nothing can run any more.
        let _ = CURRENT.try_with(|current| current.set(self.previous));
    }
}

/// Runs `f` on the current thread's session, or returns `None` if there is
/// none.
pub(crate) fn with_current<R>(f: impl FnOnce(&mut SessionState) -> R) -> Option<R> {
    let state = CURRENT.try_with(Cell::get).ok()?;
    // SAFETY: a non-null pointer was installed by an `Installed` guard that
    // lives inside `Session::run`, which holds the session (and so its state)
    // exclusively borrowed until the guard is dropped. The runtime's C ABI
    // functions are the only users; they run on this thread and never call
    // each other, so this is the only reference to the state while it lives.
    unsafe { state.as_mut() }.map(f)
}

/// The state of one or more runs of a compiled kernel over one set of
/// buffers: counters, checks and the first error.
///
/// Runs on the thread that calls [`run`](Session::run): the kernel must call
/// the runtime from that thread.
#[derive(Debug)]
pub struct Session<'a> {
    dram: &'a mut AlignedBuffer,
    params: &'a AlignedBuffer,
    arena: &'a mut Arena,
    state: SessionState,
}

impl<'a> Session<'a> {
    /// A session over the given memories that counts `regions` fusion
    /// regions. `checked` validates every DMA range against the buffers
    /// (debug mode); without it only the kind, the region index and the
    /// sizes are validated, which keeps the counters in bounds.
    pub fn new(
        dram: &'a mut AlignedBuffer,
        params: &'a AlignedBuffer,
        arena: &'a mut Arena,
        regions: usize,
        checked: bool,
    ) -> Self {
        let state = SessionState {
            checked,
            dram: Span {
                base: dram.as_ptr().addr(),
                len: dram.len(),
            },
            params: Span {
                base: params.as_ptr().addr(),
                len: params.len(),
            },
            arena: Span {
                base: arena.as_ptr().addr(),
                len: arena.capacity(),
            },
            traffic: vec![Traffic::default(); regions],
            dma_calls: 0,
            arena_peak: 0,
            calls_this_run: 0,
            rejected_this_run: 0,
            error: None,
        };
        Session {
            dram,
            params,
            arena,
            state,
        }
    }

    /// Calls `f` (which calls the compiled entry with the given arguments)
    /// with this session installed as the thread's current one, and returns
    /// the first error the kernel raised through the runtime, if any.
    ///
    /// Counters accumulate across runs; the error state starts fresh each run.
    /// A panic in `f` propagates after the previous session is reinstated.
    pub fn run<R>(&mut self, f: impl FnOnce(KernelArgs) -> R) -> Result<R, RuntimeError> {
        let args = KernelArgs {
            dram: self.dram.as_mut_ptr(),
            params: self.params.as_ptr(),
            arena: self.arena.as_mut_ptr(),
        };
        // The kernel hands these addresses back to the DMA function as
        // integers, which turns them into pointers again.
        let _ = (
            args.dram.expose_provenance(),
            args.params.expose_provenance(),
            args.arena.expose_provenance(),
        );
        self.state.begin_run();
        let result = {
            let _installed = Installed::new(&mut self.state);
            f(args)
        };
        let mut error = self.state.finish_run();
        if !self.arena.check_and_restore_guard() && error.is_none() {
            error = Some(RuntimeError::ArenaOverrun {
                capacity: self.arena.capacity(),
            });
        }
        match error {
            Some(error) => Err(error),
            None => Ok(result),
        }
    }

    /// Runs a compiled entry point: [`run`](Session::run) with the usual call.
    ///
    /// # Safety
    ///
    /// `entry` must be a kernel compiled for these buffers: every address it
    /// touches by itself (not through DMA) must lie in them, and in unchecked
    /// mode so must every DMA range.
    pub unsafe fn call(&mut self, entry: EntryFn) -> Result<(), RuntimeError> {
        // SAFETY: forwarded to the caller.
        self.run(|args| unsafe { entry(args.dram, args.params, args.arena) })
    }

    /// What the session counted so far.
    pub fn stats(&self) -> Stats {
        Stats {
            regions: self.state.traffic.clone(),
            total: self.state.traffic.iter().copied().sum(),
            dma_calls: self.state.dma_calls,
            arena_peak: self.state.arena_peak,
            arena_capacity: self.arena.capacity(),
        }
    }

    /// Bytes counted for one region and kind, or `None` for a region the
    /// session does not count.
    pub fn counted(&self, region: usize, kind: DmaKind) -> Option<u64> {
        self.state.traffic.get(region).map(|t| t.get(kind))
    }

    /// Zeroes the counters, e.g. between a warm-up run and measured runs.
    pub fn reset_stats(&mut self) {
        self.state.traffic.fill(Traffic::default());
        self.state.dma_calls = 0;
        self.state.arena_peak = 0;
    }

    /// Whether every DMA range is checked.
    pub fn is_checked(&self) -> bool {
        self.state.checked
    }

    /// The number of regions counted.
    pub fn regions(&self) -> usize {
        self.state.traffic.len()
    }

    /// The activation memory, to read outputs after a run.
    pub fn dram(&self) -> &AlignedBuffer {
        self.dram
    }

    /// The activation memory, to write the next input between runs.
    pub fn dram_mut(&mut self) -> &mut AlignedBuffer {
        self.dram
    }

    /// The parameters.
    pub fn params(&self) -> &AlignedBuffer {
        self.params
    }

    /// The scratchpad.
    pub fn arena(&self) -> &Arena {
        self.arena
    }

    /// The scratchpad, e.g. to poison it between runs.
    pub fn arena_mut(&mut self) -> &mut Arena {
        self.arena
    }
}
