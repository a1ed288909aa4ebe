// deepfuse-opt runs upstream passes exactly as mlir-opt does: on a file with
// only upstream dialects, both tools print the same text.
//
// RUN: deepfuse-opt %s --pass-pipeline='builtin.module(canonicalize,cse)' > %t.df.1 && mlir-opt %s --pass-pipeline='builtin.module(canonicalize,cse)' > %t.up.1 && diff %t.df.1 %t.up.1
// RUN: deepfuse-opt %s --split-input-file --cse > %t.df.2 && mlir-opt %s --split-input-file --cse > %t.up.2 && diff %t.df.2 %t.up.2
// RUN: deepfuse-opt %s --split-input-file --mlir-print-op-generic --mlir-print-debuginfo --canonicalize > %t.df.3 && mlir-opt %s --split-input-file --mlir-print-op-generic --mlir-print-debuginfo --canonicalize > %t.up.3 && diff %t.df.3 %t.up.3
// RUN: deepfuse-opt %s --split-input-file --affine-loop-invariant-code-motion > %t.df.4 && mlir-opt %s --split-input-file --affine-loop-invariant-code-motion > %t.up.4 && diff %t.df.4 %t.up.4
// RUN: deepfuse-opt %s --pass-pipeline='builtin.module(func.func(affine-loop-invariant-code-motion),canonicalize)' > %t.df.5 && mlir-opt %s --pass-pipeline='builtin.module(func.func(affine-loop-invariant-code-motion),canonicalize)' > %t.up.5 && diff %t.df.5 %t.up.5
// RUN: deepfuse-opt %s --split-input-file > %t.df.6 && mlir-opt %s --split-input-file > %t.up.6 && diff %t.df.6 %t.up.6
// The IR printed after each pass (on standard error) is the same too.
// RUN: deepfuse-opt %s --cse --canonicalize --mlir-print-ir-after-all -o %t.df.7 > %t.df.7.ir 2>&1 && mlir-opt %s --cse --canonicalize --mlir-print-ir-after-all -o %t.up.7 > %t.up.7.ir 2>&1 && diff %t.df.7.ir %t.up.7.ir && diff %t.df.7 %t.up.7
//
// And the result is what canonicalize and cse should give:
// RUN: deepfuse-opt %s --split-input-file --pass-pipeline='builtin.module(canonicalize,cse)' | FileCheck %s

// CHECK-LABEL: func.func @constant_folding
// CHECK-SAME:    (%[[A:.+]]: i32)
// CHECK:         %[[C3:.+]] = arith.constant 3 : i32
// CHECK:         %[[X:.+]] = arith.addi %[[A]], %[[C3]] : i32
// CHECK-NEXT:    %[[Z:.+]] = arith.muli %[[X]], %[[X]] : i32
// CHECK-NEXT:    return %[[Z]] : i32
func.func @constant_folding(%a: i32) -> i32 {
  %c1 = arith.constant 1 : i32
  %c2 = arith.constant 2 : i32
  %s = arith.addi %c1, %c2 : i32
  %x = arith.addi %a, %s : i32
  %y = arith.addi %a, %s : i32
  %z = arith.muli %x, %y : i32
  return %z : i32
}

// -----

// CHECK-LABEL: func.func @dead_code
// CHECK-SAME:    (%[[A:.+]]: f32)
// CHECK-NOT:     arith.mulf
// CHECK:         return %[[A]] : f32
func.func @dead_code(%a: f32) -> f32 {
  %unused = arith.mulf %a, %a : f32
  %zero = arith.constant 0.0 : f32
  %same = arith.addf %a, %zero : f32
  return %a : f32
}

// -----

// CHECK-LABEL: func.func @loop_invariant
// CHECK-SAME:    (%[[M:[^:]+]]: memref<10xf32>, %[[V:[^:]+]]: f32)
// CHECK:         affine.for %[[I:.+]] = 0 to 10 {
// CHECK-NEXT:      %[[C:.+]] = arith.addf %[[V]], %[[V]] : f32
// CHECK-NEXT:      affine.store %[[C]], %[[M]][%[[I]]] : memref<10xf32>
func.func @loop_invariant(%m: memref<10xf32>, %v: f32) {
  affine.for %i = 0 to 10 {
    %c = arith.addf %v, %v : f32
    %d = arith.addf %v, %v : f32
    affine.store %d, %m[%i] : memref<10xf32>
  }
  return
}

// -----

// CHECK-LABEL: func.func @nested_loops
// CHECK:         affine.for
// CHECK:           affine.for
// CHECK:             affine.load
// CHECK-NOT:         affine.load
// CHECK:             affine.store
func.func @nested_loops(%m: memref<4x4xf32>, %n: memref<4x4xf32>) {
  affine.for %i = 0 to 4 {
    affine.for %j = 0 to 4 {
      %a = affine.load %m[%i, %j] : memref<4x4xf32>
      %b = affine.load %m[%i, %j] : memref<4x4xf32>
      %s = arith.addf %a, %b : f32
      affine.store %s, %n[%i, %j] : memref<4x4xf32>
    }
  }
  return
}

// -----

// A loop whose body does nothing is removed.
// CHECK-LABEL: func.func @empty_loop
// CHECK-NOT:     affine.for
// CHECK:         return
func.func @empty_loop(%m: memref<4xf32>) {
  affine.for %i = 0 to 4 {
    %c = arith.constant 1.0 : f32
  }
  return
}
