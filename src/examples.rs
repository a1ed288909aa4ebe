//! Networks built into deepfuse, usable with no download.

/// A small residual CNN (conv, batch norm, pooling, a residual add, a fully
/// connected classifier) as an exporter leaves it, in the `df` dialect.
pub const TINY_CNN: &str = include_str!("examples/tiny_cnn.mlir");
