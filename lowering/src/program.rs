//! The program to lower: the entry function's df ops in execution order, with
//! every tensor value classified by where it lives at run time.
//!
//! Values computed from parameters only (`df.param`, and ops such as
//! `df.fold_batch_norm` whose operands all are parameters) belong to the
//! *init* phase: they are computed once when parameters are loaded and live
//! in the parameter buffer. Everything else belongs to the *forward* phase
//! and lives in off-chip activation memory. `df.fusion_region` bodies are
//! walked in place: their block arguments and `df.yield` operands are the
//! region's operands and results, so a region adds no copy.

use std::collections::HashMap;

use deepfuse_passes::{
    attributes::tensor_shape,
    cost::Traffic,
    fusion_regions::{RegionSchedule, read_schedule},
    ir::op_name,
};
use melior::ir::{
    BlockLike, BlockRef, OperationRef, RegionLike, Value, ValueLike, operation::OperationLike,
};

use crate::LowerError;

/// Index of a tensor in [`Program::values`].
pub type ValueId = usize;

/// Where a tensor lives at run time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValueClass {
    /// Argument `n` of the entry function.
    Input(usize),
    /// A `df.param`, loaded by name into the parameter buffer.
    Param(String),
    /// Computed from parameters by the init phase.
    Derived,
    /// An activation computed by the forward phase.
    Activation,
}

/// A tensor of the program.
#[derive(Clone, Debug)]
pub struct TensorValue {
    /// Static shape.
    pub shape: Vec<i64>,
    /// Where it lives.
    pub class: ValueClass,
}

impl TensorValue {
    /// Number of elements.
    pub fn elements(&self) -> i64 {
        self.shape.iter().product()
    }

    /// Bytes of f32 data.
    pub fn bytes(&self) -> u64 {
        self.elements() as u64 * 4
    }

    /// Whether it lives in the parameter buffer.
    pub fn is_parameter(&self) -> bool {
        matches!(self.class, ValueClass::Param(_) | ValueClass::Derived)
    }
}

/// One op to run.
#[derive(Clone, Debug)]
pub struct Step<'c, 'a> {
    /// The df op.
    pub op: OperationRef<'c, 'a>,
    /// Its operands.
    pub operands: Vec<ValueId>,
    /// Its results.
    pub results: Vec<ValueId>,
    /// The enclosing `df.fusion_region`'s index among the function's regions.
    pub region: Option<usize>,
}

/// The entry function, flattened.
#[derive(Debug)]
pub struct Program<'c, 'a> {
    /// Every tensor.
    pub values: Vec<TensorValue>,
    /// The entry function's arguments.
    pub inputs: Vec<ValueId>,
    /// What the entry function returns.
    pub outputs: Vec<ValueId>,
    /// Parameter ops (`df.param` excluded: it only names its slot), in order.
    pub init: Vec<Step<'c, 'a>>,
    /// Activation ops, in order.
    pub forward: Vec<Step<'c, 'a>>,
    /// Number of `df.fusion_region` ops.
    pub regions: usize,
    /// Per fusion region, its `schedule` attribute read back.
    pub schedules: Vec<Option<RegionSchedule>>,
    /// Per fusion region, the `df.fusion_region` op.
    pub region_ops: Vec<OperationRef<'c, 'a>>,
}

impl Program<'_, '_> {
    /// Per fusion region, the off-chip traffic its `schedule` attribute
    /// predicts (`None` for a region without one).
    pub fn predicted(&self) -> Vec<Option<Traffic>> {
        self.schedules
            .iter()
            .map(|s| s.map(|s| s.traffic))
            .collect()
    }
}

/// Reads the first `func.func` of a module body.
pub fn from_function<'c, 'a>(
    function: OperationRef<'c, 'a>,
) -> Result<Program<'c, 'a>, LowerError> {
    let block = function
        .region(0)
        .ok()
        .and_then(|region| region.first_block())
        .ok_or_else(|| LowerError::at(&function, "the entry function has no body"))?;
    let mut builder = Builder::default();
    for i in 0..block.argument_count() {
        let argument = block
            .argument(i)
            .map_err(|e| LowerError::Unsupported(e.to_string()))?;
        let id = builder.add(argument.into(), ValueClass::Input(i), &function)?;
        builder.program.inputs.push(id);
    }
    builder.walk(block, None)?;
    if builder.program.outputs.is_empty() {
        return Err(LowerError::at(
            &function,
            "the entry function returns nothing",
        ));
    }
    Ok(builder.program)
}

struct Builder<'c, 'a> {
    program: Program<'c, 'a>,
    ids: HashMap<usize, ValueId>,
}

impl Default for Builder<'_, '_> {
    fn default() -> Self {
        Self {
            program: Program {
                values: Vec::new(),
                inputs: Vec::new(),
                outputs: Vec::new(),
                init: Vec::new(),
                forward: Vec::new(),
                regions: 0,
                schedules: Vec::new(),
                region_ops: Vec::new(),
            },
            ids: HashMap::new(),
        }
    }
}

fn key(value: Value) -> usize {
    value.to_raw().ptr as usize
}

impl<'c, 'a> Builder<'c, 'a> {
    fn add(
        &mut self,
        value: Value<'c, 'a>,
        class: ValueClass,
        op: &OperationRef,
    ) -> Result<ValueId, LowerError> {
        let shape = tensor_shape(value.r#type()).map_err(|message| LowerError::at(op, &message))?;
        let id = self.program.values.len();
        self.program.values.push(TensorValue {
            shape: shape.into_iter().map(|d| d as i64).collect(),
            class,
        });
        self.ids.insert(key(value), id);
        Ok(id)
    }

    fn id(&self, value: Value, op: &OperationRef) -> Result<ValueId, LowerError> {
        self.ids
            .get(&key(value))
            .copied()
            .ok_or_else(|| LowerError::at(op, "uses a value defined outside the entry function"))
    }

    fn walk(&mut self, block: BlockRef<'c, 'a>, region: Option<usize>) -> Result<(), LowerError> {
        let mut next = block.first_operation();
        while let Some(op) = next {
            next = op.next_in_block();
            let name = op_name(&op);
            let operands = (0..op.operand_count())
                .map(|i| self.id(op.operand(i).expect("index in range"), &op))
                .collect::<Result<Vec<_>, _>>()?;
            match name.as_str() {
                "func.return" => {
                    for &id in &operands {
                        if self.program.values[id].class != ValueClass::Activation {
                            return Err(LowerError::at(
                                &op,
                                "returns an input or a parameter; only computed activations can be returned",
                            ));
                        }
                    }
                    self.program.outputs = operands;
                }
                "df.fusion_region" => self.region(op, operands)?,
                "df.yield" if region.is_some() => {}
                "df.yield" => {
                    return Err(LowerError::at(&op, "df.yield outside a df.fusion_region"));
                }
                "df.param" => {
                    let param_name = deepfuse_passes::attributes::string_attr(&op, "name")
                        .map_err(|message| LowerError::at(&op, &message))?;
                    let result = op.result(0).expect("df.param has one result");
                    self.add(result.into(), ValueClass::Param(param_name), &op)?;
                }
                _ if name.starts_with("df.") => {
                    let derived = !operands.is_empty()
                        && operands
                            .iter()
                            .all(|&id| self.program.values[id].is_parameter());
                    let class = if derived {
                        ValueClass::Derived
                    } else {
                        ValueClass::Activation
                    };
                    let results = (0..op.result_count())
                        .map(|i| {
                            self.add(
                                op.result(i).expect("index in range").into(),
                                class.clone(),
                                &op,
                            )
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    let step = Step {
                        op,
                        operands,
                        results,
                        region,
                    };
                    if derived {
                        self.program.init.push(step);
                    } else {
                        self.program.forward.push(step);
                    }
                }
                _ => {
                    return Err(LowerError::at(
                        &op,
                        "cannot be lowered: only df ops can be compiled",
                    ));
                }
            }
        }
        Ok(())
    }

    fn region(
        &mut self,
        op: OperationRef<'c, 'a>,
        operands: Vec<ValueId>,
    ) -> Result<(), LowerError> {
        let index = self.program.regions;
        self.program.regions += 1;
        let schedule = read_schedule(&op).ok();
        self.program.schedules.push(schedule);
        self.program.region_ops.push(op);
        let body = op
            .region(0)
            .ok()
            .and_then(|region| region.first_block())
            .ok_or_else(|| LowerError::at(&op, "has no body"))?;
        for (i, &operand) in operands.iter().enumerate() {
            let argument = body
                .argument(i)
                .map_err(|_| LowerError::at(&op, "has fewer block arguments than operands"))?;
            self.ids.insert(key(argument.into()), operand);
        }
        self.walk(body, Some(index))?;
        // The last op, which the df dialect makes a terminator (found by
        // name too, for IR read without the dialect registered).
        let mut last = body.first_operation();
        while let Some(next) = last.and_then(|op| op.next_in_block()) {
            last = Some(next);
        }
        let terminator = body
            .terminator()
            .or(last.filter(|op| op_name(op) == "df.yield"))
            .ok_or_else(|| LowerError::at(&op, "has no df.yield"))?;
        for i in 0..op.result_count() {
            let yielded = terminator
                .operand(i)
                .map_err(|_| LowerError::at(&op, "yields fewer values than it has results"))?;
            let id = self.id(yielded, &terminator)?;
            self.ids
                .insert(key(op.result(i).expect("index in range").into()), id);
        }
        Ok(())
    }
}
