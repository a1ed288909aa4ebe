//! The embedding API: compile a df network to native code and run it.
//!
//! [`Compiler::lower`] takes df IR through the scheduler
//! (`df-canonicalize`, `df-form-fusion-regions`) and the lowering (buffer
//! plan, affine kernels) to an affine module; [`Compiler::compile`] goes on
//! through the upstream pipeline to the LLVM dialect and LLVM's O3 to a JIT
//! module, and [`Compiled::load_params`] / [`Compiled::run`] execute it
//! with the runtime.
//!
//! Regions the tile plan covers are staged through the scratchpad: their
//! steps load windows and weights into the arena with counted DMA, compute
//! on arena buffers and store output pieces, moving exactly the bytes the
//! schedule predicts ([`Lowered::traffic_mismatches`]). The other regions run
//! op by op on the activation buffer, without DMA, and
//! [`Lowered::staging`] says why (see docs/lowering.md).
//!
//! ```
//! use deepfuse::compile::{CompileOptions, Compiler};
//! use deepfuse::interpreter::Tensor;
//! use deepfuse::zoo::weights::RandomParams;
//!
//! let compiler = Compiler::new(CompileOptions {
//!     scratchpad: 256 << 10,
//!     ..CompileOptions::default()
//! });
//! let compiled = compiler.compile(deepfuse::examples::TINY_CNN, "tiny_cnn.mlir")?;
//! let params = compiled.load_params(&RandomParams { seed: 0 })?;
//! let result = compiled.run(&params, &[Tensor::zeros(vec![1, 3, 32, 32])])?;
//! assert_eq!(result.outputs[0].shape(), &[1, 10]);
//! # Ok::<(), String>(())
//! ```

use std::time::{Duration, Instant};

use deepfuse_dialects::source::{self, DiagnosticMode, SourceDiagnostics};
use deepfuse_lowering::{
    affine, buffers,
    codegen::{CodegenOptions, JitModule, LlvmModule},
    llvm_pipeline,
    lower::{self, LowerOptions},
    packing, program, staging,
};
use deepfuse_passes::schedule::Strategy;
use deepfuse_runtime::{AlignedBuffer, Arena, Session, Stats};
use melior::ir::{Module, operation::OperationLike};

use crate::{
    context::create_context,
    interpreter::{ParamSource, Tensor, tensor::format_shape},
    pipeline,
};

/// The byte a checked run ([`Compiled::run`]) fills memory with before it
/// starts: four of them make an `f32` NaN.
pub const POISON: u8 = 0xFF;

/// How to compile.
#[derive(Clone, Debug)]
pub struct CompileOptions {
    /// Scratchpad capacity in bytes.
    pub scratchpad: u64,
    /// How layers are grouped into fusion regions.
    pub strategy: Strategy,
    /// Stage the regions the tile plan covers through the scratchpad
    /// (`false`: every region runs op by op, without DMA).
    pub staging: bool,
    /// Also stage the regions whose tile kernels would run several times
    /// slower than op by op, so that every region the tile plan covers has
    /// its bytes counted (`false`: they run op by op).
    pub stage_all: bool,
    /// Threads that optimise and generate native code, each for a part of
    /// the module (0: one per available core). The code does not depend on
    /// it.
    pub codegen_threads: usize,
    /// Vector registers the kernels' register blocks are sized for (16 or
    /// 32); `None` takes the host's (32 with AVX-512, else 16).
    pub vector_registers: Option<i64>,
}

impl Default for CompileOptions {
    fn default() -> Self {
        Self {
            scratchpad: 1 << 20,
            strategy: Strategy::Dp,
            staging: true,
            stage_all: false,
            codegen_threads: 0,
            vector_registers: None,
        }
    }
}

impl CompileOptions {
    /// The df-level pipeline the network goes through before lowering.
    pub fn df_pipeline(&self) -> String {
        format!(
            "builtin.module(df-canonicalize, df-form-fusion-regions{{scratchpad={} strategy={}}})",
            self.scratchpad,
            self.strategy.name()
        )
    }
}

/// A network lowered to the affine level, with its buffer plan.
#[derive(Debug)]
pub struct Lowered {
    /// The scheduled df module, printed.
    pub df: String,
    /// The affine module, printed.
    pub affine: String,
    /// Where every tensor lives.
    pub plan: buffers::BufferPlan,
    /// The entry function's tensors: shapes and classes.
    pub values: Vec<program::TensorValue>,
    /// Tensors the caller provides, in argument order.
    pub inputs: Vec<program::ValueId>,
    /// Tensors the network returns, in order.
    pub outputs: Vec<program::ValueId>,
    /// Number of fusion regions (the runtime counts traffic per region).
    pub regions: usize,
    /// Per region, the traffic its schedule predicts.
    pub predicted: Vec<Option<deepfuse_passes::cost::Traffic>>,
    /// Per region, its staging through the scratchpad, or why it runs op by
    /// op without DMA.
    pub staging: Vec<Result<staging::StagingSummary, String>>,
    /// The filters the init function copies into chunk-major order for
    /// their staged chunk loads.
    pub packed: Vec<packing::PackedFilter>,
}

impl Lowered {
    /// The schedule's predicted traffic summed over every region.
    pub fn predicted_total(&self) -> deepfuse_passes::cost::Traffic {
        self.predicted.iter().flatten().copied().sum()
    }

    /// Number of regions staged through the scratchpad.
    pub fn staged_regions(&self) -> usize {
        self.staging.iter().filter(|s| s.is_ok()).count()
    }

    /// Every staged region and kind whose counted bytes differ from the
    /// schedule's prediction, and every unstaged region that counted any.
    pub fn traffic_mismatches(&self, stats: &Stats) -> Vec<TrafficMismatch> {
        let mut mismatches = Vec::new();
        for (region, staging) in self.staging.iter().enumerate() {
            let counted = stats.regions.get(region).copied().unwrap_or_default();
            let predicted = match (staging, self.predicted.get(region).copied().flatten()) {
                (Ok(_), Some(predicted)) => predicted,
                _ => deepfuse_passes::cost::Traffic::default(),
            };
            for (kind, predicted, counted) in [
                ("input", predicted.input, counted.input),
                ("weight", predicted.weight, counted.weight),
                ("output", predicted.output, counted.output),
            ] {
                if predicted != counted {
                    mismatches.push(TrafficMismatch {
                        region,
                        kind,
                        predicted,
                        counted,
                    });
                }
            }
        }
        mismatches
    }
}

/// A region and kind of traffic where the runtime counted other bytes than
/// the schedule predicts (a bug in one of them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrafficMismatch {
    /// The fusion region.
    pub region: usize,
    /// `input`, `weight` or `output`.
    pub kind: &'static str,
    /// Bytes predicted (0 for a region that is not staged).
    pub predicted: u64,
    /// Bytes counted.
    pub counted: u64,
}

impl std::fmt::Display for TrafficMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "region {}: {} bytes predicted {}, counted {}",
            self.region, self.kind, self.predicted, self.counted
        )
    }
}

/// Compiles df networks.
#[derive(Clone, Debug, Default)]
pub struct Compiler {
    /// The options.
    pub options: CompileOptions,
}

impl Compiler {
    /// A compiler with `options`.
    pub fn new(options: CompileOptions) -> Self {
        Self { options }
    }

    /// Parses `text` (named `name` in diagnostics), schedules it and lowers
    /// it to the affine level.
    pub fn lower(&self, text: &str, name: &str) -> Result<Lowered, String> {
        let context = create_context();
        let _diagnostics = SourceDiagnostics::attach(&context, text, name, DiagnosticMode::Print);
        let mut module = source::parse_source(&context, text, name)
            .ok_or_else(|| format!("{name} does not parse"))?;
        if !module.as_operation().verify() {
            return Err(format!("{name} does not verify"));
        }
        let df_pipeline = self.options.df_pipeline();
        let pass_manager = pipeline::module_pass_manager(&context);
        pipeline::add_anchored_pipeline(&pass_manager, &df_pipeline).map_err(|e| e.to_string())?;
        pass_manager
            .run(&mut module)
            .map_err(|_| format!("{name}: scheduling failed ({df_pipeline})"))?;
        llvm_pipeline::dump_stage("df-scheduled", &module);
        lower_module(&context, &module, &self.options)
    }

    /// Takes a lowered network to optimised LLVM IR for the host, through
    /// the upstream pipeline to the LLVM dialect (`llvm_dialect` receives
    /// that module's text when given).
    pub fn llvm(
        &self,
        lowered: &Lowered,
        llvm_dialect: Option<&mut String>,
    ) -> Result<LlvmModule, String> {
        self.llvm_timed(lowered, llvm_dialect, &mut Vec::new())
    }

    /// [`Compiler::llvm`], recording each phase's wall time in `phases`.
    fn llvm_timed(
        &self,
        lowered: &Lowered,
        llvm_dialect: Option<&mut String>,
        phases: &mut Vec<(&'static str, Duration)>,
    ) -> Result<LlvmModule, String> {
        let mut clock = Instant::now();
        let mut lap = |phase: &'static str, phases: &mut Vec<_>| {
            phases.push((phase, clock.elapsed()));
            clock = Instant::now();
        };
        let context = create_context();
        let mut module = Module::parse(&context, &lowered.affine)
            .ok_or("internal error: the lowered affine module does not parse")?;
        llvm_pipeline::dump_stage("affine", &module);
        llvm_pipeline::lower_to_llvm_dialect(&mut module).map_err(|e| e.to_string())?;
        if let Some(text) = llvm_dialect {
            *text = module.as_operation().to_string();
        }
        lap("affine -> llvm dialect", phases);
        let codegen = CodegenOptions {
            threads: self.options.codegen_threads,
            ..CodegenOptions::host()
        };
        let mut llvm = LlvmModule::translate(&module, &codegen).map_err(|e| e.to_string())?;
        lap("llvm dialect -> LLVM IR", phases);
        llvm.optimize().map_err(|e| e.to_string())?;
        lap("LLVM O3", phases);
        Ok(llvm)
    }

    /// Compiles `text` to native code in this process.
    pub fn compile(&self, text: &str, name: &str) -> Result<Compiled, String> {
        let start = Instant::now();
        let lowered = self.lower(text, name)?;
        let mut phases = vec![("df -> affine (schedule, plan, kernels)", start.elapsed())];
        let llvm = self.llvm_timed(&lowered, None, &mut phases)?;
        let clock = Instant::now();
        let jit = llvm
            .jit(&deepfuse_runtime::symbols())
            .map_err(|e| e.to_string())?;
        phases.push(("JIT code generation", clock.elapsed()));
        Ok(Compiled {
            lowered,
            jit,
            scratchpad: self.options.scratchpad,
            compile_time: start.elapsed(),
            phases,
        })
    }
}

/// A network compiled to native code, ready to run.
#[derive(Debug)]
pub struct Compiled {
    /// What the lowering produced (IR text and buffer plan).
    pub lowered: Lowered,
    jit: JitModule,
    scratchpad: u64,
    /// Wall time from df text to native code.
    pub compile_time: Duration,
    /// Wall time of each compilation phase, in order.
    pub phases: Vec<(&'static str, Duration)>,
}

/// A parameter buffer filled for one compiled network.
#[derive(Debug)]
pub struct Parameters(AlignedBuffer);

/// The result of one run.
#[derive(Debug)]
pub struct RunResult {
    /// The network's outputs.
    pub outputs: Vec<Tensor>,
    /// Bytes the DMA counted per fusion region and kind.
    pub stats: Stats,
    /// Wall time of the call into compiled code.
    pub latency: Duration,
}

impl Compiled {
    /// The shapes of the network's inputs, in argument order.
    pub fn input_shapes(&self) -> Vec<Vec<usize>> {
        self.lowered
            .inputs
            .iter()
            .map(|&id| {
                self.lowered.values[id]
                    .shape
                    .iter()
                    .map(|&d| d as usize)
                    .collect()
            })
            .collect()
    }

    /// Packs the named parameters from `source` and computes the derived
    /// ones (folded batch norms) with the compiled init function.
    pub fn load_params(&self, source: &dyn ParamSource) -> Result<Parameters, String> {
        let plan = &self.lowered.plan;
        let mut buffer = AlignedBuffer::new(plan.param_bytes as usize);
        for (id, value) in self.lowered.values.iter().enumerate() {
            let program::ValueClass::Param(name) = &value.class else {
                continue;
            };
            let shape: Vec<usize> = value.shape.iter().map(|&d| d as usize).collect();
            let tensor = source.param(name, &shape)?;
            buffer
                .f32s_mut(plan.offsets[id] as usize, tensor.len())
                .copy_from_slice(tensor.data());
        }
        let init = self
            .jit
            .address(affine::INIT)
            .ok_or("internal error: the compiled module has no init function")?;
        // SAFETY: the init function was generated for a parameter buffer of
        // exactly this size and touches nothing else.
        unsafe {
            let init: unsafe extern "C" fn(*mut u8) = std::mem::transmute(init);
            init(buffer.as_mut_ptr());
        }
        // What only init read (the weights batch norms were folded from) is
        // placed last: keep only the forward function's prefix.
        let kept =
            AlignedBuffer::from_bytes(&buffer.as_slice()[..plan.forward_param_bytes as usize]);
        Ok(Parameters(kept))
    }

    /// Runs the network on `inputs` (one per entry argument, in order),
    /// checking every DMA against the buffers, with off-chip memory and the
    /// scratchpad poisoned beforehand: every byte but the inputs' is set to
    /// [`POISON`], so that code reading what no DMA or kernel of the run
    /// wrote computes NaN instead of zeros or what an earlier region left
    /// there (which can look right).
    pub fn run(&self, params: &Parameters, inputs: &[Tensor]) -> Result<RunResult, String> {
        self.run_with(params, inputs, true)
    }

    /// [`Compiled::run`], with the runtime's per-DMA range checks and the
    /// poisoning on (`checked`) or off (for timing, once a checked run has
    /// passed).
    pub fn run_with(
        &self,
        params: &Parameters,
        inputs: &[Tensor],
        checked: bool,
    ) -> Result<RunResult, String> {
        let lowered = &self.lowered;
        if inputs.len() != lowered.inputs.len() {
            return Err(format!(
                "the network takes {} inputs, got {}",
                lowered.inputs.len(),
                inputs.len()
            ));
        }
        let mut activations = AlignedBuffer::new(lowered.plan.activation_bytes as usize);
        if checked {
            activations.fill(POISON);
        }
        for (i, (input, &id)) in inputs.iter().zip(&lowered.inputs).enumerate() {
            let shape = &lowered.values[id].shape;
            if input
                .shape()
                .iter()
                .map(|&d| d as i64)
                .ne(shape.iter().copied())
            {
                return Err(format!(
                    "input #{i} has shape {}, the network takes {}",
                    format_shape(input.shape()),
                    format_shape(&shape.iter().map(|&d| d as usize).collect::<Vec<_>>())
                ));
            }
            activations
                .f32s_mut(lowered.plan.offsets[id] as usize, input.len())
                .copy_from_slice(input.data());
        }
        let mut arena = Arena::new(self.scratchpad as usize);
        if checked {
            arena.fill(POISON);
        }
        // SAFETY: the entry was generated for buffers of exactly these sizes.
        let forward = unsafe { self.jit.entry3(affine::FORWARD) }.map_err(|e| e.to_string())?;
        let mut session = Session::new(
            &mut activations,
            &params.0,
            &mut arena,
            lowered.regions,
            checked,
        );
        let start = Instant::now();
        // SAFETY: as above; the session provides the three buffers.
        unsafe { session.call(forward) }.map_err(|e| e.to_string())?;
        let latency = start.elapsed();
        let stats = session.stats();
        drop(session);
        let outputs = lowered
            .outputs
            .iter()
            .map(|&id| {
                let value = &lowered.values[id];
                let shape: Vec<usize> = value.shape.iter().map(|&d| d as usize).collect();
                let data = activations
                    .f32s(lowered.plan.offsets[id] as usize, value.elements() as usize)
                    .to_vec();
                Tensor::new(shape, data)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(RunResult {
            outputs,
            stats,
            latency,
        })
    }
}

/// Lowers the first function of a scheduled df module.
fn lower_module(
    context: &melior::Context,
    module: &Module,
    options: &CompileOptions,
) -> Result<Lowered, String> {
    let function = lower::entry_function(module).map_err(|e| e.to_string())?;
    let lowering = lower::lower(
        function,
        LowerOptions {
            arena_bytes: Some(options.scratchpad),
            staging: options.staging,
            stage_all: options.stage_all,
            vector_registers: options.vector_registers,
        },
    )
    .map_err(|e| e.to_string())?;
    // Parsed and verified here, so an emitter bug surfaces as an error at
    // the affine level rather than deeper in the pipeline; printed back so
    // `--emit affine` shows MLIR's canonical form.
    let affine = Module::parse(context, &lowering.text)
        .filter(|affine| affine.as_operation().verify())
        .ok_or_else(|| {
            format!(
                "internal error: the affine module does not verify:\n{}",
                lowering.text
            )
        })?;
    Ok(Lowered {
        df: module.as_operation().to_string(),
        affine: affine.as_operation().to_string(),
        plan: lowering.plan,
        values: lowering.values,
        inputs: lowering.inputs,
        outputs: lowering.outputs,
        regions: lowering.regions,
        predicted: lowering.predicted,
        staging: lowering.staging,
        packed: lowering.packed,
    })
}
