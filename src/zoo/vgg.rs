//! torchvision's VGG-16 (configuration "D", without batch norm).

use super::builder::{BuildResult, Builder, Conv, Network, Pool};

/// Output channels of each 3x3 conv; `None` is a 2x2 max pool.
const CONFIG_D: [Option<usize>; 18] = [
    Some(64),
    Some(64),
    None,
    Some(128),
    Some(128),
    None,
    Some(256),
    Some(256),
    Some(256),
    None,
    Some(512),
    Some(512),
    Some(512),
    None,
    Some(512),
    Some(512),
    Some(512),
    None,
];

/// The classifier expects the features pooled to 7x7 (torchvision's
/// `AdaptiveAvgPool2d((7, 7))`).
const POOLED: usize = 7;

/// VGG-16 on a `size` x `size` image. The adaptive average pool to 7x7 is
/// the identity at 224 (and any size whose features are 7x7), a nearest
/// resize by 7 when the features are 1x1 (size 32 to 63), and an exact
/// average pool when they are a multiple of 7; other sizes pool unevenly in
/// PyTorch, which df cannot express, and are rejected.
pub fn vgg16(size: usize) -> BuildResult<Network> {
    let mut b = Builder::new("vgg16", [1, 3, size, size]);
    let mut y = b.input();
    // torchvision numbers the modules of `features` in order, ReLUs and
    // pools included.
    let mut index = 0;
    for layer in CONFIG_D {
        match layer {
            Some(channels) => {
                y = b.conv(
                    &y,
                    &format!("features.{index}"),
                    Conv::new(channels, 3).pad(1).bias(),
                )?;
                y = b.relu(&y, &format!("features.{}", index + 1));
                index += 2;
            }
            None => {
                y = b.max_pool(&y, &format!("features.{index}"), Pool::new(2, 2, 0))?;
                index += 1;
            }
        }
    }
    let side = y.shape()[2];
    y = match side {
        POOLED => y,
        1 => b.resize(&y, "avgpool", POOLED)?,
        _ if side.is_multiple_of(POOLED) => {
            let k = side / POOLED;
            b.avg_pool(&y, "avgpool", Pool::new(k, k, 0))?
        }
        _ => {
            return Err(format!(
                "the features are {side}x{side}, which the adaptive average pool to 7x7 splits \
                 unevenly; use a size that gives 1x1 or a multiple of 7 (such as 32, 224 or 448)"
            ));
        }
    };
    let y = b.flatten(&y, "flatten");
    let y = b.linear(&y, "classifier.0", 4096)?;
    let y = b.relu(&y, "classifier.1");
    let y = b.linear(&y, "classifier.3", 4096)?;
    let y = b.relu(&y, "classifier.4");
    let y = b.linear(&y, "classifier.6", 1000)?;
    Ok(b.finish(&y))
}
