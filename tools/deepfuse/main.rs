//! `deepfuse`: the deepfuse command line (import, compile, run, report).

use std::{io::Write, process::ExitCode};

use clap::{Parser, Subcommand};
use deepfuse::cli;

#[derive(Debug, Parser)]
#[command(name = "deepfuse", version, about = "Deep Fusion compiler on MLIR")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the built-in example network through the pipeline and summarise it.
    Demo {
        /// Also print the IR after the pipeline.
        #[arg(long)]
        print_ir: bool,
    },
    /// Write a built-in network (torchvision's CNNs) as df IR, with seeded
    /// weights in a .safetensors file beside it.
    Zoo(cli::zoo::ZooArgs),
    /// Schedule and lower a df network; print a stage's IR or write native
    /// code.
    Compile(cli::compile::CompileArgs),
    /// Compile a df network under one schedule and time repeated runs.
    Bench(cli::bench::BenchArgs),
    /// Evaluate a df network on an input and summarise its output.
    Run(cli::run::RunArgs),
    /// Import an ONNX model as df IR, with its weights in a .safetensors
    /// file beside it.
    Import(deepfuse::onnx::cli::ImportArgs),
    /// Schedule a df network for a scratchpad and report the off-chip
    /// traffic of deepfuse, layer-by-layer, naive and compulsory.
    Report(deepfuse::report::ReportArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo { print_ir } => deepfuse::demo::run(print_ir),
        Command::Zoo(args) => cli::zoo::run(&args),
        Command::Compile(args) => cli::compile::run(&args),
        Command::Bench(args) => cli::bench::run(&args),
        Command::Run(args) => cli::run::run(&args),
        Command::Import(args) => deepfuse::onnx::cli::run(&args),
        Command::Report(args) => deepfuse::report::run(&args),
    };
    match result {
        Ok(report) => {
            // A reader that stops early (`| head`) is not an error.
            match std::io::stdout().write_all(report.as_bytes()) {
                Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
                    eprintln!("deepfuse: error: cannot write the output: {error}");
                    ExitCode::FAILURE
                }
                _ => ExitCode::SUCCESS,
            }
        }
        Err(error) => {
            eprintln!("deepfuse: error: {error}");
            ExitCode::FAILURE
        }
    }
}
