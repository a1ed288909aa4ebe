//! JIT-compiled code in this process: the module's object files (one per
//! part, generated in parallel) linked in memory by ORC's `LLJIT`.
//!
//! Declared symbols are bound first to the caller's table, then to the
//! process (libc, libm, and library calls LLVM's code generator introduces,
//! such as `memcpy` and `expf`), through ORC's process search generator.

use std::{
    collections::HashMap,
    ffi::{CString, c_char},
    fmt, ptr,
};

use inkwell::llvm_sys::{
    core::LLVMCreateMemoryBufferWithMemoryRangeCopy,
    error::{LLVMDisposeErrorMessage, LLVMErrorRef, LLVMGetErrorMessage},
    orc2::{
        LLVMJITEvaluatedSymbol, LLVMJITSymbolFlags, LLVMJITSymbolGenericFlags,
        LLVMOrcAbsoluteSymbols, LLVMOrcCSymbolMapPair,
        LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess, LLVMOrcDisposeMaterializationUnit,
        LLVMOrcJITDylibAddGenerator, LLVMOrcJITDylibDefine,
        lljit::{
            LLVMOrcCreateLLJIT, LLVMOrcDisposeLLJIT, LLVMOrcLLJITAddObjectFile,
            LLVMOrcLLJITGetGlobalPrefix, LLVMOrcLLJITGetMainJITDylib, LLVMOrcLLJITLookup,
            LLVMOrcLLJITMangleAndIntern, LLVMOrcLLJITRef,
        },
    },
};

use super::CodegenError;

/// A symbol the JIT binds to an address in this process.
pub(super) struct Binding {
    /// The symbol's name.
    pub(super) name: String,
    /// Where it is.
    pub(super) address: usize,
    /// A function (else data).
    pub(super) callable: bool,
}

/// With this environment variable set, [`super::LlvmModule::jit`] appends the
/// compiled functions to `/tmp/perf-<pid>.map`, so that `perf report` names
/// the kernels (`df_kernel_3_conv2d`) instead of showing bare addresses.
pub const PERF_MAP_ENV: &str = "DEEPFUSE_PERF_MAP";

/// An entry point with the bare-pointer convention:
/// `forward(dram, params, arena)`.
pub type EntryFn = unsafe extern "C" fn(*mut u8, *const u8, *mut u8);

/// JIT-compiled code in this process, owned by the LLJIT instance that linked
/// it. The code stays valid (and addresses from it callable) until this is
/// dropped.
pub struct JitModule {
    addresses: HashMap<String, usize>,
    jit: LLVMOrcLLJITRef,
}

// SAFETY: the LLJIT instance is owned exclusively and is thread safe; after
// construction it is only touched by `Drop`, and lookups read the immutable
// `addresses` map. The generated code is immutable.
unsafe impl Send for JitModule {}
// SAFETY: as above: `&self` methods only read `addresses`.
unsafe impl Sync for JitModule {}

/// Turns an LLVM error into a [`CodegenError::Jit`], consuming it.
fn check(error: LLVMErrorRef) -> Result<(), CodegenError> {
    if error.is_null() {
        return Ok(());
    }
    // SAFETY: a live error, consumed by taking its message; the message is
    // copied before it is freed.
    unsafe {
        let message = LLVMGetErrorMessage(error);
        let text = std::ffi::CStr::from_ptr(message)
            .to_string_lossy()
            .into_owned();
        LLVMDisposeErrorMessage(message);
        Err(CodegenError::Jit(text))
    }
}

fn c_name(name: &str) -> Result<CString, CodegenError> {
    CString::new(name).map_err(|_| CodegenError::Jit(format!("symbol name {name:?} has a NUL")))
}

impl JitModule {
    /// Links `objects` in memory, with `bindings` for the symbols they leave
    /// undefined (then the process's own), and looks up the addresses of
    /// `definitions`, which generates nothing: the code was compiled already.
    pub(super) fn link(
        objects: Vec<Vec<u8>>,
        bindings: &[Binding],
        definitions: &[String],
    ) -> Result<Self, CodegenError> {
        let mut raw = ptr::null_mut();
        // SAFETY: a null builder asks for the defaults (the host's target);
        // `raw` is set on success.
        check(unsafe { LLVMOrcCreateLLJIT(&mut raw, ptr::null_mut()) })?;
        let mut jit = JitModule {
            addresses: HashMap::new(),
            jit: raw,
        };
        // SAFETY: `jit.jit` is alive; the main dylib is owned by it.
        let dylib = unsafe { LLVMOrcLLJITGetMainJITDylib(jit.jit) };

        if !bindings.is_empty() {
            let mut pairs = Vec::with_capacity(bindings.len());
            for binding in bindings {
                let name = c_name(&binding.name)?;
                let mut flags = LLVMJITSymbolGenericFlags::LLVMJITSymbolGenericFlagsExported as u8;
                if binding.callable {
                    flags |= LLVMJITSymbolGenericFlags::LLVMJITSymbolGenericFlagsCallable as u8;
                }
                pairs.push(LLVMOrcCSymbolMapPair {
                    // SAFETY: a C string; the entry returned is retained for
                    // `LLVMOrcAbsoluteSymbols`, which takes it over.
                    Name: unsafe { LLVMOrcLLJITMangleAndIntern(jit.jit, name.as_ptr()) },
                    Sym: LLVMJITEvaluatedSymbol {
                        Address: binding.address as u64,
                        Flags: LLVMJITSymbolFlags {
                            GenericFlags: flags,
                            TargetFlags: 0,
                        },
                    },
                });
            }
            // SAFETY: the pairs are valid; the unit goes to the dylib on
            // success and is disposed here on failure.
            unsafe {
                let unit = LLVMOrcAbsoluteSymbols(pairs.as_mut_ptr(), pairs.len());
                let defined = LLVMOrcJITDylibDefine(dylib, unit);
                if !defined.is_null() {
                    LLVMOrcDisposeMaterializationUnit(unit);
                }
                check(defined)?;
            }
        }

        let mut generator = ptr::null_mut();
        // SAFETY: `generator` is set on success and handed to the dylib.
        unsafe {
            check(LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(
                &mut generator,
                LLVMOrcLLJITGetGlobalPrefix(jit.jit),
                None,
                ptr::null_mut(),
            ))?;
            LLVMOrcJITDylibAddGenerator(dylib, generator);
        }

        for object in objects {
            // SAFETY: the buffer copies `object`; LLJIT takes the buffer.
            check(unsafe {
                let buffer = LLVMCreateMemoryBufferWithMemoryRangeCopy(
                    object.as_ptr() as *const c_char,
                    object.len(),
                    c"deepfuse-object".as_ptr(),
                );
                LLVMOrcLLJITAddObjectFile(jit.jit, dylib, buffer)
            })?;
        }

        for name in definitions {
            let c_name = c_name(name)?;
            let mut address = 0;
            // SAFETY: a C string and an output location; the first lookup
            // links the objects.
            check(unsafe { LLVMOrcLLJITLookup(jit.jit, &mut address, c_name.as_ptr()) })?;
            jit.addresses.insert(name.clone(), address as usize);
        }
        if std::env::var_os(PERF_MAP_ENV).is_some() {
            write_perf_map(&jit.addresses);
        }
        Ok(jit)
    }

    /// The address of a function or global the module defines (with external
    /// linkage).
    pub fn address(&self, name: &str) -> Option<usize> {
        self.addresses.get(name).copied()
    }

    /// The entry point `name`, of type `fn(dram, params, arena)`.
    ///
    /// # Safety
    ///
    /// The function must have that signature (three pointers, no result), as
    /// `func.func @name(memref<..xi8>, memref<..xi8>, memref<..xi8>)` lowered
    /// with bare pointers has; calling it is then subject to its own
    /// contract (buffers as large as the memref types say, `self` alive).
    pub unsafe fn entry3(&self, name: &str) -> Result<EntryFn, CodegenError> {
        let address = self
            .address(name)
            .ok_or_else(|| CodegenError::NoSuchSymbol {
                name: name.to_string(),
            })?;
        // SAFETY: a non-null address of generated code; the signature is the
        // caller's promise.
        Ok(unsafe { std::mem::transmute::<usize, EntryFn>(address) })
    }
}

impl fmt::Debug for JitModule {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&str> = self.addresses.keys().map(String::as_str).collect();
        names.sort_unstable();
        formatter
            .debug_struct("JitModule")
            .field("symbols", &names)
            .finish_non_exhaustive()
    }
}

impl Drop for JitModule {
    fn drop(&mut self) {
        // SAFETY: owned, disposed once (with the code it linked). A failure
        // to dispose leaves nothing to do but release the error.
        let _ = check(unsafe { LLVMOrcDisposeLLJIT(self.jit) });
    }
}

/// Appends `addresses` to perf's map of this process's JIT code: `start
/// size name` per line, in hex; a function's size is taken as the distance
/// to the next one (an over-estimate for the last function of an object).
fn write_perf_map(addresses: &HashMap<String, usize>) {
    use std::io::Write as _;
    let mut functions: Vec<(usize, &str)> = addresses
        .iter()
        .map(|(name, &address)| (address, name.as_str()))
        .collect();
    functions.sort();
    let mut text = String::new();
    for (i, (address, name)) in functions.iter().enumerate() {
        let size = functions
            .get(i + 1)
            .map_or(4096, |(next, _)| next - address);
        text.push_str(&format!("{address:x} {size:x} {name}\n"));
    }
    let path = format!("/tmp/perf-{}.map", std::process::id());
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut file| file.write_all(text.as_bytes()));
    if let Err(error) = written {
        eprintln!("deepfuse: cannot write {path}: {error}");
    }
}
