//! `deepfuse compile`: schedules and lowers a df network, printing the IR of
//! a stage or writing native code.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use deepfuse_lowering::codegen::EmitKind;
use deepfuse_passes::{cost::parse_size, schedule::Strategy};

use crate::compile::{CompileOptions, Compiler};

/// What `deepfuse compile` produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Emit {
    /// The scheduled df IR (fusion regions with their schedules).
    Df,
    /// The affine-level module.
    Affine,
    /// The module in the LLVM dialect.
    LlvmDialect,
    /// Optimised LLVM IR for the host.
    LlvmIr,
    /// Host assembly.
    Asm,
    /// A relocatable object file (needs `-o`).
    Obj,
    /// A shared library exporting `deepfuse_init` and `deepfuse_forward`
    /// (needs `-o`; the runtime's `deepfuse_rt_*` symbols are bound by the
    /// loading process).
    So,
}

/// The arguments of `deepfuse compile`.
#[derive(Debug, Args)]
pub struct CompileArgs {
    /// The network, as df IR.
    pub network: PathBuf,
    /// Scratchpad capacity (bytes, or with a unit: 256KiB, 1MiB).
    #[arg(long, default_value = "1MiB")]
    pub scratchpad: String,
    /// Grouping strategy: dp, greedy, layer or naive.
    #[arg(long, default_value = "dp")]
    pub strategy: String,
    /// Staging flags.
    #[command(flatten)]
    pub staging: StagingArgs,
    /// Code generation flags.
    #[command(flatten)]
    pub codegen: CodegenArgs,
    /// What to produce (default: a shared library when `-o` ends in `.so`,
    /// else the affine module).
    #[arg(long, value_enum)]
    pub emit: Option<Emit>,
    /// Where to write it (default: standard output).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

/// The staging flags of `compile`, `run` and `bench`.
#[derive(Debug, Default, Args)]
pub struct StagingArgs {
    /// Run every fusion region op by op on off-chip memory, without
    /// staging tiles through the scratchpad (and without DMA).
    #[arg(long, conflicts_with = "stage_all")]
    pub no_staging: bool,
    /// Also stage the regions left op by op because their tile kernels run
    /// several times slower (narrow tiles, weights streamed one channel
    /// per call): slower on a CPU, but every region the tile plan covers
    /// has its bytes counted.
    #[arg(long)]
    pub stage_all: bool,
}

/// The code generation flags of `compile`, `run` and `bench`.
#[derive(Debug, Default, Args)]
pub struct CodegenArgs {
    /// Threads that optimise and generate native code, each for a part of
    /// the module's functions (0: one per core). The code is the same for
    /// any count.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub codegen_threads: usize,
    /// Vector registers the kernels' register blocks are sized for: 16
    /// (AVX2) or 32 (AVX-512). Default: the host's.
    #[arg(long, value_name = "N", value_parser = parse_vector_registers)]
    pub vector_registers: Option<i64>,
}

/// `--vector-registers`: 16 or 32.
fn parse_vector_registers(text: &str) -> Result<i64, String> {
    match text {
        "16" => Ok(16),
        "32" => Ok(32),
        _ => Err("use 16 (AVX2) or 32 (AVX-512)".into()),
    }
}

/// Parses the options shared by `compile`, `run` and `bench`.
pub fn options(
    scratchpad: &str,
    strategy: &str,
    staging: &StagingArgs,
    codegen: &CodegenArgs,
) -> Result<CompileOptions, String> {
    Ok(CompileOptions {
        scratchpad: parse_size(scratchpad)?,
        strategy: Strategy::parse(strategy).ok_or_else(|| {
            format!("unknown strategy '{strategy}': use dp, greedy, layer or naive")
        })?,
        staging: !staging.no_staging,
        stage_all: staging.stage_all,
        codegen_threads: codegen.codegen_threads,
        vector_registers: codegen.vector_registers,
    })
}

/// Runs `deepfuse compile`, returning what to print.
pub fn run(args: &CompileArgs) -> Result<String, String> {
    let compiler = Compiler::new(options(
        &args.scratchpad,
        &args.strategy,
        &args.staging,
        &args.codegen,
    )?);
    let path = &args.network;
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let emit = args.emit.unwrap_or(match &args.output {
        Some(file) if file.extension().is_some_and(|e| e == "so") => Emit::So,
        _ => Emit::Affine,
    });
    let lowered = compiler.lower(&text, &path.display().to_string())?;
    let bytes = match emit {
        Emit::Df => lowered.df.into_bytes(),
        Emit::Affine => lowered.affine.into_bytes(),
        Emit::LlvmDialect => {
            let mut dialect = String::new();
            compiler.llvm(&lowered, Some(&mut dialect))?;
            dialect.into_bytes()
        }
        Emit::LlvmIr | Emit::Asm | Emit::Obj => {
            let kind = match emit {
                Emit::LlvmIr => EmitKind::LlvmIr,
                Emit::Asm => EmitKind::Assembly,
                _ => EmitKind::Object,
            };
            if kind == EmitKind::Object && args.output.is_none() {
                return Err("--emit obj writes a binary file: give -o".into());
            }
            let llvm = compiler.llvm(&lowered, None)?;
            llvm.emit(kind).map_err(|e| e.to_string())?
        }
        Emit::So => {
            let file = args
                .output
                .as_ref()
                .ok_or("--emit so writes a shared library: give -o")?;
            let llvm = compiler.llvm(&lowered, None)?;
            llvm.write_shared_library(file).map_err(|e| e.to_string())?;
            return Ok(format!("wrote {}\n", file.display()));
        }
    };
    match &args.output {
        Some(file) => {
            std::fs::write(file, &bytes)
                .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
            Ok(format!("wrote {}\n", file.display()))
        }
        None => Ok(String::from_utf8_lossy(&bytes).into_owned()),
    }
}
