//! `deepfuse`: the deepfuse command line (import, compile, run, report).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo { print_ir } => deepfuse::demo::run(print_ir),
    };
    match result {
        Ok(report) => {
            print!("{report}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("deepfuse: error: {error}");
            ExitCode::FAILURE
        }
    }
}
