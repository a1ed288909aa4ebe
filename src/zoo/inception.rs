//! torchvision's Inception v3 in eval mode, without the auxiliary
//! classifier (`aux_logits=False`) and without `transform_input` (the
//! per-channel input re-normalisation torchvision enables only with its
//! pretrained weights; it has no parameters).

use super::builder::{BuildResult, Builder, Conv, Network, Pool, Value};

/// torchvision's `BasicConv2d` in Inception v3 uses `BatchNorm2d(eps=0.001)`.
const EPS: f32 = 1e-3;

/// `BasicConv2d`: conv (no bias) -> bn -> relu, as `{prefix}.conv` and
/// `{prefix}.bn`.
fn basic_conv(b: &mut Builder, x: &Value, prefix: &str, conv: Conv) -> BuildResult<Value> {
    let y = b.conv(x, &format!("{prefix}.conv"), conv)?;
    let y = b.batch_norm(&y, &format!("{prefix}.bn"), EPS)?;
    Ok(b.relu(&y, &format!("{prefix}.relu")))
}

/// A 1x7 (`[1, 7]`) or 7x1 conv with "same" padding.
fn rect(out_channels: usize, kernel: [usize; 2]) -> Conv {
    Conv::rect(out_channels, kernel, [kernel[0] / 2, kernel[1] / 2])
}

/// `F.avg_pool2d(x, 3, stride=1, padding=1)`: PyTorch counts the padding.
fn pool_branch(b: &mut Builder, x: &Value, name: &str) -> BuildResult<Value> {
    b.avg_pool(
        x,
        &format!("{name}.avg_pool"),
        Pool::new(3, 1, 1).count_pad(),
    )
}

fn inception_a(b: &mut Builder, x: &Value, name: &str, pool_features: usize) -> BuildResult<Value> {
    let p = |branch: &str| format!("{name}.{branch}");
    let b1 = basic_conv(b, x, &p("branch1x1"), Conv::new(64, 1))?;
    let b5 = basic_conv(b, x, &p("branch5x5_1"), Conv::new(48, 1))?;
    let b5 = basic_conv(b, &b5, &p("branch5x5_2"), Conv::new(64, 5).pad(2))?;
    let b3 = basic_conv(b, x, &p("branch3x3dbl_1"), Conv::new(64, 1))?;
    let b3 = basic_conv(b, &b3, &p("branch3x3dbl_2"), Conv::new(96, 3).pad(1))?;
    let b3 = basic_conv(b, &b3, &p("branch3x3dbl_3"), Conv::new(96, 3).pad(1))?;
    let bp = pool_branch(b, x, name)?;
    let bp = basic_conv(b, &bp, &p("branch_pool"), Conv::new(pool_features, 1))?;
    b.concat(&[b1, b5, b3, bp], name)
}

fn inception_b(b: &mut Builder, x: &Value, name: &str) -> BuildResult<Value> {
    let p = |branch: &str| format!("{name}.{branch}");
    let b3 = basic_conv(b, x, &p("branch3x3"), Conv::new(384, 3).stride(2))?;
    let bd = basic_conv(b, x, &p("branch3x3dbl_1"), Conv::new(64, 1))?;
    let bd = basic_conv(b, &bd, &p("branch3x3dbl_2"), Conv::new(96, 3).pad(1))?;
    let bd = basic_conv(b, &bd, &p("branch3x3dbl_3"), Conv::new(96, 3).stride(2))?;
    let bp = b.max_pool(x, &p("max_pool"), Pool::new(3, 2, 0))?;
    b.concat(&[b3, bd, bp], name)
}

fn inception_c(b: &mut Builder, x: &Value, name: &str, c7: usize) -> BuildResult<Value> {
    let p = |branch: &str| format!("{name}.{branch}");
    let b1 = basic_conv(b, x, &p("branch1x1"), Conv::new(192, 1))?;
    let b7 = basic_conv(b, x, &p("branch7x7_1"), Conv::new(c7, 1))?;
    let b7 = basic_conv(b, &b7, &p("branch7x7_2"), rect(c7, [1, 7]))?;
    let b7 = basic_conv(b, &b7, &p("branch7x7_3"), rect(192, [7, 1]))?;
    let bd = basic_conv(b, x, &p("branch7x7dbl_1"), Conv::new(c7, 1))?;
    let bd = basic_conv(b, &bd, &p("branch7x7dbl_2"), rect(c7, [7, 1]))?;
    let bd = basic_conv(b, &bd, &p("branch7x7dbl_3"), rect(c7, [1, 7]))?;
    let bd = basic_conv(b, &bd, &p("branch7x7dbl_4"), rect(c7, [7, 1]))?;
    let bd = basic_conv(b, &bd, &p("branch7x7dbl_5"), rect(192, [1, 7]))?;
    let bp = pool_branch(b, x, name)?;
    let bp = basic_conv(b, &bp, &p("branch_pool"), Conv::new(192, 1))?;
    b.concat(&[b1, b7, bd, bp], name)
}

fn inception_d(b: &mut Builder, x: &Value, name: &str) -> BuildResult<Value> {
    let p = |branch: &str| format!("{name}.{branch}");
    let b3 = basic_conv(b, x, &p("branch3x3_1"), Conv::new(192, 1))?;
    let b3 = basic_conv(b, &b3, &p("branch3x3_2"), Conv::new(320, 3).stride(2))?;
    let b7 = basic_conv(b, x, &p("branch7x7x3_1"), Conv::new(192, 1))?;
    let b7 = basic_conv(b, &b7, &p("branch7x7x3_2"), rect(192, [1, 7]))?;
    let b7 = basic_conv(b, &b7, &p("branch7x7x3_3"), rect(192, [7, 1]))?;
    let b7 = basic_conv(b, &b7, &p("branch7x7x3_4"), Conv::new(192, 3).stride(2))?;
    let bp = b.max_pool(x, &p("max_pool"), Pool::new(3, 2, 0))?;
    b.concat(&[b3, b7, bp], name)
}

fn inception_e(b: &mut Builder, x: &Value, name: &str) -> BuildResult<Value> {
    let p = |branch: &str| format!("{name}.{branch}");
    let b1 = basic_conv(b, x, &p("branch1x1"), Conv::new(320, 1))?;
    let b3 = basic_conv(b, x, &p("branch3x3_1"), Conv::new(384, 1))?;
    let b3a = basic_conv(b, &b3, &p("branch3x3_2a"), rect(384, [1, 3]))?;
    let b3b = basic_conv(b, &b3, &p("branch3x3_2b"), rect(384, [3, 1]))?;
    let b3 = b.concat(&[b3a, b3b], &p("branch3x3"))?;
    let bd = basic_conv(b, x, &p("branch3x3dbl_1"), Conv::new(448, 1))?;
    let bd = basic_conv(b, &bd, &p("branch3x3dbl_2"), Conv::new(384, 3).pad(1))?;
    let bda = basic_conv(b, &bd, &p("branch3x3dbl_3a"), rect(384, [1, 3]))?;
    let bdb = basic_conv(b, &bd, &p("branch3x3dbl_3b"), rect(384, [3, 1]))?;
    let bd = b.concat(&[bda, bdb], &p("branch3x3dbl"))?;
    let bp = pool_branch(b, x, name)?;
    let bp = basic_conv(b, &bp, &p("branch_pool"), Conv::new(192, 1))?;
    b.concat(&[b1, b3, bd, bp], name)
}

/// Inception v3 on a `size` x `size` image (299 in torchvision; 75 is the
/// smallest that fits).
pub fn inception_v3(size: usize) -> BuildResult<Network> {
    let mut b = Builder::new("inception_v3", [1, 3, size, size]);
    let x = b.input();
    let y = basic_conv(&mut b, &x, "Conv2d_1a_3x3", Conv::new(32, 3).stride(2))?;
    let y = basic_conv(&mut b, &y, "Conv2d_2a_3x3", Conv::new(32, 3))?;
    let y = basic_conv(&mut b, &y, "Conv2d_2b_3x3", Conv::new(64, 3).pad(1))?;
    let y = b.max_pool(&y, "maxpool1", Pool::new(3, 2, 0))?;
    let y = basic_conv(&mut b, &y, "Conv2d_3b_1x1", Conv::new(80, 1))?;
    let y = basic_conv(&mut b, &y, "Conv2d_4a_3x3", Conv::new(192, 3))?;
    let y = b.max_pool(&y, "maxpool2", Pool::new(3, 2, 0))?;
    let y = inception_a(&mut b, &y, "Mixed_5b", 32)?;
    let y = inception_a(&mut b, &y, "Mixed_5c", 64)?;
    let y = inception_a(&mut b, &y, "Mixed_5d", 64)?;
    let y = inception_b(&mut b, &y, "Mixed_6a")?;
    let y = inception_c(&mut b, &y, "Mixed_6b", 128)?;
    let y = inception_c(&mut b, &y, "Mixed_6c", 160)?;
    let y = inception_c(&mut b, &y, "Mixed_6d", 160)?;
    let y = inception_c(&mut b, &y, "Mixed_6e", 192)?;
    let y = inception_d(&mut b, &y, "Mixed_7a")?;
    let y = inception_e(&mut b, &y, "Mixed_7b")?;
    let y = inception_e(&mut b, &y, "Mixed_7c")?;
    let y = b.global_avg_pool(&y, "avgpool")?;
    let y = b.flatten(&y, "flatten");
    let y = b.linear(&y, "fc", 1000)?;
    Ok(b.finish(&y))
}
