#!/usr/bin/env python3
"""Builds the ONNX fixtures of the importer tests (tests/fixtures/onnx/).

For every model: NAME.onnx, NAME.input.npy (a seeded input) and
NAME.expected.npy (onnxruntime's output on it, all graph optimisations off).
Models named error_*.onnx are inputs the importer must refuse; they have no
.npy files. The tests only read these files: run this script again (and
review the diff) after changing a fixture.

    pip install onnx onnxruntime numpy
    python3 scripts/make_onnx_fixtures.py [--out tests/fixtures/onnx]

Fixtures are small (channels <= 16, images <= 16x16) so that all of them
stay well under 2 MB together.
"""

import argparse
import hashlib
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

FLOAT = TensorProto.FLOAT
FIXTURES = {}


def fixture(name):
    """Registers a builder: it returns (graph pieces, opset, input shape)."""

    def register(builder):
        FIXTURES[name] = builder
        return builder

    return register


def rng_for(name):
    seed = int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "little")
    return np.random.default_rng(seed)


class Graph:
    """Collects nodes and initializers of one fixture."""

    def __init__(self, name):
        self.name = name
        self.rng = rng_for(name)
        self.nodes = []
        self.initializers = []
        self.counter = 0

    def weight(self, name, shape, scale=0.5):
        data = (self.rng.standard_normal(shape) * scale).astype(np.float32)
        self.initializers.append(numpy_helper.from_array(data, name))
        return name

    def positive(self, name, shape):
        data = self.rng.uniform(0.5, 1.5, shape).astype(np.float32)
        self.initializers.append(numpy_helper.from_array(data, name))
        return name

    def const(self, name, array):
        self.initializers.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(self, op, inputs, outputs=None, name=None, **attrs):
        """Adds a node; outputs default to one fresh name. `name=""` leaves
        the node unnamed (the importer then labels it op_type#index)."""
        self.counter += 1
        if outputs is None:
            outputs = [f"{op.lower()}_{self.counter}"]
        if name is None:
            name = f"{op.lower()}{self.counter}"
        self.nodes.append(helper.make_node(op, inputs, outputs, name=name, **attrs))
        return outputs[0] if len(outputs) == 1 else outputs

    def conv_bn_relu(self, x, cin, cout, prefix, k=3, stride=1, pad=1, group=1, act="Relu"):
        w = self.weight(f"{prefix}.weight", (cout, cin // group, k, k))
        y = self.node("Conv", [x, w], name=f"{prefix}/conv", kernel_shape=[k, k],
                      strides=[stride, stride], pads=[pad] * 4, group=group)
        y = self.bn(y, cout, f"{prefix}/bn")
        if act == "Relu":
            y = self.node("Relu", [y], name=f"{prefix}/relu")
        elif act == "Relu6":
            lo = self.const(f"{prefix}.min", np.array(0.0, np.float32))
            hi = self.const(f"{prefix}.max", np.array(6.0, np.float32))
            y = self.node("Clip", [y, lo, hi], name=f"{prefix}/relu6")
        return y

    def bn(self, x, c, name):
        s = self.weight(f"{name}.scale", (c,))
        b = self.weight(f"{name}.bias", (c,))
        m = self.weight(f"{name}.mean", (c,), 0.1)
        v = self.positive(f"{name}.var", (c,))
        return self.node("BatchNormalization", [x, s, b, m, v], name=name, epsilon=1e-5)


def build(name, body, opset, input_shape):
    g = Graph(name)
    y = body(g, "x")
    x_info = helper.make_tensor_value_info("x", FLOAT, list(input_shape))
    # The output shape is filled in from onnxruntime's result (the importer
    # infers every shape itself and never reads it).
    y_info = helper.make_tensor_value_info(y, FLOAT, None)
    graph = helper.make_graph(g.nodes, name, [x_info], [y_info], initializer=g.initializers)
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", opset)],
        producer_name="deepfuse-fixtures",
    )
    model.ir_version = helper.find_min_ir_version_for([helper.make_opsetid("", opset)])
    return model, g


def run_ort(model_or_path, x):
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(model_or_path, options, providers=["CPUExecutionProvider"])
    (y,) = session.run(None, {session.get_inputs()[0].name: x})
    return y


def save(out, name, body, opset, input_shape, external=False):
    model, g = build(name, body, opset, input_shape)
    x = g.rng.standard_normal(input_shape).astype(np.float32)
    y = run_ort(model.SerializeToString(), x)
    output_type = model.graph.output[0].type.tensor_type
    output_type.shape.Clear()
    for dim in y.shape:
        output_type.shape.dim.add().dim_value = dim
    onnx.checker.check_model(model, full_check=True)
    path = os.path.join(out, f"{name}.onnx")
    if external:
        data = f"{name}.onnx.data"
        if os.path.exists(os.path.join(out, data)):
            os.remove(os.path.join(out, data))
        onnx.save_model(model, path, save_as_external_data=True, all_tensors_to_one_file=True,
                        location=data, size_threshold=0)
    else:
        onnx.save_model(model, path)
    # The saved file (with its external data) must give the same result.
    assert np.array_equal(run_ort(path, x), y), name
    np.save(os.path.join(out, f"{name}.input.npy"), x)
    np.save(os.path.join(out, f"{name}.expected.npy"), y.astype(np.float32))


# --- Conv -------------------------------------------------------------------

@fixture("conv_basic")
def _(g, x):
    w = g.weight("w", (8, 3, 3, 3))
    b = g.weight("b", (8,))
    return g.node("Conv", [x, w, b], name="conv1", kernel_shape=[3, 3], pads=[1, 1, 1, 1])


@fixture("conv_group_dilation_asym_pads")
def _(g, x):
    w = g.weight("w", (8, 2, 3, 3))
    return g.node("Conv", [x, w], name="conv", group=2, dilations=[2, 1], strides=[2, 1],
                  pads=[0, 1, 2, 1])


@fixture("conv_depthwise")
def _(g, x):
    w = g.weight("dw", (4, 1, 3, 3))
    b = g.weight("db", (4,))
    return g.node("Conv", [x, w, b], name="dw", group=4, strides=[2, 2], pads=[1, 1, 1, 1])


@fixture("conv_same_upper")
def _(g, x):
    w = g.weight("w", (6, 3, 4, 3))
    return g.node("Conv", [x, w], name="conv", strides=[2, 2], auto_pad="SAME_UPPER")


@fixture("conv_same_lower")
def _(g, x):
    w = g.weight("w", (6, 3, 4, 4))
    return g.node("Conv", [x, w], name="conv", strides=[3, 2], auto_pad="SAME_LOWER")


@fixture("conv_valid_unnamed")
def _(g, x):
    w = g.weight("w", (5, 3, 3, 2))
    return g.node("Conv", [x, w], name="", auto_pad="VALID", strides=[1, 2])


# --- Normalisation, activations ------------------------------------------------

@fixture("batchnorm")
def _(g, x):
    return g.bn(x, 4, "bn")


@fixture("relu")
def _(g, x):
    return g.node("Relu", [x])


@fixture("sigmoid")
def _(g, x):
    return g.node("Sigmoid", [x])


@fixture("tanh")
def _(g, x):
    return g.node("Tanh", [x])


@fixture("leaky_relu")
def _(g, x):
    return g.node("LeakyRelu", [x], alpha=0.2)


@fixture("hard_sigmoid")
def _(g, x):
    return g.node("HardSigmoid", [x], alpha=0.3, beta=0.4)


@fixture("hard_swish")
def _(g, x):
    return g.node("HardSwish", [x])


@fixture("clip_inputs")
def _(g, x):
    lo = g.const("lo", np.array(-0.5, np.float32))
    hi = g.const("hi", np.array(0.75, np.float32))
    return g.node("Clip", [x, lo, hi], name="clip")


@fixture("clip_max_only")
def _(g, x):
    hi = g.const("hi", np.array(0.5, np.float32))
    return g.node("Clip", [x, "", hi], name="clip")


@fixture("clip_attributes_opset10")
def _(g, x):
    return g.node("Clip", [x], name="clip", min=-0.25, max=1.0)


# --- Pools ---------------------------------------------------------------------

@fixture("maxpool")
def _(g, x):
    return g.node("MaxPool", [x], name="pool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])


@fixture("maxpool_ceil_asym")
def _(g, x):
    return g.node("MaxPool", [x], name="pool", kernel_shape=[3, 2], strides=[2, 2],
                  pads=[0, 1, 1, 0], ceil_mode=1)


@fixture("maxpool_same_upper")
def _(g, x):
    return g.node("MaxPool", [x], name="pool", kernel_shape=[3, 3], strides=[2, 2],
                  auto_pad="SAME_UPPER")


@fixture("avgpool")
def _(g, x):
    return g.node("AveragePool", [x], name="pool", kernel_shape=[2, 2], strides=[2, 2])


@fixture("avgpool_pads_exclude")
def _(g, x):
    return g.node("AveragePool", [x], name="pool", kernel_shape=[3, 3], strides=[2, 2],
                  pads=[1, 0, 1, 2])


@fixture("avgpool_pads_include")
def _(g, x):
    return g.node("AveragePool", [x], name="pool", kernel_shape=[3, 3], strides=[1, 2],
                  pads=[1, 1, 0, 1], count_include_pad=1)


@fixture("avgpool_ceil")
def _(g, x):
    return g.node("AveragePool", [x], name="pool", kernel_shape=[3, 3], strides=[2, 2],
                  pads=[1, 1, 1, 1], ceil_mode=1)


@fixture("global_average_pool")
def _(g, x):
    return g.node("GlobalAveragePool", [x])


@fixture("global_max_pool")
def _(g, x):
    return g.node("GlobalMaxPool", [x])


@fixture("reduce_mean_spatial_opset18")
def _(g, x):
    # torch.onnx.export(dynamo=True) writes adaptive average pooling so.
    axes = g.const("axes", np.array([-1, -2], np.int64))
    m = g.node("ReduceMean", [x, axes], name="mean", keepdims=0)
    w = g.weight("w", (7, 3))
    return g.node("Gemm", [m, w], name="fc", transB=1)


@fixture("reduce_max_spatial_opset13")
def _(g, x):
    return g.node("ReduceMax", [x], name="max", axes=[2, 3], keepdims=1)


# --- Arithmetic ----------------------------------------------------------------

@fixture("add_broadcast")
def _(g, x):
    c = g.weight("bias", (4, 1, 1))
    return g.node("Add", [x, c], name="add")


@fixture("mul_scalar_constant_node")
def _(g, x):
    c = g.node("Constant", [], ["half"], name="half_const",
               value=numpy_helper.from_array(np.array(0.5, np.float32)))
    return g.node("Mul", [c, x], name="mul")


@fixture("mul_sub_branches")
def _(g, x):
    a = g.node("Sigmoid", [x], name="gate")
    m = g.node("Mul", [x, a], name="silu")
    mean = g.weight("mean", (1, 4, 1, 1))
    return g.node("Sub", [m, mean], name="center")


# --- Fully connected, reshapes -------------------------------------------------

@fixture("gemm_alpha_beta")
def _(g, x):
    f = g.node("Flatten", [x], name="flatten")
    w = g.weight("fc.weight", (10, 32))
    b = g.weight("fc.bias", (10,))
    return g.node("Gemm", [f, w, b], name="fc", alpha=0.5, beta=2.0, transB=1)


@fixture("gemm_trans_a")
def _(g, x):
    shape = g.const("shape", np.array([16, 2], np.int64))
    r = g.node("Reshape", [x, shape], name="reshape")
    w = g.weight("w", (16, 5))
    c = g.weight("c", (1, 5))
    return g.node("Gemm", [r, w, c], name="gemm", transA=1)


@fixture("matmul")
def _(g, x):
    f = g.node("Flatten", [x], name="flatten", axis=-2)
    w = g.weight("w", (16, 6))
    return g.node("MatMul", [f, w], name="matmul")


@fixture("flatten_axis2")
def _(g, x):
    return g.node("Flatten", [x], name="flatten", axis=2)


@fixture("reshape_shape_arithmetic")
def _(g, x):
    # PyTorch's x.view(x.size(0), -1), as exporters write it.
    s = g.node("Shape", [x], name="/Shape")
    i = g.const("zero", np.array(0, np.int64))
    n = g.node("Gather", [s, i], name="/Gather", axis=0)
    axes = g.const("axes", np.array([0], np.int64))
    u = g.node("Unsqueeze", [n, axes], name="/Unsqueeze")
    m1 = g.const("minus_one", np.array([-1], np.int64))
    c = g.node("Concat", [u, m1], name="/Concat", axis=0)
    c = g.node("Cast", [c], name="/Cast", to=TensorProto.INT64)
    r = g.node("Reshape", [x, c], name="/Reshape")
    w = g.weight("w", (8, 32))
    return g.node("Gemm", [r, w], name="/fc/Gemm", transB=1)


@fixture("reshape_zero_copy_slice")
def _(g, x):
    s = g.node("Shape", [x], name="shape")
    starts = g.const("starts", np.array([0], np.int64))
    ends = g.const("ends", np.array([2], np.int64))
    head = g.node("Slice", [s, starts, ends], name="slice")
    tail = g.const("tail", np.array([2, -1], np.int64))
    spec = g.node("Concat", [head, tail], name="concat", axis=0)
    r = g.node("Reshape", [x, spec], name="reshape")
    zero = g.const("spec0", np.array([0, 0, -1], np.int64))
    return g.node("Reshape", [r, zero], name="reshape_back")


@fixture("squeeze_unsqueeze")
def _(g, x):
    p = g.node("GlobalAveragePool", [x], name="gap")
    axes = g.const("axes", np.array([2, 3], np.int64))
    s = g.node("Squeeze", [p, axes], name="squeeze")
    axes1 = g.const("axes1", np.array([-1], np.int64))
    return g.node("Unsqueeze", [s, axes1], name="unsqueeze")


@fixture("squeeze_unsqueeze_opset11")
def _(g, x):
    p = g.node("GlobalMaxPool", [x], name="gmp")
    s = g.node("Squeeze", [p], name="squeeze", axes=[3])
    return g.node("Unsqueeze", [s], name="unsqueeze", axes=[0])


@fixture("softmax_axis1")
def _(g, x):
    return g.node("Softmax", [x], name="softmax", axis=1)


@fixture("softmax_opset11_coerced")
def _(g, x):
    return g.node("Softmax", [x], name="softmax", axis=1)


@fixture("softmax_opset11_last_axis")
def _(g, x):
    f = g.node("Flatten", [x], name="flatten")
    return g.node("Softmax", [f], name="softmax")


# --- Pad, resize, no-ops -----------------------------------------------------

@fixture("pad_inputs")
def _(g, x):
    pads = g.const("pads", np.array([0, 0, 1, 2, 0, 1, 0, 3], np.int64))
    value = g.const("value", np.array(0.25, np.float32))
    return g.node("Pad", [x, pads, value], name="pad")


@fixture("pad_axes_opset18")
def _(g, x):
    pads = g.const("pads", np.array([2, 1, 0, 1], np.int64))
    axes = g.const("axes", np.array([-1, 1], np.int64))
    return g.node("Pad", [x, pads, "", axes], name="pad")


@fixture("pad_attributes_opset10")
def _(g, x):
    return g.node("Pad", [x], name="pad", pads=[0, 0, 2, 1, 0, 0, 0, 1], value=-1.0)


@fixture("resize_scales")
def _(g, x):
    scales = g.const("scales", np.array([1, 1, 2, 3], np.float32))
    return g.node("Resize", [x, "", scales], name="resize", mode="nearest")


@fixture("resize_sizes_asymmetric_opset11")
def _(g, x):
    roi = g.const("roi", np.array([], np.float32))
    scales = g.const("scales", np.array([], np.float32))
    sizes = g.const("sizes", np.array([1, 2, 8, 4], np.int64))
    return g.node("Resize", [x, roi, scales, sizes], name="resize", mode="nearest",
                  coordinate_transformation_mode="asymmetric", nearest_mode="floor")


@fixture("resize_axes_opset19")
def _(g, x):
    scales = g.const("scales", np.array([2, 2], np.float32))
    return g.node("Resize", [x, "", scales], name="resize", mode="nearest", axes=[2, 3],
                  coordinate_transformation_mode="half_pixel_symmetric")


@fixture("dropout_identity")
def _(g, x):
    d = g.node("Dropout", [x], name="dropout")
    i = g.node("Identity", [d], name="identity")
    return g.node("Relu", [i], name="relu")


# --- Small networks -------------------------------------------------------------

@fixture("net_residual_block")
def _(g, x):
    stem = g.conv_bn_relu(x, 3, 8, "stem")
    pool = g.node("MaxPool", [stem], name="stem/pool", kernel_shape=[3, 3], strides=[2, 2],
                  pads=[1, 1, 1, 1])
    a = g.conv_bn_relu(pool, 8, 8, "block/conv1")
    w = g.weight("block/conv2.weight", (8, 8, 3, 3))
    b = g.weight("block/conv2.bias", (8,))
    a = g.node("Conv", [a, w, b], name="block/conv2", pads=[1, 1, 1, 1])
    s = g.node("Add", [a, pool], name="block/add")
    s = g.node("Relu", [s], name="block/relu")
    p = g.node("GlobalAveragePool", [s], name="head/pool")
    f = g.node("Flatten", [p], name="head/flatten")
    fw = g.weight("fc.weight", (10, 8))
    fb = g.weight("fc.bias", (10,))
    y = g.node("Gemm", [f, fw, fb], name="head/fc", transB=1)
    return g.node("Softmax", [y], name="head/softmax", axis=1)


@fixture("net_inception_block")
def _(g, x):
    b1 = g.conv_bn_relu(x, 4, 4, "b1x1", k=1, pad=0)
    b3 = g.conv_bn_relu(x, 4, 3, "b3x3_reduce", k=1, pad=0)
    b3 = g.conv_bn_relu(b3, 3, 6, "b3x3")
    b5 = g.conv_bn_relu(x, 4, 2, "b5x5_reduce", k=1, pad=0)
    w5 = g.weight("b5x5.weight", (3, 2, 5, 5))
    b5 = g.node("Conv", [b5, w5], name="b5x5", pads=[2, 2, 2, 2])
    bp = g.node("AveragePool", [x], name="pool", kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                count_include_pad=0)
    bp = g.conv_bn_relu(bp, 4, 3, "pool_proj", k=1, pad=0)
    cat = g.node("Concat", [b1, b3, b5, bp], name="concat", axis=1)
    up_scales = g.const("up_scales", np.array([1, 1, 2, 2], np.float32))
    up = g.node("Resize", [cat, "", up_scales], name="upsample", mode="nearest")
    return g.node("MaxPool", [up], name="down", kernel_shape=[2, 2], strides=[2, 2])


@fixture("net_mobilenet_block")
def _(g, x):
    e = g.conv_bn_relu(x, 8, 16, "expand", k=1, pad=0, act="Relu6")
    d = g.conv_bn_relu(e, 16, 16, "depthwise", group=16, act="Relu6")
    # Squeeze-and-excite, as in MobileNetV3.
    se = g.node("GlobalAveragePool", [d], name="se/pool")
    w1 = g.weight("se.fc1.weight", (4, 16, 1, 1))
    b1 = g.weight("se.fc1.bias", (4,))
    se = g.node("Conv", [se, w1, b1], name="se/fc1")
    se = g.node("Relu", [se], name="se/relu")
    w2 = g.weight("se.fc2.weight", (16, 4, 1, 1))
    b2 = g.weight("se.fc2.bias", (16,))
    se = g.node("Conv", [se, w2, b2], name="se/fc2")
    se = g.node("HardSigmoid", [se], name="se/gate", alpha=1.0 / 6.0, beta=0.5)
    d = g.node("Mul", [d, se], name="se/scale")
    p = g.conv_bn_relu(d, 16, 8, "project", k=1, pad=0, act=None)
    s = g.node("Add", [x, p], name="residual")
    return g.node("HardSwish", [s], name="out")


@fixture("net_external_data")
def _(g, x):
    y = g.conv_bn_relu(x, 3, 8, "conv1")
    y = g.conv_bn_relu(y, 8, 8, "conv2", stride=2)
    y = g.node("GlobalAveragePool", [y], name="gap")
    y = g.node("Flatten", [y], name="flatten")
    w = g.weight("fc.weight", (8, 5))
    b = g.weight("fc.bias", (5,))
    return g.node("Gemm", [y, w, b], name="fc")


# name: (opset, input shape, external data)
SPECS = {
    "conv_basic": (13, (1, 3, 8, 8)),
    "conv_group_dilation_asym_pads": (17, (1, 4, 9, 7)),
    "conv_depthwise": (11, (1, 4, 7, 7)),
    "conv_same_upper": (13, (1, 3, 9, 8)),
    "conv_same_lower": (21, (1, 3, 10, 7)),
    "conv_valid_unnamed": (11, (1, 3, 6, 7)),
    "batchnorm": (15, (2, 4, 3, 5)),
    "relu": (14, (1, 3, 4, 4)),
    "sigmoid": (13, (2, 6)),
    "tanh": (13, (1, 2, 3)),
    "leaky_relu": (16, (1, 3, 4, 4)),
    "hard_sigmoid": (11, (1, 3, 4, 4)),
    "hard_swish": (14, (1, 3, 4, 4)),
    "clip_inputs": (13, (1, 3, 4, 4)),
    "clip_max_only": (12, (1, 3, 4, 4)),
    "clip_attributes_opset10": (10, (1, 3, 4, 4)),
    "maxpool": (12, (1, 2, 9, 9)),
    "maxpool_ceil_asym": (12, (1, 2, 8, 7)),
    "maxpool_same_upper": (11, (1, 2, 8, 9)),
    "avgpool": (11, (1, 2, 8, 8)),
    "avgpool_pads_exclude": (19, (1, 2, 9, 8)),
    "avgpool_pads_include": (13, (1, 2, 7, 8)),
    "avgpool_ceil": (21, (1, 2, 8, 8)),
    "global_average_pool": (13, (1, 5, 4, 3)),
    "global_max_pool": (13, (2, 3, 5, 5)),
    "reduce_mean_spatial_opset18": (18, (1, 3, 5, 4)),
    "reduce_max_spatial_opset13": (13, (2, 3, 4, 5)),
    "add_broadcast": (13, (1, 4, 3, 3)),
    "mul_scalar_constant_node": (13, (1, 4, 3, 3)),
    "mul_sub_branches": (14, (1, 4, 3, 3)),
    "gemm_alpha_beta": (13, (1, 2, 4, 4)),
    "gemm_trans_a": (11, (1, 2, 4, 4)),
    "matmul": (13, (1, 2, 4, 4)),
    "flatten_axis2": (13, (1, 2, 3, 4)),
    "reshape_shape_arithmetic": (13, (1, 2, 4, 4)),
    "reshape_zero_copy_slice": (14, (1, 4, 3, 2)),
    "squeeze_unsqueeze": (13, (1, 6, 3, 3)),
    "squeeze_unsqueeze_opset11": (11, (1, 6, 3, 3)),
    "softmax_axis1": (13, (1, 3, 2, 2)),
    "softmax_opset11_coerced": (11, (1, 3, 2, 2)),
    "softmax_opset11_last_axis": (11, (2, 3, 1, 2)),
    "pad_inputs": (13, (1, 2, 3, 3)),
    "pad_axes_opset18": (18, (1, 2, 3, 3)),
    "pad_attributes_opset10": (10, (1, 2, 3, 3)),
    "resize_scales": (13, (1, 2, 3, 3)),
    "resize_sizes_asymmetric_opset11": (11, (1, 2, 4, 2)),
    "resize_axes_opset19": (19, (1, 2, 3, 2)),
    "dropout_identity": (13, (1, 3, 4, 4)),
    "net_residual_block": (17, (1, 3, 16, 16)),
    "net_inception_block": (13, (1, 4, 8, 8)),
    "net_mobilenet_block": (14, (1, 8, 8, 8)),
    "net_external_data": (17, (1, 3, 8, 8), True),
}


# --- Models the importer must refuse ---------------------------------------------

def save_errors(out):
    def simple(name, nodes, x_info, inits=(), opset=13):
        y = helper.make_tensor_value_info(nodes[-1].output[0], FLOAT, [1])
        graph = helper.make_graph(nodes, name, [x_info], [y], initializer=list(inits))
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                                  producer_name="deepfuse-fixtures")
        model.ir_version = helper.find_min_ir_version_for([helper.make_opsetid("", opset)])
        onnx.checker.check_model(model)
        onnx.save_model(model, os.path.join(out, f"{name}.onnx"))

    x = helper.make_tensor_value_info("x", FLOAT, [1, 4, 8, 8])
    simple("error_unsupported_op", [
        helper.make_node("Relu", ["x"], ["r"], name="relu1"),
        helper.make_node("LRN", ["r"], ["y"], name="norm1", size=3),
    ], x)
    simple("error_dynamic_dim", [helper.make_node("Relu", ["x"], ["y"], name="relu1")],
           helper.make_tensor_value_info("x", FLOAT, ["batch", 4, 8, 8]))
    simple("error_int64_input", [helper.make_node("Cast", ["x"], ["y"], name="cast", to=FLOAT)],
           helper.make_tensor_value_info("x", TensorProto.INT64, [1, 4]))
    w = numpy_helper.from_array(np.ones((2, 4, 1, 1), np.float64), "w64")
    # Not a valid ONNX model (types disagree), as a file with a float64
    # weight: the importer must name the weight and its type.
    simple("error_double_weight", [helper.make_node("Conv", ["x", "w64"], ["y"], name="conv_double")],
           x, [w])
    simple("error_maxpool_dilation", [
        helper.make_node("MaxPool", ["x"], ["y"], name="pool", kernel_shape=[2, 2],
                         dilations=[2, 2]),
    ], x)


# --- torchvision exports (not committed: tens of MB each) -----------------------

TORCHVISION = {
    "resnet50": (1, 3, 224, 224),
    "vgg16": (1, 3, 224, 224),
    "googlenet": (1, 3, 224, 224),
    "inception_v3": (1, 3, 299, 299),
    "mobilenet_v2": (1, 3, 224, 224),
}


def export_torchvision(out, names, dynamo):
    """Exports torchvision's CNNs (seeded random weights: nothing is
    downloaded) at batch 1 with the TorchScript exporter at opset 17 (or,
    with dynamo, torch.export's exporter at opset 18, which needs onnxscript),
    with an input and onnxruntime's output, as the importer's acceptance check:

        python3 scripts/make_onnx_fixtures.py --torchvision /tmp/tv
        deepfuse import /tmp/tv/resnet50.onnx -o /tmp/tv/resnet50.mlir
        deepfuse run /tmp/tv/resnet50.mlir --reference \\
            --input /tmp/tv/resnet50.input.npy -o /tmp/tv/resnet50.out.npy

    Needs torch and torchvision (pip install torch torchvision).
    """
    import torch
    import torchvision

    os.makedirs(out, exist_ok=True)
    for name in names:
        torch.manual_seed(0)
        kwargs = {"init_weights": True} if name in ("googlenet", "inception_v3") else {}
        if name in ("googlenet", "inception_v3"):
            kwargs["aux_logits"] = False
        model = getattr(torchvision.models, name)(weights=None, **kwargs).eval()
        shape = TORCHVISION[name]
        x = torch.randn(*shape)
        if dynamo:
            name = f"{name}_dynamo"
        path = os.path.join(out, f"{name}.onnx")
        if dynamo:
            torch.onnx.export(model, (x,), path, opset_version=18, dynamo=True,
                              external_data=False)
        else:
            torch.onnx.export(model, (x,), path, opset_version=17, dynamo=False,
                              input_names=["input"], output_names=["logits"])
        y = run_ort(path, x.numpy())
        np.save(os.path.join(out, f"{name}.input.npy"), x.numpy())
        np.save(os.path.join(out, f"{name}.expected.npy"), y)
        print(f"exported {path} ({os.path.getsize(path)} bytes)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser.add_argument("--out", default=os.path.join(root, "tests", "fixtures", "onnx"))
    parser.add_argument("--torchvision", metavar="DIR",
                        help="instead, export torchvision's CNNs to DIR (needs torch)")
    parser.add_argument("--models", default=",".join(TORCHVISION),
                        help="with --torchvision: which models (comma-separated)")
    parser.add_argument("--dynamo", action="store_true",
                        help="with --torchvision: use the torch.export-based exporter")
    args = parser.parse_args()
    if args.torchvision:
        export_torchvision(args.torchvision, args.models.split(","), args.dynamo)
        return
    os.makedirs(args.out, exist_ok=True)
    for name, spec in SPECS.items():
        opset, shape = spec[0], spec[1]
        external = len(spec) > 2 and spec[2]
        save(args.out, name, FIXTURES[name], opset, shape, external)
    missing = set(FIXTURES) - set(SPECS)
    if missing:
        sys.exit(f"fixtures without a spec: {sorted(missing)}")
    save_errors(args.out)
    total = sum(os.path.getsize(os.path.join(args.out, f)) for f in os.listdir(args.out))
    print(f"wrote {len(SPECS)} fixtures and the error models to {args.out}: {total} bytes")
    if total > 2_000_000:
        sys.exit("the fixtures exceed 2 MB")


if __name__ == "__main__":
    main()
