//! The one integration test binary of deepfuse.
//!
//! - `lit_files`: every `.mlir` file under `tests/mlir` runs its `RUN:` lines
//!   (LLVM FileCheck semantics, the real `FileCheck`), and the output of
//!   every `deepfuse-opt ... | FileCheck` line is pinned by an insta snapshot;
//! - `api`: the Rust API (typed builders, pipelines, the demo);
//! - `docs`: generated documentation is up to date;
//! - `onnx`: ONNX import of the fixtures in `tests/fixtures/onnx`, checked
//!   against onnxruntime's outputs, and the models it must refuse;
//! - `zoo`: the built-in networks' parameter and MAC counts, names, and IR;
//! - `interpreter`: the reference interpreter on whole networks (the
//!   canonicaliser preserves outputs, ResNet-18 end to end, error messages).
//! - `compile`: networks compiled to native code against the reference
//!   interpreter, and the compiler's errors;
//! - `report`: the Deep Fusion scheduler on real IR (`deepfuse report`, the
//!   plan of `df-form-fusion-regions`, baselines on zoo networks).
//!
//! `cargo test --test entry -- FILTER` runs the trials whose name contains
//! FILTER, as with the standard harness.

mod api;
mod compile;
mod docs;
mod interpreter;
mod lit_files;
mod onnx;
mod report;
mod zoo;

use libtest_mimic::{Arguments, Failed, Trial};

/// Runs `body`, turning a panic (a failed assertion) into a test failure.
fn catching(body: impl FnOnce() -> Result<(), Failed>) -> Result<(), Failed> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)) {
        Ok(result) => result,
        Err(panic) => Err(panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panicked".into())
            .into()),
    }
}

fn main() {
    let arguments = Arguments::from_args();
    let mut trials: Vec<Trial> = Vec::new();
    trials.extend(lit_files::trials());
    trials.extend(api::trials());
    trials.extend(docs::trials());
    trials.extend(zoo::trials());
    trials.extend(interpreter::trials());
    trials.extend(onnx::trials());
    trials.extend(report::trials());
    trials.extend(compile::trials());
    libtest_mimic::run(&arguments, trials).exit();
}
