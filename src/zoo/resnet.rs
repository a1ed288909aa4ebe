//! torchvision's ResNets (v1.5: the stride sits on the 3x3 conv of a
//! bottleneck): `resnet18` with basic blocks, `resnet50` with bottlenecks.

use super::builder::{BuildResult, Builder, Conv, Network, Pool, Value};

/// torchvision's `BatchNorm2d` default epsilon.
const EPS: f32 = 1e-5;

/// Which residual block a ResNet stacks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Block {
    /// Two 3x3 convs (ResNet-18/34).
    Basic,
    /// 1x1, 3x3, 1x1 with 4x expansion (ResNet-50/101/152).
    Bottleneck,
}

impl Block {
    fn expansion(self) -> usize {
        match self {
            Block::Basic => 1,
            Block::Bottleneck => 4,
        }
    }
}

/// `conv -> bn (-> relu)`, named `{prefix}conv{i}` / `{prefix}bn{i}`.
fn conv_bn(
    b: &mut Builder,
    x: &Value,
    prefix: &str,
    index: usize,
    conv: Conv,
    relu: bool,
) -> BuildResult<Value> {
    let y = b.conv(x, &format!("{prefix}conv{index}"), conv)?;
    let y = b.batch_norm(&y, &format!("{prefix}bn{index}"), EPS)?;
    Ok(if relu {
        b.relu(&y, &format!("{prefix}relu{index}"))
    } else {
        y
    })
}

/// One residual block `layer{l}.{i}`.
fn block(
    b: &mut Builder,
    x: &Value,
    kind: Block,
    prefix: &str,
    planes: usize,
    stride: usize,
) -> BuildResult<Value> {
    let out_channels = planes * kind.expansion();
    let y = match kind {
        Block::Basic => {
            let y = conv_bn(
                b,
                x,
                prefix,
                1,
                Conv::new(planes, 3).stride(stride).pad(1),
                true,
            )?;
            conv_bn(b, &y, prefix, 2, Conv::new(planes, 3).pad(1), false)?
        }
        Block::Bottleneck => {
            let y = conv_bn(b, x, prefix, 1, Conv::new(planes, 1), true)?;
            let y = conv_bn(
                b,
                &y,
                prefix,
                2,
                Conv::new(planes, 3).stride(stride).pad(1),
                true,
            )?;
            conv_bn(b, &y, prefix, 3, Conv::new(out_channels, 1), false)?
        }
    };
    let identity = if stride != 1 || x.channels() != out_channels {
        let d = b.conv(
            x,
            &format!("{prefix}downsample.0"),
            Conv::new(out_channels, 1).stride(stride),
        )?;
        b.batch_norm(&d, &format!("{prefix}downsample.1"), EPS)?
    } else {
        x.clone()
    };
    let sum = b.add(&y, &identity, &format!("{prefix}add"))?;
    Ok(b.relu(&sum, &format!("{prefix}relu")))
}

fn resnet(name: &str, kind: Block, layers: [usize; 4], size: usize) -> BuildResult<Network> {
    let mut b = Builder::new(name, [1, 3, size, size]);
    let x = b.input();
    let y = b.conv(&x, "conv1", Conv::new(64, 7).stride(2).pad(3))?;
    let y = b.batch_norm(&y, "bn1", EPS)?;
    let y = b.relu(&y, "relu");
    let mut y = b.max_pool(&y, "maxpool", Pool::new(3, 2, 1))?;
    for (stage, &blocks) in layers.iter().enumerate() {
        let planes = 64 << stage;
        for i in 0..blocks {
            let stride = if stage > 0 && i == 0 { 2 } else { 1 };
            y = block(
                &mut b,
                &y,
                kind,
                &format!("layer{}.{i}.", stage + 1),
                planes,
                stride,
            )?;
        }
    }
    let y = b.global_avg_pool(&y, "avgpool")?;
    let y = b.flatten(&y, "flatten");
    let y = b.linear(&y, "fc", 1000)?;
    Ok(b.finish(&y))
}

/// ResNet-18 on a `size` x `size` image.
pub fn resnet18(size: usize) -> BuildResult<Network> {
    resnet("resnet18", Block::Basic, [2, 2, 2, 2], size)
}

/// ResNet-50 on a `size` x `size` image.
pub fn resnet50(size: usize) -> BuildResult<Network> {
    resnet("resnet50", Block::Bottleneck, [3, 4, 6, 3], size)
}
