//! The upstream MLIR pipeline from the affine level to the LLVM dialect, and
//! the `DEEPFUSE_DUMP` helper that writes the IR after each stage.
//!
//! [`lower_to_llvm_dialect`] takes a module whose functions use the `affine`,
//! `scf`, `memref`, `arith`, `math`, `func` and `vector` dialects and leaves
//! it in the `llvm` dialect only, ready for [`crate::codegen`]. Memrefs in
//! function signatures must be statically shaped with the identity layout:
//! every function uses the bare-pointer calling convention, so that
//!
//! ```text
//! func.func @forward(%dram: memref<NxI8>, %params: memref<Mxi8>, %arena: memref<Sxi8>)
//! ```
//!
//! becomes `llvm.func @forward(!llvm.ptr, !llvm.ptr, !llvm.ptr)`, that is
//! `extern "C" fn(*mut u8, *const u8, *mut u8)`.
//!
//! # What the context needs
//!
//! The module's context must have every upstream dialect available (a
//! registry filled by `melior::utility::register_all_dialects` and appended to
//! the context), as the facade's `create_context` does: the conversion passes
//! load the `llvm`, `cf`, `ub` ... dialects on demand from that registry.
//! Upstream passes are registered by name here (`register_all_passes`, which
//! melior guards with a process-wide `Once`, so calling it from several crates
//! is harmless). Translation to LLVM IR registers its own interfaces (see
//! [`crate::codegen`]).
//!
//! # Dumps
//!
//! With `DEEPFUSE_DUMP=dir` in the environment, [`dump_stage`] writes the IR
//! to `dir/NN-name.mlir`, `NN` counting stages in the process (so the files
//! sort in pipeline order); [`lower_to_llvm_dialect`] calls it after each of
//! its [`STAGES`] and [`crate::codegen`] writes the LLVM IR the same way.

use std::{
    cell::RefCell,
    fmt::Write as _,
    path::{Path, PathBuf},
    rc::Rc,
    sync::atomic::{AtomicUsize, Ordering},
};

use melior::{
    Context,
    diagnostic::DiagnosticSeverity,
    ir::{
        Module,
        operation::{OperationLike, WalkOrder, WalkResult},
    },
    pass::PassManager,
    utility::{parse_pass_pipeline, register_all_passes},
};
use thiserror::Error;

/// The environment variable naming the directory that receives IR dumps.
pub const DUMP_ENV: &str = "DEEPFUSE_DUMP";

/// A failure while lowering to the LLVM dialect.
#[derive(Debug, Error)]
pub enum LoweringError {
    /// The module did not verify before the pipeline ran.
    #[error("the module to lower does not verify:\n{diagnostics}")]
    InvalidInput {
        /// MLIR's diagnostics, one a line, each with its location.
        diagnostics: String,
    },
    /// A stage's pass pipeline text was rejected by MLIR's parser.
    #[error("cannot build the `{stage}` stage pipeline `{pipeline}`: {message}")]
    Pipeline {
        /// The stage name, as in [`STAGES`].
        stage: &'static str,
        /// The pipeline text.
        pipeline: &'static str,
        /// MLIR's message.
        message: String,
    },
    /// The pipeline succeeded but left an op outside the LLVM dialect (a
    /// dialect the pipeline does not lower, such as `tensor`).
    #[error("{location}: '{op}' is left after lowering to the LLVM dialect (ops left: {all})")]
    NotLowered {
        /// The first op left, in pre-order.
        op: String,
        /// Its location, as MLIR prints it.
        location: String,
        /// Every op name left, comma-separated, in order of appearance.
        all: String,
    },
    /// A pass (or the verifier after it) failed.
    #[error("stage `{stage}` ({pipeline}) failed:\n{diagnostics}")]
    Stage {
        /// The stage name, as in [`STAGES`].
        stage: &'static str,
        /// The pipeline text.
        pipeline: &'static str,
        /// MLIR's diagnostics, one a line, each with its location.
        diagnostics: String,
    },
}

/// One named stage of the lowering: a textual pipeline nested in
/// `builtin.module(...)`, after which the IR is dumped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stage {
    /// Names the dump file (`NN-name.mlir`).
    pub name: &'static str,
    /// The pass pipeline, as `mlir-opt --pass-pipeline` takes it inside
    /// `builtin.module(...)`.
    pub pipeline: &'static str,
}

/// The stages of [`lower_to_llvm_dialect`], in order.
///
/// - `affine-opt`: canonicalization and common subexpressions on the affine
///   form (no `affine-scalrep`: its store-to-load forwarding found nothing
///   to forward in these kernels, whose values stay in `iter_args`, and
///   took 40% of this lowering on Inception-v3 once the kernels blocked 8
///   channels);
/// - `lower-affine`: rank>1 vector transfers to loops, subview and reshape
///   metadata made explicit, affine to `scf` + `arith`, arith ops without an
///   LLVM lowering (ceildivsi, floordivsi ...) expanded;
/// - `lower-scf`: structured control flow to `cf` branches;
/// - `llvm-dialect`: every remaining dialect to `llvm`; math ops become LLVM
///   intrinsics (`llvm.exp`, `llvm.tanh` ...) where LLVM has one, libm calls
///   otherwise; entry functions take bare pointers.
///
/// Passes that work function by function are nested in `func.func(...)`,
/// or `llvm.func(...)` once functions are in the LLVM dialect: MLIR runs a
/// nested pipeline on several functions at once (one per core). That cut
/// this lowering from 3.8 s to 2.3 s on Inception-v3 on two cores, and
/// nesting the vector, UB and cast conversions too (which can run on any
/// op) to 1.7 s, each time with byte-identical output. The conversions of
/// memref, cf and func stay at module level: MLIR defines them on modules
/// (they add declarations and change signatures).
pub const STAGES: &[Stage] = &[
    Stage {
        name: "affine-opt",
        pipeline: "func.func(canonicalize,cse)",
    },
    Stage {
        name: "lower-affine",
        pipeline: "func.func(convert-vector-to-scf,expand-strided-metadata,lower-affine,\
                   arith-expand,canonicalize,cse)",
    },
    Stage {
        name: "lower-scf",
        pipeline: "func.func(convert-scf-to-cf)",
    },
    Stage {
        name: "llvm-dialect",
        pipeline: "func.func(convert-vector-to-llvm,convert-math-to-llvm),convert-math-to-libm,\
                   finalize-memref-to-llvm,func.func(convert-arith-to-llvm,convert-index-to-llvm),\
                   convert-cf-to-llvm,convert-func-to-llvm{use-bare-ptr-memref-call-conv=1},\
                   llvm.func(convert-ub-to-llvm,reconcile-unrealized-casts)",
    },
];

/// The whole lowering as one `mlir-opt --pass-pipeline` string, for
/// reproducing a run outside deepfuse (`mlir-opt-22 --pass-pipeline=...`).
pub fn pipeline_text() -> String {
    let stages: Vec<&str> = STAGES.iter().map(|stage| stage.pipeline).collect();
    format!("builtin.module({})", stages.join(","))
}

/// Lowers `module` from the affine level to the LLVM dialect, running the
/// [`STAGES`] with the verifier on and dumping the IR after each one when
/// `DEEPFUSE_DUMP` is set. On failure the module is left as the failing pass
/// left it and the error carries MLIR's diagnostics.
pub fn lower_to_llvm_dialect(module: &mut Module) -> Result<(), LoweringError> {
    register_all_passes();
    // `to_ref` borrows the `ContextRef` itself, so it must outlive the
    // reference: a temporary would leave it dangling.
    let context_ref = module.context();
    // SAFETY: the context outlives the module borrowed here, and the
    // reference does not escape this function.
    let context = unsafe { context_ref.to_ref() };

    let diagnostics = capture_diagnostics(context, || module.as_operation().verify());
    if let Err(diagnostics) = diagnostics {
        return Err(LoweringError::InvalidInput { diagnostics });
    }

    for stage in STAGES {
        let manager = PassManager::new(context);
        manager.enable_verifier(true);
        parse_pass_pipeline(
            manager.as_operation_pass_manager(),
            &format!("builtin.module({})", stage.pipeline),
        )
        .map_err(|error| LoweringError::Pipeline {
            stage: stage.name,
            pipeline: stage.pipeline,
            message: error.to_string(),
        })?;
        capture_diagnostics(context, || manager.run(module).is_ok()).map_err(|diagnostics| {
            LoweringError::Stage {
                stage: stage.name,
                pipeline: stage.pipeline,
                diagnostics,
            }
        })?;
        dump_stage(stage.name, module);
    }
    first_non_llvm_op(module).map_or(Ok(()), Err)
}

/// The first op (in pre-order) below the top-level module that is not in the
/// LLVM dialect, as an error that also lists every other such op name.
fn first_non_llvm_op(module: &Module) -> Option<LoweringError> {
    let top = module.as_operation();
    let mut first = None;
    let mut names: Vec<String> = Vec::new();
    top.walk(WalkOrder::PreOrder, |op| {
        let name = op.name();
        let name = name.as_string_ref().as_str().unwrap_or_default();
        if op == top || name.starts_with("llvm.") {
            return WalkResult::Advance;
        }
        if first.is_none() {
            first = Some(op.location().to_string());
        }
        if !names.iter().any(|known| known == name) {
            names.push(name.to_string());
        }
        WalkResult::Advance
    });
    let location = first?;
    Some(LoweringError::NotLowered {
        op: names[0].clone(),
        location,
        all: names.join(", "),
    })
}

/// Runs `action` with MLIR's diagnostics captured instead of printed; when it
/// reports failure, returns the error and warning diagnostics (with their
/// locations and notes), one a line.
pub(crate) fn capture_diagnostics(
    context: &Context,
    action: impl FnOnce() -> bool,
) -> Result<(), String> {
    let messages = Rc::new(RefCell::new(String::new()));
    let sink = messages.clone();
    let handler = context.attach_diagnostic_handler(move |diagnostic| {
        let severity = match diagnostic.severity() {
            DiagnosticSeverity::Error => "error",
            DiagnosticSeverity::Warning => "warning",
            DiagnosticSeverity::Note => "note",
            DiagnosticSeverity::Remark => return true,
        };
        let mut sink = sink.borrow_mut();
        let _ = writeln!(sink, "{}: {severity}: {diagnostic}", diagnostic.location());
        for index in 0..diagnostic.note_count() {
            if let Ok(note) = diagnostic.note(index) {
                let _ = writeln!(sink, "{}: note: {note}", note.location());
            }
        }
        true
    });
    let succeeded = action();
    context.detach_diagnostic_handler(handler);
    if succeeded {
        return Ok(());
    }
    let messages = messages.borrow();
    let messages = messages.trim_end();
    Err(if messages.is_empty() {
        "MLIR reported no diagnostic".to_string()
    } else {
        messages.to_string()
    })
}

/// Numbers dump files across the process, so they sort in pipeline order.
static DUMP_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// The dump directory named by `DEEPFUSE_DUMP`, if it is set and not empty.
pub fn dump_dir() -> Option<PathBuf> {
    std::env::var_os(DUMP_ENV)
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
}

/// When `DEEPFUSE_DUMP=dir` is set, writes `module` to `dir/NN-name.mlir`
/// (`NN` counts dumps in this process). A dump that cannot be written is
/// reported on stderr and otherwise ignored: dumps never fail a compilation.
pub fn dump_stage(name: &str, module: &Module) {
    if let Some(dir) = dump_dir() {
        dump_text_to(&dir, name, "mlir", &module.as_operation().to_string());
    }
}

/// Like [`dump_stage`] for text that is not MLIR (`extension` without dot).
pub(crate) fn dump_text(name: &str, extension: &str, text: &str) {
    if let Some(dir) = dump_dir() {
        dump_text_to(&dir, name, extension, text);
    }
}

/// Writes `text` to `dir/NN-name.extension`, returning the path written.
pub(crate) fn dump_text_to(dir: &Path, name: &str, extension: &str, text: &str) -> Option<PathBuf> {
    let index = DUMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let path = dir.join(format!("{index:02}-{name}.{extension}"));
    let written = std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&path, text));
    match written {
        Ok(()) => Some(path),
        Err(error) => {
            eprintln!(
                "deepfuse: cannot write the {name} dump to {}: {error}",
                path.display()
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use melior::ir::{
        Location, block::BlockLike, operation::OperationBuilder, r#type::IntegerType,
    };

    use super::*;
    use crate::codegen::tests::{TEST_MODULE, test_context};

    #[test]
    fn lowers_to_the_llvm_dialect_with_bare_pointers() {
        let context = test_context();
        let mut module = Module::parse(&context, TEST_MODULE).expect("test module parses");
        lower_to_llvm_dialect(&mut module).unwrap();
        let text = module.as_operation().to_string();
        assert!(
            text.contains(
                "llvm.func @forward(%arg0: !llvm.ptr, %arg1: !llvm.ptr, %arg2: !llvm.ptr)"
            ),
            "{text}"
        );
        assert!(text.contains("llvm.intr.exp"), "{text}");
        for dialect in [
            "affine.", "scf.", "cf.", "memref.", "arith.", "math.", "func.",
        ] {
            assert!(!text.contains(dialect), "{dialect} left in:\n{text}");
        }
    }

    #[test]
    fn an_op_left_unlowered_is_named_with_its_location() {
        let context = test_context();
        let source = r#"func.func @f(%t: tensor<4xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %x = tensor.extract %t[%c0] : tensor<4xf32>
  return %x : f32
}"#;
        let mut module = Module::parse(&context, source).unwrap();
        let error = lower_to_llvm_dialect(&mut module).unwrap_err().to_string();
        // The function keeps its tensor signature, so it stays `func.func`.
        assert!(error.contains("'func.func' is left"), "{error}");
        assert!(error.contains("tensor.extract"), "{error}");
    }

    #[test]
    fn an_invalid_input_reports_the_verifier() {
        let context = test_context();
        // The parser verifies, so build the invalid op: a constant without value.
        let location = Location::unknown(&context);
        let mut module = Module::new(location);
        let constant = OperationBuilder::new("arith.constant", location)
            .add_results(&[IntegerType::new(&context, 32).into()])
            .build()
            .unwrap();
        module.body().append_operation(constant);
        let error = lower_to_llvm_dialect(&mut module).unwrap_err();
        assert!(
            matches!(error, LoweringError::InvalidInput { .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains("error:"), "{error}");
    }

    #[test]
    fn dumps_are_numbered_in_order() {
        let dir = std::env::temp_dir().join(format!("deepfuse-dump-{}", std::process::id()));
        let first = dump_text_to(&dir, "one", "mlir", "a").unwrap();
        let second = dump_text_to(&dir, "two", "ll", "b").unwrap();
        assert!(
            first.file_name() < second.file_name(),
            "{first:?} {second:?}"
        );
        assert!(second.to_string_lossy().ends_with("-two.ll"));
        assert_eq!(std::fs::read_to_string(&first).unwrap(), "a");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_pipeline_text_nests_every_stage() {
        let text = pipeline_text();
        assert!(text.starts_with("builtin.module(func.func(canonicalize,cse),"));
        assert!(text.ends_with("llvm.func(convert-ub-to-llvm,reconcile-unrealized-casts))"));
    }
}
