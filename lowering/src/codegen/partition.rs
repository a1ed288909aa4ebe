//! Splitting a module into parts that LLVM optimises and compiles on separate
//! threads, one LLVM context each.
//!
//! A network's module is one function per kernel plus the entry points that
//! call them, and LLVM spends most of a compile in per-function work (the O3
//! function pipeline, instruction selection). [`plan`] assigns every defined
//! function with external linkage to one part, balancing what LLVM spends
//! on them ([`cost`]); [`run_parts`] rebuilds each part from the module's bitcode in a
//! fresh context, where the functions of other parts become declarations,
//! and runs the same work on every part at once.
//!
//! What every part keeps whole: declarations, and definitions with local
//! linkage (such as the staged regions' step tables): the optimiser drops those a part
//! does not use, and private symbols never clash when the parts are linked.
//! A module with a global that is not a local constant is not split, since
//! two copies of it would be two variables; nor is one with aliases or
//! ifuncs, which would have to follow the function they name.

use std::collections::HashMap;

use inkwell::{
    context::Context,
    llvm_sys::core::{
        LLVMGetCalledValue, LLVMGetFirstGlobalAlias, LLVMGetFirstGlobalIFunc, LLVMGetFirstUse,
        LLVMGetIntrinsicID, LLVMIsAFunction,
    },
    memory_buffer::MemoryBuffer,
    module::{Linkage, Module as IrModule},
    targets::TargetMachine,
    values::{AsValueRef, FunctionValue, GlobalValue, InstructionOpcode, InstructionValue},
};

use super::{CodegenError, CodegenOptions, create_target_machine};

/// Which part defines each function that may move between parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PartitionPlan {
    parts: usize,
    owners: HashMap<String, usize>,
}

impl PartitionPlan {
    /// How many parts the module is split into (1: not split).
    pub(super) fn parts(&self) -> usize {
        self.parts
    }

    /// The part that defines `function`; `None` for functions every part
    /// keeps (declarations, local definitions).
    fn owner(&self, function: &str) -> Option<usize> {
        self.owners.get(function).copied()
    }
}

/// Private or internal: a symbol no other object can see.
pub(super) fn has_local_linkage(linkage: Linkage) -> bool {
    matches!(linkage, Linkage::Private | Linkage::Internal)
}

/// The functions a part may own: defined, with external linkage.
fn movable_functions<'ctx>(module: &IrModule<'ctx>) -> Vec<FunctionValue<'ctx>> {
    module
        .get_functions()
        .filter(|function| {
            function.count_basic_blocks() > 0 && !has_local_linkage(function.get_linkage())
        })
        .collect()
}

/// The work a plan balances, which decides what a function costs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Work {
    /// The O3 pipeline, on the module as translated.
    Optimize,
    /// Instruction selection to register allocation, on the optimised module.
    Generate,
}

/// How many plain instructions' worth of work a function is: measured with
/// `opt` and `llc` on single functions of Inception-v3's module. The
/// lowering builds and reads memref descriptors with `insertvalue` and
/// `extractvalue`, which the optimiser folds away: an entry point made
/// mostly of them optimises ten times faster than a kernel of as many
/// instructions. In code generation a call to a function (not an
/// intrinsic) costs about twelve plain instructions: argument lowering and
/// spills around it; the entry points are mostly calls.
fn cost(function: FunctionValue<'_>, work: Work) -> usize {
    const CALL: usize = 12;
    let instructions = function
        .get_basic_block_iter()
        .flat_map(|block| block.get_instructions());
    match work {
        Work::Optimize => instructions
            .filter(|instruction| {
                !matches!(
                    instruction.get_opcode(),
                    InstructionOpcode::InsertValue | InstructionOpcode::ExtractValue
                )
            })
            .count(),
        Work::Generate => instructions
            .map(|instruction| {
                if calls_a_function(instruction) {
                    CALL
                } else {
                    1
                }
            })
            .sum(),
    }
}

/// Whether `instruction` calls a function other than an LLVM intrinsic.
fn calls_a_function(instruction: InstructionValue<'_>) -> bool {
    if instruction.get_opcode() != InstructionOpcode::Call {
        return false;
    }
    // SAFETY: `instruction` is a live call; the callee is a live value.
    unsafe {
        let callee = LLVMGetCalledValue(instruction.as_value_ref());
        !callee.is_null() && (LLVMIsAFunction(callee).is_null() || LLVMGetIntrinsicID(callee) == 0)
    }
}

/// Splits `module` into at most `threads` parts of about equal `work` (see
/// [`cost`]; largest function first, each to the lightest part); one part
/// when `threads` is 1, when there is only one function to place, or when a
/// global could not be copied into every part.
pub(super) fn plan(module: &IrModule<'_>, threads: usize, work: Work) -> PartitionPlan {
    let unsplit = PartitionPlan {
        parts: 1,
        owners: HashMap::new(),
    };
    let copyable = |global: GlobalValue<'_>| {
        global.is_declaration() || global.is_constant() && has_local_linkage(global.get_linkage())
    };
    // SAFETY: reads the first alias and ifunc of a live module.
    let has_aliases = unsafe {
        !LLVMGetFirstGlobalAlias(module.as_mut_ptr()).is_null()
            || !LLVMGetFirstGlobalIFunc(module.as_mut_ptr()).is_null()
    };
    let shared_state = !module.get_globals().all(copyable) || has_aliases;
    let mut functions: Vec<(usize, String)> = movable_functions(module)
        .into_iter()
        .map(|function| {
            (
                cost(function, work),
                function.get_name().to_string_lossy().into_owned(),
            )
        })
        .collect();
    let parts = threads.min(functions.len());
    if parts <= 1 || shared_state {
        return unsplit;
    }
    functions.sort_by(|a, b| b.cmp(a));
    let mut loads = vec![0usize; parts];
    let mut owners = HashMap::new();
    for (size, name) in functions {
        let lightest = (0..parts).min_by_key(|&part| loads[part]).unwrap_or(0);
        loads[lightest] += size;
        owners.insert(name, lightest);
    }
    PartitionPlan { parts, owners }
}

/// Makes `module` part `part` of `plan`: functions owned by other parts lose
/// their bodies (deleted when nothing here calls them, else replaced by a
/// declaration of the same name and type).
fn keep_part(module: &IrModule<'_>, plan: &PartitionPlan, part: usize) {
    for function in movable_functions(module) {
        let name = function.get_name().to_string_lossy().into_owned();
        if plan.owner(&name) == Some(part) {
            continue;
        }
        // SAFETY: the function is not used after deletion; its uses (calls
        // from this part) were moved to the declaration first.
        unsafe {
            if !LLVMGetFirstUse(function.as_value_ref()).is_null() {
                let declaration = module.add_function("", function.get_type(), None);
                function.replace_all_uses_with(declaration);
                function.delete();
                declaration.as_global_value().set_name(&name);
            } else {
                function.delete();
            }
        }
    }
}

/// Runs `work` on every part of `plan`, each on its own thread, in a fresh
/// context holding the part rebuilt from `bitcode` (the whole module's), with
/// a target machine for `options`. The results come back in part order; the
/// first failure is returned.
pub(super) fn run_parts<T: Send>(
    bitcode: &[u8],
    plan: &PartitionPlan,
    options: &CodegenOptions,
    work: impl Fn(&IrModule<'_>, &TargetMachine) -> Result<T, CodegenError> + Sync,
) -> Result<Vec<T>, CodegenError> {
    let work = &work;
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..plan.parts())
            .map(|part| {
                scope.spawn(move || {
                    let target_machine = create_target_machine(options)?;
                    let context = Context::create();
                    let buffer = MemoryBuffer::create_from_memory_range_copy(bitcode, "part");
                    let module = IrModule::parse_bitcode_from_buffer(&buffer, &context)
                        .map_err(|message| CodegenError::Split(message.to_string()))?;
                    keep_part(&module, plan, part);
                    work(&module, &target_machine)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle.join().unwrap_or_else(|_| {
                    Err(CodegenError::Split(
                        "a code generation thread panicked".into(),
                    ))
                })
            })
            .collect()
    })
}
