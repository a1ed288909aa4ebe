//! Parsing and diagnostics the way `mlir-opt` does them, through the small
//! C++ shim in `cpp/ToolSupport.cpp` (MLIR's C API has no source manager).

use std::{ffi::c_void, marker::PhantomData};

use melior::{
    Context, StringRef,
    ir::{Module, Operation},
    pass::OperationPassManager,
};
use mlir_sys::{
    MlirContext, MlirLogicalResult, MlirOpPassManager, MlirOperation, MlirStringCallback,
    MlirStringRef,
};

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
    fn dfOpPassManagerAddNested(
        pass_manager: MlirOpPassManager,
        pipeline: MlirStringRef,
        callback: MlirStringCallback,
        user_data: *mut c_void,
    ) -> MlirLogicalResult;
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

/// How [`add_upstream_pipeline`] places a pass anchored on another operation
/// than the pass manager's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nesting {
    /// It is an error, as in `mlir-opt --pass-pipeline`.
    Explicit,
    /// The pass is nested under its operation, as for `mlir-opt --PASS` flags.
    Implicit,
}

/// Adds upstream pipeline elements (such as `cse` or `func.func(canonicalize)`)
/// to `pass_manager` with MLIR's parser. On failure, returns MLIR's message.
pub fn add_upstream_pipeline(
    pass_manager: OperationPassManager,
    elements: &str,
    nesting: Nesting,
) -> Result<(), String> {
    unsafe extern "C" fn collect(message: MlirStringRef, data: *mut c_void) {
        // SAFETY: `data` is the String below and `message` a valid slice.
        let buffer = unsafe { &mut *(data as *mut String) };
        let bytes =
            unsafe { std::slice::from_raw_parts(message.data as *const u8, message.length) };
        buffer.push_str(&String::from_utf8_lossy(bytes));
    }
    let mut message = String::new();
    // SAFETY: the pass manager is live; the callback only appends to `message`.
    let (elements, data) = (
        StringRef::new(elements).to_raw(),
        &mut message as *mut String as *mut c_void,
    );
    let result = unsafe {
        match nesting {
            Nesting::Explicit => mlir_sys::mlirOpPassManagerAddPipeline(
                pass_manager.to_raw(),
                elements,
                Some(collect),
                data,
            ),
            Nesting::Implicit => {
                dfOpPassManagerAddNested(pass_manager.to_raw(), elements, Some(collect), data)
            }
        }
    };
    if result.value != 0 {
        Ok(())
    } else {
        Err(message)
    }
}
