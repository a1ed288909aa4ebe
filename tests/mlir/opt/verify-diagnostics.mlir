// --verify-diagnostics and --split-input-file behave as in mlir-opt: on a
// file with only upstream dialects, both tools accept the same annotations.
// RUN: deepfuse-opt %s --split-input-file --verify-diagnostics
// RUN: mlir-opt %s --split-input-file --verify-diagnostics

func.func @undeclared_value() {
  // expected-error@+1 {{use of undeclared SSA value name}}
  %y = arith.addi %x, %x : i32
  return
}

// -----

func.func @type_mismatch_between_uses(%a: i32) {
  // expected-note@-1 {{prior use here}}
  // expected-error@+1 {{use of value '%a' expects different type than prior uses: 'i64' vs 'i32'}}
  %y = arith.addi %a, %a : i64
  return
}

// -----

func.func @unknown_dialect(%a: i32) {
  // expected-error@+2 {{Dialect `foo' not found for custom op 'foo.bar'}}
  // expected-note@+1 {{Available dialects: }}
  %y = foo.bar %a : i32
  return
}

// -----

func.func @unregistered_generic_op(%a: i32) {
  // expected-error@+1 {{operation being parsed with an unregistered dialect}}
  %y = "foo.bar"(%a) : (i32) -> i32
  return
}

// -----

// A verifier error: mlir-opt does not attach the "see current operation"
// note in this mode, so there is no note to expect.
func.func @return_type(%a: i32) -> i64 {
  // expected-error@+1 {{type of return operand 0 ('i32') doesn't match function result type ('i64') in function @return_type}}
  return %a : i32
}

// -----

func.func @verifier_error_in_nested_region(%c: i1) {
  scf.if %c {
    // expected-error@+1 {{'arith.addi' op requires the same type for all operands and results}}
    %y = "arith.addi"(%c, %c) : (i1, i1) -> i32
  }
  return
}

// -----

// A case without diagnostics is fine among the others.
func.func @valid(%a: i32) -> i32 {
  return %a : i32
}
