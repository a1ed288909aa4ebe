//! `deepfuse bench`: compiles a network under one schedule and times repeated
//! runs of the native code (a benchmark, never a test).

use std::{fmt::Write, path::PathBuf, time::Duration};

use clap::{Args, ValueEnum};
use deepfuse_lowering::codegen;
use indicatif::{ProgressBar, ProgressStyle};

use super::{
    compile,
    run::{param_source, random_input},
    thousands,
};
use crate::{compile::Compiler, zoo::weights::RandomParams};

/// The schedules `bench` compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Schedule {
    /// Deep Fusion's groups (`strategy=dp`).
    Deepfuse,
    /// Each conv/pool/matmul with its epilogue (`strategy=layer`).
    Layer,
    /// Every op alone (`strategy=naive`).
    Naive,
}

impl Schedule {
    fn strategy(self) -> &'static str {
        match self {
            Schedule::Deepfuse => "dp",
            Schedule::Layer => "layer",
            Schedule::Naive => "naive",
        }
    }
}

/// The arguments of `deepfuse bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The network, as df IR.
    pub network: PathBuf,
    /// The schedule to compile.
    #[arg(long, value_enum, default_value = "deepfuse")]
    pub schedule: Schedule,
    /// Scratchpad capacity.
    #[arg(long, default_value = "1MiB")]
    pub scratchpad: String,
    /// Staging flags.
    #[command(flatten)]
    pub staging: compile::StagingArgs,
    /// Code generation flags.
    #[command(flatten)]
    pub codegen: compile::CodegenArgs,
    /// Timed runs (after one warm-up run).
    #[arg(long, default_value_t = 10)]
    pub runs: usize,
    /// The parameters (default: the network's path with .safetensors, or
    /// seeded weights when that file does not exist).
    #[arg(long)]
    pub params: Option<PathBuf>,
    /// No progress bar (for logs).
    #[arg(long)]
    pub quiet: bool,
}

/// Latency statistics of a set of runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Latency {
    /// Median.
    pub median: Duration,
    /// Fastest run.
    pub min: Duration,
    /// Slowest run.
    pub max: Duration,
}

impl Latency {
    /// Statistics of `samples` (at least one).
    pub fn of(samples: &mut [Duration]) -> Latency {
        samples.sort_unstable();
        let n = samples.len();
        let median = if n % 2 == 1 {
            samples[n / 2]
        } else {
            (samples[n / 2 - 1] + samples[n / 2]) / 2
        };
        Latency {
            median,
            min: samples[0],
            max: samples[n - 1],
        }
    }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

/// The process's peak resident set, from `/proc/self/status` (Linux).
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Runs `deepfuse bench`, returning the report.
pub fn run(args: &BenchArgs) -> Result<String, String> {
    if args.runs == 0 {
        return Err("--runs must be at least 1".into());
    }
    let path = &args.network;
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let name = path.display().to_string();
    let compiler = Compiler::new(compile::options(
        &args.scratchpad,
        args.schedule.strategy(),
        &args.staging,
        &args.codegen,
    )?);
    let compiled = compiler.compile(&text, &name)?;

    let params = param_source(path, args.params.as_deref(), |_| {
        Box::new(RandomParams { seed: 0 })
    })?;
    let parameters = compiled.load_params(params.as_ref())?;
    let inputs: Vec<_> = compiled
        .input_shapes()
        .iter()
        .enumerate()
        .map(|(i, shape)| random_input(shape, 0, i))
        .collect();

    // One warm-up run: page faults on fresh buffers and cold caches are not
    // what a steady-state latency measures.
    let first = compiled.run(&parameters, &inputs)?;
    let progress = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(args.runs as u64)
    };
    progress.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} runs, {elapsed}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    progress.set_message(format!("bench {name}"));
    let mut samples = Vec::with_capacity(args.runs);
    for _ in 0..args.runs {
        // The warm-up run checked every DMA; the timed runs do not.
        samples.push(compiled.run_with(&parameters, &inputs, false)?.latency);
        progress.inc(1);
    }
    progress.finish_and_clear();
    let latency = Latency::of(&mut samples);

    let plan = &compiled.lowered.plan;
    let traffic = first.stats.total;
    let mut report = String::new();
    let mut line = |text: String| writeln!(report, "{text}").expect("writing to a String");
    line(format!(
        "bench {name}: schedule {:?} (strategy {}), scratchpad {}, {} runs, 1 thread",
        args.schedule,
        args.schedule.strategy(),
        args.scratchpad,
        args.runs
    ));
    line(format!(
        "  compile:  {:.2} s (df -> native code; LLVM on {} threads)",
        compiled.compile_time.as_secs_f64(),
        codegen::thread_count(args.codegen.codegen_threads)
    ));
    for (phase, time) in &compiled.phases {
        line(format!("            {:.2} s {phase}", time.as_secs_f64()));
    }
    line(format!(
        "  latency:  median {:.2} ms, min {:.2} ms, max {:.2} ms (spread {:.1}%)",
        ms(latency.median),
        ms(latency.min),
        ms(latency.max),
        100.0 * (ms(latency.max) - ms(latency.min)) / ms(latency.median).max(1e-9)
    ));
    line(format!(
        "  counted:  input {} B, weight {} B, output {} B ({} DMA calls)",
        thousands(traffic.input),
        thousands(traffic.weight),
        thousands(traffic.output),
        thousands(first.stats.dma_calls)
    ));
    line(format!(
        "  memory:   activations {:.2} MB (plan peak; largest live set {:.2} MB), parameters {:.2} MB ({:.2} MB while init runs), scratchpad {} B",
        mb(plan.activation_bytes),
        mb(plan.max_live_bytes),
        mb(plan.forward_param_bytes),
        mb(plan.param_bytes),
        thousands(compiler.options.scratchpad)
    ));
    if let Some(rss) = peak_rss_bytes() {
        line(format!("  process:  peak resident set {:.1} MB", mb(rss)));
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_statistics() {
        let ms = Duration::from_millis;
        let mut odd = [ms(5), ms(1), ms(3)];
        assert_eq!(
            Latency::of(&mut odd),
            Latency {
                median: ms(3),
                min: ms(1),
                max: ms(5)
            }
        );
        let mut even = [ms(4), ms(1), ms(2), ms(8)];
        assert_eq!(Latency::of(&mut even).median, ms(3));
    }
}
