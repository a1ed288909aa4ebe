// RUN: not deepfuse compile %s --scratchpad 64B 2>&1 | FileCheck %s --check-prefix=SMALL
// RUN: not deepfuse compile %s --emit obj 2>&1 | FileCheck %s --check-prefix=OBJ
// RUN: not deepfuse compile %s --emit so 2>&1 | FileCheck %s --check-prefix=SO
// RUN: not deepfuse compile %s --strategy fast 2>&1 | FileCheck %s --check-prefix=STRATEGY
// RUN: not deepfuse compile %s --scratchpad 1XB 2>&1 | FileCheck %s --check-prefix=SIZE
// RUN: deepfuse compile %s --emit obj -o %t.o && test -s %t.o
// RUN: deepfuse compile %s -o %t.so && test -s %t.so

// OBJ: deepfuse: error: --emit obj writes a binary file: give -o
// SO: deepfuse: error: --emit so writes a shared library: give -o
// STRATEGY: deepfuse: error: unknown strategy 'fast': use dp, greedy, layer or naive
// SIZE: deepfuse: error: invalid size '1XB': unknown unit 'XB'

func.func @net(%x: tensor<1x2x8x8xf32>) -> tensor<1x3x8x8xf32> {
  %w = df.param "w" : tensor<3x2x3x3xf32>
  // SMALL: errors.mlir:[[@LINE+2]]:8: error: df-form-fusion-regions: 'conv2d_0' cannot fit in a scratchpad of 64 bytes: its smallest tile needs
  // SMALL: deepfuse: error: {{.*}}errors.mlir: scheduling failed
  %c = df.conv2d %x, %w strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x2x8x8xf32>, tensor<3x2x3x3xf32>) -> tensor<1x3x8x8xf32>
  return %c : tensor<1x3x8x8xf32>
}
