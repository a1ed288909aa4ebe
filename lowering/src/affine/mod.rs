//! `df` to affine: the program becomes two functions on byte buffers.
//!
//! ```mlir
//! func.func @deepfuse_init(%params: memref<Pxi8>)
//! func.func @deepfuse_forward(%act: memref<Axi8>, %params: memref<Pxi8>, %arena: memref<Sxi8>)
//! ```
//!
//! `deepfuse_init` computes the derived parameters (folded batch norms) in
//! the parameter buffer once; `deepfuse_forward` runs the activation ops in
//! order. Every tensor is a `memref.view` of its buffer at the offset the
//! [`BufferPlan`] gives it, and every op is an affine loop nest
//! ([`kernels`]). Shapes are static, so each function takes bare pointers
//! after lowering to LLVM.

pub mod kernels;
pub mod text;

use std::collections::HashMap;

use deepfuse_passes::ir::op_name;

use crate::{
    LowerError,
    buffers::BufferPlan,
    program::{Program, Step, ValueId},
};
use kernels::View;
use text::{FunctionText, memref_type};

/// The init function's symbol.
pub const INIT: &str = "deepfuse_init";
/// The forward function's symbol.
pub const FORWARD: &str = "deepfuse_forward";

/// Emits the affine module for `program` with buffers planned by `plan` and a
/// scratchpad arena of `arena_bytes`.
pub fn emit(program: &Program, plan: &BufferPlan, arena_bytes: u64) -> Result<String, LowerError> {
    let params_type = format!("memref<{}xi8>", plan.param_bytes);
    let activations_type = format!("memref<{}xi8>", plan.activation_bytes);
    let arena_type = format!("memref<{}xi8>", arena_bytes.max(1));

    let mut init = Function::new(program, plan, "%act", "%params");
    for step in &program.init {
        init.step(step)?;
    }
    let init = init.text.finish(
        &format!("func.func @{INIT}(%params: {params_type}) {{"),
        "return",
    );

    let mut forward = Function::new(program, plan, "%act", "%params");
    for step in &program.forward {
        forward.step(step)?;
    }
    let forward = forward.text.finish(
        &format!(
            "func.func @{FORWARD}(%act: {activations_type}, %params: {params_type}, %arena: {arena_type}) {{"
        ),
        "return",
    );
    Ok(format!("module {{\n{init}{forward}}}\n"))
}

/// A function being emitted, with the views it has made so far.
struct Function<'p, 'c, 'a> {
    program: &'p Program<'c, 'a>,
    plan: &'p BufferPlan,
    activations: &'static str,
    params: &'static str,
    text: FunctionText,
    views: HashMap<(ValueId, Vec<i64>), String>,
}

impl<'p, 'c, 'a> Function<'p, 'c, 'a> {
    fn new(
        program: &'p Program<'c, 'a>,
        plan: &'p BufferPlan,
        activations: &'static str,
        params: &'static str,
    ) -> Self {
        Self {
            program,
            plan,
            activations,
            params,
            text: FunctionText::default(),
            views: HashMap::new(),
        }
    }

    /// The view of tensor `id` with its own shape.
    fn view(&mut self, id: ValueId) -> View {
        let shape = self.program.values[id].shape.clone();
        self.view_as(id, shape)
    }

    /// The view of tensor `id`'s bytes with `shape` (same element count).
    fn view_as(&mut self, id: ValueId, shape: Vec<i64>) -> View {
        if let Some(name) = self.views.get(&(id, shape.clone())) {
            return View {
                name: name.clone(),
                shape,
            };
        }
        let value = &self.program.values[id];
        let (buffer, bytes) = if value.is_parameter() {
            (self.params, self.plan.param_bytes)
        } else {
            (self.activations, self.plan.activation_bytes)
        };
        let offset = self.text.index(self.plan.offsets[id] as i64);
        let name = self.text.fresh("t");
        self.text.prologue_line(format!(
            "{name} = memref.view {buffer}[{offset}][] : memref<{bytes}xi8> to {}",
            memref_type(&shape)
        ));
        self.views.insert((id, shape.clone()), name.clone());
        View { name, shape }
    }

    fn step(&mut self, step: &Step) -> Result<(), LowerError> {
        let op = &step.op;
        let name = op_name(op);
        let ins: Vec<View> = step.operands.iter().map(|&id| self.view(id)).collect();
        let outs: Vec<View> = step.results.iter().map(|&id| self.view(id)).collect();
        let f = &mut self.text;
        let out = &outs[0];
        let result = match name.as_str() {
            "df.conv2d" => kernels::conv2d(f, op, &ins, out),
            "df.pool2d" => kernels::pool2d(f, op, &ins, out),
            "df.global_pool" => kernels::global_pool(f, op, &ins, out),
            "df.add" => kernels::binary_op(f, "addf", &ins, out),
            "df.mul" => kernels::binary_op(f, "mulf", &ins, out),
            "df.activation" => kernels::activation(f, op, &ins, out),
            "df.batch_norm" => kernels::batch_norm(f, op, &ins, out),
            "df.fold_batch_norm" => kernels::fold_batch_norm(f, op, &ins, &outs),
            "df.matmul" => kernels::matmul(f, op, &ins, out),
            "df.softmax" => kernels::softmax(f, op, &ins, out),
            "df.concat" => kernels::concat(f, op, &ins, out),
            "df.resize" => kernels::resize(f, op, &ins, out),
            "df.pad" => kernels::pad(f, op, &ins, out),
            "df.reshape" | "df.flatten" => {
                let flat = vec![self.program.values[step.results[0]].elements()];
                let input = self.view_as(step.operands[0], flat.clone());
                let output = self.view_as(step.results[0], flat);
                kernels::copy_flat(&mut self.text, &input, &output)
            }
            other => Err(format!("'{other}' has no lowering yet")),
        };
        result.map_err(|message| LowerError::at(op, &message))
    }
}
