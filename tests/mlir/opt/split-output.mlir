// With --split-input-file, the output has one separator line between every
// two cases, also around a case that failed (and printed nothing), as in
// mlir-opt: the N-th printed case is the N-th case of the input.
// RUN: not deepfuse-opt %s --split-input-file | FileCheck %s
// RUN: not deepfuse-opt %s --split-input-file > %t.df && not mlir-opt %s --split-input-file > %t.up && diff %t.df %t.up

// CHECK-LABEL: func.func @first
// CHECK:       {{^}}// {{-----$}}
// CHECK-NEXT:  {{^}}// {{-----$}}
// CHECK-NEXT:  module {
// CHECK-NEXT:    func.func @third
func.func @first(%x: i32) -> i32 {
  return %x : i32
}

// -----

func.func @second_is_malformed(%x: i32) -> i32 {
  return %x i32
}

// -----

func.func @third(%x: i32) -> i32 {
  return %x : i32
}
