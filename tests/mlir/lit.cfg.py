# lit configuration for deepfuse's .mlir tests.
#
#   DEEPFUSE_BIN_DIR=$PWD/target/debug /usr/lib/llvm-22/bin/lit -sv tests/mlir
#
# The same files run under `cargo test` (tests/entry.rs), which reads their
# RUN lines with the same substitutions.
import os

import lit.formats

config.name = "deepfuse"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir"]
config.excludes = ["Inputs", "lit.cfg.py"]
config.test_source_root = os.path.dirname(__file__)

root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
bin_dir = os.environ.get("DEEPFUSE_BIN_DIR", os.path.join(root, "target", "debug"))
llvm_bin = "/usr/lib/llvm-22/bin"

if not os.path.exists(os.path.join(bin_dir, "deepfuse-opt")):
    lit_config.fatal(f"no deepfuse-opt in {bin_dir}: build it first (cargo build)")

config.environment["PATH"] = os.pathsep.join([bin_dir, llvm_bin, config.environment.get("PATH", os.environ["PATH"])])
