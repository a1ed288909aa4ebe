//! The reference interpreter on whole networks: the canonicaliser must not
//! change what a network computes, zoo networks run end to end, and bad
//! input gives messages, not panics.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
};

use deepfuse::{
    cli::{
        run::{RunArgs, run},
        zoo::ZooArgs,
    },
    context::create_context,
    dialects::source,
    interpreter::{self, ParamSource, Tensor},
    params::{self, ParamFile},
    pipeline,
    zoo::{self, weights},
};
use libtest_mimic::{Failed, Trial};
use melior::ir::{
    Module,
    operation::{OperationLike, WalkOrder, WalkResult},
};

fn check(name: &str, body: fn() -> Result<(), Failed>) -> Trial {
    Trial::test(format!("interpreter::{name}"), move || {
        crate::catching(body)
    })
}

pub fn trials() -> Vec<Trial> {
    vec![
        check(
            "canonicalize_preserves_the_zoo_tiny",
            canonicalize_preserves_the_zoo_tiny,
        ),
        check(
            "canonicalize_preserves_the_example_tiny_cnn",
            canonicalize_preserves_the_example_tiny_cnn,
        ),
        check(
            "fusion_region_computes_its_body",
            fusion_region_computes_its_body,
        ),
        check("resnet18_end_to_end", resnet18_end_to_end),
        check(
            "input_file_matches_the_default_input",
            input_file_matches_the_default_input,
        ),
        check("run_errors_are_messages", run_errors_are_messages),
    ]
}

/// A fresh directory for one test's files.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("deepfuse-tests-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir is writable");
    dir
}

fn count_ops(module: &Module, name: &str) -> usize {
    let mut count = 0;
    module.as_operation().walk(WalkOrder::PreOrder, |op| {
        if op.name().as_string_ref().as_str() == Ok(name) {
            count += 1;
        }
        WalkResult::Advance
    });
    count
}

/// max |a - b| relative to max |b|.
fn relative_error(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.shape(), b.shape());
    let scale = b.data().iter().fold(0f32, |m, x| m.max(x.abs())).max(1e-30);
    let diff = a
        .data()
        .iter()
        .zip(b.data())
        .fold(0f32, |m, (x, y)| m.max((x - y).abs()));
    diff / scale
}

/// Runs `text` before and after `df-canonicalize` (through the same pass
/// manager the demo uses) and checks the outputs agree within 1e-5
/// relative. Returns how many batch norms and bias adds were folded.
fn compare_canonicalized(
    text: &str,
    params: &dyn ParamSource,
    input: Tensor,
) -> Result<(usize, usize), Failed> {
    let context = create_context();
    let mut module = source::parse_source(&context, text, "net.mlir").ok_or("does not parse")?;
    let before = interpreter::run_module(&module, params, vec![input.clone()])?;
    let batch_norms = count_ops(&module, "df.batch_norm");
    let adds = count_ops(&module, "df.add");

    let pass_manager = pipeline::module_pass_manager(&context);
    pipeline::add_anchored_pipeline(&pass_manager, "builtin.module(df-canonicalize)")?;
    pass_manager
        .run(&mut module)
        .map_err(|_| "df-canonicalize failed")?;
    assert!(module.as_operation().verify());
    assert_eq!(
        count_ops(&module, "df.batch_norm"),
        0,
        "{}",
        module.as_operation()
    );
    let folds = count_ops(&module, "df.fold_batch_norm");
    assert_eq!(folds, batch_norms);

    let after = interpreter::run_module(&module, params, vec![input])?;
    assert_eq!(before.len(), after.len());
    for (b, a) in before.iter().zip(&after) {
        assert!(b.data().iter().all(|x| x.is_finite()), "{b:?}");
        let error = relative_error(a, b);
        assert!(error <= 1e-5, "relative error {error}: {b:?} vs {a:?}");
    }
    // What remains of the adds after folding: the residual adds, and the
    // adds of two bias vectors where a conv already had a bias.
    let folded_adds = adds - count_ops(&module, "df.add").min(adds);
    Ok((folds, folded_adds))
}

fn canonicalize_preserves_the_zoo_tiny() -> Result<(), Failed> {
    for size in [8, 9, 16, 31] {
        let network = zoo::build("tiny", Some(size))?;
        let params = weights::tensors(&network, 7);
        let input = deepfuse::cli::run::random_input(&network.input_shape, 7, 0);
        let (folds, folded_adds) = compare_canonicalized(&network.text, &params, input)?;
        // Five batch norms (one after a biased conv); the one exporter-style
        // bias add.
        assert_eq!((folds, folded_adds), (5, 1), "size {size}");
    }
    Ok(())
}

fn canonicalize_preserves_the_example_tiny_cnn() -> Result<(), Failed> {
    let params = weights::RandomParams { seed: 3 };
    for seed in [0, 1] {
        let input = deepfuse::cli::run::random_input(&[1, 3, 32, 32], seed, 0);
        let (folds, folded_adds) =
            compare_canonicalized(deepfuse::examples::TINY_CNN, &params, input)?;
        // Two batch norms; the bias adds after conv3, conv4 and the matmul.
        assert_eq!((folds, folded_adds), (2, 3));
    }
    Ok(())
}

/// A conv and a relu inside a `df.fusion_region` compute what they compute
/// outside it.
fn fusion_region_computes_its_body() -> Result<(), Failed> {
    let inside = r#"
func.func @f(%x: tensor<1x2x5x5xf32>) -> tensor<1x3x5x5xf32> {
  %w = df.param "w" : tensor<3x2x3x3xf32>
  %r = df.fusion_region(%x, %w) : (tensor<1x2x5x5xf32>, tensor<3x2x3x3xf32>) -> tensor<1x3x5x5xf32> {
  ^bb0(%a: tensor<1x2x5x5xf32>, %b: tensor<3x2x3x3xf32>):
    %c = df.conv2d %a, %b strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
        : (tensor<1x2x5x5xf32>, tensor<3x2x3x3xf32>) -> tensor<1x3x5x5xf32>
    %d = df.activation relu %c : tensor<1x3x5x5xf32>
    df.yield %d : tensor<1x3x5x5xf32>
  }
  return %r : tensor<1x3x5x5xf32>
}
"#;
    let outside = r#"
func.func @f(%x: tensor<1x2x5x5xf32>) -> tensor<1x3x5x5xf32> {
  %w = df.param "w" : tensor<3x2x3x3xf32>
  %c = df.conv2d %x, %w strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x2x5x5xf32>, tensor<3x2x3x3xf32>) -> tensor<1x3x5x5xf32>
  %d = df.activation relu %c : tensor<1x3x5x5xf32>
  return %d : tensor<1x3x5x5xf32>
}
"#;
    let params = weights::RandomParams { seed: 0 };
    let input = deepfuse::cli::run::random_input(&[1, 2, 5, 5], 0, 0);
    let context = create_context();
    let mut outputs = Vec::new();
    for text in [inside, outside] {
        let module = source::parse_source(&context, text, "f.mlir").ok_or("does not parse")?;
        assert!(module.as_operation().verify());
        outputs.push(interpreter::run_module(
            &module,
            &params,
            vec![input.clone()],
        )?);
    }
    assert_eq!(outputs[0], outputs[1]);
    assert!(outputs[0][0].data().iter().any(|&x| x > 0.0));
    Ok(())
}

fn write_zoo(name: &str, size: usize, dir: &Path) -> Result<PathBuf, Failed> {
    let path = dir.join(format!("{name}.mlir"));
    deepfuse::cli::zoo::run(&ZooArgs {
        name: Some(name.into()),
        output: Some(path.clone()),
        input_size: Some(size),
        seed: 1,
        list: false,
    })?;
    Ok(path)
}

fn run_args(network: &Path) -> RunArgs {
    RunArgs {
        network: network.to_path_buf(),
        reference: true,
        check: false,
        stats: false,
        scratchpad: "1MiB".into(),
        strategy: "dp".into(),
        staging: Default::default(),
        codegen: Default::default(),
        params: None,
        input: None,
        output: None,
        seed: 0,
    }
}

/// ResNet-18 at 32x32 through the CLI path: zoo -> files -> run -> .npy, and
/// the same numbers from the library with the weights reloaded. (Two runs
/// only: the debug build evaluates 37 M MACs each in a few seconds.)
fn resnet18_end_to_end() -> Result<(), Failed> {
    let dir = scratch("resnet18");
    let network = write_zoo("resnet18", 32, &dir)?;
    let output = dir.join("y.npy");
    let report = run(&RunArgs {
        output: Some(output.clone()),
        ..run_args(&network)
    })?;
    assert!(report.contains("output #0: shape [1, 1000]"), "{report}");
    assert!(report.contains("top-5: "), "{report}");
    assert!(!report.contains("NOT FINITE"), "{report}");
    let y = deepfuse::cli::npy::read(&output)?;
    assert_eq!(y.shape(), &[1, 1000]);

    // The library path: same weights from the file, same input, same output.
    let context = create_context();
    let text = std::fs::read_to_string(&network)?;
    let module = source::parse_source(&context, &text, "resnet18.mlir").ok_or("does not parse")?;
    let params = ParamFile::open(&network.with_extension("safetensors"))?;
    let input = deepfuse::cli::run::random_input(&[1, 3, 32, 32], 0, 0);
    let outputs = interpreter::run_module(&module, &params, vec![input])?;
    assert_eq!(outputs, vec![y]);

    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// `--input x.npy` holding the default input gives the default output.
fn input_file_matches_the_default_input() -> Result<(), Failed> {
    let dir = scratch("input");
    let network = write_zoo("tiny", 12, &dir)?;
    let default = run(&run_args(&network))?;
    let input = dir.join("x.npy");
    deepfuse::cli::npy::write(
        &input,
        &deepfuse::cli::run::random_input(&[1, 3, 12, 12], 0, 0),
    )?;
    let explicit = run(&RunArgs {
        input: Some(input),
        ..run_args(&network)
    })?;
    let summary = |report: &str| report.lines().skip(1).collect::<Vec<_>>().join("\n");
    assert_eq!(summary(&explicit), summary(&default));
    assert!(default.contains("output #0: shape [1, 10]"), "{default}");
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

fn run_errors_are_messages() -> Result<(), Failed> {
    let dir = scratch("errors");
    let expect_error = |args: RunArgs, needle: &str| -> Result<(), Failed> {
        match run(&args) {
            Ok(report) => Err(format!("expected an error with '{needle}', got:\n{report}").into()),
            Err(error) if error.contains(needle) => Ok(()),
            Err(error) => Err(format!("expected '{needle}' in: {error}").into()),
        }
    };
    expect_error(run_args(&dir.join("missing.mlir")), "cannot read")?;
    let tiny = write_zoo("tiny", 8, &dir)?;
    // Compiled (the default engine): parameters are missing too.
    expect_error(
        RunArgs {
            reference: false,
            params: Some(dir.join("none.safetensors")),
            ..run_args(&tiny)
        },
        "needs parameter 'stem.conv.weight', but",
    )?;

    // Parameters: a file that does not exist, a missing name, a wrong shape.
    expect_error(
        RunArgs {
            params: Some(dir.join("none.safetensors")),
            ..run_args(&tiny)
        },
        "'df.param' needs parameter 'stem.conv.weight', but",
    )?;
    let partial = dir.join("partial.safetensors");
    let wrong = Tensor::zeros(vec![8, 3, 5, 5]);
    params::save(&partial, [("stem.conv.weight", &wrong)])?;
    expect_error(
        RunArgs {
            params: Some(partial.clone()),
            ..run_args(&tiny)
        },
        "parameter 'stem.conv.weight' has shape [8, 3, 5, 5] in",
    )?;
    let right = Tensor::zeros(vec![8, 3, 3, 3]);
    params::save(&partial, [("stem.conv.weight", &right)])?;
    expect_error(
        RunArgs {
            params: Some(partial),
            ..run_args(&tiny)
        },
        "parameter 'stem.bn.weight' is missing from",
    )?;

    // An input of the wrong shape.
    let input = dir.join("x.npy");
    deepfuse::cli::npy::write(&input, &Tensor::zeros(vec![1, 3, 9, 9]))?;
    expect_error(
        RunArgs {
            input: Some(input),
            ..run_args(&tiny)
        },
        "the input has shape [1, 3, 9, 9], the function expects [1, 3, 8, 8]",
    )?;

    // An op the interpreter does not evaluate, located in the file.
    let unknown = dir.join("unknown.mlir");
    std::fs::write(
        &unknown,
        "func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {\n  \
         %y = arith.negf %x : tensor<4xf32>\n  return %y : tensor<4xf32>\n}\n",
    )?;
    expect_error(
        run_args(&unknown),
        "unknown.mlir:2:8: 'arith.negf' is not supported by the reference interpreter",
    )?;

    // IR that does not parse or verify.
    let broken = dir.join("broken.mlir");
    std::fs::write(&broken, "func.func @f(\n")?;
    expect_error(run_args(&broken), "does not parse")?;

    // The in-memory parameters say what is wrong too.
    let network = zoo::build("tiny", Some(8))?;
    let mut params: HashMap<String, Tensor> = weights::tensors(&network, 0);
    params.remove("fc.bias");
    let context = create_context();
    let module = source::parse_source(&context, &network.text, "tiny.mlir").ok_or("parse")?;
    let error = interpreter::run_module(&module, &params, vec![Tensor::zeros(vec![1, 3, 8, 8])])
        .unwrap_err()
        .to_string();
    assert!(
        error.ends_with("'df.param' parameter 'fc.bias' is missing"),
        "{error}"
    );
    let error = interpreter::run_module(&module, &params, vec![Tensor::zeros(vec![1, 3, 4, 4])])
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        "input #0 has shape [1, 3, 4, 4], the function expects [1, 3, 8, 8]"
    );
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
