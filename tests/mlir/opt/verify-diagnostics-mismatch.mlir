// --verify-diagnostics fails when an expected diagnostic is not produced, or
// when one that is produced was not expected, and says which.
// RUN: not deepfuse-opt %s --split-input-file --verify-diagnostics 2>&1 | FileCheck %s

// CHECK: verify-diagnostics-mismatch.mlir:[[@LINE+2]]:6: error: expected error "this error never happens" was not produced
func.func @missing_error(%a: i32) -> i32 {
  // expected-error@+1 {{this error never happens}}
  return %a : i32
}

// -----

// CHECK: verify-diagnostics-mismatch.mlir:[[@LINE+2]]:{{[0-9]+}}: error: unexpected error: use of undeclared SSA value name
func.func @unexpected_error() {
  %y = arith.addi %x, %x : i32
  return
}
