//===- ToolSupport.cpp - what an mlir-opt-style driver needs from C++ -----===//
//
// MLIR's C API has no source manager: it cannot print a diagnostic with the
// offending source line, cannot verify `expected-error` annotations, cannot
// name the file a string was parsed from, and cannot list registered passes.
// These few functions expose exactly the upstream C++ that mlir-opt uses for
// those, so that deepfuse-opt behaves the same as mlir-opt.
//
//===----------------------------------------------------------------------===//

#include "mlir-c/IR.h"
#include "mlir-c/Support.h"
#include "mlir-c/Pass.h"
#include "mlir/CAPI/IR.h"
#include "mlir/CAPI/Pass.h"
#include "mlir/CAPI/Support.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"

#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <memory>

using namespace mlir;

namespace {

/// One input buffer and the handler that reports diagnostics against it.
struct SourceDiagnostics {
  llvm::SourceMgr sourceMgr;
  std::unique_ptr<SourceMgrDiagnosticHandler> printer;
  std::unique_ptr<SourceMgrDiagnosticVerifierHandler> verifier;
};

} // namespace

extern "C" {

/// Attaches to `context` a handler that reports diagnostics located in
/// `source` (named `sourceName`) as `name:line:col: error: ...` with the
/// source line, or, when `verify` is set, checks them against the
/// `expected-*` annotations of the source. Detach with
/// `dfSourceDiagnosticsDestroy`.
void *dfSourceDiagnosticsCreate(MlirContext context, MlirStringRef source,
                                MlirStringRef sourceName, bool verify) {
  auto *diags = new SourceDiagnostics();
  diags->sourceMgr.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(unwrap(source), unwrap(sourceName)),
      llvm::SMLoc());
  MLIRContext *ctx = unwrap(context);
  if (verify)
    diags->verifier = std::make_unique<SourceMgrDiagnosticVerifierHandler>(
        diags->sourceMgr, ctx);
  else
    diags->printer =
        std::make_unique<SourceMgrDiagnosticHandler>(diags->sourceMgr, ctx);
  return diags;
}

/// In verify mode: reports every expected diagnostic that was not produced
/// and fails if any was missing or unexpected.
MlirLogicalResult dfSourceDiagnosticsVerify(void *handle) {
  auto *diags = static_cast<SourceDiagnostics *>(handle);
  if (!diags->verifier)
    return mlirLogicalResultSuccess();
  return wrap(diags->verifier->verify());
}

void dfSourceDiagnosticsDestroy(void *handle) {
  delete static_cast<SourceDiagnostics *>(handle);
}

/// Parses `source` as mlir-opt does: top-level operations other than a
/// single `builtin.module` are wrapped in an implicit module, and locations
/// name `sourceName`. Returns a null operation after reporting the error.
MlirOperation dfParseSource(MlirContext context, MlirStringRef source,
                            MlirStringRef sourceName) {
  ParserConfig config(unwrap(context));
  OwningOpRef<ModuleOp> module =
      parseSourceString<ModuleOp>(unwrap(source), config, unwrap(sourceName));
  if (!module)
    return MlirOperation{nullptr};
  return wrap(module.release().getOperation());
}

/// Prints every registered pass and pass pipeline with its options, as
/// `mlir-opt --help` lists them.
void dfPrintRegisteredPasses(void) {
  printRegisteredPasses();
  llvm::outs().flush();
}

/// Lets passes anchored on a nested operation (such as `func.func`) be added
/// to a module's pass manager, which then nests them as mlir-opt does.
void dfPassManagerEnableImplicitNesting(MlirPassManager passManager) {
  unwrap(passManager)->setNesting(OpPassManager::Nesting::Implicit);
}

} // extern "C"
