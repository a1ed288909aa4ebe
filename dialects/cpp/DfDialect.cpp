//===- DfDialect.cpp - df dialect registration and its C API handle -------===//

#include "DfDialect.h"

#include "mlir-c/IR.h"
#include "mlir/CAPI/Registration.h"

using namespace mlir;
using namespace mlir::df;

#include "DfOpsDialect.cpp.inc"
#include "DfOpsEnums.cpp.inc"

#define GET_OP_CLASSES
#include "DfOps.cpp.inc"

void DfDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "DfOps.cpp.inc"
      >();
}

// The declaration must be seen inside `extern "C"` first, or the handle
// function below gets C++ linkage and Rust cannot find it.
extern "C" {
MLIR_DECLARE_CAPI_DIALECT_REGISTRATION(Df, df);
}

MLIR_DEFINE_CAPI_DIALECT_REGISTRATION(Df, df, mlir::df::DfDialect)
