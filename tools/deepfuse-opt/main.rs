//! `deepfuse-opt`: run deepfuse and MLIR passes on `.mlir` files, like `mlir-opt`.

fn main() {
    std::process::exit(deepfuse::opt::main(std::env::args_os()));
}
