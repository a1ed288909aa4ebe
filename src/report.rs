//! `deepfuse report`: the Deep Fusion schedule of a network and the traffic
//! it saves.
//!
//! The network is parsed, `df-canonicalize` runs (so batch norms and biases
//! are folded into their layers), and every function becomes a
//! [`LayerGraph`]. For a scratchpad of the given capacity the report shows
//! the three numbers that anchor every result (DESIGN.md), plus naive:
//!
//! - **deepfuse**: the schedule the DP finds (or `--strategy`);
//! - **layer-by-layer**: each conv/pool/matmul with its elementwise epilogue
//!   as its own group, each with its best tiling;
//! - **naive**: every op its own group;
//! - **compulsory**: all weights, the network inputs and outputs, once;
//!
//! and, per deepfuse group: its ops, tile, loop order, overlap handling,
//! footprint and traffic by kind.
//!
//! The JSON output (`--format json`) is the [`Report`] structure; its schema
//! is documented field by field below and in `docs/report.md`, and is
//! versioned by [`SCHEMA`]: fields are only ever added within a version.
//!
//! With `--sweep LOW..HIGH` the report is the traffic-versus-capacity curve
//! instead ([`sweep`]): a table, JSON ([`sweep::Sweep`], schema
//! [`sweep::SWEEP_SCHEMA`]) or an SVG plot (`--format svg`, [`plot`]).

pub mod plot;
mod render;
pub mod sweep;

use std::path::PathBuf;

use clap::Args;
use deepfuse_dialects::source::{self, DiagnosticMode, SourceDiagnostics};
use deepfuse_passes::{
    cost::{CostConfig, Traffic, parse_size},
    graph::{LayerGraph, ValueId, from_ir},
    schedule::{Schedule, ScheduleError, ScheduleOptions, Strategy, compulsory, schedule},
    tile_search::SearchMode,
};
use melior::ir::operation::{OperationLike, WalkOrder, WalkResult};
use serde::Serialize;

pub use render::{render_json, render_sweep_json, render_sweep_table, render_table};

use crate::{context::create_context, pipeline};

/// The JSON schema version.
pub const SCHEMA: &str = "deepfuse-report/1";

/// The pipeline run before the analysis.
pub const PIPELINE: &str = "builtin.module(df-canonicalize)";

/// The arguments of `deepfuse report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The network, as df IR (`-` for standard input).
    pub input: PathBuf,
    /// Scratchpad capacity: bytes, or with a unit (256KiB, 1MiB, 64KB, 2M).
    #[arg(long, default_value = "1MiB")]
    pub scratchpad: String,
    /// Sweep the capacity over the powers of two from LOW to HIGH (both
    /// included), e.g. 64KiB..16MiB: the traffic-versus-capacity curve.
    #[arg(long, value_name = "LOW..HIGH", conflicts_with = "scratchpad")]
    pub sweep: Option<String>,
    /// Bytes per element of every tensor (default: from the IR's types).
    #[arg(long)]
    pub elem_bytes: Option<u64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// How deepfuse partitions the network: dp, greedy, layer or naive.
    #[arg(long, default_value = "dp")]
    pub strategy: String,
    /// Double-buffer DMA buffers in the footprint.
    #[arg(long)]
    pub double_buffer: bool,
    /// The most ops one group may hold.
    #[arg(long, default_value_t = 64)]
    pub max_group_ops: usize,
    /// Search every tiling candidate instead of the fast search.
    #[arg(long)]
    pub exhaustive: bool,
    /// Write the report to this file instead of standard output.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable tables.
    Table,
    /// The documented JSON structure.
    Json,
    /// An SVG plot of a sweep (needs `--sweep`).
    Svg,
}

/// Traffic in bytes, by kind, with the total.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Bytes {
    /// Activation reads.
    pub input: u64,
    /// Weight reads.
    pub weight: u64,
    /// Activation writes.
    pub output: u64,
    /// The sum.
    pub total: u64,
}

impl From<Traffic> for Bytes {
    fn from(t: Traffic) -> Self {
        Self {
            input: t.input,
            weight: t.weight,
            output: t.output,
            total: t.total(),
        }
    }
}

/// One strategy's totals.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Traffic by kind.
    pub traffic: Bytes,
    /// Number of groups (0 for compulsory).
    pub groups: usize,
}

/// Ratios between the totals (0 when a denominator is 0).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Ratios {
    /// deepfuse / compulsory.
    pub deepfuse_over_compulsory: f64,
    /// deepfuse / layer-by-layer.
    pub deepfuse_over_layer_by_layer: f64,
    /// deepfuse / naive.
    pub deepfuse_over_naive: f64,
    /// layer-by-layer / naive.
    pub layer_by_layer_over_naive: f64,
    /// 1 - deepfuse / naive: the fraction of naive traffic saved.
    pub reduction_vs_naive: f64,
    /// 1 - deepfuse / layer-by-layer.
    pub reduction_vs_layer_by_layer: f64,
}

/// One deepfuse group.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupReport {
    /// Position in execution order.
    pub index: usize,
    /// Its ops' labels, in topological order.
    pub ops: Vec<String>,
    /// Tensors it reads from memory, named by their producing op (or
    /// `input#k` for the k-th network input).
    pub inputs: Vec<String>,
    /// Tensors it writes to memory, named the same way.
    pub outputs: Vec<String>,
    /// Tile of the reference output: `[rows, columns, channels]`.
    pub tile: [i64; 3],
    /// Number of tiles along rows, columns and channels.
    pub tiles: [usize; 3],
    /// `spatial-outer` or `channel-outer`.
    pub order: String,
    /// `recompute`, `cache-h`, `cache-v` or `cache`.
    pub overlap: String,
    /// External inputs streamed per use in channel chunks.
    pub stream_inputs: bool,
    /// Peak scratchpad bytes of one step, resident weights included.
    pub footprint: u64,
    /// Bytes of weights resident on chip.
    pub resident_weights: u64,
    /// Traffic by kind.
    pub traffic: Bytes,
}

/// The report for one function.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NetworkReport {
    /// The function's name.
    pub function: String,
    /// Number of ops (layers) after `df-canonicalize`.
    pub ops: usize,
    /// Strategy of the `deepfuse` totals.
    pub strategy: String,
    /// Totals of the deepfuse schedule.
    pub deepfuse: Totals,
    /// Totals of the layer-by-layer baseline.
    pub layer_by_layer: Totals,
    /// Totals of the naive baseline.
    pub naive: Totals,
    /// The compulsory traffic.
    pub compulsory: Totals,
    /// Ratios between them.
    pub ratios: Ratios,
    /// The deepfuse groups.
    pub groups: Vec<GroupReport>,
}

/// The whole report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// [`SCHEMA`].
    pub schema: String,
    /// The input file.
    pub file: String,
    /// Scratchpad capacity in bytes.
    pub scratchpad_bytes: u64,
    /// The `--elem-bytes` override, if any.
    pub elem_bytes: Option<u64>,
    /// Whether DMA buffers are double-buffered.
    pub double_buffer: bool,
    /// One entry per function, in file order.
    pub networks: Vec<NetworkReport>,
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// A value's name in reports: its producer's label, or `input#k`.
fn value_name(graph: &LayerGraph, value: ValueId) -> String {
    match graph.values[value].producer {
        Some(node) => graph.nodes[node].label.clone(),
        None => {
            let k = graph.inputs.iter().position(|&v| v == value).unwrap_or(0);
            format!("input#{k}")
        }
    }
}

fn totals(schedule: &Schedule) -> Totals {
    Totals {
        traffic: schedule.traffic.into(),
        groups: schedule.groups.len(),
    }
}

/// Analyses one layer graph.
pub fn analyse(
    graph: &LayerGraph,
    strategy: Strategy,
    options: &ScheduleOptions,
) -> Result<NetworkReport, ScheduleError> {
    // The baselines run beside the (longer) deepfuse schedule.
    let (deepfuse, baselines) = std::thread::scope(|scope| {
        let baselines = scope.spawn(|| {
            Ok::<_, ScheduleError>((
                schedule(graph, Strategy::Layer, options)?,
                schedule(graph, Strategy::Naive, options)?,
            ))
        });
        let deepfuse = schedule(graph, strategy, options);
        (
            deepfuse,
            baselines.join().expect("the baselines do not panic"),
        )
    });
    let deepfuse = deepfuse?;
    let (layer, naive) = baselines?;
    let bound = compulsory(graph);
    let (d, l, n, c) = (
        deepfuse.traffic.total(),
        layer.traffic.total(),
        naive.traffic.total(),
        bound.total(),
    );
    let groups = deepfuse
        .groups
        .iter()
        .enumerate()
        .map(|(index, group)| {
            let tiling = &group.cost.tiling;
            let evaluation = &group.cost.evaluation;
            GroupReport {
                index,
                ops: group
                    .nodes
                    .iter()
                    .map(|&n| graph.nodes[n].label.clone())
                    .collect(),
                inputs: group.inputs.iter().map(|&v| value_name(graph, v)).collect(),
                outputs: group
                    .outputs
                    .iter()
                    .map(|&v| value_name(graph, v))
                    .collect(),
                tile: [tiling.tile_h, tiling.tile_w, tiling.tile_c],
                tiles: evaluation.tiles,
                order: tiling.order.name().into(),
                overlap: tiling.overlap.name().into(),
                stream_inputs: tiling.stream_inputs,
                footprint: evaluation.footprint,
                resident_weights: evaluation.resident_weights,
                traffic: evaluation.traffic.into(),
            }
        })
        .collect();
    Ok(NetworkReport {
        function: graph.name.clone(),
        ops: graph.nodes.len(),
        strategy: strategy.name().into(),
        deepfuse: totals(&deepfuse),
        layer_by_layer: totals(&layer),
        naive: totals(&naive),
        compulsory: Totals {
            traffic: bound.into(),
            groups: 0,
        },
        ratios: Ratios {
            deepfuse_over_compulsory: ratio(d, c),
            deepfuse_over_layer_by_layer: ratio(d, l),
            deepfuse_over_naive: ratio(d, n),
            layer_by_layer_over_naive: ratio(l, n),
            reduction_vs_naive: 1.0 - ratio(d, n),
            reduction_vs_layer_by_layer: 1.0 - ratio(d, l),
        },
        groups,
    })
}

/// Parses `text` (named `name`), runs [`PIPELINE`] and reads every function
/// into a layer graph.
pub fn load_graphs(text: &str, name: &str) -> Result<Vec<LayerGraph>, String> {
    let context = create_context();
    let _diagnostics = SourceDiagnostics::attach(&context, text, name, DiagnosticMode::Print);
    let mut module = source::parse_source(&context, text, name)
        .ok_or_else(|| format!("{name} does not parse"))?;
    let pass_manager = pipeline::module_pass_manager(&context);
    pipeline::add_anchored_pipeline(&pass_manager, PIPELINE).map_err(|e| e.to_string())?;
    pass_manager
        .run(&mut module)
        .map_err(|_| format!("{PIPELINE} failed on {name}"))?;
    let mut functions = Vec::new();
    module.as_operation().walk(WalkOrder::PreOrder, |op| {
        if deepfuse_passes::ir::op_name(&op) == "func.func" {
            functions.push(op.to_raw());
        }
        WalkResult::Advance
    });
    let mut graphs = Vec::new();
    for raw in functions {
        // SAFETY: collected from the live module above, unchanged since.
        let func = unsafe { melior::ir::OperationRef::from_raw(raw) };
        let built = from_ir::build(&func).map_err(|e| format!("{name}: {}", e.error))?;
        graphs.push(built.graph);
    }
    Ok(graphs)
}

/// Runs `deepfuse report`, returning the text to print (with `--output`,
/// a note of the file written).
pub fn run(args: &ReportArgs) -> Result<String, String> {
    let text = report_text(args)?;
    match &args.output {
        Some(path) => {
            std::fs::write(path, text)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            Ok(format!("wrote {}\n", path.display()))
        }
        None => Ok(text),
    }
}

const SVG_NEEDS_SWEEP: &str = "--format svg plots a sweep: add --sweep LOW..HIGH";

/// The scheduler options of `args` for a scratchpad of `capacity` bytes.
fn schedule_options(args: &ReportArgs, capacity: u64) -> ScheduleOptions {
    ScheduleOptions {
        cost: CostConfig {
            double_buffer: args.double_buffer,
            ..CostConfig::new(capacity)
        },
        search: if args.exhaustive {
            SearchMode::Exhaustive
        } else {
            SearchMode::Fast
        },
        max_group_ops: args.max_group_ops.max(1),
        split_units: false,
    }
}

/// The report (or sweep) of `args`, rendered.
fn report_text(args: &ReportArgs) -> Result<String, String> {
    let capacities = match &args.sweep {
        Some(range) => Some(sweep::capacities(range)?),
        None if args.format == Format::Svg => return Err(SVG_NEEDS_SWEEP.into()),
        None => None,
    };
    let capacity = match &capacities {
        Some(list) => list[0],
        None => parse_size(&args.scratchpad)?,
    };
    let strategy = Strategy::parse(&args.strategy).ok_or_else(|| {
        format!(
            "unknown strategy '{}': use dp, greedy, layer or naive",
            args.strategy
        )
    })?;
    if args.elem_bytes == Some(0) {
        return Err("--elem-bytes must be positive".into());
    }
    let name = args.input.display().to_string();
    let text = if name == "-" {
        std::io::read_to_string(std::io::stdin()).map_err(|e| format!("cannot read stdin: {e}"))?
    } else {
        std::fs::read_to_string(&args.input).map_err(|e| format!("cannot read {name}: {e}"))?
    };
    let options = schedule_options(args, capacity);
    let graphs = load_graphs(&text, &name)?
        .into_iter()
        .map(|graph| match args.elem_bytes {
            Some(bytes) => graph.with_elem_bytes(bytes),
            None => graph,
        });
    if let (Some(capacities), Some(range)) = (capacities, &args.sweep) {
        let mut networks = Vec::new();
        for graph in graphs {
            networks.push(sweep::sweep_network(
                &graph,
                strategy,
                &options,
                &capacities,
            )?);
        }
        let sweep = sweep::Sweep {
            schema: sweep::SWEEP_SCHEMA.into(),
            file: name,
            range: range.clone(),
            capacities,
            elem_bytes: args.elem_bytes,
            double_buffer: args.double_buffer,
            networks,
        };
        return match args.format {
            Format::Table => Ok(render_sweep_table(&sweep)),
            Format::Json => Ok(render_sweep_json(&sweep)),
            Format::Svg => plot::render_sweep_svg(&sweep),
        };
    }
    let mut networks = Vec::new();
    for graph in graphs {
        networks
            .push(analyse(&graph, strategy, &options).map_err(|e| format!("{}: {e}", graph.name))?);
    }
    let report = Report {
        schema: SCHEMA.into(),
        file: name,
        scratchpad_bytes: capacity,
        elem_bytes: args.elem_bytes,
        double_buffer: args.double_buffer,
        networks,
    };
    match args.format {
        Format::Table => Ok(render_table(&report)),
        Format::Json => Ok(render_json(&report)),
        Format::Svg => Err(SVG_NEEDS_SWEEP.into()),
    }
}
