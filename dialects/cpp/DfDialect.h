//===- DfDialect.h - the df dialect's C++ declarations --------------------===//
//
// Pulls in the classes that mlir-tblgen generates from df/DfOps.td.
//
//===----------------------------------------------------------------------===//

#ifndef DEEPFUSE_DF_DIALECT_H
#define DEEPFUSE_DF_DIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "DfOpsEnums.h.inc"
#include "DfOpsDialect.h.inc"

#define GET_OP_CLASSES
#include "DfOps.h.inc"

#endif // DEEPFUSE_DF_DIALECT_H
