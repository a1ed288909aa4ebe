#!/usr/bin/env python3
"""Times onnxruntime and IREE on ResNet-50 on this machine: the peer
figures that deepfuse's latency is judged against.

Builds torchvision's ResNet-50 (v1.5: stride on the 3x3 of each
bottleneck, batch norm folded into the convolutions' biases) as an ONNX
model with seeded weights, writes it, and times it on one thread, batch 1,
f32:

- onnxruntime with all graph optimisations on;
- IREE's CPU backend (local-sync device, one thread) under each flag set in
  IREE_FLAGS, if `iree-compile` is installed. IREE's defaults run
  convolutions as plain loops (over a second here); im2col with data
  tiling and microkernels was its fastest configuration we found.

The same file imports into deepfuse, so all of them run the same network:

    pip install onnx onnxruntime numpy iree-base-compiler iree-base-runtime
    python3 scripts/peers.py --out /tmp/resnet50.onnx --runs 20
    deepfuse import /tmp/resnet50.onnx -o /tmp/resnet50.mlir
    deepfuse bench /tmp/resnet50.mlir --runs 20
"""

import argparse
import re
import shutil
import statistics
import subprocess
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper


IREE_FLAGS = {
    "defaults": [],
    "O3, im2col, data tiling, ukernels": [
        "--iree-opt-level=O3",
        "--iree-global-opt-use-im2col-for-convs=true",
        "--iree-opt-data-tiling=true",
        "--iree-llvmcpu-enable-ukernels=all",
    ],
    "O3, im2col, data tiling": [
        "--iree-opt-level=O3",
        "--iree-global-opt-use-im2col-for-convs=true",
        "--iree-opt-data-tiling=true",
    ],
}


class Builder:
    """Collects the nodes and seeded weights of one graph."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes = []
        self.weights = []
        self.count = 0

    def name(self, kind):
        self.count += 1
        return f"{kind}{self.count}"

    def weight(self, shape, scale):
        name = self.name("w")
        data = (self.rng.standard_normal(shape) * scale).astype(np.float32)
        self.weights.append(numpy_helper.from_array(data, name))
        return name

    def node(self, op, inputs, **attrs):
        out = self.name(op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def conv(self, x, c, k, size, stride=1, relu=True):
        # He-scaled weights keep activations in range through 50 layers.
        w = self.weight([k, c, size, size], (2.0 / (c * size * size)) ** 0.5)
        b = self.weight([k], 0.01)
        pad = size // 2
        y = self.node(
            "Conv",
            [x, w, b],
            kernel_shape=[size, size],
            strides=[stride, stride],
            pads=[pad] * 4,
        )
        return self.node("Relu", [y]) if relu else y

    def bottleneck(self, x, c, width, stride):
        out = width * 4
        y = self.conv(x, c, width, 1)
        y = self.conv(y, width, width, 3, stride)
        y = self.conv(y, width, out, 1, relu=False)
        if stride != 1 or c != out:
            x = self.conv(x, c, out, 1, stride, relu=False)
        return self.node("Relu", [self.node("Add", [y, x])])


def resnet50(image):
    g = Builder(seed=50)
    x = g.conv("input", 3, 64, 7, 2)
    x = g.node("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1] * 4)
    c = 64
    for width, blocks, stride in [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)]:
        for i in range(blocks):
            x = g.bottleneck(x, c, width, stride if i == 0 else 1)
            c = width * 4
    x = g.node("Flatten", [g.node("GlobalAveragePool", [x])])
    w = g.weight([1000, c], (1.0 / c) ** 0.5)
    b = g.weight([1000], 0.01)
    y = g.node("Gemm", [x, w, b], transB=1)
    graph = helper.make_graph(
        g.nodes,
        "resnet50",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, image, image])],
        [helper.make_tensor_value_info(y, TensorProto.FLOAT, [1, 1000])],
        g.weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    return model


def time_onnxruntime(path, image, runs):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal([1, 3, image, image]).astype(np.float32)
    for _ in range(2):
        session.run(None, {"input": x})
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, {"input": x})
        times.append((time.perf_counter() - start) * 1e3)
    times.sort()
    print(
        f"onnxruntime {ort.__version__}: median {statistics.median(times):.2f} ms, "
        f"min {times[0]:.2f}, max {times[-1]:.2f} over {runs} runs"
    )


def time_iree(path, image, runs):
    if shutil.which("iree-compile") is None:
        print("IREE: not installed (pip install iree-base-compiler iree-base-runtime)")
        return
    with tempfile.TemporaryDirectory() as work:
        imported = f"{work}/model.mlir"
        subprocess.run(["iree-import-onnx", path, "-o", imported], check=True)
        for name, flags in IREE_FLAGS.items():
            module = f"{work}/model.vmfb"
            start = time.perf_counter()
            subprocess.run(
                [
                    "iree-compile",
                    imported,
                    "--iree-hal-target-device=local",
                    "--iree-hal-local-target-device-backends=llvm-cpu",
                    "--iree-llvmcpu-target-cpu=host",
                    *flags,
                    "-o",
                    module,
                ],
                check=True,
            )
            compile_s = time.perf_counter() - start
            bench = subprocess.run(
                [
                    "iree-benchmark-module",
                    "--device=local-sync",
                    f"--module={module}",
                    "--function=resnet50",
                    f"--input=1x3x{image}x{image}xf32=0.5",
                    f"--benchmark_repetitions={runs}",
                ],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            median = re.search(r"real_time_median\s+([0-9.]+) ms", bench)
            figure = f"median {median.group(1)} ms" if median else "no median in its output"
            print(f"IREE ({name}): {figure} over {runs} runs, compile {compile_s:.1f} s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="resnet50.onnx", help="where to write the model")
    parser.add_argument("--image", type=int, default=224, help="input height and width")
    parser.add_argument("--runs", type=int, default=20, help="timed runs after two warm-ups")
    args = parser.parse_args()

    model = resnet50(args.image)
    onnx.save(model, args.out)
    print(f"ResNet-50 {args.image}x{args.image}, 1 thread, batch 1, f32 ({args.out}):")
    time_onnxruntime(args.out, args.image, args.runs)
    time_iree(args.out, args.image, args.runs)


if __name__ == "__main__":
    main()
