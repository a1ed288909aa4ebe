//! The whole df-to-affine lowering of one module: program, staging analysis,
//! buffer plan and emission, in that order. The `df-lower-to-affine` pass
//! ([`crate::passes`]) and the embedding API both go through [`lower`].

use deepfuse_passes::{cost::Traffic, ir::first_function};
use melior::ir::{Module, OperationRef};

use crate::{
    LowerError, affine,
    buffers::{self, BufferPlan},
    packing::{self, PackedFilter},
    program::{self, TensorValue, ValueId},
    staging::{self, RegionStaging, StagingSummary},
};

/// How to lower.
#[derive(Clone, Copy, Debug)]
pub struct LowerOptions {
    /// Bytes of the scratchpad arena `deepfuse_forward` takes; `None` takes
    /// the largest capacity a region was scheduled for.
    pub arena_bytes: Option<u64>,
    /// Stage the regions the tile plan covers (`false`: every region runs
    /// op by op, without DMA).
    pub staging: bool,
    /// Also stage the regions whose tile kernels would run several times
    /// slower than op by op (narrow tiles, weights streamed one channel
    /// per call), so that every region the tile plan covers has its bytes
    /// counted (`false`: they run op by op).
    pub stage_all: bool,
    /// Vector registers the kernels' register blocks are sized for
    /// ([`crate::affine::registers`]); `None` takes the host's.
    pub vector_registers: Option<i64>,
}

impl Default for LowerOptions {
    fn default() -> Self {
        Self {
            arena_bytes: None,
            staging: true,
            stage_all: false,
            vector_registers: None,
        }
    }
}

/// A module lowered to the affine level: the affine module's text and what
/// the runtime needs to call it.
#[derive(Debug)]
pub struct AffineLowering {
    /// The affine module, as emitted (not yet parsed).
    pub text: String,
    /// Where every tensor lives.
    pub plan: BufferPlan,
    /// The entry function's tensors: shapes and classes.
    pub values: Vec<TensorValue>,
    /// Tensors the caller provides, in argument order.
    pub inputs: Vec<ValueId>,
    /// Tensors the network returns, in order.
    pub outputs: Vec<ValueId>,
    /// Number of fusion regions.
    pub regions: usize,
    /// Per region, the traffic its schedule predicts.
    pub predicted: Vec<Option<Traffic>>,
    /// Per region, its staging, or why it runs op by op.
    pub staging: Vec<Result<StagingSummary, String>>,
    /// The filters whose staged chunk loads read a chunk-major copy.
    pub packed: Vec<PackedFilter>,
}

/// The module's first `func.func`, the function that is lowered.
pub fn entry_function<'c, 'a>(module: &'a Module<'c>) -> Result<OperationRef<'c, 'a>, LowerError> {
    first_function(module)
        .ok_or_else(|| LowerError::Unsupported("the module holds no func.func to lower".into()))
}

/// Lowers `function` (a df function, scheduled or not) to the affine module
/// of `deepfuse_init` and `deepfuse_forward`.
pub fn lower(function: OperationRef, options: LowerOptions) -> Result<AffineLowering, LowerError> {
    let mut program = program::from_function(function)?;
    let staging = if options.staging {
        staging::analyse(&function, &program, options.stage_all)
    } else {
        (0..program.regions)
            .map(|_| RegionStaging::Unstaged("staging is off".into()))
            .collect()
    };
    let staged: Vec<bool> = staging.iter().map(|s| s.staged().is_some()).collect();
    let filters = packing::plan(&program, &staging);
    let packed = packing::apply(&mut program, &filters);
    let plan = buffers::plan(&program, &staged, &packed);
    let scheduled = program
        .schedules
        .iter()
        .flatten()
        .map(|schedule| schedule.capacity)
        .max();
    let arena_bytes = options.arena_bytes.or(scheduled).unwrap_or(0).max(1);
    if let Some((region, needed)) = staging
        .iter()
        .enumerate()
        .filter_map(|(r, s)| Some((r, s.staged()?.arena_bytes)))
        .find(|&(_, needed)| needed > arena_bytes)
    {
        return Err(LowerError::Unsupported(format!(
            "the scratchpad arena of {arena_bytes} bytes is smaller than the {needed} bytes \
             region {region}'s tile buffers need"
        )));
    }
    let vector_registers = options
        .vector_registers
        .unwrap_or_else(affine::registers::host_vector_registers);
    let text = affine::emit(
        &program,
        &plan,
        arena_bytes,
        vector_registers,
        (&staging, &packed),
    )?;
    Ok(AffineLowering {
        text,
        plan,
        values: program.values.clone(),
        inputs: program.inputs.clone(),
        outputs: program.outputs.clone(),
        regions: program.regions,
        predicted: program.predicted(),
        staging: staging.iter().map(RegionStaging::summary).collect(),
        packed,
    })
}
