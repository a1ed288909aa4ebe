//! Deterministic seeded weights: every parameter's values depend only on the
//! seed and the parameter's name, so two runs (or two networks sharing a
//! layer name) agree, and nothing depends on generation order.

use std::{collections::HashMap, path::Path};

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

use crate::{
    interpreter::{ParamSource, Tensor, tensor::element_count},
    params::{self, ParamError},
};

use super::builder::Network;

/// How a parameter's values are drawn.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ParamInit {
    /// A conv or linear weight: uniform with He's variance `2 / fan_in`, so
    /// that activations keep their scale through conv + ReLU stacks.
    Weight {
        /// Inputs per output (in channels per group x kernel area).
        fan_in: usize,
    },
    /// A conv or linear bias: uniform in [-0.05, 0.05].
    Bias,
    /// Batch-norm scale: uniform in [0.9, 1.1].
    BnScale,
    /// Batch-norm offset: uniform in [-0.1, 0.1].
    BnOffset,
    /// Batch-norm running mean: uniform in [-0.1, 0.1].
    BnMean,
    /// Batch-norm running variance: uniform in [0.9, 1.3] (positive).
    BnVariance,
}

impl ParamInit {
    /// The range `[low, high)` values are drawn from uniformly.
    fn range(self) -> (f32, f32) {
        match self {
            Self::Weight { fan_in } => {
                // Uniform on [-a, a] has variance a^2 / 3; a = sqrt(6 / n)
                // gives 2 / n.
                let bound = (6.0 / fan_in.max(1) as f32).sqrt();
                (-bound, bound)
            }
            Self::Bias => (-0.05, 0.05),
            Self::BnScale => (0.9, 1.1),
            Self::BnOffset | Self::BnMean => (-0.1, 0.1),
            Self::BnVariance => (0.9, 1.3),
        }
    }

    /// A guess from the name and shape of a parameter of IR that did not
    /// come from the zoo (such as `examples/tiny_cnn.mlir`): suffixes in
    /// torchvision's and ONNX's spellings.
    pub fn guess(name: &str, shape: &[usize]) -> Self {
        let suffix = name.rsplit('.').next().unwrap_or(name);
        match suffix {
            "running_var" | "variance" | "var" => Self::BnVariance,
            "running_mean" | "mean" => Self::BnMean,
            "scale" | "gamma" => Self::BnScale,
            "offset" | "beta" => Self::BnOffset,
            "bias" => Self::Bias,
            // A 1-D "weight" is a batch norm's scale in torchvision's names.
            "weight" if shape.len() == 1 => Self::BnScale,
            _ => Self::Weight {
                fan_in: shape.iter().skip(1).product::<usize>().max(1),
            },
        }
    }
}

/// FNV-1a: a stable hash of the parameter name (std's hasher may change
/// between Rust releases, which would change every weight).
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The seeded generator of parameter `name`.
pub fn rng_for(seed: u64, name: &str) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(fnv1a(name) ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

/// `count` values uniform in `[low, high)` from `rng`.
pub fn uniform(rng: &mut ChaCha8Rng, count: usize, low: f32, high: f32) -> Vec<f32> {
    (0..count)
        // The top 24 bits give every f32 in [0, 1) with equal spacing.
        .map(|_| low + (high - low) * ((rng.next_u32() >> 8) as f32 / (1u32 << 24) as f32))
        .collect()
}

/// The values of parameter `name` of `shape` drawn per `init` with `seed`.
pub fn generate(name: &str, shape: &[usize], init: ParamInit, seed: u64) -> Vec<f32> {
    let (low, high) = init.range();
    uniform(&mut rng_for(seed, name), element_count(shape), low, high)
}

/// Writes every parameter of `network` to `path`, generating each tensor
/// only when the writer reaches it.
pub fn write_safetensors(network: &Network, seed: u64, path: &Path) -> Result<(), ParamError> {
    let tensors = network
        .params
        .iter()
        .map(|spec| {
            let produce = move || generate(&spec.name, &spec.shape, spec.init, seed);
            (spec.name.clone(), spec.shape.clone(), produce)
        })
        .collect();
    let metadata = HashMap::from([
        ("format".to_string(), "pt".to_string()),
        ("generator".to_string(), "deepfuse zoo".to_string()),
        ("network".to_string(), network.name.clone()),
        ("seed".to_string(), seed.to_string()),
    ]);
    params::save_lazy(path, tensors, metadata)
}

/// Every parameter of `network`, in memory (for small networks and tests;
/// [`write_safetensors`] streams them to a file instead).
pub fn tensors(network: &Network, seed: u64) -> HashMap<String, Tensor> {
    network
        .params
        .iter()
        .map(|spec| {
            let data = generate(&spec.name, &spec.shape, spec.init, seed);
            let tensor = Tensor::from_fn(spec.shape.clone(), |i| data[i]);
            (spec.name.clone(), tensor)
        })
        .collect()
}

/// Seeded random parameters for any IR, with distributions guessed from the
/// names ([`ParamInit::guess`]).
#[derive(Clone, Copy, Debug)]
pub struct RandomParams {
    /// The seed.
    pub seed: u64,
}

impl ParamSource for RandomParams {
    fn param(&self, name: &str, shape: &[usize]) -> Result<Tensor, String> {
        let init = ParamInit::guess(name, shape);
        Tensor::new(shape.to_vec(), generate(name, shape, init, self.seed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_depend_on_seed_and_name_only() {
        let init = ParamInit::Weight { fan_in: 27 };
        let a = generate("conv1.weight", &[4, 3, 3, 3], init, 0);
        assert_eq!(a, generate("conv1.weight", &[4, 3, 3, 3], init, 0));
        assert_ne!(a, generate("conv1.weight", &[4, 3, 3, 3], init, 1));
        assert_ne!(a, generate("conv2.weight", &[4, 3, 3, 3], init, 0));
        let bound = (6.0f32 / 27.0).sqrt();
        assert!(a.iter().all(|x| x.abs() <= bound));
    }

    #[test]
    fn batch_norm_statistics_are_sane() {
        let variance = generate("bn.running_var", &[256], ParamInit::BnVariance, 7);
        assert!(variance.iter().all(|&v| (0.9..1.3).contains(&v)));
        let scale = generate("bn.weight", &[256], ParamInit::BnScale, 7);
        let mean = scale.iter().sum::<f32>() / 256.0;
        assert!((mean - 1.0).abs() < 0.02, "{mean}");
    }

    #[test]
    fn guesses_follow_the_names() {
        assert_eq!(
            ParamInit::guess("bn1.variance", &[16]),
            ParamInit::BnVariance
        );
        assert_eq!(ParamInit::guess("bn1.weight", &[16]), ParamInit::BnScale);
        assert_eq!(ParamInit::guess("conv4.bias", &[32, 1, 1]), ParamInit::Bias);
        assert_eq!(
            ParamInit::guess("conv1.weight", &[16, 3, 3, 3]),
            ParamInit::Weight { fan_in: 27 }
        );
    }

    #[test]
    fn stable_hash() {
        // FNV-1a test vectors.
        assert_eq!(fnv1a(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a("a"), 0xaf63_dc4c_8601_ec8c);
    }
}
