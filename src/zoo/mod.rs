//! The built-in model zoo: torchvision's classic CNNs (and a tiny one for
//! tests) as df IR, with torchvision's exact layer shapes and state-dict
//! parameter names, batch 1, f32, in eval mode.
//!
//! Convolutions come as an exporter leaves them: a conv without bias
//! followed by `df.batch_norm` (`df-canonicalize` folds them), and each
//! `Linear` as `df.flatten` + `df.matmul ... transpose_rhs` with a bias.
//! [`weights`] draws deterministic seeded values for every parameter.

pub mod builder;
pub mod googlenet;
pub mod inception;
pub mod mobilenet;
pub mod resnet;
pub mod tiny;
pub mod vgg;
pub mod weights;

pub use builder::Network;

/// One network of the zoo.
#[derive(Clone, Copy, Debug)]
pub struct ZooEntry {
    /// The name on the command line and of the function.
    pub name: &'static str,
    /// What it is.
    pub description: &'static str,
    /// The input height and width it was designed for.
    pub default_size: usize,
    /// Builds it for a square input of the given size.
    pub build: fn(usize) -> Result<Network, String>,
}

/// Every network of the zoo.
pub const NETWORKS: &[ZooEntry] = &[
    ZooEntry {
        name: "resnet18",
        description: "ResNet-18 (torchvision), basic blocks",
        default_size: 224,
        build: resnet::resnet18,
    },
    ZooEntry {
        name: "resnet50",
        description: "ResNet-50 (torchvision, v1.5), bottleneck blocks",
        default_size: 224,
        build: resnet::resnet50,
    },
    ZooEntry {
        name: "vgg16",
        description: "VGG-16 (torchvision, configuration D, no batch norm)",
        default_size: 224,
        build: vgg::vgg16,
    },
    ZooEntry {
        name: "googlenet",
        description: "GoogLeNet (torchvision, eval mode, no auxiliary heads)",
        default_size: 224,
        build: googlenet::googlenet,
    },
    ZooEntry {
        name: "inception_v3",
        description: "Inception v3 (torchvision, eval mode, no auxiliary logits)",
        default_size: 299,
        build: inception::inception_v3,
    },
    ZooEntry {
        name: "mobilenet_v2",
        description: "MobileNetV2 (torchvision, width 1.0)",
        default_size: 224,
        build: mobilenet::mobilenet_v2,
    },
    ZooEntry {
        name: "tiny",
        description: "a tiny CNN with every op kind, for tests",
        default_size: 16,
        build: tiny::tiny,
    },
];

/// The zoo entry called `name`.
pub fn find(name: &str) -> Option<&'static ZooEntry> {
    NETWORKS.iter().find(|entry| entry.name == name)
}

/// Builds network `name` for a square input of `size` (its default size
/// when `None`).
pub fn build(name: &str, size: Option<usize>) -> Result<Network, String> {
    let entry = find(name).ok_or_else(|| {
        let names: Vec<&str> = NETWORKS.iter().map(|e| e.name).collect();
        format!(
            "unknown network '{name}'; the zoo has: {}",
            names.join(", ")
        )
    })?;
    let size = size.unwrap_or(entry.default_size);
    if size == 0 {
        return Err("the input size must be at least 1".into());
    }
    (entry.build)(size).map_err(|e| format!("{name} at input size {size}: {e}"))
}
