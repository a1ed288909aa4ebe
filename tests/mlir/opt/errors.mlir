// Errors of the driver itself: pass flags, options, pipelines, input files.
// Each fails with a message that says what is wrong and where.
//
// RUN: not deepfuse-opt %s --no-such-pass 2>&1 | FileCheck %s --check-prefix=UNKNOWN-PASS
// UNKNOWN-PASS: <command line>: error: 'no-such-pass' does not refer to a registered pass or pass pipeline
//
// An unknown pass after a good one is still an error.
// RUN: not deepfuse-opt %s --cse --no-such-pass 2>&1 | FileCheck %s --check-prefix=UNKNOWN-PASS
//
// RUN: not deepfuse-opt %s --df-canonicalize=bogus=1 2>&1 | FileCheck %s --check-prefix=UNKNOWN-OPTION
// UNKNOWN-OPTION: error: unknown option 'bogus' for pass 'df-canonicalize'; it takes: fold-batch-norm, fold-bias, remove-identities
//
// RUN: not deepfuse-opt %s --df-canonicalize=fold-bias=maybe 2>&1 | FileCheck %s --check-prefix=BAD-VALUE
// BAD-VALUE: error: invalid value 'maybe' for option 'fold-bias' of pass 'df-canonicalize': expected true or false
//
// RUN: not deepfuse-opt %s --df-canonicalize=fold-bias 2>&1 | FileCheck %s --check-prefix=MALFORMED-OPTION
// MALFORMED-OPTION: error: malformed option 'fold-bias' for pass 'df-canonicalize': expected name=value
//
// Errors in a --pass-pipeline point at the element at fault with a caret.
// RUN: not deepfuse-opt %s --pass-pipeline='builtin.module(cse,,canonicalize)' 2>&1 | FileCheck %s --strict-whitespace --check-prefix=EMPTY-ELEMENT
// EMPTY-ELEMENT:      <pass-pipeline>:1:20: error: expected a pass or an operation name
// EMPTY-ELEMENT-NEXT: {{^}}builtin.module(cse,,canonicalize){{$}}
// EMPTY-ELEMENT-NEXT: {{^ {19}\^$}}
//
// RUN: not deepfuse-opt %s --pass-pipeline='builtin.module(cse' 2>&1 | FileCheck %s --strict-whitespace --check-prefix=UNCLOSED
// UNCLOSED:      <pass-pipeline>:1:19: error: expected ')' to close 'builtin.module('
// UNCLOSED-NEXT: {{^}}builtin.module(cse{{$}}
// UNCLOSED-NEXT: {{^ {18}\^$}}
//
// RUN: not deepfuse-opt %s --pass-pipeline='builtin.module(canonicalize,df-canonicalize{bogus=1})' 2>&1 | FileCheck %s --strict-whitespace --check-prefix=PIPELINE-OPTION
// PIPELINE-OPTION:      <pass-pipeline>:1:29: error: unknown option 'bogus' for pass 'df-canonicalize'; it takes: fold-batch-norm, fold-bias, remove-identities
// PIPELINE-OPTION-NEXT: {{^}}builtin.module(canonicalize,df-canonicalize{bogus=1}){{$}}
// PIPELINE-OPTION-NEXT: {{^ {28}\^$}}
//
// RUN: not deepfuse-opt %s --pass-pipeline='builtin.module(func.func(no-such-pass))' 2>&1 | FileCheck %s --strict-whitespace --check-prefix=PIPELINE-UNKNOWN
// PIPELINE-UNKNOWN:      <pass-pipeline>:1:26: error: 'no-such-pass' does not refer to a registered pass or pass pipeline
// PIPELINE-UNKNOWN-NEXT: {{^}}builtin.module(func.func(no-such-pass)){{$}}
// PIPELINE-UNKNOWN-NEXT: {{^ {25}\^$}}
//
// RUN: not deepfuse-opt %s --pass-pipeline='builtin.module(cse{a=1)' 2>&1 | FileCheck %s --check-prefix=UNBALANCED
// UNBALANCED: <pass-pipeline>:1:19: error: unbalanced '{' in the options of 'cse'
//
// RUN: not deepfuse-opt %s --pass-pipeline='func.func(cse)' 2>&1 | FileCheck %s --check-prefix=NOT-ANCHORED
// NOT-ANCHORED: <pass-pipeline>:1:1: error: the pass pipeline must be anchored on the module, as in 'builtin.module(...)'
//
// A pass anchored on func.func must be nested explicitly in a pipeline.
// RUN: not deepfuse-opt %s --pass-pipeline='builtin.module(affine-loop-invariant-code-motion)' 2>&1 | FileCheck %s --check-prefix=NOT-NESTED
// NOT-NESTED: <pass-pipeline>:1:16: error: Can't add pass 'AffineLoopInvariantCodeMotion' restricted to 'func.func' on a PassManager intended to run on 'builtin.module', did you intend to nest?
//
// RUN: not deepfuse-opt %s --pass-pipeline='builtin.module(cse)' --df-canonicalize 2>&1 | FileCheck %s --check-prefix=BOTH
// BOTH: error: --pass-pipeline cannot be combined with individual pass flags
//
// RUN: not deepfuse-opt %t.does-not-exist.mlir 2>&1 | FileCheck %s --check-prefix=MISSING
// MISSING: {{.*}}does-not-exist.mlir: error: could not open input file
//
// RUN: not deepfuse-opt %s -o 2>&1 | FileCheck %s --check-prefix=NO-VALUE
// NO-VALUE: error: a value is required for '-o <OUTPUT>' but none was supplied
//
// RUN: not deepfuse-opt %s %s 2>&1 | FileCheck %s --check-prefix=TWO-INPUTS
// TWO-INPUTS: error: unexpected argument '{{.*}}errors.mlir' found

// The input is valid: every failure above comes from the command line.
// RUN: deepfuse-opt %s --cse | FileCheck %s
// CHECK-LABEL: func.func @valid
func.func @valid(%x: i32) -> i32 {
  return %x : i32
}
