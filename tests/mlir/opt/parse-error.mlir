// This file is malformed on purpose. deepfuse-opt fails, names the file,
// line and column, and shows the offending line with a caret under the
// column; it prints no IR.
// RUN: not deepfuse-opt %s 2>&1 | FileCheck %s --strict-whitespace --check-prefixes=CHECK,WHOLE
// RUN: not deepfuse-opt %s --df-canonicalize 2>&1 | FileCheck %s --strict-whitespace --check-prefixes=CHECK,WHOLE
// With --split-input-file, the other cases still go through, and the error
// has its line number in the whole file.
// RUN: not deepfuse-opt %s --split-input-file 2>&1 | FileCheck %s --strict-whitespace --check-prefixes=CHECK,SPLIT

func.func @valid_before(%x: i32) -> i32 {
  return %x : i32
}

// -----

// CHECK:      {{^}}{{.*}}parse-error.mlir:[[@LINE+5]]:31: error: expected operation name in quotes
// CHECK-NEXT: {{^}}  %1 = arith.addi %0, %0 : i32 i32{{$}}
// CHECK-NEXT: {{^ {30}\^$}}
func.func @malformed() {
  %0 = arith.constant 1 : i32
  %1 = arith.addi %0, %0 : i32 i32
  return
}

// -----

// SPLIT:      func.func @valid_before
// SPLIT:      func.func @valid_after
// WHOLE-NOT:  func.func
// WHOLE-NOT:  module
func.func @valid_after(%x: i32) -> i32 {
  return %x : i32
}
