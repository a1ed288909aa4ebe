//! Native code generation with LLVM (through inkwell): LLVM-dialect module ->
//! LLVM IR -> `default<O3>` for the host CPU -> LLVM IR text, assembly,
//! object code, a shared library, or JIT-compiled code in this process.
//!
//! ```text
//! let mut llvm = LlvmModule::translate(&module, &CodegenOptions::host())?; // after lower_to_llvm_dialect
//! llvm.optimize()?;
//! let jit = llvm.jit(&symbols)?;          // or llvm.emit(EmitKind::Object), llvm.write_shared_library(path)
//! let forward = unsafe { jit.entry3("forward")? };
//! unsafe { forward(dram, params, arena) };
//! ```
//!
//! # One LLVM, two APIs
//!
//! MLIR and inkwell share the one statically linked LLVM (inkwell's `llvm-sys`
//! is built with `no-llvm-linking`: the LLVM libraries come from `mlir-sys`'s
//! link line only). So MLIR's translation writes straight into an LLVM context
//! that this module owns, and inkwell works on the result: no printing and
//! re-parsing of the IR.
//!
//! # Target
//!
//! By default code is generated for the host: its triple, CPU name and CPU
//! features (AVX-512 where the machine has it). The CPU and features are also
//! written on every defined function (`"target-cpu"`, `"target-features"`, as
//! clang does), so that every part of a split module (below) and any later
//! consumer of the IR selects instructions for the host.
//!
//! # Parallel code generation
//!
//! A network's module has one function per kernel, and LLVM's work is mostly
//! per function. So [`LlvmModule::optimize`] and the object code behind
//! [`LlvmModule::jit`] and [`LlvmModule::write_shared_library`] split the
//! module into parts (`codegen/partition.rs`), one per thread, each in its own
//! LLVM context, rebuilt from the module's bitcode. Optimised parts are linked
//! back into one module; compiled parts stay separate objects, which the JIT
//! (ORC's LLJIT) or the system linker joins. The JIT only links: the code is
//! generated before it sees the objects.
//!
//! # External symbols
//!
//! Functions and globals that the module declares but does not define (the
//! runtime's `deepfuse_rt_*`, test hooks, `malloc` for `memref.alloc`) are
//! resolved by the JIT from the caller's `(name, address)` table first, then
//! from the process (libc, libm). A name found in neither is an error naming
//! it, raised before any code is generated. Library calls that LLVM's code
//! generator itself introduces (`expf` for `llvm.exp.f32`, `memcpy`) are
//! resolved from the process. A shared library leaves the declared symbols
//! undefined, to be bound by the process that loads it, and links `libm`.

use std::{
    collections::HashMap,
    ffi::{CStr, CString},
    fmt,
    mem::ManuallyDrop,
    path::{Path, PathBuf},
    process::Command,
    ptr,
    sync::{
        OnceLock,
        atomic::{AtomicUsize, Ordering},
    },
};

use inkwell::{
    OptimizationLevel,
    attributes::AttributeLoc,
    llvm_sys::{
        core::{LLVMContextCreate, LLVMContextDispose, LLVMDisposeModule, LLVMIsAFunction},
        prelude::{LLVMContextRef, LLVMModuleRef, LLVMValueRef},
        support::{
            LLVMLoadLibraryPermanently, LLVMParseCommandLineOptions, LLVMSearchForAddressOfSymbol,
        },
    },
    memory_buffer::MemoryBuffer,
    module::{Linkage, Module as IrModule},
    passes::PassBuilderOptions,
    targets::{
        CodeModel, FileType, InitializationConfig, RelocMode, Target, TargetMachine, TargetTriple,
    },
    values::AsValueRef,
};
use melior::{ir::Module, utility::register_all_llvm_translations};
use thiserror::Error;

use crate::llvm_pipeline::{capture_diagnostics, dump_text};

/// A failure in code generation. No input makes this module panic: every
/// problem with the IR, the target or the symbols comes back as one of these.
#[derive(Debug, Error)]
pub enum CodegenError {
    /// MLIR could not translate the module (it is not entirely in the LLVM
    /// dialect, or uses an op without a translation).
    #[error("cannot translate the module to LLVM IR:\n{diagnostics}")]
    Translate {
        /// MLIR's diagnostics, one a line.
        diagnostics: String,
    },
    /// LLVM has no usable target for the requested triple and CPU.
    #[error("cannot create an LLVM target machine for {triple} (cpu `{cpu}`): {message}")]
    Target {
        /// The target triple.
        triple: String,
        /// The CPU name.
        cpu: String,
        /// What went wrong.
        message: String,
    },
    /// The translated LLVM IR does not verify.
    #[error("the LLVM IR does not verify: {0}")]
    Verify(String),
    /// LLVM's optimisation pipeline failed.
    #[error("the LLVM pass pipeline `{pipeline}` failed: {message}")]
    Optimize {
        /// The pipeline, such as `default<O3>`.
        pipeline: String,
        /// LLVM's message.
        message: String,
    },
    /// LLVM could not emit assembly or object code.
    #[error("cannot emit {kind}: {message}")]
    Emit {
        /// What was being emitted.
        kind: EmitKind,
        /// LLVM's message.
        message: String,
    },
    /// A file could not be written or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The linker failed (or could not be started).
    #[error("cannot link the shared library {path} with `{linker}`: {message}")]
    Link {
        /// The library being written.
        path: PathBuf,
        /// The linker command.
        linker: String,
        /// The linker's output, or why it could not run.
        message: String,
    },
    /// The module uses an external symbol that nothing provides.
    #[error(
        "the module uses the external symbol `{name}`, which is neither in the symbol table \
         given to the JIT nor in the process"
    )]
    UnresolvedSymbol {
        /// The symbol's name.
        name: String,
    },
    /// The caller's symbol table maps a name to address 0.
    #[error("the symbol table maps `{name}` to a null address")]
    NullSymbol {
        /// The symbol's name.
        name: String,
    },
    /// ORC could not create the JIT, or link the objects into it.
    #[error("cannot JIT-compile the module: {0}")]
    Jit(String),
    /// The module could not be split into parts for parallel code
    /// generation, or the parts linked back together.
    #[error("cannot split the module for parallel code generation: {0}")]
    Split(String),
    /// The JIT-compiled module defines no such function or global.
    #[error("the JIT-compiled module defines no symbol `{name}`")]
    NoSuchSymbol {
        /// The name asked for.
        name: String,
    },
}

/// How hard LLVM optimises: the `default<On>` pipeline and the code
/// generator's level.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OptLevel {
    /// `default<O0>`.
    O0,
    /// `default<O1>`.
    O1,
    /// `default<O2>`.
    O2,
    /// `default<O3>` (the default).
    #[default]
    O3,
}

impl OptLevel {
    /// The new pass manager's pipeline for this level.
    pub fn pipeline(self) -> &'static str {
        match self {
            OptLevel::O0 => "default<O0>",
            OptLevel::O1 => "default<O1>",
            OptLevel::O2 => "default<O2>",
            OptLevel::O3 => "default<O3>",
        }
    }

    fn inkwell(self) -> OptimizationLevel {
        match self {
            OptLevel::O0 => OptimizationLevel::None,
            OptLevel::O1 => OptimizationLevel::Less,
            OptLevel::O2 => OptimizationLevel::Default,
            OptLevel::O3 => OptimizationLevel::Aggressive,
        }
    }
}

/// What to generate code for, and how hard to optimise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodegenOptions {
    /// The optimisation level.
    pub opt_level: OptLevel,
    /// The target triple (LLVM's default triple: the host's).
    pub triple: String,
    /// The CPU name, such as `skylake-avx512` or `x86-64`.
    pub cpu: String,
    /// The CPU features, such as `+avx2,+fma,-avx512f`.
    pub features: String,
    /// How many threads optimise and generate code, each for its own part of
    /// the module's functions; 0 (the default) means one per available core.
    /// The code is the same for any count.
    pub threads: usize,
}

impl CodegenOptions {
    /// `default<O3>` for this machine: its triple, CPU and CPU features.
    pub fn host() -> Self {
        CodegenOptions {
            opt_level: OptLevel::O3,
            triple: TargetMachine::get_default_triple()
                .as_str()
                .to_string_lossy()
                .into_owned(),
            cpu: TargetMachine::get_host_cpu_name().to_string(),
            features: TargetMachine::get_host_cpu_features().to_string(),
            threads: 0,
        }
    }

    /// `default<O3>` for any x86-64 machine (no AVX): for artifacts that
    /// leave this machine.
    pub fn portable() -> Self {
        CodegenOptions {
            cpu: "x86-64".into(),
            features: String::new(),
            ..CodegenOptions::host()
        }
    }
}

/// The threads a requested count of code generation threads
/// ([`CodegenOptions::threads`]) stands for: itself, or one per available
/// core for 0.
pub fn thread_count(requested: usize) -> usize {
    match requested {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        threads => threads,
    }
}

impl Default for CodegenOptions {
    fn default() -> Self {
        CodegenOptions::host()
    }
}

/// What [`LlvmModule::emit`] produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EmitKind {
    /// Textual LLVM IR (`.ll`).
    LlvmIr,
    /// Target assembly (`.s`).
    Assembly,
    /// A relocatable object file (`.o`), position independent.
    Object,
}

impl fmt::Display for EmitKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            EmitKind::LlvmIr => "LLVM IR",
            EmitKind::Assembly => "assembly",
            EmitKind::Object => "an object file",
        })
    }
}

/// An LLVM context with one module in it, both owned; disposed in that order.
struct OwnedIr {
    context: LLVMContextRef,
    module: LLVMModuleRef,
}

impl Drop for OwnedIr {
    fn drop(&mut self) {
        // SAFETY: both handles are owned (created here or handed over by
        // MLIR's translation) and disposed once; a module before its context.
        unsafe {
            if !self.module.is_null() {
                LLVMDisposeModule(self.module);
            }
            if !self.context.is_null() {
                LLVMContextDispose(self.context);
            }
        }
    }
}

/// A module in LLVM IR, with its own LLVM context and the target machine it
/// is generated for.
pub struct LlvmModule {
    ir: OwnedIr,
    target_machine: TargetMachine,
    options: CodegenOptions,
}

impl fmt::Debug for LlvmModule {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("LlvmModule")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// LLVM options set once per process, before the first code generation.
///
/// `-disable-lsr`: loop strength reduction took 57% of code generation on
/// ResNet-50's kernels (their loops carry many affine address expressions)
/// and bought no speed that the benchmarks could measure; see
/// docs/lowering.md.
const LLVM_OPTIONS: [&CStr; 2] = [c"deepfuse", c"-disable-lsr"];

/// Initialises LLVM's native target (code generator, assembly printer and
/// parser) and sets [`LLVM_OPTIONS`], once per process.
fn initialize_native_target() -> Result<(), String> {
    static INITIALIZED: OnceLock<Result<(), String>> = OnceLock::new();
    INITIALIZED
        .get_or_init(|| {
            Target::initialize_native(&InitializationConfig::default())?;
            let arguments: Vec<*const std::ffi::c_char> =
                LLVM_OPTIONS.iter().map(|option| option.as_ptr()).collect();
            // SAFETY: the arguments are C strings that outlive the call; LLVM
            // copies what it keeps.
            unsafe {
                LLVMParseCommandLineOptions(
                    arguments.len() as i32,
                    arguments.as_ptr(),
                    c"".as_ptr(),
                )
            };
            Ok(())
        })
        .clone()
}

fn create_target_machine(options: &CodegenOptions) -> Result<TargetMachine, CodegenError> {
    let error = |message: String| CodegenError::Target {
        triple: options.triple.clone(),
        cpu: options.cpu.clone(),
        message,
    };
    initialize_native_target().map_err(error)?;
    let triple = TargetTriple::create(&options.triple);
    let target = Target::from_triple(&triple).map_err(|message| error(message.to_string()))?;
    target
        .create_target_machine(
            &triple,
            &options.cpu,
            &options.features,
            options.opt_level.inkwell(),
            // Position independent: the object may go into a shared library.
            RelocMode::PIC,
            CodeModel::Default,
        )
        .ok_or_else(|| error("LLVM returned no target machine".into()))
}

impl LlvmModule {
    /// Translates `module` (entirely in the LLVM dialect, as
    /// [`crate::llvm_pipeline::lower_to_llvm_dialect`] leaves it) to LLVM IR
    /// for the target of `options`, and verifies it. Registers the LLVM
    /// translation interfaces in the module's context.
    pub fn translate(module: &Module, options: &CodegenOptions) -> Result<Self, CodegenError> {
        let target_machine = create_target_machine(options)?;
        // `to_ref` borrows the `ContextRef` itself, so it must outlive the
        // reference: a temporary would leave it dangling.
        let context_ref = module.context();
        // SAFETY: the context outlives `module`, borrowed for this call.
        let mlir_context = unsafe { context_ref.to_ref() };
        register_all_llvm_translations(mlir_context);

        // SAFETY: a fresh context, owned by `ir` from here on.
        let mut ir = OwnedIr {
            context: unsafe { LLVMContextCreate() },
            module: ptr::null_mut(),
        };
        capture_diagnostics(mlir_context, || {
            // SAFETY: `mlir_sys` and `llvm_sys` declare distinct opaque types
            // for the same C++ `llvm::LLVMContext`/`llvm::Module`, of the one
            // LLVM linked into this process; the module returned (or null on
            // failure) is owned by the caller.
            ir.module = unsafe {
                mlir_sys::mlirTranslateModuleToLLVMIR(
                    module.as_operation().to_raw(),
                    ir.context as mlir_sys::LLVMContextRef,
                ) as LLVMModuleRef
            };
            !ir.module.is_null()
        })
        .map_err(|diagnostics| CodegenError::Translate { diagnostics })?;

        let llvm = LlvmModule {
            ir,
            target_machine,
            options: options.clone(),
        };
        llvm.with_module(|module| {
            module.set_triple(&llvm.target_machine.get_triple());
            module.set_data_layout(&llvm.target_machine.get_target_data().get_data_layout());
            let context = module.get_context();
            let cpu = context.create_string_attribute("target-cpu", &llvm.options.cpu);
            let features =
                context.create_string_attribute("target-features", &llvm.options.features);
            for function in module.get_functions() {
                if function.count_basic_blocks() == 0 {
                    continue;
                }
                if function
                    .get_string_attribute(AttributeLoc::Function, "target-cpu")
                    .is_none()
                {
                    function.add_attribute(AttributeLoc::Function, cpu);
                }
                let has_features = function
                    .get_string_attribute(AttributeLoc::Function, "target-features")
                    .is_some();
                if !llvm.options.features.is_empty() && !has_features {
                    function.add_attribute(AttributeLoc::Function, features);
                }
            }
            module
                .verify()
                .map_err(|message| CodegenError::Verify(message.to_string()))
        })?;
        dump_text("llvm-ir", "ll", &llvm.llvm_ir());
        Ok(llvm)
    }

    /// Runs LLVM's `default<On>` pipeline (the options' level) with the
    /// loop and SLP vectorisers and unrolling on, tuned for the target CPU.
    /// A module with several functions is optimised in parts on
    /// [`CodegenOptions::threads`] threads and linked back into one module.
    pub fn optimize(&mut self) -> Result<(), CodegenError> {
        let plan = self.partition(Work::Optimize);
        if plan.parts() == 1 {
            self.with_module(|module| {
                optimize_module(module, &self.target_machine, &self.options)
            })?;
        } else {
            let parts = partition::run_parts(
                &self.bitcode(),
                &plan,
                &self.options,
                |module, target_machine| {
                    optimize_module(module, target_machine, &self.options)?;
                    Ok(module.write_bitcode_to_memory().as_slice().to_vec())
                },
            )?;
            self.relink(&parts)?;
        }
        dump_text(
            &format!("llvm-ir-{:?}", self.options.opt_level),
            "ll",
            &self.llvm_ir(),
        );
        Ok(())
    }

    /// How the module splits for `work` on the options' threads.
    fn partition(&self, work: Work) -> partition::PartitionPlan {
        let threads = thread_count(self.options.threads);
        self.with_module(|module| partition::plan(module, threads, work))
    }

    /// The module as LLVM bitcode.
    fn bitcode(&self) -> Vec<u8> {
        self.with_module(|module| module.write_bitcode_to_memory().as_slice().to_vec())
    }

    /// Replaces the module by `parts` (bitcode) linked together, in the
    /// module's context.
    fn relink(&mut self, parts: &[Vec<u8>]) -> Result<(), CodegenError> {
        let linked = self.with_module(|module| {
            let context = module.get_context();
            let mut linked: Option<IrModule<'_>> = None;
            for bitcode in parts {
                let buffer = MemoryBuffer::create_from_memory_range_copy(bitcode, "part");
                let part = IrModule::parse_bitcode_from_buffer(&buffer, context)
                    .map_err(|message| CodegenError::Split(message.to_string()))?;
                match &linked {
                    None => linked = Some(part),
                    Some(into) => into
                        .link_in_module(part)
                        .map_err(|message| CodegenError::Split(message.to_string()))?,
                }
            }
            let linked = linked.ok_or_else(|| CodegenError::Split("no parts to link".into()))?;
            // `self.ir` owns the linked module from here on.
            Ok::<_, CodegenError>(ManuallyDrop::new(linked).as_mut_ptr())
        })?;
        // SAFETY: the old module is owned and no longer referenced.
        unsafe { LLVMDisposeModule(self.ir.module) };
        self.ir.module = linked;
        Ok(())
    }

    /// The module as relocatable objects, one per part, generated on
    /// [`CodegenOptions::threads`] threads.
    fn objects(&self) -> Result<Vec<Vec<u8>>, CodegenError> {
        let plan = self.partition(Work::Generate);
        if plan.parts() == 1 {
            return Ok(vec![self.emit(EmitKind::Object)?]);
        }
        partition::run_parts(
            &self.bitcode(),
            &plan,
            &self.options,
            |module, target_machine| {
                target_machine
                    .write_to_memory_buffer(module, FileType::Object)
                    .map(|buffer| buffer.as_slice().to_vec())
                    .map_err(|message| CodegenError::Emit {
                        kind: EmitKind::Object,
                        message: message.to_string(),
                    })
            },
        )
    }

    /// The options this module is generated with.
    pub fn options(&self) -> &CodegenOptions {
        &self.options
    }

    /// The module as textual LLVM IR.
    pub fn llvm_ir(&self) -> String {
        self.with_module(|module| module.print_to_string().to_string())
    }

    /// Emits the module as LLVM IR text, assembly or a (position independent)
    /// object file.
    pub fn emit(&self, kind: EmitKind) -> Result<Vec<u8>, CodegenError> {
        let file_type = match kind {
            EmitKind::LlvmIr => return Ok(self.llvm_ir().into_bytes()),
            EmitKind::Assembly => FileType::Assembly,
            EmitKind::Object => FileType::Object,
        };
        let buffer = self
            .with_module(|module| {
                self.target_machine
                    .write_to_memory_buffer(module, file_type)
            })
            .map_err(|message| CodegenError::Emit {
                kind,
                message: message.to_string(),
            })?;
        Ok(buffer.as_slice().to_vec())
    }

    /// The names of the functions and globals the module declares without
    /// defining (LLVM intrinsics excepted), in module order.
    pub fn external_symbols(&self) -> Vec<String> {
        self.with_module(|module| {
            declarations(module)
                .into_iter()
                .map(|(name, _)| name)
                .collect()
        })
    }

    /// Writes the module as a shared library at `path`: emits its objects
    /// (in parallel, see [`LlvmModule::optimize`]) and links them with
    /// `clang-22 -shared -fuse-ld=lld` (`cc -shared` where LLVM's clang is
    /// missing) and `-lm`. Declared symbols stay undefined, to be bound by
    /// the loading process.
    pub fn write_shared_library(&self, path: &Path) -> Result<(), CodegenError> {
        static OBJECTS: AtomicUsize = AtomicUsize::new(0);
        let mut paths = Vec::new();
        let mut written = Ok(());
        for object in self.objects()? {
            let object_path = std::env::temp_dir().join(format!(
                "deepfuse-{}-{}.o",
                std::process::id(),
                OBJECTS.fetch_add(1, Ordering::Relaxed)
            ));
            written = std::fs::write(&object_path, object).map_err(|source| CodegenError::Io {
                path: object_path.clone(),
                source,
            });
            paths.push(object_path);
            if written.is_err() {
                break;
            }
        }
        let linked = written.and_then(|()| link_shared(&paths, path));
        for object_path in paths {
            let _ = std::fs::remove_file(object_path);
        }
        linked
    }

    /// JIT-compiles the module into this process: generates its objects (in
    /// parallel, at the options' code generation level) and links them in
    /// memory with ORC's LLJIT, binding each declared symbol to its address
    /// in `symbols`, else to the process's own (libc, libm). Fails, before
    /// generating any code, with [`CodegenError::UnresolvedSymbol`] naming
    /// the first symbol that neither provides. Call [`LlvmModule::optimize`]
    /// first: the JIT only generates code.
    pub fn jit(self, symbols: &[(&str, usize)]) -> Result<JitModule, CodegenError> {
        let table: HashMap<&str, usize> = symbols.iter().copied().collect();
        let mut bindings = Vec::new();
        let mut definitions = Vec::new();
        self.with_module(|module| {
            for (name, value) in declarations(module) {
                let address = match table.get(name.as_str()) {
                    Some(0) => return Err(CodegenError::NullSymbol { name }),
                    Some(&address) => address,
                    None => process_symbol(&name)
                        .ok_or(CodegenError::UnresolvedSymbol { name: name.clone() })?,
                };
                // SAFETY: `value` is a global of the live module.
                let callable = unsafe { !LLVMIsAFunction(value).is_null() };
                bindings.push(jit::Binding {
                    name,
                    address,
                    callable,
                });
            }
            // Local symbols are not in the objects' symbol tables.
            let exported = |linkage: Linkage| !partition::has_local_linkage(linkage);
            for function in module.get_functions() {
                if function.count_basic_blocks() > 0 && exported(function.get_linkage()) {
                    definitions.push(function.get_name().to_string_lossy().into_owned());
                }
            }
            for global in module.get_globals() {
                if !global.is_declaration() && exported(global.get_linkage()) {
                    definitions.push(global.get_name().to_string_lossy().into_owned());
                }
            }
            Ok(())
        })?;
        let objects = self.objects()?;
        JitModule::link(objects, &bindings, &definitions)
    }

    /// Runs `action` on an inkwell view of the module (valid for `&self`).
    fn with_module<R>(&self, action: impl FnOnce(&IrModule<'_>) -> R) -> R {
        // SAFETY: `self.ir.module` is a valid module while `self` lives (only
        // `jit`, which consumes `self`, takes it); the view does not own it:
        // `ManuallyDrop` keeps inkwell from disposing of it.
        let module = ManuallyDrop::new(unsafe { IrModule::new(self.ir.module) });
        action(&module)
    }
}

/// Translates `module` (in the LLVM dialect) and optimises it for the target
/// of `options`: [`LlvmModule::translate`] then [`LlvmModule::optimize`].
pub fn compile(module: &Module, options: &CodegenOptions) -> Result<LlvmModule, CodegenError> {
    let mut llvm = LlvmModule::translate(module, options)?;
    llvm.optimize()?;
    Ok(llvm)
}

/// Runs the options' `default<On>` pipeline on `module`.
fn optimize_module(
    module: &IrModule<'_>,
    target_machine: &TargetMachine,
    options: &CodegenOptions,
) -> Result<(), CodegenError> {
    let pipeline = options.opt_level.pipeline();
    let vectorize = options.opt_level >= OptLevel::O2;
    let pass_options = PassBuilderOptions::create();
    pass_options.set_loop_vectorization(vectorize);
    pass_options.set_loop_slp_vectorization(vectorize);
    pass_options.set_loop_interleaving(vectorize);
    pass_options.set_loop_unrolling(options.opt_level >= OptLevel::O1);
    module
        .run_passes(pipeline, target_machine, pass_options)
        .map_err(|message| CodegenError::Optimize {
            pipeline: pipeline.into(),
            message: message.to_string(),
        })
}

/// Functions and globals declared but not defined, LLVM intrinsics excepted.
fn declarations(module: &IrModule<'_>) -> Vec<(String, LLVMValueRef)> {
    let mut found = Vec::new();
    for function in module.get_functions() {
        let name = function.get_name().to_string_lossy().into_owned();
        if function.count_basic_blocks() == 0 && !name.starts_with("llvm.") {
            found.push((name, function.as_value_ref()));
        }
    }
    for global in module.get_globals() {
        if global.is_declaration() {
            let name = global.get_name().to_string_lossy().into_owned();
            found.push((name, global.as_value_ref()));
        }
    }
    found
}

/// The address of `name` in the process (its executable and loaded shared
/// libraries), as the JIT's default resolver would find it.
fn process_symbol(name: &str) -> Option<usize> {
    static PROCESS_LOADED: OnceLock<()> = OnceLock::new();
    PROCESS_LOADED.get_or_init(|| {
        // SAFETY: a null file name makes the process's own symbols searchable.
        unsafe { LLVMLoadLibraryPermanently(ptr::null()) };
    });
    let name = CString::new(name).ok()?;
    // SAFETY: `name` is a C string.
    let address = unsafe { LLVMSearchForAddressOfSymbol(name.as_ptr()) };
    (!address.is_null()).then_some(address as usize)
}

/// The linker command: LLVM 22's clang with lld when installed, else `cc`.
fn linker() -> (PathBuf, &'static [&'static str]) {
    let clang = Path::new("/usr/lib/llvm-22/bin/clang");
    if clang.exists() {
        (clang.to_path_buf(), &["-shared", "-fuse-ld=lld"])
    } else {
        (PathBuf::from("cc"), &["-shared"])
    }
}

fn link_shared(objects: &[PathBuf], output: &Path) -> Result<(), CodegenError> {
    let (program, flags) = linker();
    let mut command = Command::new(&program);
    command
        .args(flags)
        .arg("-o")
        .arg(output)
        .args(objects)
        .arg("-lm");
    let describe = format!("{command:?}");
    let error = |message: String| CodegenError::Link {
        path: output.to_path_buf(),
        linker: describe.clone(),
        message,
    };
    let result = command
        .output()
        .map_err(|error_| error(error_.to_string()))?;
    if result.status.success() {
        Ok(())
    } else {
        Err(error(format!(
            "{}: {}",
            result.status,
            String::from_utf8_lossy(&result.stderr).trim()
        )))
    }
}

mod jit;
mod partition;

use partition::Work;

pub use jit::{EntryFn, JitModule, PERF_MAP_ENV};

#[cfg(test)]
pub(crate) mod tests;
