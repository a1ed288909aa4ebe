//! `df-form-fusion-regions`: partitions each function's layers into fusion
//! groups ([`crate::schedule`]) and outlines every group into a
//! `df.fusion_region` with explicit operands and results and a `schedule`
//! attribute.
//!
//! [`plan`] decides (the layer graph, the schedule, the attribute of every
//! group: plain data, testable alone); [`apply`] rewrites the IR from the
//! plan. A scratchpad too small for some op is an error at that op.
//!
//! Outlining a group: its operands are every value its ops read that is
//! defined outside it (activations and weights, in first-use order); its
//! results are the values of its ops read outside it. The region goes where
//! the group's last op was; ops in between that read the group's results
//! (they cannot feed the group, which is convex) move after it.

use std::collections::{HashMap, HashSet};

use melior::{
    ContextRef,
    ir::{
        Attribute, Block, Identifier, Location, OperationRef, Region, RegionLike, Type, Value,
        ValueLike,
        attribute::{
            DenseI64ArrayAttribute, DictionaryAttribute, IntegerAttribute, StringAttribute,
        },
        block::BlockLike,
        operation::{OperationBuilder, OperationLike},
    },
    pass::{ExternalPass, RunExternalPass},
};
use mlir_sys::{MlirOperation, MlirValue};

use crate::{
    cost::{CostConfig, LoopOrder, Overlap, Tiling, Traffic, parse_size},
    graph::from_ir,
    ir::{emit_error, op_name},
    options::{OptionError, OptionInfo, PassOptions},
    schedule::{Group, ScheduleError, ScheduleOptions, Strategy, schedule},
    tile_search::SearchMode,
};

/// The options of `df-form-fusion-regions`.
pub const OPTIONS: &[OptionInfo] = &[
    OptionInfo {
        name: "scratchpad",
        kind: "size",
        default: "1MiB",
        help: "scratchpad capacity: bytes, or with a unit (256KiB, 1MiB, 64KB)",
    },
    OptionInfo {
        name: "strategy",
        kind: "dp|greedy|layer|naive",
        default: "dp",
        help: "how layers are grouped: optimal DP, greedy, layer by layer, or one op per group",
    },
    OptionInfo {
        name: "elem-bytes",
        kind: "int",
        default: "0",
        help: "bytes per tensor element; 0 takes them from the IR's types",
    },
    OptionInfo {
        name: "double-buffer",
        kind: "bool",
        default: "false",
        help: "count DMA buffers twice in footprints (transfers overlap compute)",
    },
    OptionInfo {
        name: "max-group-ops",
        kind: "int",
        default: "64",
        help: "the most ops one group may hold",
    },
];

/// The settings of the pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FusionOptions {
    /// The grouping strategy.
    pub strategy: Strategy,
    /// Scheduler settings (capacity, cost options).
    pub schedule: ScheduleOptions,
    /// Bytes per element, overriding the IR's types.
    pub elem_bytes: Option<u64>,
}

impl FusionOptions {
    /// Reads the options from a parsed option list.
    pub fn from_options(options: &PassOptions) -> Result<Self, OptionError> {
        let capacity = options.parsed(
            "scratchpad",
            |t| parse_size(t).ok(),
            "a positive size such as 1MiB",
        )?;
        let strategy = options.parsed("strategy", Strategy::parse, "dp, greedy, layer or naive")?;
        let elem_bytes: u64 =
            options.parsed("elem-bytes", |t| t.parse().ok(), "a number of bytes")?;
        let max_group_ops: usize = options.parsed(
            "max-group-ops",
            |t| t.parse().ok().filter(|&n: &usize| n > 0),
            "a positive number",
        )?;
        Ok(Self {
            strategy,
            schedule: ScheduleOptions {
                cost: CostConfig {
                    double_buffer: options.bool("double-buffer")?,
                    ..CostConfig::new(capacity)
                },
                search: SearchMode::Fast,
                max_group_ops,
                split_units: false,
            },
            elem_bytes: (elem_bytes > 0).then_some(elem_bytes),
        })
    }
}

impl Default for FusionOptions {
    fn default() -> Self {
        Self {
            strategy: Strategy::Dp,
            schedule: ScheduleOptions::new(1 << 20),
            elem_bytes: None,
        }
    }
}

/// One group to outline.
#[derive(Clone, Debug)]
pub struct PlannedGroup {
    /// Its operations, in program order.
    pub ops: Vec<MlirOperation>,
    /// The `schedule` attribute, as text.
    pub schedule: String,
}

/// The groups of one function.
#[derive(Clone, Debug, Default)]
pub struct FusionPlan {
    /// Groups in execution order.
    pub groups: Vec<PlannedGroup>,
}

/// Why no plan exists, with the operation to blame.
#[derive(Clone, Debug)]
pub struct PlanError {
    /// The operation the error is reported at (`None`: the function).
    pub op: Option<MlirOperation>,
    /// The message.
    pub message: String,
}

/// The `schedule` attribute of a group.
pub fn schedule_attribute(group: &Group, strategy: Strategy, capacity: u64) -> String {
    let t = &group.cost.tiling;
    let e = &group.cost.evaluation;
    format!(
        "{{capacity = {capacity} : i64, footprint = {} : i64, order = \"{}\", overlap = \"{}\", \
         resident_weights = {} : i64, strategy = \"{}\", stream_inputs = {}, \
         tile = array<i64: {}, {}, {}>, tiles = array<i64: {}, {}, {}>, \
         traffic = {{input = {} : i64, output = {} : i64, total = {} : i64, weight = {} : i64}}}}",
        e.footprint,
        t.order.name(),
        t.overlap.name(),
        e.resident_weights,
        strategy.name(),
        t.stream_inputs,
        t.tile_h,
        t.tile_w,
        t.tile_c,
        e.tiles[0],
        e.tiles[1],
        e.tiles[2],
        e.traffic.input,
        e.traffic.output,
        e.traffic.total(),
        e.traffic.weight,
    )
}

/// A `df.fusion_region`'s `schedule` attribute, read back: what
/// [`schedule_attribute`] wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegionSchedule {
    /// The scratchpad capacity scheduled for.
    pub capacity: u64,
    /// The tiling chosen.
    pub tiling: Tiling,
    /// The model's footprint of that tiling.
    pub footprint: u64,
    /// Weight bytes the model keeps on chip.
    pub resident_weights: u64,
    /// The predicted off-chip traffic.
    pub traffic: Traffic,
}

/// Reads the `schedule` attribute of a `df.fusion_region`.
pub fn read_schedule(op: &OperationRef) -> Result<RegionSchedule, String> {
    let attribute = op
        .attribute("schedule")
        .map_err(|_| "has no 'schedule' attribute".to_string())?;
    let schedule = DictionaryAttribute::try_from(attribute)
        .map_err(|_| "'schedule' is not a dictionary".to_string())?;
    let entry = |name: &str| {
        schedule
            .element_by_name(name)
            .ok_or_else(|| format!("'schedule' has no '{name}'"))
    };
    let integer_in = |dictionary: &DictionaryAttribute, name: &str| -> Result<u64, String> {
        let value = dictionary
            .element_by_name(name)
            .and_then(|a| IntegerAttribute::try_from(a).ok())
            .ok_or_else(|| format!("'schedule' has no integer '{name}'"))?
            .value();
        u64::try_from(value).map_err(|_| format!("'schedule.{name}' is negative"))
    };
    let string = |name: &str| -> Result<String, String> {
        Ok(StringAttribute::try_from(entry(name)?)
            .map_err(|_| format!("'schedule.{name}' is not a string"))?
            .value()
            .to_string())
    };
    let tile = DenseI64ArrayAttribute::try_from(entry("tile")?)
        .ok()
        .filter(|a| a.len() == 3)
        .ok_or("'schedule.tile' is not an array of 3 integers")?;
    let tile = |i: usize| tile.element(i).map_err(|e| e.to_string());
    let order = string("order")?;
    let overlap = string("overlap")?;
    let stream_inputs = entry("stream_inputs")?.to_string() == "true";
    let traffic = DictionaryAttribute::try_from(entry("traffic")?)
        .map_err(|_| "'schedule.traffic' is not a dictionary".to_string())?;
    Ok(RegionSchedule {
        capacity: integer_in(&schedule, "capacity")?,
        tiling: Tiling {
            tile_h: tile(0)?,
            tile_w: tile(1)?,
            tile_c: tile(2)?,
            order: LoopOrder::from_name(&order)
                .ok_or_else(|| format!("unknown loop order '{order}'"))?,
            overlap: Overlap::from_name(&overlap)
                .ok_or_else(|| format!("unknown overlap handling '{overlap}'"))?,
            stream_inputs,
        },
        footprint: integer_in(&schedule, "footprint")?,
        resident_weights: integer_in(&schedule, "resident_weights")?,
        traffic: Traffic {
            input: integer_in(&traffic, "input")?,
            weight: integer_in(&traffic, "weight")?,
            output: integer_in(&traffic, "output")?,
        },
    })
}

/// Decides the groups of `func` (a `func.func`).
pub fn plan(func: &OperationRef, options: &FusionOptions) -> Result<FusionPlan, PlanError> {
    let built = from_ir::build(func).map_err(|e| PlanError {
        op: e.op,
        message: e.error.to_string(),
    })?;
    let graph = match options.elem_bytes {
        Some(bytes) => built.graph.with_elem_bytes(bytes),
        None => built.graph,
    };
    if graph.nodes.is_empty() {
        return Ok(FusionPlan::default());
    }
    let schedule = schedule(&graph, options.strategy, &options.schedule).map_err(|e| {
        let op = match &e {
            ScheduleError::Infeasible { node, .. } => built.ops.get(*node).copied(),
            ScheduleError::Group(_) => None,
        };
        PlanError {
            op,
            message: e.to_string(),
        }
    })?;
    let capacity = options.schedule.cost.capacity;
    Ok(FusionPlan {
        groups: schedule
            .groups
            .iter()
            .map(|group| PlannedGroup {
                // Node ids follow program order.
                ops: group.nodes.iter().map(|&n| built.ops[n]).collect(),
                schedule: schedule_attribute(group, options.strategy, capacity),
            })
            .collect(),
    })
}

/// Every use of `value` as `(owner, operand index)`.
fn uses_of(value: Value) -> Vec<(MlirOperation, usize)> {
    let mut uses = Vec::new();
    // SAFETY: walks the use list of a live value without changing it.
    unsafe {
        let mut operand = mlir_sys::mlirValueGetFirstUse(value.to_raw());
        while !operand.ptr.is_null() {
            uses.push((
                mlir_sys::mlirOpOperandGetOwner(operand),
                mlir_sys::mlirOpOperandGetOperandNumber(operand) as usize,
            ));
            operand = mlir_sys::mlirOpOperandGetNextUse(operand);
        }
    }
    uses
}

/// Outlines one group.
fn outline(context: ContextRef, group: &PlannedGroup) -> Result<(), melior::Error> {
    // SAFETY (every from_raw below): the plan names live operations of one
    // block, each in one group; nothing else changed them since planning.
    let ops: Vec<OperationRef> = group
        .ops
        .iter()
        .map(|&raw| unsafe { OperationRef::from_raw(raw) })
        .collect();
    let Some(&last) = ops.last() else {
        return Ok(());
    };
    let block = last.block().expect("df ops live in blocks");
    let members: HashSet<*mut std::ffi::c_void> = group.ops.iter().map(|op| op.ptr).collect();
    let member = |op: MlirOperation| members.contains(&op.ptr);

    // Operands: values defined outside, in first-use order.
    let mut operands: Vec<Value> = Vec::new();
    let mut seen: HashSet<*const std::ffi::c_void> = HashSet::new();
    for op in &ops {
        for value in op.operands() {
            let inside = crate::ir::defining_op(value).is_some_and(|d| member(d.to_raw()));
            if !inside && seen.insert(value.to_raw().ptr) {
                operands.push(value);
            }
        }
    }
    // Results: values read outside the group.
    let mut results: Vec<Value> = Vec::new();
    for op in &ops {
        for result in op.results() {
            let value: Value = result.into();
            if uses_of(value).iter().any(|&(owner, _)| !member(owner)) {
                results.push(value);
            }
        }
    }
    // Ops between the first and last member that read the group's results,
    // directly or not, must follow the region.
    let mut tainted: HashSet<*const std::ffi::c_void> =
        results.iter().map(|v| v.to_raw().ptr).collect();
    let mut to_move = Vec::new();
    let mut cursor = Some(ops[0]);
    while let Some(op) = cursor {
        if op == last {
            break;
        }
        cursor = op.next_in_block();
        if member(op.to_raw()) {
            continue;
        }
        if op.operands().any(|v| tainted.contains(&v.to_raw().ptr)) {
            tainted.extend(op.results().map(|r| Value::from(r).to_raw().ptr));
            to_move.push(op.to_raw());
        }
    }

    // SAFETY: the context outlives the pass run.
    let context_ref = unsafe { context.to_ref() };
    let locations: Vec<Location> = ops.iter().map(|op| op.location()).collect();
    let location = Location::fused(context_ref, &locations, Attribute::unit(context_ref));
    let body = Block::new(
        &operands
            .iter()
            .map(|v| (v.r#type(), location))
            .collect::<Vec<(Type, Location)>>(),
    );
    let yield_op = OperationBuilder::new("df.yield", location)
        .add_operands(&results)
        .build()?;
    let body_ref = body.append_operation(yield_op);
    let region = Region::new();
    let body_block = region.append_block(body);
    let schedule = Attribute::parse(context_ref, &group.schedule)
        .ok_or(melior::Error::AttributeParse(group.schedule.clone()))?;
    let fusion = OperationBuilder::new("df.fusion_region", location)
        .add_operands(&operands)
        .add_results(&results.iter().map(|v| v.r#type()).collect::<Vec<_>>())
        .add_attributes(&[(Identifier::new(context_ref, "schedule"), schedule)])
        .add_regions([region])
        .build()?;
    let fusion = block.insert_operation_after(last, fusion);

    // Move the group's ops into the body, before the yield, in order.
    for op in &ops {
        // SAFETY: both operations are live; the body belongs to `fusion`.
        unsafe { mlir_sys::mlirOperationMoveBefore(op.to_raw(), body_ref.to_raw()) };
    }
    // Inside, read the block arguments instead of the outside values.
    for (index, value) in operands.iter().enumerate() {
        let argument: Value = body_block.argument(index)?.into();
        for (owner, operand) in uses_of(*value) {
            if member(owner) {
                // SAFETY: `owner` is a live member; `operand` indexes it.
                unsafe {
                    mlir_sys::mlirOperationSetOperand(owner, operand as isize, argument.to_raw())
                };
            }
        }
    }
    // Outside, read the region's results instead of the moved values.
    let yield_raw = body_ref.to_raw();
    for (index, value) in results.iter().enumerate() {
        let replacement: MlirValue = Value::from(fusion.result(index)?).to_raw();
        for (owner, operand) in uses_of(*value) {
            if !member(owner) && owner.ptr != yield_raw.ptr {
                // SAFETY: as above.
                unsafe { mlir_sys::mlirOperationSetOperand(owner, operand as isize, replacement) };
            }
        }
    }
    // Readers of the results that sat between the members follow the region.
    let mut anchor = fusion.to_raw();
    for op in to_move {
        // SAFETY: live operations of the same block.
        unsafe { mlir_sys::mlirOperationMoveAfter(op, anchor) };
        anchor = op;
    }
    Ok(())
}

/// Outlines every group of `plan`.
pub fn apply(context: ContextRef, plan: &FusionPlan) -> Result<(), melior::Error> {
    for group in &plan.groups {
        outline(context, group)?;
    }
    Ok(())
}

/// The `df-form-fusion-regions` pass.
#[derive(Clone, Debug, Default)]
pub struct FormFusionRegions {
    options: FusionOptions,
}

impl FormFusionRegions {
    /// A pass with the given options.
    pub fn new(options: FusionOptions) -> Self {
        Self { options }
    }
}

impl<'c> RunExternalPass<'c> for FormFusionRegions {
    fn initialize(&mut self, _context: ContextRef<'c>) {}

    fn run(&mut self, operation: OperationRef<'c, '_>, pass: ExternalPass<'_>) {
        let mut functions = Vec::new();
        operation.walk(melior::ir::operation::WalkOrder::PreOrder, |op| {
            if op_name(&op) == "func.func" {
                functions.push(op.to_raw());
            }
            melior::ir::operation::WalkResult::Advance
        });
        let mut plans: HashMap<usize, FusionPlan> = HashMap::new();
        for (index, &raw) in functions.iter().enumerate() {
            // SAFETY: collected from the live module; not changed yet.
            let func = unsafe { OperationRef::from_raw(raw) };
            match plan(&func, &self.options) {
                Ok(plan) => {
                    plans.insert(index, plan);
                }
                Err(error) => {
                    let location = error
                        .op
                        // SAFETY: the graph builder returns live operations.
                        .map(|op| unsafe { OperationRef::from_raw(op) }.location())
                        .unwrap_or_else(|| func.location());
                    emit_error(
                        location,
                        &format!("df-form-fusion-regions: {}", error.message),
                    );
                    pass.signal_failure();
                    return;
                }
            }
        }
        for index in 0..functions.len() {
            if let Some(plan) = plans.get(&index)
                && let Err(error) = apply(operation.context(), plan)
            {
                emit_error(
                    operation.location(),
                    &format!("df-form-fusion-regions: {error}"),
                );
                pass.signal_failure();
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        graph::{GraphBuilder, Window},
        schedule::ScheduleOptions,
    };

    #[test]
    fn options_parse_and_reject() {
        let parse = |text: &str| {
            PassOptions::parse("df-form-fusion-regions", text, OPTIONS)
                .and_then(|o| FusionOptions::from_options(&o))
        };
        let defaults = parse("").unwrap();
        assert_eq!(defaults, FusionOptions::default());
        let custom = parse("scratchpad=256KiB strategy=greedy elem-bytes=2").unwrap();
        assert_eq!(custom.schedule.cost.capacity, 256 << 10);
        assert_eq!(custom.strategy, Strategy::Greedy);
        assert_eq!(custom.elem_bytes, Some(2));
        assert_eq!(
            parse("strategy=best").unwrap_err().to_string(),
            "invalid value 'best' for option 'strategy' of pass 'df-form-fusion-regions': \
             expected dp, greedy, layer or naive"
        );
        assert!(parse("scratchpad=lots").is_err());
        assert!(parse("max-group-ops=0").is_err());
    }

    #[test]
    fn schedule_attribute_text() {
        let mut b = GraphBuilder::new("one", 4);
        let x = b.input(&[1, 4, 8, 8]).unwrap();
        let y = b.conv2d("c", x, 4, Window::square(3, 1, 1), 1).unwrap();
        b.output(y);
        let g = b.finish();
        let s = schedule(&g, Strategy::Dp, &ScheduleOptions::new(1 << 20)).unwrap();
        assert_eq!(
            schedule_attribute(&s.groups[0], Strategy::Dp, 1 << 20),
            "{capacity = 1048576 : i64, footprint = 2196 : i64, order = \"spatial-outer\", \
             overlap = \"recompute\", resident_weights = 0 : i64, strategy = \"dp\", \
             stream_inputs = false, tile = array<i64: 8, 8, 4>, tiles = array<i64: 1, 1, 1>, \
             traffic = {input = 1024 : i64, output = 1024 : i64, total = 2640 : i64, weight = 592 : i64}}"
        );
    }
}
