//! A tiny CNN for tests: every op kind the big networks use, in a few
//! thousand parameters, on inputs from 8x8 up.

use super::builder::{BuildResult, Builder, Conv, Network, Pool};

/// The tiny CNN on a `size` x `size` image (16 by default; any size from 2
/// fits).
///
/// It holds what the canonicaliser rewrites, written as an exporter leaves
/// it: conv + batch norm, a biased conv + batch norm (the fold keeps the
/// bias), a conv followed by a separate per-channel bias add, and a matmul
/// with its bias. Around those: a residual add, a two-branch concat, max
/// and average pools (ceil mode, padding counted), a depthwise conv with
/// ReLU6, a global average pool and the classifier.
pub fn tiny(size: usize) -> BuildResult<Network> {
    let mut b = Builder::new("tiny", [1, 3, size, size]);
    let x = b.input();
    // Stem: conv -> bn -> relu -> max pool.
    let y = b.conv(&x, "stem.conv", Conv::new(8, 3).pad(1))?;
    let y = b.batch_norm(&y, "stem.bn", 1e-5)?;
    let y = b.relu(&y, "stem.relu");
    let stem = b.max_pool(&y, "stem.pool", Pool::new(2, 2, 0).ceil())?;

    // Residual block; the second conv has a bias and a batch norm.
    let y = b.conv(&stem, "block.conv1", Conv::new(8, 3).pad(1))?;
    let y = b.batch_norm(&y, "block.bn1", 1e-5)?;
    let y = b.relu(&y, "block.relu1");
    let y = b.conv(&y, "block.conv2", Conv::new(8, 3).pad(1).bias())?;
    let y = b.batch_norm(&y, "block.bn2", 1e-3)?;
    let y = b.add(&y, &stem, "block.add")?;
    let block = b.relu(&y, "block.relu");

    // Two branches, concatenated: a 1x1 conv with an exporter-style bias
    // add, and an average pool feeding a 1x1 conv.
    let left = b.conv(&block, "left.conv", Conv::new(4, 1))?;
    let left = b.bias_add(&left, "left.conv")?;
    let left = b.relu(&left, "left.relu");
    let right = b.avg_pool(&block, "right.pool", Pool::new(3, 1, 1).count_pad())?;
    let right = b.conv(&right, "right.conv", Conv::new(4, 1))?;
    let right = b.batch_norm(&right, "right.bn", 1e-5)?;
    let right = b.relu(&right, "right.relu");
    let y = b.concat(&[left, right], "concat")?;

    // Depthwise strided conv with ReLU6, as in MobileNet.
    let y = b.conv(&y, "dw.conv", Conv::new(8, 3).stride(2).pad(1).groups(8))?;
    let y = b.batch_norm(&y, "dw.bn", 1e-5)?;
    let y = b.relu6(&y, "dw.relu6");

    let y = b.global_avg_pool(&y, "avgpool")?;
    let y = b.flatten(&y, "flatten");
    let y = b.linear(&y, "fc", 10)?;
    Ok(b.finish(&y))
}
