//! `df-canonicalize`: folds what an exporter leaves behind into the layer it
//! belongs to, so that later passes see one op per layer.
//!
//! - a `df.batch_norm` after a `df.conv2d` becomes a `df.fold_batch_norm` of
//!   the conv's parameters (evaluated once at parameter load) and one conv;
//! - a `df.add` of a per-channel parameter after a `df.conv2d` or a
//!   `df.matmul` becomes that op's bias;
//! - a `df.reshape` or `df.flatten` to its own type disappears, and a reshape
//!   of a reshape becomes one reshape.
//!
//! [`plan`] finds the rewrites (plain data), [`apply`] performs them; the pass
//! repeats both until nothing matches.

use std::collections::HashSet;

use melior::{
    ContextRef,
    ir::{
        Attribute, Identifier, Location, OperationRef, Type, Value, ValueLike,
        block::BlockLike,
        operation::{OperationBuilder, OperationLike},
        r#type::RankedTensorType,
    },
    pass::{ExternalPass, RunExternalPass},
};
use mlir_sys::MlirOperation;

use crate::{
    PassOptions,
    ir::{
        defining_op, element_type_of, erase, is_parameter, op_name, replace_all_uses, shape_of,
        use_count,
    },
    options::{OptionError, OptionInfo},
};

/// The options of `df-canonicalize`.
pub const OPTIONS: &[OptionInfo] = &[
    OptionInfo {
        name: "fold-batch-norm",
        kind: "bool",
        default: "true",
        help: "fold a batch_norm into the conv2d that feeds it",
    },
    OptionInfo {
        name: "fold-bias",
        kind: "bool",
        default: "true",
        help: "fold an add of a per-channel parameter into the conv2d or matmul before it",
    },
    OptionInfo {
        name: "remove-identities",
        kind: "bool",
        default: "true",
        help: "remove reshapes and flattens to the same type, merge chained reshapes",
    },
];

/// How many plan/apply rounds run before the pass gives up on a fixpoint.
const MAX_ROUNDS: usize = 16;

/// Which rewrites are enabled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CanonicalizeOptions {
    /// Fold `df.batch_norm` into a preceding `df.conv2d`.
    pub fold_batch_norm: bool,
    /// Fold per-channel parameter adds into a preceding conv or matmul bias.
    pub fold_bias: bool,
    /// Remove identity reshapes and merge chained reshapes.
    pub remove_identities: bool,
}

impl CanonicalizeOptions {
    /// Reads the options from a parsed option list.
    pub fn from_options(options: &PassOptions) -> Result<Self, OptionError> {
        Ok(Self {
            fold_batch_norm: options.bool("fold-batch-norm")?,
            fold_bias: options.bool("fold-bias")?,
            remove_identities: options.bool("remove-identities")?,
        })
    }
}

impl Default for CanonicalizeOptions {
    fn default() -> Self {
        Self {
            fold_batch_norm: true,
            fold_bias: true,
            remove_identities: true,
        }
    }
}

/// One rewrite found by [`plan`]. Operations are held as raw handles so that
/// a plan is plain data; every operation appears in at most one rewrite.
#[derive(Clone, Copy, Debug)]
pub enum Rewrite {
    /// `batch_norm(conv2d(x))`, the conv used only by the batch norm.
    FoldBatchNorm {
        /// The `df.conv2d`.
        conv: MlirOperation,
        /// The `df.batch_norm`.
        batch_norm: MlirOperation,
    },
    /// `add(producer(x), bias)` with a per-channel parameter `bias`.
    FoldBias {
        /// The `df.conv2d` or `df.matmul`, used only by the add.
        producer: MlirOperation,
        /// The `df.add`.
        add: MlirOperation,
        /// Which operand of the add is the bias.
        bias_operand: usize,
    },
    /// A reshape or flatten whose result type equals its input type.
    RemoveIdentity {
        /// The `df.reshape` or `df.flatten`.
        op: MlirOperation,
    },
    /// `reshape(reshape_or_flatten(x))`.
    MergeReshapes {
        /// The outer `df.reshape`.
        outer: MlirOperation,
        /// The `df.reshape` or `df.flatten` feeding it.
        inner: MlirOperation,
    },
}

/// Finds the rewrites that apply under `root`, in program order.
pub fn plan(root: &OperationRef, options: CanonicalizeOptions) -> Vec<Rewrite> {
    let mut ops = Vec::new();
    root.walk(melior::ir::operation::WalkOrder::PreOrder, |op| {
        ops.push(op.to_raw());
        melior::ir::operation::WalkResult::Advance
    });
    let mut claimed = HashSet::new();
    let mut rewrites = Vec::new();
    for raw in ops {
        // SAFETY: the walk above collected live operations; nothing changed
        // the IR since.
        let op = unsafe { OperationRef::from_raw(raw) };
        let Some(rewrite) = match_op(&op, options) else {
            continue;
        };
        let members = rewrite.operations();
        if members.iter().any(|m| claimed.contains(&m.ptr)) {
            continue;
        }
        claimed.extend(members.iter().map(|m| m.ptr));
        rewrites.push(rewrite);
    }
    rewrites
}

impl Rewrite {
    fn operations(&self) -> Vec<MlirOperation> {
        match *self {
            Rewrite::FoldBatchNorm { conv, batch_norm } => vec![conv, batch_norm],
            Rewrite::FoldBias { producer, add, .. } => vec![producer, add],
            Rewrite::RemoveIdentity { op } => vec![op],
            Rewrite::MergeReshapes { outer, inner } => vec![outer, inner],
        }
    }
}

fn match_op(op: &OperationRef, options: CanonicalizeOptions) -> Option<Rewrite> {
    match op_name(op).as_str() {
        "df.batch_norm" if options.fold_batch_norm => match_batch_norm(op),
        "df.add" if options.fold_bias => match_bias(op),
        "df.reshape" | "df.flatten" if options.remove_identities => match_reshape(op),
        _ => None,
    }
}

fn match_batch_norm(bn: &OperationRef) -> Option<Rewrite> {
    let input = bn.operand(0).ok()?;
    let conv = defining_op(input)?;
    if op_name(&conv) != "df.conv2d" || use_count(input) != 1 {
        return None;
    }
    let parameters_only =
        conv.operands().skip(1).all(is_parameter) && bn.operands().skip(1).all(is_parameter);
    parameters_only.then(|| Rewrite::FoldBatchNorm {
        conv: conv.to_raw(),
        batch_norm: bn.to_raw(),
    })
}

fn match_bias(add: &OperationRef) -> Option<Rewrite> {
    for bias_operand in [1, 0] {
        let value = add.operand(1 - bias_operand).ok()?;
        let bias = add.operand(bias_operand).ok()?;
        let Some(producer) = defining_op(value) else {
            continue;
        };
        let name = op_name(&producer);
        if !matches!(name.as_str(), "df.conv2d" | "df.matmul")
            || use_count(value) != 1
            || value.r#type() != add.result(0).ok()?.r#type()
            || !is_parameter(bias)
            || !producer.operands().skip(2).all(is_parameter)
        {
            continue;
        }
        let out = shape_of(value)?;
        // The channel dimension: 1 of NCHW for a conv, the last for a matmul.
        let channel_dim = if name == "df.conv2d" {
            1
        } else {
            out.len() - 1
        };
        if per_channel_length(&shape_of(bias)?, out.len(), channel_dim) == Some(out[channel_dim]) {
            return Some(Rewrite::FoldBias {
                producer: producer.to_raw(),
                add: add.to_raw(),
                bias_operand,
            });
        }
    }
    None
}

/// The length of `shape` as a per-channel vector: every dimension is 1 but
/// the one that aligns (NumPy-style, from the right) with `channel_dim` of a
/// rank-`rank` tensor.
fn per_channel_length(shape: &[i64], rank: usize, channel_dim: usize) -> Option<i64> {
    if shape.len() > rank {
        return None;
    }
    let offset = rank - shape.len();
    let mut length = 1;
    for (i, &size) in shape.iter().enumerate() {
        if offset + i == channel_dim {
            length = size;
        } else if size != 1 {
            return None;
        }
    }
    (offset <= channel_dim).then_some(length)
}

fn match_reshape(op: &OperationRef) -> Option<Rewrite> {
    let input = op.operand(0).ok()?;
    if input.r#type() == op.result(0).ok()?.r#type() {
        return Some(Rewrite::RemoveIdentity { op: op.to_raw() });
    }
    let inner = defining_op(input)?;
    (op_name(op) == "df.reshape" && matches!(op_name(&inner).as_str(), "df.reshape" | "df.flatten"))
        .then(|| Rewrite::MergeReshapes {
            outer: op.to_raw(),
            inner: inner.to_raw(),
        })
}

/// Applies `rewrites` (from one [`plan`]) in order.
pub fn apply(rewrites: &[Rewrite]) -> Result<(), melior::Error> {
    for rewrite in rewrites {
        // SAFETY (all from_raw below): a plan names each live operation once,
        // and a rewrite erases only operations that it names.
        match *rewrite {
            Rewrite::FoldBatchNorm { conv, batch_norm } => unsafe {
                fold_batch_norm(
                    OperationRef::from_raw(conv),
                    OperationRef::from_raw(batch_norm),
                )?
            },
            Rewrite::FoldBias {
                producer,
                add,
                bias_operand,
            } => unsafe {
                fold_bias(
                    OperationRef::from_raw(producer),
                    OperationRef::from_raw(add),
                    bias_operand,
                )?
            },
            Rewrite::RemoveIdentity { op } => {
                let op = unsafe { OperationRef::from_raw(op) };
                replace_all_uses(op.result(0)?.into(), op.operand(0)?);
                erase(op);
            }
            Rewrite::MergeReshapes { outer, inner } => unsafe {
                merge_reshapes(OperationRef::from_raw(outer), OperationRef::from_raw(inner))?
            },
        }
    }
    Ok(())
}

/// Inserts `op` before `anchor` and returns its first result.
fn insert_before<'c, 'a>(
    anchor: &OperationRef<'c, 'a>,
    op: melior::ir::Operation<'c>,
) -> Value<'c, 'a> {
    let block = anchor.block().expect("df ops live in blocks");
    let inserted = block.insert_operation_before(*anchor, op);
    // SAFETY: the inserted operation is owned by the block, which outlives
    // this rewrite.
    unsafe { OperationRef::from_raw(inserted.to_raw()) }
        .result(0)
        .expect("built with a result")
        .into()
}

fn fused_location<'c>(context: ContextRef<'c>, ops: &[&OperationRef<'c, '_>]) -> Location<'c> {
    let locations: Vec<_> = ops.iter().map(|op| op.location()).collect();
    // SAFETY: the context outlives this pass run.
    let context = unsafe { context.to_ref() };
    Location::fused(context, &locations, Attribute::unit(context))
}

fn attributes_of<'c>(op: &OperationRef<'c, '_>) -> Vec<(Identifier<'c>, Attribute<'c>)> {
    op.attributes().collect()
}

/// Rebuilds a conv2d or matmul with new weight operands, before `anchor`.
fn rebuild_with_weights<'c, 'a>(
    producer: &OperationRef<'c, 'a>,
    weights: &[Value<'c, 'a>],
    anchor: &OperationRef<'c, 'a>,
    location: Location<'c>,
) -> Result<Value<'c, 'a>, melior::Error> {
    let mut operands = vec![producer.operand(0)?];
    operands.extend_from_slice(weights);
    let op = OperationBuilder::new(&op_name(producer), location)
        .add_operands(&operands)
        .add_results(&[producer.result(0)?.r#type()])
        .add_attributes(&attributes_of(producer))
        .build()?;
    Ok(insert_before(anchor, op))
}

fn fold_batch_norm(conv: OperationRef, bn: OperationRef) -> Result<(), melior::Error> {
    let context = bn.context();
    let filter = conv.operand(1)?;
    let bias = conv.operand(2).ok();
    let mut operands = vec![filter];
    operands.extend(bias);
    operands.extend(bn.operands().skip(1));
    let channels = shape_of(filter).expect("filters are ranked")[0];
    let element = element_type_of(filter).expect("filters are ranked");
    let bias_type: Type = RankedTensorType::new(&[channels as u64], element, None).into();
    let fold = OperationBuilder::new("df.fold_batch_norm", bn.location())
        .add_operands(&operands)
        .add_results(&[filter.r#type(), bias_type])
        .add_attributes(&[(
            Identifier::new(unsafe { context.to_ref() }, "epsilon"),
            bn.attribute("epsilon")?,
        )])
        .build()?;
    let block = bn.block().expect("df ops live in blocks");
    let fold = block.insert_operation_before(bn, fold);
    let (new_filter, new_bias) = (fold.result(0)?.into(), fold.result(1)?.into());
    let location = fused_location(context, &[&conv, &bn]);
    let new_conv = rebuild_with_weights(&conv, &[new_filter, new_bias], &bn, location)?;
    replace_all_uses(bn.result(0)?.into(), new_conv);
    erase(bn);
    erase(conv);
    Ok(())
}

fn fold_bias(
    producer: OperationRef,
    add: OperationRef,
    bias_operand: usize,
) -> Result<(), melior::Error> {
    let context = add.context();
    let bias = add.operand(bias_operand)?;
    let out = shape_of(producer.result(0)?.into()).expect("ranked");
    let channels = if op_name(&producer) == "df.conv2d" {
        out[1]
    } else {
        out[out.len() - 1]
    };
    let element = element_type_of(bias).expect("ranked");
    let vector_type: Type = RankedTensorType::new(&[channels as u64], element, None).into();
    let mut bias_vector = bias;
    if bias.r#type() != vector_type {
        let reshape = OperationBuilder::new("df.reshape", add.location())
            .add_operands(&[bias])
            .add_results(&[vector_type])
            .build()?;
        bias_vector = insert_before(&add, reshape);
    }
    if let Ok(existing) = producer.operand(2) {
        let sum = OperationBuilder::new("df.add", add.location())
            .add_operands(&[existing, bias_vector])
            .add_results(&[vector_type])
            .build()?;
        bias_vector = insert_before(&add, sum);
    }
    let filter = producer.operand(1)?;
    let location = fused_location(context, &[&producer, &add]);
    let new_producer = rebuild_with_weights(&producer, &[filter, bias_vector], &add, location)?;
    replace_all_uses(add.result(0)?.into(), new_producer);
    erase(add);
    erase(producer);
    Ok(())
}

fn merge_reshapes(outer: OperationRef, inner: OperationRef) -> Result<(), melior::Error> {
    let source = inner.operand(0)?;
    let target = outer.result(0)?;
    if source.r#type() == target.r#type() {
        replace_all_uses(target.into(), source);
    } else {
        let merged = OperationBuilder::new("df.reshape", outer.location())
            .add_operands(&[source])
            .add_results(&[target.r#type()])
            .build()?;
        let merged = insert_before(&outer, merged);
        replace_all_uses(target.into(), merged);
    }
    erase(outer);
    if use_count(inner.result(0)?.into()) == 0 {
        erase(inner);
    }
    Ok(())
}

/// The `df-canonicalize` pass.
#[derive(Clone, Debug, Default)]
pub struct Canonicalize {
    options: CanonicalizeOptions,
}

impl Canonicalize {
    /// A pass with the given options.
    pub fn new(options: CanonicalizeOptions) -> Self {
        Self { options }
    }
}

impl<'c> RunExternalPass<'c> for Canonicalize {
    fn initialize(&mut self, _context: ContextRef<'c>) {}

    fn run(&mut self, operation: OperationRef<'c, '_>, pass: ExternalPass<'_>) {
        for _ in 0..MAX_ROUNDS {
            let rewrites = plan(&operation, self.options);
            if rewrites.is_empty() {
                return;
            }
            if let Err(error) = apply(&rewrites) {
                crate::ir::emit_error(operation.location(), &format!("df-canonicalize: {error}"));
                pass.signal_failure();
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::per_channel_length;

    #[test]
    fn per_channel_shapes() {
        // NCHW conv output, channel dimension 1.
        assert_eq!(per_channel_length(&[1, 8, 1, 1], 4, 1), Some(8));
        assert_eq!(per_channel_length(&[8, 1, 1], 4, 1), Some(8));
        // [8] aligns with the width, not the channels.
        assert_eq!(per_channel_length(&[8], 4, 1), None);
        assert_eq!(per_channel_length(&[1, 8, 2, 1], 4, 1), None);
        // Matmul output [M, N], channel dimension 1.
        assert_eq!(per_channel_length(&[10], 2, 1), Some(10));
        assert_eq!(per_channel_length(&[1, 10], 2, 1), Some(10));
        assert_eq!(per_channel_length(&[10, 1], 2, 1), None);
    }
}
