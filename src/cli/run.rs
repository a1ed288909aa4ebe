//! `deepfuse run`: evaluates a df network and summarises its output.

use std::{
    fmt::Write,
    path::{Path, PathBuf},
    time::Instant,
};

use clap::Args;
use deepfuse_dialects::source::{self, DiagnosticMode, SourceDiagnostics};
use deepfuse_runtime::Stats;
use melior::ir::operation::OperationLike;

use super::{compile, npy, thousands};
use crate::{
    compile::{Compiler, Lowered},
    context::create_context,
    interpreter::{self, ParamSource, Tensor, tensor::format_shape},
    params::ParamFile,
    zoo::weights,
};

/// The arguments of `deepfuse run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The network, as df IR.
    pub network: PathBuf,
    /// Evaluate with the reference interpreter instead of compiling.
    #[arg(long)]
    pub reference: bool,
    /// Also run the reference interpreter and report the largest relative
    /// difference (an error above 1e-4).
    #[arg(long, conflicts_with = "reference")]
    pub check: bool,
    /// Print the DMA traffic the runtime counted.
    #[arg(long, conflicts_with = "reference")]
    pub stats: bool,
    /// Scratchpad capacity for compilation.
    #[arg(long, default_value = "1MiB")]
    pub scratchpad: String,
    /// Grouping strategy for compilation: dp, greedy, layer or naive.
    #[arg(long, default_value = "dp")]
    pub strategy: String,
    /// Staging flags.
    #[command(flatten)]
    pub staging: compile::StagingArgs,
    /// Code generation flags.
    #[command(flatten)]
    pub codegen: compile::CodegenArgs,
    /// The parameters (default: the network's path with .safetensors).
    #[arg(long)]
    pub params: Option<PathBuf>,
    /// The input as .npy (default: seeded uniform values in [-1, 1)).
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Where to write the output, as .npy.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Seed of the default input.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// A parameter source for a file that does not exist: only networks that
/// use a parameter fail, and they name it.
struct NoParams(PathBuf);

impl ParamSource for NoParams {
    fn param(&self, name: &str, _shape: &[usize]) -> Result<Tensor, String> {
        Err(format!(
            "needs parameter '{name}', but {} does not exist (pass --params)",
            self.0.display()
        ))
    }
}

/// The parameters of `network`: the file `explicit`, else the network's path
/// with `.safetensors`; when that file does not exist, `fallback` of it.
pub fn param_source(
    network: &Path,
    explicit: Option<&Path>,
    fallback: impl FnOnce(PathBuf) -> Box<dyn ParamSource>,
) -> Result<Box<dyn ParamSource>, String> {
    let path = explicit
        .map(Path::to_path_buf)
        .unwrap_or_else(|| network.with_extension("safetensors"));
    if path.exists() {
        Ok(Box::new(ParamFile::open(&path).map_err(|e| e.to_string())?))
    } else {
        Ok(fallback(path))
    }
}

/// The largest relative difference a compiled output may have from the
/// reference interpreter's.
pub const TOLERANCE: f32 = 1e-4;

/// Runs `deepfuse run`, returning the report.
pub fn run(args: &RunArgs) -> Result<String, String> {
    let path = &args.network;
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let context = create_context();
    let name = path.display().to_string();
    let _diagnostics = SourceDiagnostics::attach(&context, &text, &name, DiagnosticMode::Print);
    let module = source::parse_source(&context, &text, &name)
        .ok_or_else(|| format!("{name} does not parse"))?;
    if !module.as_operation().verify() {
        return Err(format!("{name} does not verify"));
    }
    let function = interpreter::entry_function(&module).map_err(|e| e.to_string())?;
    let shapes = interpreter::argument_shapes(&function).map_err(|e| e.to_string())?;
    let inputs = inputs(&shapes, args.input.as_deref(), args.seed)?;

    let params = param_source(path, args.params.as_deref(), |missing| {
        Box::new(NoParams(missing))
    })?;

    let mut report = String::new();
    let mut line = |text: String| writeln!(report, "{text}").expect("writing to a String");
    let outputs = if args.reference {
        let start = Instant::now();
        let outputs = interpreter::run_function(&function, params.as_ref(), inputs)
            .map_err(|e| e.to_string())?;
        line(format!(
            "ran {name} with the reference interpreter in {:.3} s",
            start.elapsed().as_secs_f64()
        ));
        outputs
    } else {
        let compiler = Compiler::new(compile::options(
            &args.scratchpad,
            &args.strategy,
            &args.staging,
            &args.codegen,
        )?);
        let compiled = compiler.compile(&text, &name)?;
        let parameters = compiled.load_params(params.as_ref())?;
        let result = compiled.run(&parameters, &inputs)?;
        line(format!(
            "compiled {name} in {:.3} s; ran in {:.3} s",
            compiled.compile_time.as_secs_f64(),
            result.latency.as_secs_f64()
        ));
        if args.stats {
            let counted = result.stats.total;
            let predicted = compiled.lowered.predicted_total();
            line(format!(
                "  off-chip traffic over {} fusion regions:",
                compiled.lowered.regions
            ));
            line(format!(
                "    predicted by the schedule: input {} B, weight {} B, output {} B",
                thousands(predicted.input),
                thousands(predicted.weight),
                thousands(predicted.output)
            ));
            line(format!(
                "    counted by the runtime:    input {} B, weight {} B, output {} B ({} DMA calls)",
                thousands(counted.input),
                thousands(counted.weight),
                thousands(counted.output),
                thousands(result.stats.dma_calls)
            ));
            print_regions(&compiled.lowered, &result.stats, &mut line);
            let mismatches = compiled.lowered.traffic_mismatches(&result.stats);
            if let Some(first) = mismatches.first() {
                return Err(format!(
                    "the runtime's counted traffic differs from the schedule's prediction ({} mismatches; first: {first})",
                    mismatches.len()
                ));
            }
        }
        if args.check {
            let reference = interpreter::run_function(&function, params.as_ref(), inputs)
                .map_err(|e| e.to_string())?;
            for (i, (got, want)) in result.outputs.iter().zip(&reference).enumerate() {
                let difference = max_relative_difference(got, want);
                line(format!(
                    "  output #{i}: max relative difference from the reference interpreter {difference:.3e}"
                ));
                if difference > TOLERANCE {
                    return Err(format!(
                        "output #{i} differs from the reference interpreter by {difference:.3e} (tolerance {TOLERANCE:.0e})"
                    ));
                }
            }
        }
        result.outputs
    };
    for (i, output) in outputs.iter().enumerate() {
        report.push_str(&describe(i, output));
    }
    if let Some(output_path) = &args.output {
        let [output] = outputs.as_slice() else {
            return Err(format!(
                "the function returns {} values; -o writes exactly one",
                outputs.len()
            ));
        };
        npy::write(output_path, output)?;
        writeln!(report, "wrote {}", output_path.display()).expect("writing to a String");
    }
    Ok(report)
}

/// Per fusion region: how it ran, and its predicted and counted bytes.
fn print_regions(lowered: &Lowered, stats: &Stats, line: &mut impl FnMut(String)) {
    line(format!(
        "    {} of {} regions staged through the scratchpad:",
        lowered.staged_regions(),
        lowered.regions
    ));
    line(format!(
        "    {:>6} {:>6} {:>12}  {:>25}  {:>25}  {:>25}",
        "region",
        "steps",
        "arena",
        "input pred/counted",
        "weight pred/counted",
        "output pred/counted"
    ));
    for (region, staging) in lowered.staging.iter().enumerate() {
        let predicted = lowered
            .predicted
            .get(region)
            .copied()
            .flatten()
            .unwrap_or_default();
        let counted = stats.regions.get(region).copied().unwrap_or_default();
        let pair = |p: u64, c: u64| format!("{} / {}", thousands(p), thousands(c));
        match staging {
            Ok(summary) => line(format!(
                "    {region:>6} {:>6} {:>12}  {:>25}  {:>25}  {:>25}",
                summary.steps,
                thousands(summary.arena_bytes),
                pair(predicted.input, counted.input),
                pair(predicted.weight, counted.weight),
                pair(predicted.output, counted.output),
            )),
            Err(reason) => line(format!("    {region:>6}  op by op: {reason}")),
        }
    }
}

/// `max |a - b| / max |b|` over two tensors: the largest difference relative
/// to the reference's largest magnitude (per-element ratios are meaningless
/// near zero); infinite when the shapes differ or a value is not finite.
pub fn max_relative_difference(a: &Tensor, b: &Tensor) -> f32 {
    if a.shape() != b.shape() {
        return f32::INFINITY;
    }
    let scale = b
        .data()
        .iter()
        .fold(0f32, |m, x| m.max(x.abs()))
        .max(f32::MIN_POSITIVE);
    let difference = a
        .data()
        .iter()
        .zip(b.data())
        .map(|(&x, &y)| (x - y).abs())
        .fold(
            0f32,
            |m, d| if d.is_nan() { f32::INFINITY } else { m.max(d) },
        );
    difference / scale
}

/// The function's inputs: from `--input`, or seeded uniform values.
fn inputs(shapes: &[Vec<usize>], input: Option<&Path>, seed: u64) -> Result<Vec<Tensor>, String> {
    match (shapes, input) {
        ([shape], Some(path)) => {
            let tensor = npy::read(path)?;
            if tensor.shape() != shape.as_slice() {
                return Err(format!(
                    "{}: the input has shape {}, the function expects {}",
                    path.display(),
                    format_shape(tensor.shape()),
                    format_shape(shape)
                ));
            }
            Ok(vec![tensor])
        }
        (_, Some(_)) => Err(format!(
            "--input gives one tensor, the function takes {} arguments",
            shapes.len()
        )),
        (_, None) => Ok(shapes
            .iter()
            .enumerate()
            .map(|(i, shape)| random_input(shape, seed, i))
            .collect()),
    }
}

/// Seeded uniform values in [-1, 1) for argument `index`.
pub fn random_input(shape: &[usize], seed: u64, index: usize) -> Tensor {
    let mut rng = weights::rng_for(seed, &format!("input.{index}"));
    let count = shape.iter().product();
    let data = weights::uniform(&mut rng, count, -1.0, 1.0);
    Tensor::from_fn(shape.to_vec(), |i| data[i])
}

/// Shape, checksum and, for a classifier's `1xN` output, the top 5.
pub fn describe(index: usize, output: &Tensor) -> String {
    let data = output.data();
    let sum: f64 = data.iter().map(|&x| f64::from(x)).sum();
    let abs_sum: f64 = data.iter().map(|&x| f64::from(x).abs()).sum();
    let min = data.iter().copied().fold(f32::INFINITY, f32::min);
    let max = data.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let finite = data.iter().all(|x| x.is_finite());
    let mut report = format!(
        "output #{index}: shape {}\n  checksum: sum {sum:.6e}, sum of |x| {abs_sum:.6e}, min {min:.6e}, max {max:.6e}{}\n",
        format_shape(output.shape()),
        if finite { "" } else { " (NOT FINITE)" }
    );
    if let [1, classes] = output.shape()[..]
        && classes >= 5
    {
        let mut ranked: Vec<(usize, f32)> = data.iter().copied().enumerate().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let top: Vec<String> = ranked[..5]
            .iter()
            .map(|(class, score)| format!("{class} ({score:.4})"))
            .collect();
        writeln!(report, "  top-5: {}", top.join(", ")).expect("writing to a String");
    }
    report
}
