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
//! [`BufferPlan`] gives it, and every op is a call of a private kernel
//! function holding an affine loop nest ([`kernels`]), one function per
//! distinct configuration. Shapes are static, so each function takes bare
//! pointers after lowering to LLVM.

pub mod conv;
mod elementwise;
pub mod kernels;
mod pool;
pub mod product;
pub mod registers;
pub mod staged;
pub mod text;

use std::collections::HashMap;

use deepfuse_passes::ir::op_name;
use melior::ir::{OperationRef, operation::OperationLike};

use crate::{
    LowerError,
    buffers::BufferPlan,
    packing::PackedFilter,
    program::{Program, Step, ValueId},
    staging::RegionStaging,
};
use kernels::{Frame, View};
use text::{FunctionText, memref_type};

/// The init function's symbol.
pub const INIT: &str = "deepfuse_init";
/// The forward function's symbol.
pub const FORWARD: &str = "deepfuse_forward";

/// Emits the affine module for `program` with buffers planned by `plan` and a
/// scratchpad arena of `arena_bytes`; the regions `staging` stages run tile
/// by tile through the arena ([`staged`]), the others op by op, and the init
/// function copies the `packed` filters into chunk-major order, where the
/// staged DMAs read them ([`crate::packing`]). Kernels' register blocks are
/// sized for `vector_registers` ([`registers`]).
pub fn emit(
    program: &Program,
    plan: &BufferPlan,
    arena_bytes: u64,
    vector_registers: i64,
    (staging, packed): (&[RegionStaging], &[PackedFilter]),
) -> Result<String, LowerError> {
    let params_type = format!("memref<{}xi8>", plan.param_bytes);
    let forward_params_type = format!("memref<{}xi8>", plan.forward_param_bytes);
    let activations_type = format!("memref<{}xi8>", plan.activation_bytes);
    let arena_type = format!("memref<{}xi8>", arena_bytes.max(1));

    let mut library = KernelLibrary::new(vector_registers);
    let mut init = Function::new(program, plan, plan.param_bytes);
    for step in &program.init {
        init.step(step, &mut library)?;
    }

    let mut forward = Function::new(program, plan, plan.forward_param_bytes);
    let mut globals = Vec::new();
    let mut emitted = vec![false; staging.len()];
    let buffers = staged::Buffers {
        plan,
        param_bytes: plan.forward_param_bytes,
        arena_bytes: arena_bytes.max(1),
        packed,
    };
    for step in &program.forward {
        let region = step
            .region
            .and_then(|r| Some((r, staging.get(r)?.staged()?)));
        match region {
            Some((r, region)) => {
                if !std::mem::replace(&mut emitted[r], true) {
                    staged::emit(
                        &mut forward.text,
                        &mut library,
                        &mut globals,
                        program,
                        &buffers,
                        region,
                    )
                    .map_err(|message| LowerError::at(&program.region_ops[r], &message))?;
                }
            }
            None => forward.step(step, &mut library)?,
        }
    }
    let forward = forward.text.finish(
        &format!(
            "func.func @{FORWARD}(%act: {activations_type}, %params: {forward_params_type}, %arena: {arena_type}) {{"
        ),
        "return",
    );
    // After the forward function's kernels, so that adding the packing
    // kernel renames none of them.
    for filter in packed {
        init.pack(filter, &mut library)?;
    }
    let init = init.text.finish(
        &format!("func.func @{INIT}(%params: {params_type}) {{"),
        "return",
    );
    let declarations = if globals.is_empty() {
        String::new()
    } else {
        format!("{}\n", staged::DMA_DECLARATION)
    };
    Ok(format!(
        "module {{\n{declarations}{}{}{init}{forward}}}\n",
        globals.concat(),
        library.functions.concat()
    ))
}

/// A function being emitted, with the views it has made so far.
struct Function<'p, 'c, 'a> {
    program: &'p Program<'c, 'a>,
    plan: &'p BufferPlan,
    /// Size of the parameter buffer this function is given.
    param_bytes: u64,
    text: FunctionText,
    views: HashMap<(ValueId, Vec<i64>), String>,
}

impl<'p, 'c, 'a> Function<'p, 'c, 'a> {
    fn new(program: &'p Program<'c, 'a>, plan: &'p BufferPlan, param_bytes: u64) -> Self {
        Self {
            program,
            plan,
            param_bytes,
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
            return View::whole(name.clone(), shape);
        }
        let value = &self.program.values[id];
        let (buffer, bytes) = if value.is_parameter() {
            ("%params", self.param_bytes)
        } else {
            ("%act", self.plan.activation_bytes)
        };
        let offset = self.text.index(self.plan.offsets[id] as i64);
        let name = self.text.fresh("t");
        self.text.prologue_line(format!(
            "{name} = memref.view {buffer}[{offset}][] : memref<{bytes}xi8> to {}",
            memref_type(&shape)
        ));
        self.views.insert((id, shape.clone()), name.clone());
        View::whole(name, shape)
    }

    /// Whether `step` maps elements one to one: an activation, or an add or
    /// multiply of operands of the result's shape (no broadcast).
    fn elementwise(&self, step: &Step, name: &str) -> bool {
        let shape = |id: ValueId| &self.program.values[id].shape;
        match name {
            "df.activation" => true,
            "df.add" | "df.mul" => step
                .operands
                .iter()
                .all(|&id| shape(id) == shape(step.results[0])),
            _ => false,
        }
    }

    /// Copies a filter into its chunk-major copy, by a call of the one
    /// packing kernel ([`pack_kernel`]) with the places and sizes as
    /// arguments: a loop nest per filter made compiling GoogLeNet's layer
    /// schedule a tenth slower.
    fn pack(
        &mut self,
        filter: &PackedFilter,
        library: &mut KernelLibrary,
    ) -> Result<(), LowerError> {
        let shape = &self.program.values[filter.original].shape;
        let taps: i64 = shape[2..].iter().product();
        let arguments = [
            self.plan.offsets[filter.original] as i64,
            self.plan.offsets[filter.packed] as i64,
            shape[0],
            shape[1],
            taps,
            filter.chunk,
        ];
        let params = format!("memref<{}xi8>", self.param_bytes);
        let callee = pack_kernel(library, &params).map_err(LowerError::Unsupported)?;
        let f = &mut self.text;
        let arguments: Vec<String> = arguments.iter().map(|&value| f.index(value)).collect();
        f.line(format!(
            "func.call @{callee}(%params, {}) : ({params}, {}) -> ()",
            arguments.join(", "),
            vec!["index"; arguments.len()].join(", ")
        ));
        Ok(())
    }

    /// Emits `step` as a call of the kernel function for its
    /// configuration (emitting that function the first time).
    fn step(&mut self, step: &Step, library: &mut KernelLibrary) -> Result<(), LowerError> {
        let op = &step.op;
        let name = op_name(op);
        let copy = matches!(name.as_str(), "df.reshape" | "df.flatten");
        let (ins, outs): (Vec<View>, Vec<View>) = if copy || self.elementwise(step, &name) {
            // Flat views of the bytes: a reshape or flatten is a copy (both
            // are row-major), and an elementwise op one loop, where rows of
            // 7, 14 or 28 columns would leave most of the work to the vector
            // loop's scalar remainder.
            let flat = vec![self.program.values[step.results[0]].elements()];
            let operands = if copy {
                &step.operands[..1]
            } else {
                &step.operands[..]
            };
            (
                operands
                    .iter()
                    .map(|&id| self.view_as(id, flat.clone()))
                    .collect(),
                vec![self.view_as(step.results[0], flat)],
            )
        } else {
            (
                step.operands.iter().map(|&id| self.view(id)).collect(),
                step.results.iter().map(|&id| self.view(id)).collect(),
            )
        };
        let callee = library
            .kernel(op, &name, &ins, &outs)
            .map_err(|message| LowerError::at(op, &message))?;
        let views: Vec<&View> = ins.iter().chain(&outs).collect();
        let arguments: Vec<&str> = views.iter().map(|view| view.name.as_str()).collect();
        let types: Vec<String> = views.iter().map(|view| memref_type(&view.shape)).collect();
        self.text.line(format!(
            "func.call @{callee}({}) : ({}) -> ()",
            arguments.join(", "),
            types.join(", ")
        ));
        Ok(())
    }
}

/// One private function per distinct kernel: ops with the same name,
/// attributes and shapes (ResNet-50's 53 convolutions need 23) share one, so
/// LLVM optimises and generates each loop nest once.
pub(crate) struct KernelLibrary {
    functions: Vec<String>,
    by_key: HashMap<String, String>,
    vector_registers: i64,
}

impl KernelLibrary {
    /// An empty library of kernels for a CPU with `vector_registers`.
    pub(crate) fn new(vector_registers: i64) -> Self {
        KernelLibrary {
            functions: Vec::new(),
            by_key: HashMap::new(),
            vector_registers,
        }
    }

    /// The symbol of the function `key` names, emitting it the first time
    /// as `@{prefix}_{n}_{suffix}`: `parameters` (`%name: type ...`) and a
    /// body `body` writes.
    pub(crate) fn function(
        &mut self,
        key: String,
        (prefix, suffix): (&str, &str),
        parameters: &[String],
        body: impl FnOnce(&mut FunctionText) -> Result<(), String>,
    ) -> Result<String, String> {
        if let Some(symbol) = self.by_key.get(&key) {
            return Ok(symbol.clone());
        }
        let symbol = format!("{prefix}_{}_{suffix}", self.functions.len());
        let mut f = FunctionText::for_registers(self.vector_registers);
        body(&mut f)?;
        // `noinline`: a kernel called from several places stays one copy.
        // `noalias`: an op's operands and results are distinct tensors (the
        // buffer plan places a result before the op's operands die, and
        // tile buffers of one layer never overlap), which lets LLVM
        // vectorise without runtime overlap checks.
        self.functions.push(f.finish(
            &format!(
                "func.func private @{symbol}({}) attributes {{passthrough = [\"noinline\"]}} {{",
                parameters.join(", ")
            ),
            "return",
        ));
        self.by_key.insert(key, symbol.clone());
        Ok(symbol)
    }

    /// The symbol of the kernel computing `op` from `ins` into `outs`.
    fn kernel(
        &mut self,
        op: &OperationRef,
        name: &str,
        ins: &[View],
        outs: &[View],
    ) -> Result<String, String> {
        let mut key = format!("{name}{}", attribute_key(op));
        for view in ins.iter().chain(outs) {
            key.push(' ');
            key.push_str(&memref_type(&view.shape));
        }
        let argument = |i: usize, view: &View| View::whole(format!("%arg{i}"), view.shape.clone());
        let args_in: Vec<View> = ins
            .iter()
            .enumerate()
            .map(|(i, v)| argument(i, v))
            .collect();
        let args_out: Vec<View> = outs
            .iter()
            .enumerate()
            .map(|(i, v)| argument(ins.len() + i, v))
            .collect();
        let parameters: Vec<String> = args_in
            .iter()
            .chain(&args_out)
            .map(|view| {
                format!(
                    "{}: {} {{llvm.noalias}}",
                    view.name,
                    memref_type(&view.shape)
                )
            })
            .collect();
        let suffix = name.trim_start_matches("df.");
        self.function(key, ("df_kernel", suffix), &parameters, |f| {
            let out = &args_out[0];
            let frame = Frame::whole(&out.shape);
            let spatial = |view: &View| [view.shape[2], view.shape[3]];
            match name {
                "df.conv2d" => {
                    let input: [i64; 4] = args_in[0]
                        .shape
                        .as_slice()
                        .try_into()
                        .map_err(|_| "the input must be 4-D".to_string())?;
                    let output = out
                        .shape
                        .get(2..4)
                        .ok_or("the output must be 4-D")?
                        .try_into()
                        .expect("two dimensions");
                    kernels::conv2d(
                        f,
                        op,
                        &args_in,
                        out,
                        &frame,
                        (input, output),
                        kernels::ConvPart::Whole,
                    )
                }
                "df.pool2d" => {
                    if args_in[0].shape.len() != 4 {
                        return Err("the input must be 4-D".into());
                    }
                    kernels::pool2d(f, op, &args_in, out, &frame, spatial(&args_in[0]))
                }
                "df.global_pool" => kernels::global_pool(f, op, &args_in, out),
                "df.add" => kernels::binary_op(f, "addf", &args_in, out, &frame),
                "df.mul" => kernels::binary_op(f, "mulf", &args_in, out, &frame),
                "df.activation" => kernels::activation(f, op, &args_in, out, &frame),
                "df.batch_norm" => kernels::batch_norm(f, op, &args_in, out, &frame),
                "df.fold_batch_norm" => kernels::fold_batch_norm(f, op, &args_in, &args_out),
                "df.matmul" => kernels::matmul(f, op, &args_in, out, None),
                "df.softmax" => kernels::softmax(f, op, &args_in, out),
                "df.concat" => {
                    let axis = deepfuse_passes::attributes::i64_attr(op, "axis")?;
                    let pieces: Vec<(i64, i64)> = args_in
                        .iter()
                        .scan(0, |start, v| {
                            let length = v.shape.get(axis as usize).copied().unwrap_or(0);
                            *start += length;
                            Some((*start - length, length))
                        })
                        .collect();
                    kernels::concat(f, op, &args_in, out, &frame, &pieces)
                }
                "df.resize" => kernels::resize(f, op, &args_in, out),
                "df.pad" => kernels::pad(f, op, &args_in, out),
                "df.reshape" | "df.flatten" => kernels::copy_flat(f, &args_in[0], out),
                other => Err(format!("'{other}' has no lowering yet")),
            }
        })
    }
}

/// The symbol of the kernel that copies a filter into its chunk-major
/// copy ([`crate::packing`]), both in the parameter buffer (of type
/// `params`): its arguments are the filter's byte offset, the copy's, the
/// filter's output channels `K`, input channels `C` and taps per channel,
/// and the chunk width. Channel `c` of output channel `k` goes to row `c0 *
/// K + k * w + c - c0` of the copy (`c0` its chunk's first channel, `w`
/// the chunk's width: the last chunk's may be narrower).
fn pack_kernel(library: &mut KernelLibrary, params: &str) -> Result<String, String> {
    let mut parameters = vec![format!("%arg0: {params}")];
    parameters.extend((1..=6).map(|i| format!("%arg{i}: index")));
    library.function("pack".into(), ("df_kernel", "pack"), &parameters, |f| {
        let (out, channels, taps, chunk) = ("%arg3", "%arg4", "%arg5", "%arg6");
        let arith = |f: &mut FunctionText, op: &str, a: &str, b: &str| {
            f.assign("p", format!("arith.{op} {a}, {b} : index"))
        };
        let rows = arith(f, "muli", out, channels);
        let elements = arith(f, "muli", &rows, taps);
        let view = |f: &mut FunctionText, offset: &str| {
            f.assign(
                "v",
                format!("memref.view %arg0[{offset}][{elements}] : {params} to memref<?xf32>"),
            )
        };
        let (source, target) = (view(f, "%arg1"), view(f, "%arg2"));
        let (zero, one) = (f.index(0), f.index(1));
        let k = f.fresh("k");
        f.open(format!("scf.for {k} = {zero} to {out} step {one} {{"));
        let c = f.fresh("c");
        f.open(format!("scf.for {c} = {zero} to {channels} step {one} {{"));
        let index = arith(f, "divui", &c, chunk);
        let first = arith(f, "muli", &index, chunk);
        let left = arith(f, "subi", channels, &first);
        let width = arith(f, "minui", &left, chunk);
        let before = arith(f, "muli", &first, out);
        let within = arith(f, "muli", &k, &width);
        let offset = arith(f, "subi", &c, &first);
        let row = arith(f, "addi", &before, &within);
        let row = arith(f, "addi", &row, &offset);
        let to = arith(f, "muli", &row, taps);
        let from = arith(f, "muli", &k, channels);
        let from = arith(f, "addi", &from, &c);
        let from = arith(f, "muli", &from, taps);
        let t = f.fresh("t");
        f.open(format!("scf.for {t} = {zero} to {taps} step {one} {{"));
        let at = arith(f, "addi", &from, &t);
        let value = f.assign("x", format!("memref.load {source}[{at}] : memref<?xf32>"));
        let at = arith(f, "addi", &to, &t);
        f.line(format!(
            "memref.store {value}, {target}[{at}] : memref<?xf32>"
        ));
        f.close_n(3);
        Ok(())
    })
}

/// The attributes of `op` as part of a kernel key.
pub(crate) fn attribute_key(op: &OperationRef) -> String {
    let mut key = String::new();
    for (identifier, attribute) in op.attributes() {
        let identifier = identifier
            .as_string_ref()
            .as_str()
            .unwrap_or_default()
            .to_string();
        key.push_str(&format!(" {identifier}={attribute}"));
    }
    key
}
