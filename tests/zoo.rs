//! The built-in zoo: torchvision's parameter and MAC counts, torchvision's
//! state-dict names and shapes, and IR that parses and verifies.

use deepfuse::{
    cli::zoo::{ZooArgs, run},
    context::create_context,
    dialects::source,
    zoo::{self, Network},
};
use libtest_mimic::{Failed, Trial};
use melior::ir::operation::OperationLike;

fn check(name: String, body: impl FnOnce() -> Result<(), Failed> + Send + 'static) -> Trial {
    Trial::test(format!("zoo::{name}"), move || crate::catching(body))
}

/// (network, parameters, MACs at the default size, torchvision's GFLOPS as
/// its documentation rounds them). torchvision counts `Inception3` with its
/// auxiliary classifier (27,161,264 parameters); without it, as here, the
/// count is 27,161,264 - 3,326,696 = 23,834,568.
const COUNTS: &[(&str, u64, u64, &str)] = &[
    ("resnet18", 11_689_512, 1_814_073_344, "1.81"),
    ("resnet50", 25_557_032, 4_089_184_256, "4.09"),
    ("vgg16", 138_357_544, 15_470_264_320, "15.47"),
    ("googlenet", 6_624_904, 1_498_376_192, "1.50"),
    ("inception_v3", 23_834_568, 5_713_216_096, "5.71"),
    ("mobilenet_v2", 3_504_872, 300_774_272, "0.30"),
    ("tiny", 1_678, 134_352, "0.00"),
];

/// Small inputs each network accepts, for the tests that evaluate them.
const SMALL_SIZES: &[(&str, usize)] = &[
    ("resnet18", 32),
    ("resnet50", 32),
    ("vgg16", 32),
    ("googlenet", 32),
    ("inception_v3", 75),
    ("mobilenet_v2", 32),
    ("tiny", 8),
];

pub fn trials() -> Vec<Trial> {
    let mut trials = Vec::new();
    for &(name, params, macs, gflops) in COUNTS {
        trials.push(check(format!("counts::{name}"), move || {
            counts(name, params, macs, gflops)
        }));
        trials.push(check(format!("verifies::{name}"), move || {
            verifies(name, None)
        }));
    }
    for &(name, size) in SMALL_SIZES {
        trials.push(check(format!("verifies_small::{name}"), move || {
            verifies(name, Some(size))
        }));
    }
    trials.push(check("torchvision_names".into(), torchvision_names));
    trials.push(check("cli_lists_and_rejects".into(), || {
        cli_lists_and_rejects()
    }));
    trials
}

fn counts(name: &str, params: u64, macs: u64, gflops: &str) -> Result<(), Failed> {
    let network = zoo::build(name, None)?;
    assert_eq!(network.parameter_count(), params, "{name} parameters");
    assert_eq!(network.macs, macs, "{name} MACs");
    assert_eq!(format!("{:.2}", macs as f64 / 1e9), gflops);
    Ok(())
}

fn verifies(name: &str, size: Option<usize>) -> Result<(), Failed> {
    let network = zoo::build(name, size)?;
    let context = create_context();
    let module = source::parse_source(&context, &network.text, name)
        .ok_or_else(|| format!("{name} does not parse:\n{}", network.text))?;
    if !module.as_operation().verify() {
        return Err(format!("{name} does not verify").into());
    }
    if let Some(size) = size {
        assert_eq!(network.input_shape, [1, 3, size, size]);
    }
    let classes = if name == "tiny" { 10 } else { 1000 };
    assert_eq!(network.output_shape, [1, classes]);
    Ok(())
}

fn param_shape<'n>(network: &'n Network, name: &str) -> Option<&'n [usize]> {
    network
        .params
        .iter()
        .find(|p| p.name == name)
        .map(|p| p.shape.as_slice())
}

/// A sample of each network's state-dict keys with torchvision's shapes.
fn torchvision_names() -> Result<(), Failed> {
    let expected: &[(&str, &str, &[usize])] = &[
        ("resnet18", "layer2.0.downsample.0.weight", &[128, 64, 1, 1]),
        ("resnet18", "layer4.1.bn2.running_var", &[512]),
        ("resnet50", "layer1.0.conv3.weight", &[256, 64, 1, 1]),
        ("resnet50", "layer3.5.conv2.weight", &[256, 256, 3, 3]),
        ("resnet50", "fc.weight", &[1000, 2048]),
        ("vgg16", "features.28.weight", &[512, 512, 3, 3]),
        ("vgg16", "classifier.0.weight", &[4096, 25088]),
        ("vgg16", "classifier.6.bias", &[1000]),
        (
            "googlenet",
            "inception4e.branch3.1.conv.weight",
            &[128, 32, 3, 3],
        ),
        ("googlenet", "inception5b.branch4.1.bn.running_mean", &[128]),
        (
            "inception_v3",
            "Mixed_6e.branch7x7dbl_5.conv.weight",
            &[192, 192, 1, 7],
        ),
        (
            "inception_v3",
            "Mixed_7c.branch_pool.conv.weight",
            &[192, 2048, 1, 1],
        ),
        ("mobilenet_v2", "features.1.conv.1.weight", &[16, 32, 1, 1]),
        ("mobilenet_v2", "features.2.conv.1.0.weight", &[96, 1, 3, 3]),
        ("mobilenet_v2", "features.18.0.weight", &[1280, 320, 1, 1]),
        ("mobilenet_v2", "classifier.1.weight", &[1000, 1280]),
    ];
    for &(net, param, shape) in expected {
        let network = zoo::build(net, None)?;
        assert_eq!(param_shape(&network, param), Some(shape), "{net} {param}");
    }
    // No aux heads, and names are unique.
    let googlenet = zoo::build("googlenet", None)?;
    assert!(googlenet.params.iter().all(|p| !p.name.starts_with("aux")));
    for net in ["resnet50", "inception_v3"] {
        let network = zoo::build(net, None)?;
        let mut names: Vec<&str> = network.params.iter().map(|p| p.name.as_str()).collect();
        names.sort_unstable();
        let count = names.len();
        names.dedup();
        assert_eq!(names.len(), count, "{net} repeats a parameter name");
    }
    Ok(())
}

fn cli_lists_and_rejects() -> Result<(), Failed> {
    let args = |name: Option<&str>, size: Option<usize>, list: bool| ZooArgs {
        name: name.map(Into::into),
        output: Some(std::env::temp_dir().join("deepfuse-zoo-unused.mlir")),
        input_size: size,
        seed: 0,
        list,
    };
    let listing = run(&args(None, None, true))?;
    for &(name, params, ..) in COUNTS {
        let row = listing
            .lines()
            .find(|line| line.split_whitespace().next() == Some(name))
            .ok_or_else(|| format!("{name} missing from:\n{listing}"))?;
        assert!(row.contains(&deepfuse::cli::thousands(params)), "{row}");
    }
    let error = run(&args(Some("alexnet"), None, false)).unwrap_err();
    assert!(
        error.starts_with("unknown network 'alexnet'; the zoo has: resnet18"),
        "{error}"
    );
    let error = run(&args(Some("inception_v3"), Some(64), false)).unwrap_err();
    assert!(
        error.starts_with("inception_v3 at input size 64: "),
        "{error}"
    );
    let error = run(&args(Some("vgg16"), Some(64), false)).unwrap_err();
    assert!(error.contains("splits unevenly"), "{error}");
    Ok(())
}
