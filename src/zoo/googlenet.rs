//! torchvision's GoogLeNet (Inception v1 with batch norm), in eval mode
//! without the auxiliary classifiers. As in torchvision, the "5x5" branch
//! uses a 3x3 conv.

use super::builder::{BuildResult, Builder, Conv, Network, Pool, Value};

/// torchvision's `BasicConv2d` in GoogLeNet uses `BatchNorm2d(eps=0.001)`.
const EPS: f32 = 1e-3;

/// `BasicConv2d`: conv (no bias) -> bn -> relu, as `{prefix}.conv` and
/// `{prefix}.bn`.
fn basic_conv(b: &mut Builder, x: &Value, prefix: &str, conv: Conv) -> BuildResult<Value> {
    let y = b.conv(x, &format!("{prefix}.conv"), conv)?;
    let y = b.batch_norm(&y, &format!("{prefix}.bn"), EPS)?;
    Ok(b.relu(&y, &format!("{prefix}.relu")))
}

/// The channel counts of one Inception module.
struct Inception {
    ch1x1: usize,
    ch3x3red: usize,
    ch3x3: usize,
    ch5x5red: usize,
    ch5x5: usize,
    pool_proj: usize,
}

fn inception(b: &mut Builder, x: &Value, name: &str, c: Inception) -> BuildResult<Value> {
    let branch1 = basic_conv(b, x, &format!("{name}.branch1"), Conv::new(c.ch1x1, 1))?;
    let branch2 = basic_conv(b, x, &format!("{name}.branch2.0"), Conv::new(c.ch3x3red, 1))?;
    let branch2 = basic_conv(
        b,
        &branch2,
        &format!("{name}.branch2.1"),
        Conv::new(c.ch3x3, 3).pad(1),
    )?;
    let branch3 = basic_conv(b, x, &format!("{name}.branch3.0"), Conv::new(c.ch5x5red, 1))?;
    let branch3 = basic_conv(
        b,
        &branch3,
        &format!("{name}.branch3.1"),
        Conv::new(c.ch5x5, 3).pad(1),
    )?;
    let branch4 = b.max_pool(x, &format!("{name}.branch4.0"), Pool::new(3, 1, 1).ceil())?;
    let branch4 = basic_conv(
        b,
        &branch4,
        &format!("{name}.branch4.1"),
        Conv::new(c.pool_proj, 1),
    )?;
    b.concat(&[branch1, branch2, branch3, branch4], name)
}

/// GoogLeNet on a `size` x `size` image.
pub fn googlenet(size: usize) -> BuildResult<Network> {
    let mut b = Builder::new("googlenet", [1, 3, size, size]);
    let x = b.input();
    let y = basic_conv(&mut b, &x, "conv1", Conv::new(64, 7).stride(2).pad(3))?;
    let y = b.max_pool(&y, "maxpool1", Pool::new(3, 2, 0).ceil())?;
    let y = basic_conv(&mut b, &y, "conv2", Conv::new(64, 1))?;
    let y = basic_conv(&mut b, &y, "conv3", Conv::new(192, 3).pad(1))?;
    let mut y = b.max_pool(&y, "maxpool2", Pool::new(3, 2, 0).ceil())?;
    #[rustfmt::skip]
    let modules: [(&str, [usize; 6]); 9] = [
        ("inception3a", [64, 96, 128, 16, 32, 32]),
        ("inception3b", [128, 128, 192, 32, 96, 64]),
        ("inception4a", [192, 96, 208, 16, 48, 64]),
        ("inception4b", [160, 112, 224, 24, 64, 64]),
        ("inception4c", [128, 128, 256, 24, 64, 64]),
        ("inception4d", [112, 144, 288, 32, 64, 64]),
        ("inception4e", [256, 160, 320, 32, 128, 128]),
        ("inception5a", [256, 160, 320, 32, 128, 128]),
        ("inception5b", [384, 192, 384, 48, 128, 128]),
    ];
    for (name, [ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj]) in modules {
        let channels = Inception {
            ch1x1,
            ch3x3red,
            ch3x3,
            ch5x5red,
            ch5x5,
            pool_proj,
        };
        y = inception(&mut b, &y, name, channels)?;
        match name {
            "inception3b" => y = b.max_pool(&y, "maxpool3", Pool::new(3, 2, 0).ceil())?,
            "inception4e" => y = b.max_pool(&y, "maxpool4", Pool::new(2, 2, 0).ceil())?,
            _ => {}
        }
    }
    let y = b.global_avg_pool(&y, "avgpool")?;
    let y = b.flatten(&y, "flatten");
    // Dropout is the identity in eval mode.
    let y = b.linear(&y, "fc", 1000)?;
    Ok(b.finish(&y))
}
