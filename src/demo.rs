//! The built-in example job: the tiny CNN through the whole of deepfuse:
//! canonicalisation, the Deep Fusion schedule and its traffic against the
//! baselines, native compilation, and a run checked against the reference
//! interpreter.

use std::fmt::Write;

use deepfuse_dialects::source::{self, DiagnosticMode, SourceDiagnostics};
use indexmap::IndexMap;
use melior::ir::{
    Module,
    operation::{OperationLike, WalkOrder, WalkResult},
};

use deepfuse_passes::schedule::Strategy;

use crate::{
    cli::run::{TOLERANCE, max_relative_difference, random_input},
    compile::{CompileOptions, Compiler},
    context::create_context,
    examples::TINY_CNN,
    pipeline,
    zoo::weights::RandomParams,
};

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
    report.push_str(&schedule_and_run()?);
    Ok(report)
}

/// The scratchpad the demo schedules and compiles for: small enough that
/// the tiny CNN must be tiled.
pub const SCRATCHPAD: u64 = 64 << 10;

/// The schedule's traffic next to the baselines, then the compiled network
/// against the reference interpreter.
fn schedule_and_run() -> Result<String, String> {
    let mut report = String::new();
    let graphs = crate::report::load_graphs(TINY_CNN, "<built-in tiny_cnn>")?;
    let graph = graphs
        .first()
        .ok_or("the built-in network has no function")?;
    let options = deepfuse_passes::schedule::ScheduleOptions::new(SCRATCHPAD);
    let network =
        crate::report::analyse(graph, Strategy::Dp, &options).map_err(|e| e.to_string())?;
    writeln!(
        report,
        "\noff-chip traffic with a {} KiB scratchpad (f32):",
        SCRATCHPAD >> 10
    )
    .unwrap();
    for (name, totals) in [
        ("deepfuse", &network.deepfuse),
        ("layer-by-layer", &network.layer_by_layer),
        ("naive", &network.naive),
        ("compulsory", &network.compulsory),
    ] {
        writeln!(
            report,
            "  {name:<15} {:>10} B in {} groups",
            crate::cli::thousands(totals.traffic.total),
            totals.groups
        )
        .unwrap();
    }

    let params = RandomParams { seed: 0 };
    let input = random_input(&[1, 3, 32, 32], 0, 0);
    let context = create_context();
    let module = source::parse_source(&context, TINY_CNN, "<built-in tiny_cnn>")
        .ok_or("the built-in network does not parse")?;
    let reference = crate::interpreter::run_module(&module, &params, vec![input.clone()])
        .map_err(|e| e.to_string())?;
    for strategy in [Strategy::Dp, Strategy::Layer] {
        let compiler = Compiler::new(CompileOptions {
            scratchpad: SCRATCHPAD,
            strategy,
            ..CompileOptions::default()
        });
        let compiled = compiler.compile(TINY_CNN, "<built-in tiny_cnn>")?;
        let parameters = compiled.load_params(&params)?;
        let result = compiled.run(&parameters, std::slice::from_ref(&input))?;
        let difference = max_relative_difference(&result.outputs[0], &reference[0]);
        writeln!(
            report,
            "\ncompiled ({} schedule) to native code in {:.2} s, ran in {:.3} ms; \
             max relative difference from the reference interpreter {difference:.1e}",
            strategy.name(),
            compiled.compile_time.as_secs_f64(),
            result.latency.as_secs_f64() * 1e3
        )
        .unwrap();
        let lowered = &compiled.lowered;
        let staged_predicted: deepfuse_passes::cost::Traffic = lowered
            .staging
            .iter()
            .zip(&lowered.predicted)
            .filter(|(staging, _)| staging.is_ok())
            .filter_map(|(_, predicted)| *predicted)
            .sum();
        writeln!(
            report,
            "staged {} of {} fusion regions through the scratchpad: DMA counted {} B, the schedule predicts {} B for them",
            lowered.staged_regions(),
            lowered.regions,
            crate::cli::thousands(result.stats.total.total()),
            crate::cli::thousands(staged_predicted.total()),
        )
        .unwrap();
        for (region, staging) in lowered.staging.iter().enumerate() {
            if let Err(reason) = staging {
                writeln!(report, "  region {region} runs op by op: {reason}").unwrap();
            }
        }
        if difference > TOLERANCE {
            return Err(format!(
                "the compiled network differs from the reference interpreter by {difference:.1e}"
            ));
        }
        if let Some(mismatch) = lowered.traffic_mismatches(&result.stats).first() {
            return Err(format!(
                "the counted traffic differs from the schedule's prediction: {mismatch}"
            ));
        }
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
