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
  if (verify) {
    // As mlir-opt does: the "see current operation" note that MLIR attaches
    // to errors would be an unexpected diagnostic in every expected-error.
    ctx->printOpOnDiagnostic(false);
    diags->verifier = std::make_unique<SourceMgrDiagnosticVerifierHandler>(
        diags->sourceMgr, ctx);
  }
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

/// Adds `pipelineElements` to `passManager` the way mlir-opt adds passes
/// given as command-line flags: a pass anchored on another operation than
/// the pass manager's (such as a `func.func` pass on a module) is nested
/// under that operation. Errors go to `callback`.
MlirLogicalResult dfOpPassManagerAddNested(MlirOpPassManager passManager,
                                           MlirStringRef pipelineElements,
                                           MlirStringCallback callback,
                                           void *userData) {
  std::string message;
  llvm::raw_string_ostream stream(message);
  auto report = [&](LogicalResult result) {
    stream.flush();
    if (!message.empty())
      callback(mlirStringRefCreate(message.data(), message.size()), userData);
    return wrap(result);
  };
  // An op-agnostic pass manager accepts passes of any anchor; each is then
  // re-added, by its textual form, where it belongs.
  OpPassManager parsed(OpPassManager::Nesting::Implicit);
  if (failed(parsePassPipeline(unwrap(pipelineElements), parsed, stream)))
    return report(failure());
  OpPassManager &pm = *unwrap(passManager);
  for (Pass &pass : parsed.getPasses()) {
    std::string element;
    llvm::raw_string_ostream os(element);
    pass.printAsTextualPipeline(os);
    os.flush();
    std::optional<StringRef> anchor = pass.getOpName();
    OpPassManager &target =
        anchor && *anchor != pm.getOpAnchorName() ? pm.nest(*anchor) : pm;
    if (failed(parsePassPipeline(element, target, stream)))
      return report(failure());
  }
  return report(success());
}

} // extern "C"
