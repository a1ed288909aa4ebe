//! The built-in example job: the tiny CNN through the passes that exist.

use std::fmt::Write;

use deepfuse_dialects::source::{self, DiagnosticMode, SourceDiagnostics};
use indexmap::IndexMap;
use melior::ir::{
    Module,
    operation::{OperationLike, WalkOrder, WalkResult},
};

use crate::{context::create_context, examples::TINY_CNN, pipeline};

/// The pipeline the demo runs.
pub const PIPELINE: &str = "builtin.module(df-canonicalize)";

/// Parses the built-in tiny CNN, runs [`PIPELINE`], and returns a report of
/// the df ops before and after.
pub fn run(print_ir: bool) -> Result<String, String> {
    let context = create_context();
    let name = "<built-in tiny_cnn>";
    let _diagnostics = SourceDiagnostics::attach(&context, TINY_CNN, name, DiagnosticMode::Print);
    let mut module = source::parse_source(&context, TINY_CNN, name)
        .ok_or("the built-in network does not parse")?;
    let before = count_ops(&module);
    let pass_manager = pipeline::module_pass_manager(&context);
    pipeline::add_anchored_pipeline(&pass_manager, PIPELINE).map_err(|e| e.to_string())?;
    pass_manager
        .run(&mut module)
        .map_err(|_| format!("{PIPELINE} failed on the built-in network"))?;
    let after = count_ops(&module);

    let mut report = String::new();
    writeln!(report, "network: tiny_cnn (built in), pipeline: {PIPELINE}").unwrap();
    writeln!(report, "{:<24} {:>7} {:>7}", "op", "before", "after").unwrap();
    let names = before
        .keys()
        .chain(after.keys())
        .collect::<indexmap::IndexSet<_>>();
    for op in names {
        let count = |map: &IndexMap<String, usize>| map.get(op.as_str()).copied().unwrap_or(0);
        writeln!(
            report,
            "{:<24} {:>7} {:>7}",
            op,
            count(&before),
            count(&after)
        )
        .unwrap();
    }
    let total = |map: &IndexMap<String, usize>| map.values().sum::<usize>();
    writeln!(
        report,
        "{:<24} {:>7} {:>7}",
        "total",
        total(&before),
        total(&after)
    )
    .unwrap();
    if print_ir {
        writeln!(report, "\n{}", module.as_operation()).unwrap();
    }
    Ok(report)
}

/// How many ops of each `df` kind the module holds, in first-seen order.
fn count_ops(module: &Module) -> IndexMap<String, usize> {
    let mut counts = IndexMap::new();
    module.as_operation().walk(WalkOrder::PreOrder, |op| {
        let name = op
            .name()
            .as_string_ref()
            .as_str()
            .unwrap_or_default()
            .to_string();
        if name.starts_with("df.") {
            *counts.entry(name).or_insert(0) += 1;
        }
        WalkResult::Advance
    });
    counts
}
