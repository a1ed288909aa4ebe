//! Parsing and diagnostics the way `mlir-opt` does them, through the small
//! C++ shim in `cpp/ToolSupport.cpp` (MLIR's C API has no source manager).

use std::{ffi::c_void, marker::PhantomData};

use melior::{
    Context, StringRef,
    ir::{Module, Operation},
    pass::PassManager,
};
use mlir_sys::{MlirContext, MlirLogicalResult, MlirOperation, MlirPassManager, MlirStringRef};

unsafe extern "C" {
    fn dfSourceDiagnosticsCreate(
        context: MlirContext,
        source: MlirStringRef,
        source_name: MlirStringRef,
        verify: bool,
    ) -> *mut c_void;
    fn dfSourceDiagnosticsVerify(handle: *mut c_void) -> MlirLogicalResult;
    fn dfSourceDiagnosticsDestroy(handle: *mut c_void);
    fn dfParseSource(
        context: MlirContext,
        source: MlirStringRef,
        source_name: MlirStringRef,
    ) -> MlirOperation;
    fn dfPrintRegisteredPasses();
    fn dfPassManagerEnableImplicitNesting(pass_manager: MlirPassManager);
}

/// How diagnostics located in one source buffer are handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiagnosticMode {
    /// Print them as `file:line:col: error: message`, with the source line.
    Print,
    /// Check them against the buffer's `expected-error`, `expected-warning`,
    /// `expected-remark` and `expected-note` annotations.
    Verify,
}

/// A diagnostic handler attached to a context for as long as this value
/// lives; it reports diagnostics against one named source buffer.
pub struct SourceDiagnostics<'c> {
    handle: *mut c_void,
    _context: PhantomData<&'c Context>,
}

impl<'c> SourceDiagnostics<'c> {
    /// Attaches a handler for `source`, whose locations name `name`.
    pub fn attach(context: &'c Context, source: &str, name: &str, mode: DiagnosticMode) -> Self {
        // SAFETY: the shim copies both strings; the handle is freed in Drop,
        // before the context it is attached to (the borrow ensures that).
        let handle = unsafe {
            dfSourceDiagnosticsCreate(
                context.to_raw(),
                StringRef::new(source).to_raw(),
                StringRef::new(name).to_raw(),
                mode == DiagnosticMode::Verify,
            )
        };
        Self {
            handle,
            _context: PhantomData,
        }
    }

    /// In [`DiagnosticMode::Verify`], reports every expected diagnostic that
    /// was not produced and returns false if any was missing or unexpected.
    /// Always true in [`DiagnosticMode::Print`].
    pub fn verify(&self) -> bool {
        // SAFETY: the handle is live until Drop.
        unsafe { dfSourceDiagnosticsVerify(self.handle).value != 0 }
    }
}

impl Drop for SourceDiagnostics<'_> {
    fn drop(&mut self) {
        // SAFETY: created by dfSourceDiagnosticsCreate, destroyed once.
        unsafe { dfSourceDiagnosticsDestroy(self.handle) }
    }
}

/// Parses `source` as mlir-opt does: top-level operations are wrapped in an
/// implicit `builtin.module` unless the source is a single module, and every
/// location names `name`. Returns `None` after the error went to the
/// context's diagnostic handlers.
pub fn parse_source<'c>(context: &'c Context, source: &str, name: &str) -> Option<Module<'c>> {
    // SAFETY: the shim returns an owned operation or null.
    let operation = unsafe {
        Operation::from_option_raw(dfParseSource(
            context.to_raw(),
            StringRef::new(source).to_raw(),
            StringRef::new(name).to_raw(),
        ))
    }?;
    Module::from_operation(operation)
}

/// Prints every upstream pass and pass pipeline registered in this process,
/// with its options, to standard output.
pub fn print_registered_passes() {
    // SAFETY: reads the global pass registry; writes to stdout.
    unsafe { dfPrintRegisteredPasses() }
}

/// Makes `pass_manager` nest passes anchored on nested operations (such as
/// `func.func`) implicitly, as mlir-opt's pass manager does.
pub fn enable_implicit_nesting(pass_manager: &PassManager) {
    // SAFETY: the pass manager is live for the call.
    unsafe { dfPassManagerEnableImplicitNesting(pass_manager.to_raw()) }
}
