//===- DfVerifiers.cpp - shape and attribute verifiers of df ops ----------===//
//
// Every verifier checks the result shape against the one the op's semantics
// imply, and says which dimension disagrees, what it expected and why.
//
//===----------------------------------------------------------------------===//

#include "DfDialect.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace mlir::df;

namespace {

const char *const kNchwNames[] = {"batch", "channel", "height", "width"};

ArrayRef<int64_t> shapeOf(Value v) {
  return cast<RankedTensorType>(v.getType()).getShape();
}

Type elementOf(Value v) {
  return cast<ShapedType>(v.getType()).getElementType();
}

std::string describeDim(int64_t dim, int64_t rank) {
  std::string s = std::to_string(dim);
  if (rank == 4)
    s += std::string(" (") + kNchwNames[dim] + ")";
  return s;
}

/// All tensor operands and results share one element type.
LogicalResult verifySameElementType(Operation *op) {
  Type expected;
  auto check = [&](Value v, StringRef what, unsigned idx) -> LogicalResult {
    auto shaped = dyn_cast<ShapedType>(v.getType());
    if (!shaped)
      return success();
    if (!expected) {
      expected = shaped.getElementType();
      return success();
    }
    if (shaped.getElementType() != expected)
      return op->emitOpError() << what << " #" << idx << " has element type "
                               << shaped.getElementType() << ", expected "
                               << expected;
    return success();
  };
  for (auto [i, v] : llvm::enumerate(op->getOperands()))
    if (failed(check(v, "operand", i)))
      return failure();
  for (auto [i, v] : llvm::enumerate(op->getResults()))
    if (failed(check(v, "result", i)))
      return failure();
  return success();
}

LogicalResult verifyArraySize(Operation *op, StringRef name,
                              ArrayRef<int64_t> values, size_t size,
                              int64_t minValue) {
  if (values.size() != size)
    return op->emitOpError() << "'" << name << "' must have " << size
                             << " values, got " << values.size();
  for (auto [i, v] : llvm::enumerate(values))
    if (v < minValue)
      return op->emitOpError() << "'" << name << "' value #" << i << " is "
                               << v << ", must be at least " << minValue;
  return success();
}

LogicalResult expectDim(Operation *op, StringRef what, ArrayRef<int64_t> shape,
                        int64_t dim, int64_t expected, const Twine &reason) {
  if (shape[dim] == expected)
    return success();
  return op->emitOpError() << what << " dimension "
                           << describeDim(dim, shape.size()) << " is "
                           << shape[dim] << ", expected " << expected << " "
                           << reason;
}

LogicalResult expectRank(Operation *op, StringRef what, ArrayRef<int64_t> shape,
                         int64_t rank) {
  if ((int64_t)shape.size() == rank)
    return success();
  return op->emitOpError() << what << " must have rank " << rank << ", got "
                           << shape.size();
}

/// A per-channel vector: rank 1 with `channels` elements.
LogicalResult expectChannelVector(Operation *op, StringRef what, Value v,
                                  int64_t channels) {
  auto shape = shapeOf(v);
  if (shape.size() != 1 || shape[0] != channels)
    return op->emitOpError()
           << what << " must be a vector of " << channels
           << " per-channel values, got " << v.getType();
  return success();
}

/// Checks one spatial dimension of a sliding-window op.
LogicalResult expectWindowDim(Operation *op, ArrayRef<int64_t> inShape,
                              ArrayRef<int64_t> outShape, int64_t dim,
                              int64_t kernel, int64_t stride, int64_t padBegin,
                              int64_t padEnd, int64_t dilation, bool ceilMode) {
  int64_t in = inShape[dim];
  int64_t padded = in + padBegin + padEnd;
  int64_t window = dilation * (kernel - 1) + 1;
  const char *name = kNchwNames[dim];
  if (padded < window)
    return op->emitOpError()
           << "window of " << window << " does not fit the padded input "
           << name << " " << padded << " (input " << in << ", padding "
           << padBegin << "+" << padEnd << ")";
  int64_t span = padded - window;
  int64_t expected = (ceilMode ? (span + stride - 1) / stride : span / stride) + 1;
  // A window that starts in the end padding is dropped, as in PyTorch and
  // ONNX opset 19+.
  if (ceilMode && (expected - 1) * stride >= in + padBegin)
    --expected;
  std::string reason;
  llvm::raw_string_ostream os(reason);
  os << "from input " << name << " " << in << ", kernel " << kernel
     << ", stride " << stride << ", padding " << padBegin << "+" << padEnd;
  if (dilation != 1)
    os << ", dilation " << dilation;
  if (ceilMode)
    os << ", ceil mode";
  return expectDim(op, "output", outShape, dim, expected, os.str());
}

} // namespace

//===----------------------------------------------------------------------===//

LogicalResult ParamOp::verify() {
  if (getName().empty())
    return emitOpError() << "parameter name must not be empty";
  return success();
}

LogicalResult FoldBatchNormOp::verify() {
  if (failed(verifySameElementType(*this)))
    return failure();
  int64_t channels = shapeOf(getFilter())[0];
  if (getBias() &&
      failed(expectChannelVector(*this, "bias", getBias(), channels)))
    return failure();
  if (failed(expectChannelVector(*this, "scale", getScale(), channels)) ||
      failed(expectChannelVector(*this, "offset", getOffset(), channels)) ||
      failed(expectChannelVector(*this, "mean", getMean(), channels)) ||
      failed(expectChannelVector(*this, "variance", getVariance(), channels)) ||
      failed(expectChannelVector(*this, "new bias", getNewBias(), channels)))
    return failure();
  if (getNewFilter().getType() != getFilter().getType())
    return emitOpError() << "new filter type " << getNewFilter().getType()
                         << " must equal the filter type "
                         << getFilter().getType();
  if (getEpsilon().convertToFloat() < 0)
    return emitOpError() << "epsilon must not be negative";
  return success();
}

LogicalResult Conv2dOp::verify() {
  if (failed(verifySameElementType(*this)) ||
      failed(verifyArraySize(*this, "strides", getStrides(), 2, 1)) ||
      failed(verifyArraySize(*this, "pads", getPads(), 4, 0)) ||
      failed(verifyArraySize(*this, "dilations", getDilations(), 2, 1)))
    return failure();
  int64_t groups = getGroups();
  if (groups < 1)
    return emitOpError() << "groups must be at least 1, got " << groups;
  auto in = shapeOf(getInput());
  auto filter = shapeOf(getFilter());
  auto out = shapeOf(getOutput());
  if (in[1] % groups != 0)
    return emitOpError() << "input channels " << in[1]
                         << " are not divisible by groups " << groups;
  if (filter[0] % groups != 0)
    return emitOpError() << "filter output channels " << filter[0]
                         << " are not divisible by groups " << groups;
  if (filter[1] != in[1] / groups)
    return emitOpError() << "filter dimension 1 (input channels per group) is "
                         << filter[1] << ", expected " << in[1] / groups
                         << " (input channels " << in[1] << " / groups "
                         << groups << ")";
  if (getBias() &&
      failed(expectChannelVector(*this, "bias", getBias(), filter[0])))
    return failure();
  auto strides = getStrides();
  auto pads = getPads();
  auto dilations = getDilations();
  if (failed(expectDim(*this, "output", out, 0, in[0], "(the input batch)")) ||
      failed(expectDim(*this, "output", out, 1, filter[0],
                       "(the filter's output channels)")))
    return failure();
  for (int64_t d = 0; d < 2; ++d)
    if (failed(expectWindowDim(*this, in, out, 2 + d, filter[2 + d],
                               strides[d], pads[d], pads[2 + d], dilations[d],
                               /*ceilMode=*/false)))
      return failure();
  return success();
}

LogicalResult Pool2dOp::verify() {
  if (failed(verifySameElementType(*this)) ||
      failed(verifyArraySize(*this, "kernel", getKernel(), 2, 1)) ||
      failed(verifyArraySize(*this, "strides", getStrides(), 2, 1)) ||
      failed(verifyArraySize(*this, "pads", getPads(), 4, 0)))
    return failure();
  auto kernel = getKernel();
  auto pads = getPads();
  for (int64_t i = 0; i < 4; ++i)
    if (pads[i] >= kernel[i % 2])
      return emitOpError() << "padding " << pads[i] << " must be smaller than "
                           << "the kernel " << kernel[i % 2]
                           << ", or a window would cover only padding";
  auto in = shapeOf(getInput());
  auto out = shapeOf(getOutput());
  if (failed(expectDim(*this, "output", out, 0, in[0], "(the input batch)")) ||
      failed(expectDim(*this, "output", out, 1, in[1], "(the input channels)")))
    return failure();
  for (int64_t d = 0; d < 2; ++d)
    if (failed(expectWindowDim(*this, in, out, 2 + d, kernel[d],
                               getStrides()[d], pads[d], pads[2 + d], 1,
                               getCeilMode())))
      return failure();
  return success();
}

LogicalResult ResizeOp::verify() {
  if (failed(verifySameElementType(*this)) ||
      failed(verifyArraySize(*this, "scales", getScales(), 2, 1)))
    return failure();
  auto in = shapeOf(getInput());
  auto out = shapeOf(getOutput());
  if (failed(expectDim(*this, "output", out, 0, in[0], "(the input batch)")) ||
      failed(expectDim(*this, "output", out, 1, in[1], "(the input channels)")))
    return failure();
  for (int64_t d = 0; d < 2; ++d) {
    int64_t scale = getScales()[d];
    if (failed(expectDim(*this, "output", out, 2 + d, in[2 + d] * scale,
                         "(input " + Twine(in[2 + d]) + " x scale " +
                             Twine(scale) + ")")))
      return failure();
  }
  return success();
}

LogicalResult PadOp::verify() {
  if (failed(verifySameElementType(*this)))
    return failure();
  auto in = shapeOf(getInput());
  auto out = shapeOf(getOutput());
  int64_t rank = in.size();
  if (failed(verifyArraySize(*this, "pads", getPads(), 2 * rank, 0)) ||
      failed(expectRank(*this, "output", out, rank)))
    return failure();
  for (int64_t d = 0; d < rank; ++d) {
    int64_t b = getPads()[d], e = getPads()[rank + d];
    if (failed(expectDim(*this, "output", out, d, in[d] + b + e,
                         "(input " + Twine(in[d]) + " + padding " + Twine(b) +
                             "+" + Twine(e) + ")")))
      return failure();
  }
  return success();
}

LogicalResult BatchNormOp::verify() {
  if (failed(verifySameElementType(*this)))
    return failure();
  int64_t channels = shapeOf(getInput())[1];
  if (failed(expectChannelVector(*this, "scale", getScale(), channels)) ||
      failed(expectChannelVector(*this, "offset", getOffset(), channels)) ||
      failed(expectChannelVector(*this, "mean", getMean(), channels)) ||
      failed(expectChannelVector(*this, "variance", getVariance(), channels)))
    return failure();
  if (getOutput().getType() != getInput().getType())
    return emitOpError() << "result type " << getOutput().getType()
                         << " must equal the input type "
                         << getInput().getType();
  if (getEpsilon().convertToFloat() < 0)
    return emitOpError() << "epsilon must not be negative";
  return success();
}

LogicalResult ActivationOp::verify() {
  ActivationKind kind = getKind();
  struct Param {
    StringRef name;
    bool present;
  };
  Param params[] = {{"min", getMinAttr() != nullptr},
                    {"max", getMaxAttr() != nullptr},
                    {"alpha", getAlphaAttr() != nullptr},
                    {"beta", getBetaAttr() != nullptr}};
  SmallVector<StringRef> needed;
  switch (kind) {
  case ActivationKind::Clip:
    needed = {"min", "max"};
    break;
  case ActivationKind::LeakyRelu:
    needed = {"alpha"};
    break;
  case ActivationKind::HardSigmoid:
    needed = {"alpha", "beta"};
    break;
  default:
    break;
  }
  for (const Param &p : params) {
    bool wanted = llvm::is_contained(needed, p.name);
    if (wanted && !p.present)
      return emitOpError() << "'" << stringifyActivationKind(kind)
                           << "' requires the attribute '" << p.name << "'";
    if (!wanted && p.present)
      return emitOpError() << "'" << stringifyActivationKind(kind)
                           << "' takes no attribute '" << p.name << "'";
  }
  if (kind == ActivationKind::Clip &&
      getMinAttr().getValueAsDouble() > getMaxAttr().getValueAsDouble())
    return emitOpError() << "clip bounds are inverted: min "
                         << getMinAttr().getValueAsDouble() << " > max "
                         << getMaxAttr().getValueAsDouble();
  return success();
}

/// NumPy broadcasting: shapes align at the right; each pair of dimensions is
/// equal or one of them is 1.
static LogicalResult verifyBroadcast(Operation *op, Value lhs, Value rhs,
                                     Value out) {
  if (failed(verifySameElementType(op)))
    return failure();
  auto a = shapeOf(lhs), b = shapeOf(rhs), o = shapeOf(out);
  int64_t rank = std::max(a.size(), b.size());
  if (failed(expectRank(op, "output", o, rank)))
    return failure();
  for (int64_t d = 0; d < rank; ++d) {
    int64_t da = d - rank + (int64_t)a.size();
    int64_t db = d - rank + (int64_t)b.size();
    int64_t x = da >= 0 ? a[da] : 1;
    int64_t y = db >= 0 ? b[db] : 1;
    if (x != y && x != 1 && y != 1)
      return op->emitOpError()
             << "operand shapes do not broadcast: dimension " << d << " is "
             << x << " in the left operand and " << y << " in the right";
    int64_t expected = x == 1 ? y : x;
    if (failed(expectDim(op, "output", o, d, expected,
                         "(broadcast of " + Twine(x) + " and " + Twine(y) +
                             ")")))
      return failure();
  }
  return success();
}

LogicalResult AddOp::verify() {
  return verifyBroadcast(*this, getLhs(), getRhs(), getOutput());
}

LogicalResult MulOp::verify() {
  return verifyBroadcast(*this, getLhs(), getRhs(), getOutput());
}

LogicalResult GlobalPoolOp::verify() {
  if (failed(verifySameElementType(*this)))
    return failure();
  auto in = shapeOf(getInput());
  auto out = shapeOf(getOutput());
  if (failed(expectDim(*this, "output", out, 0, in[0], "(the input batch)")) ||
      failed(expectDim(*this, "output", out, 1, in[1], "(the input channels)")) ||
      failed(expectDim(*this, "output", out, 2, 1, "(pooled)")) ||
      failed(expectDim(*this, "output", out, 3, 1, "(pooled)")))
    return failure();
  return success();
}

LogicalResult MatMulOp::verify() {
  if (failed(verifySameElementType(*this)))
    return failure();
  auto a = shapeOf(getLhs()), b = shapeOf(getRhs()), o = shapeOf(getOutput());
  if (failed(expectRank(*this, "lhs", a, 2)) ||
      failed(expectRank(*this, "rhs", b, 2)) ||
      failed(expectRank(*this, "output", o, 2)))
    return failure();
  int64_t m = getTransposeLhs() ? a[1] : a[0];
  int64_t k = getTransposeLhs() ? a[0] : a[1];
  int64_t kb = getTransposeRhs() ? b[1] : b[0];
  int64_t n = getTransposeRhs() ? b[0] : b[1];
  if (k != kb)
    return emitOpError() << "contraction sizes differ: lhs has " << k
                         << ", rhs has " << kb;
  if (failed(expectDim(*this, "output", o, 0, m, "(rows of lhs)")) ||
      failed(expectDim(*this, "output", o, 1, n, "(columns of rhs)")))
    return failure();
  if (Value bias = getBias()) {
    auto c = shapeOf(bias);
    bool ok = c.size() <= 2;
    for (int64_t d = 0; ok && d < (int64_t)c.size(); ++d) {
      int64_t target = o[2 - c.size() + d];
      ok = c[d] == 1 || c[d] == target;
    }
    if (!ok)
      return emitOpError() << "bias of type " << bias.getType()
                           << " does not broadcast to the output "
                           << getOutput().getType();
  }
  return success();
}

LogicalResult SoftmaxOp::verify() {
  int64_t rank = shapeOf(getInput()).size();
  int64_t axis = getAxis();
  if (axis < 0 || axis >= rank)
    return emitOpError() << "axis " << axis << " is out of range [0, " << rank
                         << ")";
  return success();
}

LogicalResult ConcatOp::verify() {
  if (getInputs().empty())
    return emitOpError() << "needs at least one input";
  if (failed(verifySameElementType(*this)))
    return failure();
  auto out = shapeOf(getOutput());
  int64_t rank = out.size();
  int64_t axis = getAxis();
  if (axis < 0 || axis >= rank)
    return emitOpError() << "axis " << axis << " is out of range [0, " << rank
                         << ")";
  int64_t total = 0;
  for (auto [i, v] : llvm::enumerate(getInputs())) {
    auto s = shapeOf(v);
    if ((int64_t)s.size() != rank)
      return emitOpError() << "input #" << i << " has rank " << s.size()
                           << ", expected " << rank;
    for (int64_t d = 0; d < rank; ++d)
      if (d != axis && s[d] != out[d])
        return emitOpError() << "input #" << i << " dimension "
                             << describeDim(d, rank) << " is " << s[d]
                             << ", expected " << out[d]
                             << " (only the axis may differ)";
    total += s[axis];
  }
  return expectDim(*this, "output", out, axis, total,
                   "(the sum of the inputs along axis " + Twine(axis) + ")");
}

LogicalResult ReshapeOp::verify() {
  if (failed(verifySameElementType(*this)))
    return failure();
  auto in = cast<RankedTensorType>(getInput().getType());
  auto out = cast<RankedTensorType>(getOutput().getType());
  if (in.getNumElements() != out.getNumElements())
    return emitOpError() << "cannot reshape " << in.getNumElements()
                         << " elements into " << out.getNumElements();
  return success();
}

LogicalResult FlattenOp::verify() {
  if (failed(verifySameElementType(*this)))
    return failure();
  auto in = shapeOf(getInput());
  auto out = shapeOf(getOutput());
  int64_t rank = in.size();
  int64_t axis = getAxis();
  if (axis < 0 || axis > rank)
    return emitOpError() << "axis " << axis << " is out of range [0, " << rank
                         << "]";
  if (failed(expectRank(*this, "output", out, 2)))
    return failure();
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < rank; ++d)
    (d < axis ? outer : inner) *= in[d];
  if (failed(expectDim(*this, "output", out, 0, outer,
                       "(product of the dimensions before axis " +
                           Twine(axis) + ")")) ||
      failed(expectDim(*this, "output", out, 1, inner,
                       "(product of the dimensions from axis " + Twine(axis) +
                           " on)")))
    return failure();
  return success();
}

LogicalResult FusionRegionOp::verify() {
  Block &body = getBody().front();
  if (body.getNumArguments() != getInputs().size())
    return emitOpError() << "body has " << body.getNumArguments()
                         << " arguments, expected one per operand ("
                         << getInputs().size() << ")";
  for (auto [i, pair] :
       llvm::enumerate(llvm::zip(getInputs(), body.getArguments()))) {
    auto [operand, arg] = pair;
    if (operand.getType() != arg.getType())
      return emitOpError() << "body argument #" << i << " has type "
                           << arg.getType() << ", expected the operand type "
                           << operand.getType();
  }
  auto yield = body.empty() ? YieldOp() : dyn_cast<YieldOp>(body.back());
  if (!yield)
    return emitOpError() << "body must end with 'df.yield'";
  if (yield.getValues().size() != getNumResults())
    return yield.emitOpError()
           << "yields " << yield.getValues().size() << " values, the region has "
           << getNumResults() << " results";
  for (auto [i, pair] :
       llvm::enumerate(llvm::zip(yield.getValues(), getResultTypes()))) {
    auto [value, type] = pair;
    if (value.getType() != type)
      return yield.emitOpError() << "value #" << i << " has type "
                                 << value.getType() << ", the region result is "
                                 << type;
  }
  return success();
}
