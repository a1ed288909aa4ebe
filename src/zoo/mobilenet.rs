//! torchvision's MobileNetV2 (width 1.0): inverted residual blocks with
//! depthwise 3x3 convs and ReLU6.

use super::builder::{BuildResult, Builder, Conv, Network, Value};

/// torchvision's `BatchNorm2d` default epsilon.
const EPS: f32 = 1e-5;

/// `Conv2dNormActivation`: conv (no bias) -> bn -> ReLU6, as `{prefix}.0`
/// and `{prefix}.1`, with padding `(kernel - 1) / 2`.
fn conv_bn_relu6(
    b: &mut Builder,
    x: &Value,
    prefix: &str,
    out_channels: usize,
    kernel: usize,
    stride: usize,
    groups: usize,
) -> BuildResult<Value> {
    let conv = Conv::new(out_channels, kernel)
        .stride(stride)
        .pad((kernel - 1) / 2)
        .groups(groups);
    let y = b.conv(x, &format!("{prefix}.0"), conv)?;
    let y = b.batch_norm(&y, &format!("{prefix}.1"), EPS)?;
    Ok(b.relu6(&y, &format!("{prefix}.2")))
}

/// `InvertedResidual` `features.{index}`: optional 1x1 expansion, depthwise
/// 3x3, linear 1x1 projection, and a residual add when shapes allow.
fn inverted_residual(
    b: &mut Builder,
    x: &Value,
    index: usize,
    out_channels: usize,
    stride: usize,
    expand_ratio: usize,
) -> BuildResult<Value> {
    let prefix = format!("features.{index}.conv");
    let in_channels = x.channels();
    let hidden = in_channels * expand_ratio;
    // torchvision numbers the Sequential's modules; the expansion shifts
    // the others by one.
    let mut layer = 0;
    let mut y = x.clone();
    if expand_ratio != 1 {
        y = conv_bn_relu6(b, &y, &format!("{prefix}.{layer}"), hidden, 1, 1, 1)?;
        layer += 1;
    }
    y = conv_bn_relu6(
        b,
        &y,
        &format!("{prefix}.{layer}"),
        hidden,
        3,
        stride,
        hidden,
    )?;
    y = b.conv(
        &y,
        &format!("{prefix}.{}", layer + 1),
        Conv::new(out_channels, 1),
    )?;
    y = b.batch_norm(&y, &format!("{prefix}.{}", layer + 2), EPS)?;
    if stride == 1 && in_channels == out_channels {
        y = b.add(x, &y, &format!("features.{index}.add"))?;
    }
    Ok(y)
}

/// MobileNetV2 on a `size` x `size` image.
pub fn mobilenet_v2(size: usize) -> BuildResult<Network> {
    // (expansion t, output channels c, repeats n, first stride s).
    const SETTINGS: [(usize, usize, usize, usize); 7] = [
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    ];
    let mut b = Builder::new("mobilenet_v2", [1, 3, size, size]);
    let x = b.input();
    let mut y = conv_bn_relu6(&mut b, &x, "features.0", 32, 3, 2, 1)?;
    let mut index = 1;
    for (t, c, n, s) in SETTINGS {
        for i in 0..n {
            let stride = if i == 0 { s } else { 1 };
            y = inverted_residual(&mut b, &y, index, c, stride, t)?;
            index += 1;
        }
    }
    let y = conv_bn_relu6(&mut b, &y, &format!("features.{index}"), 1280, 1, 1, 1)?;
    let y = b.global_avg_pool(&y, "avgpool")?;
    let y = b.flatten(&y, "flatten");
    // classifier.0 is the dropout, the identity in eval mode.
    let y = b.linear(&y, "classifier.1", 1000)?;
    Ok(b.finish(&y))
}
