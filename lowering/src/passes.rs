//! The lowering as `deepfuse-opt` passes: `df-lower-to-affine` (buffer plan,
//! scratchpad staging and kernels, [`crate::lower`]) and the
//! `df-lower-to-llvm` pipeline (the upstream [`crate::llvm_pipeline`]
//! stages). Listed with the df-level passes by the driver.

use std::mem::ManuallyDrop;

use deepfuse_passes::{
    Construct, OptionError, PassInfo, PassOptions,
    ir::{emit_error, erase, op_name},
    options::OptionInfo,
};
use melior::{
    Context, ContextRef,
    dialect::DialectHandle,
    ir::{BlockLike, Location, Module, OperationRef, operation::OperationLike, r#type::TypeId},
    pass::{ExternalPass, RunExternalPass},
};

use crate::{
    LowerError, llvm_pipeline,
    lower::{self, LowerOptions},
};

/// The options of `df-lower-to-affine`.
pub const LOWER_TO_AFFINE_OPTIONS: &[OptionInfo] = &[
    OptionInfo {
        name: "staging",
        kind: "bool",
        default: "true",
        help: "stage the regions the tile plan covers through the scratchpad (false: op by op, no DMA)",
    },
    OptionInfo {
        name: "stage-all",
        kind: "bool",
        default: "false",
        help: "also stage the regions whose tile kernels run several times slower than op by op, counting their bytes",
    },
    OptionInfo {
        name: "scratchpad",
        kind: "size",
        default: "0",
        help: "bytes of the scratchpad arena; 0 takes the largest capacity a region was scheduled for",
    },
    OptionInfo {
        name: "vector-registers",
        kind: "int",
        default: "0",
        help: "vector registers the kernels' register blocks are sized for (16 or 32); 0 takes the host's: 32 with AVX-512, else 16",
    },
];

/// `df-lower-to-affine`: replaces the module's df entry function by the
/// affine module of `deepfuse_init` and `deepfuse_forward`.
#[derive(Clone, Debug)]
pub struct LowerToAffine {
    options: LowerOptions,
}

impl LowerToAffine {
    /// The pass with options read from `options`.
    pub fn from_options(options: &PassOptions) -> Result<Self, OptionError> {
        let arena = options.parsed(
            "scratchpad",
            |t| match t {
                "0" => Some(0),
                _ => deepfuse_passes::cost::parse_size(t).ok(),
            },
            "a size such as 1MiB, or 0",
        )?;
        let registers = options.parsed(
            "vector-registers",
            |t| match t.parse::<i64>() {
                Ok(n @ (0 | 16 | 32)) => Some(n),
                _ => None,
            },
            "16, 32, or 0 for the host's",
        )?;
        Ok(Self {
            options: LowerOptions {
                arena_bytes: (arena > 0).then_some(arena),
                staging: options.bool("staging")?,
                stage_all: options.bool("stage-all")?,
                vector_registers: (registers > 0).then_some(registers),
            },
        })
    }

    /// Replaces the body of `module` by its lowering.
    fn replace_body(&self, module: &Module) -> Result<(), LowerError> {
        let function = lower::entry_function(module)?;
        let lowering = lower::lower(function, self.options)?;
        let context = module.context();
        // SAFETY: the context outlives this call.
        let affine = Module::parse(unsafe { context.to_ref() }, &lowering.text)
            .filter(|affine| affine.as_operation().verify())
            .ok_or_else(|| {
                LowerError::Unsupported(
                    "internal error: the emitted affine module does not verify".into(),
                )
            })?;
        let body = module.body();
        while let Some(op) = body.first_operation() {
            erase(op);
        }
        while let Some(op) = affine.body().first_operation() {
            // SAFETY: `op` is live in the parsed module; unlinked, it is
            // owned by nobody until the block below takes it.
            let owned = unsafe {
                mlir_sys::mlirOperationRemoveFromParent(op.to_raw());
                melior::ir::Operation::from_raw(op.to_raw())
            };
            body.append_operation(owned);
        }
        Ok(())
    }
}

/// The location an error points at: its op's `file:line:col` when it has
/// one, the module's otherwise.
fn error_location<'c>(
    context: &'c Context,
    error: &LowerError,
    module: Location<'c>,
) -> Location<'c> {
    let LowerError::Op { location, .. } = error else {
        return module;
    };
    let mut parts = location.rsplitn(3, ':');
    let (Some(column), Some(line), Some(file)) = (parts.next(), parts.next(), parts.next()) else {
        return module;
    };
    match (line.parse(), column.parse()) {
        (Ok(line), Ok(column)) => Location::new(context, file, line, column),
        _ => module,
    }
}

impl<'c> RunExternalPass<'c> for LowerToAffine {
    fn initialize(&mut self, _context: ContextRef<'c>) {}

    fn run(&mut self, operation: OperationRef<'c, '_>, pass: ExternalPass<'_>) {
        if op_name(&operation) != "builtin.module" {
            emit_error(
                operation.location(),
                "df-lower-to-affine runs on the module: nest it in 'builtin.module(...)'",
            );
            pass.signal_failure();
            return;
        }
        // SAFETY: the op is a live `builtin.module`; the view is never
        // dropped, so the module the pass manager runs on is not destroyed.
        let module = ManuallyDrop::new(unsafe {
            Module::from_raw(mlir_sys::mlirModuleFromOperation(operation.to_raw()))
        });
        if let Err(error) = self.replace_body(&module) {
            let context = operation.context();
            // SAFETY: the context outlives this call.
            let context = unsafe { context.to_ref() };
            let fallback = lower::entry_function(&module)
                .map_or_else(|_| operation.location(), |function| function.location());
            let location = error_location(context, &error, fallback);
            let message = match &error {
                LowerError::Op { op, message, .. } => format!("'{op}' {message}"),
                LowerError::Unsupported(message) => message.clone(),
            };
            emit_error(location, &format!("df-lower-to-affine: {message}"));
            pass.signal_failure();
        }
    }
}

#[repr(align(8))]
struct PassId;

static LOWER_TO_AFFINE_ID: PassId = PassId;

/// The dialects the affine module uses, loaded before the pass runs (MLIR
/// does not allow loading dialects while passes execute).
fn affine_dialects() -> Vec<DialectHandle> {
    // SAFETY: the handles are static descriptors of registered dialects.
    unsafe {
        vec![
            DialectHandle::affine(),
            DialectHandle::arith(),
            DialectHandle::func(),
            DialectHandle::memref(),
            DialectHandle::scf(),
            DialectHandle::from_raw(mlir_sys::mlirGetDialectHandle__math__()),
            DialectHandle::from_raw(mlir_sys::mlirGetDialectHandle__vector__()),
        ]
    }
}

static PASSES: &[PassInfo] = &[
    PassInfo {
        argument: "df-lower-to-affine",
        summary: "Lower a scheduled df function to affine kernels on planned buffers and a staged scratchpad",
        description: r#"
Replaces the module's first `func.func` (df ops, with or without fusion
regions) by two functions on byte buffers: parameters (`P` bytes; the
forward function sees the first `F`, those it reads), activations (`A`)
and the scratchpad arena (`S`):

```mlir
func.func @deepfuse_init(%params: memref<Pxi8>)
func.func @deepfuse_forward(%act: memref<Axi8>, %params: memref<Fxi8>, %arena: memref<Sxi8>)
```

In order, it

- plans the off-chip buffers: parameters packed, activations placed by
  liveness (a staged region is one position; what it computes and reads
  only inside gets no off-chip bytes);
- stages every fusion region the tile plan covers: one `affine.for` over
  the region's steps, whose per-step boxes and addresses are a constant
  table `@df_region_<r>_steps`; input windows and weights are loaded into
  fixed arena offsets by `deepfuse_rt_dma` (counted per region and kind),
  tile kernels compute on arena views, output pieces are stored back.
  The bytes moved equal the region's `traffic` attribute;
- emits every other op (and every region the plan does not cover) as a
  call of a kernel function holding an affine loop nest on views of the
  activation buffer.

It fails with the op's location when an op has no lowering. `deepfuse
compile --emit affine` runs the same code; `deepfuse run --stats` says why
a region is not staged.

Example: a 3x3 conv (2 to 4 channels, 8x8) with relu, then a 2x2 max pool,
scheduled layer by layer for 1 KiB (`tests/mlir/lowering/passes.mlir`):

```mlir
// deepfuse-opt net.mlir --df-canonicalize \
//   --df-form-fusion-regions="scratchpad=1KiB strategy=layer" --df-lower-to-affine
memref.global "private" constant @df_region_1_steps : memref<2x6xi64> = dense<...>
func.func @deepfuse_init(%params: memref<384xi8>) { ... }
func.func @deepfuse_forward(%act: memref<2560xi8>, %params: memref<384xi8>,
                            %arena: memref<1024xi8>) {
  call @df_kernel_0_conv2d(...)      // region 0 runs op by op
  call @df_kernel_1_activation(...)
  affine.for %step = 0 to 2 {        // region 1 is staged
    func.call @deepfuse_rt_dma(...)  // load the window (8 channels at a time)
    func.call @df_tile_2_pool2d(...) // compute on arena views
    func.call @deepfuse_rt_dma(...)  // store the piece
  }
}
```
"#,
        options: LOWER_TO_AFFINE_OPTIONS,
        construct: Construct::Pass(|options| {
            let pass = LowerToAffine::from_options(options)?;
            Ok(melior::pass::create_external(
                pass,
                TypeId::create(&LOWER_TO_AFFINE_ID),
                "DfLowerToAffine",
                "df-lower-to-affine",
                "Lower a scheduled df function to affine kernels on planned buffers and a staged scratchpad",
                // Any op: a fixed anchor would make a misplaced pass abort
                // the process instead of failing with a diagnostic.
                "",
                &affine_dialects(),
            ))
        }),
    },
    PassInfo {
        argument: "df-lower-to-llvm",
        summary: "The upstream pipeline from the affine module to the LLVM dialect",
        description: r#"
A named pipeline of upstream passes (as `mlir-opt`'s registered pipelines):
canonicalization and common subexpressions on the affine form; vector transfers,
strided metadata, affine and `scf` lowered to `cf`; then every dialect to
`llvm`, with bare-pointer calling conventions for the entry functions.
`deepfuse compile` runs the same stages with the verifier on, and with
`DEEPFUSE_DUMP=dir` writes the IR after each.

Example:

```mlir
// deepfuse-opt net.mlir --df-canonicalize --df-form-fusion-regions \
//   --df-lower-to-affine --df-lower-to-llvm
llvm.func @deepfuse_forward(%arg0: !llvm.ptr, %arg1: !llvm.ptr, %arg2: !llvm.ptr)
```
"#,
        options: &[],
        construct: Construct::Pipeline(|_| {
            let stages: Vec<&str> = llvm_pipeline::STAGES
                .iter()
                .map(|stage| stage.pipeline)
                .collect();
            Ok(stages.join(","))
        }),
    },
];

/// The lowering passes, in pipeline order.
pub fn passes() -> &'static [PassInfo] {
    PASSES
}
