//! Lowering, code generation and the JIT on one small hand-written module.

use std::sync::atomic::{AtomicI64, Ordering};

use melior::{Context, dialect::DialectRegistry, ir::Module, utility};

use super::*;
use crate::llvm_pipeline::lower_to_llvm_dialect;

/// `forward(dram, params, arena)`, reading and writing `memref.view`s of its
/// buffers: `y = exp(x * w)` in an affine loop, `z = tanh(x)` on vectors, and
/// `arena[1] = arena[0] + 1`, also passed to the external `@ext_hook`.
///
/// dram: x at 0, y at 64, z at 128 (16 f32 each); params: w at 0; arena: 2 i64.
pub(crate) const TEST_MODULE: &str = r#"
module {
  func.func private @ext_hook(i64)
  func.func @forward(%dram: memref<192xi8>, %params: memref<64xi8>, %arena: memref<16xi8>) {
    %c0 = arith.constant 0 : index
    %c64 = arith.constant 64 : index
    %c128 = arith.constant 128 : index
    %x = memref.view %dram[%c0][] : memref<192xi8> to memref<16xf32>
    %y = memref.view %dram[%c64][] : memref<192xi8> to memref<16xf32>
    %z = memref.view %dram[%c128][] : memref<192xi8> to memref<16xf32>
    %w = memref.view %params[%c0][] : memref<64xi8> to memref<16xf32>
    %s = memref.view %arena[%c0][] : memref<16xi8> to memref<2xi64>
    affine.for %i = 0 to 16 {
      %a = affine.load %x[%i] : memref<16xf32>
      %b = affine.load %w[%i] : memref<16xf32>
      %m = arith.mulf %a, %b : f32
      %e = math.exp %m : f32
      affine.store %e, %y[%i] : memref<16xf32>
    }
    affine.for %i = 0 to 16 step 8 {
      %v = vector.load %x[%i] : memref<16xf32>, vector<8xf32>
      %t = math.tanh %v : vector<8xf32>
      vector.store %t, %z[%i] : memref<16xf32>, vector<8xf32>
    }
    %old = affine.load %s[0] : memref<2xi64>
    %one = arith.constant 1 : i64
    %new = arith.addi %old, %one : i64
    affine.store %new, %s[1] : memref<2xi64>
    func.call @ext_hook(%new) : (i64) -> ()
    return
  }
}
"#;

/// A context as the facade's `create_context` makes it (without `df`).
pub(crate) fn test_context() -> Context {
    utility::register_all_passes();
    let registry = DialectRegistry::new();
    utility::register_all_dialects(&registry);
    let context = Context::new();
    context.append_dialect_registry(&registry);
    context.load_all_available_dialects();
    context
}

/// [`TEST_MODULE`] lowered to the LLVM dialect.
fn lowered(context: &Context) -> Module<'_> {
    let mut module = Module::parse(context, TEST_MODULE).expect("the test module parses");
    lower_to_llvm_dialect(&mut module).expect("the test module lowers");
    module
}

/// The last argument `@ext_hook` was called with.
static HOOK_ARGUMENT: AtomicI64 = AtomicI64::new(i64::MIN);

extern "C" fn record_hook(value: i64) {
    HOOK_ARGUMENT.store(value, Ordering::SeqCst);
}

fn hook_address() -> usize {
    record_hook as *const () as usize
}

fn close(actual: f32, expected: f32) -> bool {
    (actual - expected).abs() <= 1e-6 * expected.abs().max(1.0)
}

#[test]
fn jit_runs_the_lowered_module_with_mapped_symbols() {
    let context = test_context();
    let module = lowered(&context);
    let llvm = compile(&module, &CodegenOptions::host()).unwrap();
    assert_eq!(llvm.external_symbols(), ["ext_hook"]);
    let jit = llvm.jit(&[("ext_hook", hook_address())]).unwrap();
    assert!(jit.address("forward").is_some());
    assert!(jit.address("ext_hook").is_none());

    let x: Vec<f32> = (0..16).map(|i| i as f32 * 0.25 - 2.0).collect();
    let w: Vec<f32> = (0..16).map(|i| 0.5 + i as f32 * 0.125).collect();
    let mut dram = [0u8; 192];
    let mut params = [0u8; 64];
    for i in 0..16 {
        dram[4 * i..4 * i + 4].copy_from_slice(&x[i].to_ne_bytes());
        params[4 * i..4 * i + 4].copy_from_slice(&w[i].to_ne_bytes());
    }
    let mut arena = [0u8; 16];
    arena[..8].copy_from_slice(&41i64.to_ne_bytes());

    // SAFETY: `forward` takes three pointers; the buffers have the sizes of
    // its memref types and the JIT module outlives the call.
    unsafe {
        let forward = jit.entry3("forward").unwrap();
        forward(dram.as_mut_ptr(), params.as_ptr(), arena.as_mut_ptr());
    }

    let f32_at = |offset: usize| f32::from_ne_bytes(dram[offset..offset + 4].try_into().unwrap());
    for i in 0..16 {
        let y = f32_at(64 + 4 * i);
        let z = f32_at(128 + 4 * i);
        assert!(close(y, (x[i] * w[i]).exp()), "y[{i}] = {y}");
        assert!(close(z, x[i].tanh()), "z[{i}] = {z}");
    }
    assert_eq!(i64::from_ne_bytes(arena[8..].try_into().unwrap()), 42);
    assert_eq!(HOOK_ARGUMENT.load(Ordering::SeqCst), 42);
}

#[test]
fn an_unmapped_external_symbol_is_named() {
    let context = test_context();
    let module = lowered(&context);
    let error = LlvmModule::translate(&module, &CodegenOptions::host())
        .unwrap()
        .jit(&[("unrelated", hook_address())])
        .unwrap_err();
    assert!(
        matches!(&error, CodegenError::UnresolvedSymbol { name } if name == "ext_hook"),
        "{error:?}"
    );
    assert!(error.to_string().contains("`ext_hook`"), "{error}");

    let error = LlvmModule::translate(&module, &CodegenOptions::host())
        .unwrap()
        .jit(&[("ext_hook", 0)])
        .unwrap_err();
    assert!(
        matches!(error, CodegenError::NullSymbol { .. }),
        "{error:?}"
    );
}

#[test]
fn emits_llvm_ir_assembly_and_objects() {
    let context = test_context();
    let module = lowered(&context);
    let llvm = compile(&module, &CodegenOptions::host()).unwrap();

    let ir = String::from_utf8(llvm.emit(EmitKind::LlvmIr).unwrap()).unwrap();
    assert!(ir.contains("define void @forward(ptr"), "{ir}");
    assert!(ir.contains("declare void @ext_hook(i64"), "{ir}");
    assert!(ir.contains("target triple = \"x86_64"), "{ir}");
    assert!(ir.contains("\"target-cpu\"="), "{ir}");
    assert!(ir.contains("@llvm.exp."), "exp stays an intrinsic:\n{ir}");

    let assembly = String::from_utf8(llvm.emit(EmitKind::Assembly).unwrap()).unwrap();
    assert!(assembly.contains("forward:"), "{assembly}");
    assert!(assembly.contains("ext_hook"), "{assembly}");
    // x86 has no exp or tanh instruction: the code generator calls libm.
    assert!(assembly.contains("expf"), "{assembly}");
    assert!(assembly.contains("tanhf"), "{assembly}");

    let object = llvm.emit(EmitKind::Object).unwrap();
    assert_eq!(&object[..4], b"\x7fELF");
    assert_eq!(u16::from_le_bytes([object[16], object[17]]), 1, "ET_REL");
}

#[test]
fn writes_a_shared_library_that_loads() {
    let context = test_context();
    let module = lowered(&context);
    let llvm = compile(&module, &CodegenOptions::host()).unwrap();
    let path = std::env::temp_dir().join(format!("deepfuse-test-{}.so", std::process::id()));
    llvm.write_shared_library(&path).unwrap();

    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[..4], b"\x7fELF");
    assert_eq!(u16::from_le_bytes([bytes[16], bytes[17]]), 3, "ET_DYN");
    // SAFETY: the library has no initialisers; `ext_hook` stays unbound
    // (lazy binding) and `forward` is not called.
    unsafe {
        let library = libloading::Library::new(&path).unwrap();
        library.get::<EntryFn>(b"forward").unwrap();
    }
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let context = test_context();
    // Not lowered: func and memref ops have no LLVM IR translation.
    let module = Module::parse(&context, TEST_MODULE).unwrap();
    let error = LlvmModule::translate(&module, &CodegenOptions::host()).unwrap_err();
    assert!(matches!(error, CodegenError::Translate { .. }), "{error:?}");

    let options = CodegenOptions {
        triple: "nonsense-unknown-nowhere".into(),
        ..CodegenOptions::host()
    };
    let error = LlvmModule::translate(&lowered(&context), &options).unwrap_err();
    assert!(matches!(error, CodegenError::Target { .. }), "{error:?}");

    let module = lowered(&context);
    let jit = compile(&module, &CodegenOptions::host())
        .unwrap()
        .jit(&[("ext_hook", hook_address())])
        .unwrap();
    // SAFETY: the lookup fails before any signature matters.
    let error = unsafe { jit.entry3("missing") }.unwrap_err();
    assert!(
        matches!(error, CodegenError::NoSuchSymbol { .. }),
        "{error:?}"
    );
}

/// `forward` calls `@scale` and `@shift`, which both read the private
/// constant `@table`: x[i] = (x[i] * t[i % 4] + t[(i + 1) % 4]) * t[i % 4].
const CALLS_MODULE: &str = r#"
module {
  memref.global "private" constant @table : memref<4xf32> = dense<[1.0, 2.0, 3.0, 4.0]>
  func.func @scale(%x: memref<16xf32>) {
    %t = memref.get_global @table : memref<4xf32>
    affine.for %i = 0 to 16 {
      %a = affine.load %x[%i] : memref<16xf32>
      %b = affine.load %t[%i mod 4] : memref<4xf32>
      %m = arith.mulf %a, %b : f32
      affine.store %m, %x[%i] : memref<16xf32>
    }
    return
  }
  func.func @shift(%x: memref<16xf32>) {
    %t = memref.get_global @table : memref<4xf32>
    affine.for %i = 0 to 16 {
      %a = affine.load %x[%i] : memref<16xf32>
      %b = affine.load %t[(%i + 1) mod 4] : memref<4xf32>
      %s = arith.addf %a, %b : f32
      affine.store %s, %x[%i] : memref<16xf32>
    }
    return
  }
  func.func @forward(%dram: memref<64xi8>, %params: memref<4xi8>, %arena: memref<4xi8>) {
    %c0 = arith.constant 0 : index
    %x = memref.view %dram[%c0][] : memref<64xi8> to memref<16xf32>
    func.call @scale(%x) : (memref<16xf32>) -> ()
    func.call @shift(%x) : (memref<16xf32>) -> ()
    func.call @scale(%x) : (memref<16xf32>) -> ()
    return
  }
}
"#;

/// Runs `forward` of [`CALLS_MODULE`] on x[i] = i and checks the result.
fn check_calls(forward: EntryFn, threads: usize) {
    let mut dram = [0u8; 64];
    for i in 0..16 {
        dram[4 * i..4 * i + 4].copy_from_slice(&(i as f32).to_ne_bytes());
    }
    let (mut params, mut arena) = ([0u8; 4], [0u8; 4]);
    // SAFETY: the buffers have the sizes of `forward`'s memref types.
    unsafe { forward(dram.as_mut_ptr(), params.as_mut_ptr(), arena.as_mut_ptr()) };
    let table = [1.0f32, 2.0, 3.0, 4.0];
    for i in 0..16 {
        let x = f32::from_ne_bytes(dram[4 * i..4 * i + 4].try_into().unwrap());
        let expected = (i as f32 * table[i % 4] + table[(i + 1) % 4]) * table[i % 4];
        assert_eq!(x, expected, "x[{i}] with {threads} threads");
    }
}

#[test]
fn a_split_module_generates_the_same_functions_on_several_threads() {
    let context = test_context();
    let mut module = Module::parse(&context, CALLS_MODULE).unwrap();
    lower_to_llvm_dialect(&mut module).unwrap();

    let llvm = LlvmModule::translate(&module, &CodegenOptions::host()).unwrap();
    for work in [Work::Optimize, Work::Generate] {
        let parts = |threads| llvm.with_module(|ir| partition::plan(ir, threads, work).parts());
        // Three functions to place: never more parts than functions.
        assert_eq!([parts(1), parts(2), parts(3), parts(8)], [1, 2, 3, 3]);
    }

    // A mutable global would become one variable per part: not split.
    let mutable = CALLS_MODULE.replace(r#""private" constant @table"#, r#""private" @table"#);
    let mut mutable = Module::parse(&context, &mutable).unwrap();
    lower_to_llvm_dialect(&mut mutable).unwrap();
    let mut llvm = LlvmModule::translate(&mutable, &CodegenOptions::host()).unwrap();
    let parts = llvm.with_module(|ir| partition::plan(ir, 3, Work::Optimize).parts());
    assert_eq!(parts, 1);
    llvm.optimize().unwrap();
    let jit = llvm.jit(&[]).unwrap();
    // SAFETY: `forward` has the `EntryFn` signature.
    check_calls(unsafe { jit.entry3("forward").unwrap() }, 1);

    for threads in [1, 2, 3] {
        let options = CodegenOptions {
            threads,
            ..CodegenOptions::host()
        };
        let llvm = compile(&module, &options).unwrap();
        // The optimised parts are linked back into one module: every
        // function defined once (O3 folds the table into the code).
        let ir = llvm.llvm_ir();
        for function in ["forward", "scale", "shift"] {
            let definition = format!("define void @{function}(");
            assert_eq!(ir.matches(&definition).count(), 1, "{function}:\n{ir}");
        }

        let path =
            std::env::temp_dir().join(format!("deepfuse-test-{}-{threads}.so", std::process::id()));
        llvm.write_shared_library(&path).unwrap();
        // SAFETY: the library has no initialisers and no external symbols;
        // `forward` has the `EntryFn` signature.
        unsafe {
            let library = libloading::Library::new(&path).unwrap();
            check_calls(*library.get::<EntryFn>(b"forward").unwrap(), threads);
        }
        std::fs::remove_file(&path).unwrap();

        let jit = llvm.jit(&[]).unwrap();
        for function in ["forward", "scale", "shift"] {
            assert!(jit.address(function).is_some(), "{function}");
        }
        // SAFETY: `forward` has the `EntryFn` signature.
        check_calls(unsafe { jit.entry3("forward").unwrap() }, threads);
    }
}
