//! `deepfuse zoo`: writes a built-in network as df IR with seeded weights.

use std::{fmt::Write, path::PathBuf};

use clap::Args;
use deepfuse_dialects::source::{self, DiagnosticMode, SourceDiagnostics};
use melior::ir::operation::OperationLike;

use super::{macs_short, params_short, thousands};
use crate::{
    context::create_context,
    zoo::{self, Network, weights},
};

/// The arguments of `deepfuse zoo`.
#[derive(Debug, Args)]
pub struct ZooArgs {
    /// The network (see --list).
    #[arg(required_unless_present = "list")]
    pub name: Option<String>,
    /// Where to write the IR; the weights go beside it, as .safetensors.
    #[arg(short, long, required_unless_present = "list")]
    pub output: Option<PathBuf>,
    /// Input height and width (default: the network's own, 224 or 299).
    #[arg(long)]
    pub input_size: Option<usize>,
    /// Seed of the weights.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// List the networks with their sizes and costs.
    #[arg(long)]
    pub list: bool,
}

/// Runs `deepfuse zoo`, returning the report.
pub fn run(args: &ZooArgs) -> Result<String, String> {
    if args.list {
        return list();
    }
    let (Some(name), Some(output)) = (&args.name, &args.output) else {
        return Err("name a network and an output file: deepfuse zoo NAME -o net.mlir".into());
    };
    let network = zoo::build(name, args.input_size)?;
    verify(&network)?;
    std::fs::write(output, &network.text)
        .map_err(|e| format!("cannot write {}: {e}", output.display()))?;
    let weights_path = output.with_extension("safetensors");
    weights::write_safetensors(&network, args.seed, &weights_path).map_err(|e| e.to_string())?;
    let mut report = summary(&network);
    writeln!(
        report,
        "wrote {} and {} (seed {})",
        output.display(),
        weights_path.display(),
        args.seed
    )
    .expect("writing to a String");
    Ok(report)
}

/// Parses and verifies the generated IR: a failure is a bug in the zoo,
/// caught before anything is written.
fn verify(network: &Network) -> Result<(), String> {
    let context = create_context();
    let name = format!("<zoo {}>", network.name);
    let _diagnostics =
        SourceDiagnostics::attach(&context, &network.text, &name, DiagnosticMode::Print);
    let module = source::parse_source(&context, &network.text, &name)
        .ok_or_else(|| format!("the generated {} does not parse", network.name))?;
    if !module.as_operation().verify() {
        return Err(format!("the generated {} does not verify", network.name));
    }
    Ok(())
}

/// Layer, parameter and MAC counts of a network.
pub fn summary(network: &Network) -> String {
    let shape = |dims: &[usize]| {
        dims.iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join("x")
    };
    let ops: Vec<String> = network
        .op_counts
        .iter()
        .map(|(op, count)| format!("{count} {op}"))
        .collect();
    let params = network.parameter_count();
    let mut report = String::new();
    let mut line = |text: String| writeln!(report, "{text}").expect("writing to a String");
    line(format!(
        "{}: input {} -> output {}",
        network.name,
        shape(&network.input_shape),
        shape(&network.output_shape)
    ));
    line(format!(
        "  layers:     {} ({})",
        network.layer_count(),
        ops.join(", ")
    ));
    let buffers = network
        .params
        .iter()
        .filter(|p| !p.trainable)
        .map(|p| p.shape.iter().product::<usize>() as u64)
        .sum::<u64>();
    line(format!(
        "  parameters: {} ({}), plus {} batch-norm statistics; {} tensors",
        thousands(params),
        params_short(params),
        thousands(buffers),
        network.params.len()
    ));
    line(format!(
        "  MACs:       {} ({}MACs)",
        thousands(network.macs),
        macs_short(network.macs)
    ));
    report
}

/// The table of `deepfuse zoo --list`.
fn list() -> Result<String, String> {
    let mut report = format!(
        "{:<14} {:>5} {:>13} {:>9}  {}\n",
        "network", "input", "parameters", "MACs", "description"
    );
    for entry in zoo::NETWORKS {
        let network = (entry.build)(entry.default_size)?;
        writeln!(
            report,
            "{:<14} {:>5} {:>13} {:>9}  {}",
            entry.name,
            entry.default_size,
            thousands(network.parameter_count()),
            macs_short(network.macs),
            entry.description
        )
        .expect("writing to a String");
    }
    Ok(report)
}
