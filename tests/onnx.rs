//! ONNX import: every fixture under `tests/fixtures/onnx` (made by
//! `scripts/make_onnx_fixtures.py`) imports, its written IR parses and
//! verifies, and the reference interpreter's output on the fixture's input
//! matches onnxruntime's within 1e-4 of the output's scale, and so does the
//! compiled network (default schedule, 1 MiB); models the
//! importer must refuse fail with a message naming the culprit and reason.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use deepfuse::{
    cli::{npy, run::max_relative_difference},
    compile::Compiler,
    context::create_context,
    dialects::source,
    interpreter,
    onnx::{ImportError, ImportOptions, import},
    params::ParamFile,
};
use libtest_mimic::{Failed, Trial};
use melior::ir::operation::OperationLike;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/onnx")
}

fn temp_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("onnx");
    fs::create_dir_all(&dir).expect("the temporary directory can be created");
    dir
}

fn check(name: &str, body: fn() -> Result<(), Failed>) -> Trial {
    Trial::test(format!("onnx::{name}"), move || crate::catching(body))
}

/// One trial per fixture with onnxruntime's output, and the error trials.
pub fn trials() -> Vec<Trial> {
    let mut names: Vec<String> = fs::read_dir(fixtures())
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok())
                .filter_map(|entry| {
                    entry
                        .file_name()
                        .to_str()?
                        .strip_suffix(".expected.npy")
                        .map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let mut trials: Vec<Trial> = names
        .into_iter()
        .map(|name| {
            Trial::test(format!("onnx::fixture::{name}"), move || {
                crate::catching(|| matches_onnxruntime(&name))
            })
        })
        .collect();
    trials.extend([
        check("fixtures_exist_and_are_small", fixtures_exist_and_are_small),
        check(
            "unsupported_operator_is_refused",
            unsupported_operator_is_refused,
        ),
        check("dynamic_dimension_is_refused", dynamic_dimension_is_refused),
        check(
            "dynamic_dimension_can_be_pinned",
            dynamic_dimension_can_be_pinned,
        ),
        check("non_f32_input_is_refused", non_f32_input_is_refused),
        check("non_f32_weight_is_refused", non_f32_weight_is_refused),
        check(
            "unsupported_attribute_value_is_refused",
            unsupported_attribute_value_is_refused,
        ),
        check("truncated_file_is_refused", truncated_file_is_refused),
        check("non_onnx_file_is_refused", non_onnx_file_is_refused),
        check(
            "missing_external_data_is_refused",
            missing_external_data_is_refused,
        ),
        check(
            "every_op_carries_its_node_location",
            every_op_carries_its_node_location,
        ),
        check("weights_live_in_safetensors", weights_live_in_safetensors),
        check("cli_fails_with_the_message", cli_fails_with_the_message),
        check("mutated_models_never_panic", mutated_models_never_panic),
    ]);
    trials
}

/// Imports fixture `name`, writes it, reads the written files back as
/// `deepfuse run` does, and compares the interpreter with onnxruntime.
fn matches_onnxruntime(name: &str) -> Result<(), Failed> {
    let dir = fixtures();
    let imported = import(&dir.join(format!("{name}.onnx")), &ImportOptions::default())?;
    let mlir = temp_dir().join(format!("{name}.mlir"));
    let params_path = imported.write(&mlir)?;

    let text = fs::read_to_string(&mlir)?;
    let context = create_context();
    let module =
        source::parse_source(&context, &text, name).ok_or("the written IR does not parse")?;
    if !module.as_operation().verify() {
        return Err("the written IR does not verify".into());
    }
    let params = ParamFile::open(&params_path)?;
    let input = npy::read(&dir.join(format!("{name}.input.npy")))?;
    let expected = npy::read(&dir.join(format!("{name}.expected.npy")))?;
    let outputs = interpreter::run_module(&module, &params, vec![input])?;
    let [output] = outputs.as_slice() else {
        return Err(format!("{} outputs, expected one", outputs.len()).into());
    };
    if output.shape() != expected.shape() {
        return Err(format!(
            "output shape {:?}, onnxruntime's is {:?}",
            output.shape(),
            expected.shape()
        )
        .into());
    }
    let scale = expected.data().iter().fold(1.0f32, |m, x| m.max(x.abs()));
    let error = output
        .data()
        .iter()
        .zip(expected.data())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    if error.is_nan() || error > 1e-4 * scale {
        return Err(
            format!("max abs error {error:e} exceeds 1e-4 x {scale} (the output's scale)").into(),
        );
    }

    // The compiled network agrees with the interpreter.
    let compiled = Compiler::default().compile(&text, name)?;
    let parameters = compiled.load_params(&params)?;
    let input = npy::read(&dir.join(format!("{name}.input.npy")))?;
    let result = compiled.run(&parameters, &[input])?;
    let difference = max_relative_difference(&result.outputs[0], output);
    if difference > 1e-4 {
        return Err(format!("the compiled output differs by {difference:e} (relative)").into());
    }
    if let Some(mismatch) = compiled.lowered.traffic_mismatches(&result.stats).first() {
        return Err(format!("counted traffic differs from the prediction: {mismatch}").into());
    }
    Ok(())
}

fn fixtures_exist_and_are_small() -> Result<(), Failed> {
    let mut total = 0;
    let mut models = 0;
    for entry in fs::read_dir(fixtures())? {
        let entry = entry?;
        total += entry.metadata()?.len();
        models += entry.path().extension().is_some_and(|e| e == "onnx") as usize;
    }
    assert!(models >= 40, "only {models} fixtures");
    assert!(total < 2_000_000, "the fixtures take {total} bytes");
    Ok(())
}

/// The error `import` gives for `model` (a path relative to the fixtures).
fn import_error(model: &Path) -> ImportError {
    match import(&fixtures().join(model), &ImportOptions::default()) {
        Ok(_) => panic!("{} imported, but must be refused", model.display()),
        Err(error) => error,
    }
}

fn unsupported_operator_is_refused() -> Result<(), Failed> {
    let error = import_error(Path::new("error_unsupported_op.onnx"));
    assert_eq!(
        error,
        ImportError::Node {
            node: "norm1".into(),
            op: "LRN".into(),
            reason: "operator 'LRN' is not supported".into()
        }
    );
    assert_eq!(
        error.to_string(),
        "node 'norm1' (LRN): operator 'LRN' is not supported"
    );
    Ok(())
}

fn dynamic_dimension_is_refused() -> Result<(), Failed> {
    let error = import_error(Path::new("error_dynamic_dim.onnx")).to_string();
    assert_eq!(
        error,
        "graph input 'x' has dynamic dimension 0 ('batch'); only static shapes are supported, \
         pin it with --input-shape x=..."
    );
    Ok(())
}

fn dynamic_dimension_can_be_pinned() -> Result<(), Failed> {
    let options = ImportOptions {
        input_shapes: [("x".to_string(), vec![2, 4, 8, 8])].into(),
    };
    let imported = import(&fixtures().join("error_dynamic_dim.onnx"), &options)?;
    assert!(
        imported.ir.contains("(%x: tensor<2x4x8x8xf32> loc(\"x\"))"),
        "{}",
        imported.ir
    );
    Ok(())
}

fn non_f32_input_is_refused() -> Result<(), Failed> {
    let error = import_error(Path::new("error_int64_input.onnx")).to_string();
    assert_eq!(
        error,
        "graph input 'x' has element type INT64; only float32 inputs are supported"
    );
    Ok(())
}

fn non_f32_weight_is_refused() -> Result<(), Failed> {
    let error = import_error(Path::new("error_double_weight.onnx")).to_string();
    assert_eq!(
        error,
        "node 'conv_double' (Conv): input #1: initializer 'w64' data type DOUBLE is not \
         supported (float32 only, integers for shapes)"
    );
    Ok(())
}

fn unsupported_attribute_value_is_refused() -> Result<(), Failed> {
    let error = import_error(Path::new("error_maxpool_dilation.onnx")).to_string();
    assert_eq!(
        error,
        "node 'pool' (MaxPool): dilations [2, 2] are not supported (df.pool2d has no dilation)"
    );
    Ok(())
}

fn truncated_file_is_refused() -> Result<(), Failed> {
    let bytes = fs::read(fixtures().join("net_residual_block.onnx"))?;
    let path = temp_dir().join("truncated.onnx");
    for cut in [bytes.len() / 2, 40, 1] {
        fs::write(&path, &bytes[..cut])?;
        let error = import(&path, &ImportOptions::default())
            .expect_err("a truncated model must be refused")
            .to_string();
        assert!(error.starts_with(&path.display().to_string()), "{error}");
        assert!(error.contains("truncated"), "cut at {cut}: {error}");
    }
    Ok(())
}

fn non_onnx_file_is_refused() -> Result<(), Failed> {
    let path = temp_dir().join("not_a_model.onnx");
    for content in [&b"this is a text file, not a model\n"[..], b"", &[0xff; 64]] {
        fs::write(&path, content)?;
        let error = import(&path, &ImportOptions::default())
            .expect_err("a non-ONNX file must be refused")
            .to_string();
        assert!(error.starts_with(&path.display().to_string()), "{error}");
        assert!(error.contains("not"), "{error}");
    }
    Ok(())
}

fn missing_external_data_is_refused() -> Result<(), Failed> {
    // The model without its .data file beside it.
    let dir = temp_dir().join("external");
    fs::create_dir_all(&dir)?;
    let path = dir.join("net_external_data.onnx");
    fs::copy(fixtures().join("net_external_data.onnx"), &path)?;
    let _ = fs::remove_file(dir.join("net_external_data.onnx.data"));
    let error = import(&path, &ImportOptions::default())
        .expect_err("missing external data must be refused")
        .to_string();
    assert!(
        error.starts_with("node 'conv1/conv' (Conv): input #1: initializer 'conv1.weight' cannot read its external data"),
        "{error}"
    );
    assert!(error.contains("net_external_data.onnx.data"), "{error}");
    Ok(())
}

fn every_op_carries_its_node_location() -> Result<(), Failed> {
    let imported = import(
        &fixtures().join("conv_valid_unnamed.onnx"),
        &ImportOptions::default(),
    )?;
    // The node has no name: its label is op_type#index.
    assert!(imported.ir.contains("loc(\"Conv#0\")"), "{}", imported.ir);
    for name in ["net_inception_block", "reshape_shape_arithmetic"] {
        let imported = import(
            &fixtures().join(format!("{name}.onnx")),
            &ImportOptions::default(),
        )?;
        for line in imported
            .ir
            .lines()
            .filter(|l| l.contains(" = ") || l.contains("return"))
        {
            assert!(line.trim_end().ends_with("\")"), "no location on: {line}");
        }
    }
    Ok(())
}

fn weights_live_in_safetensors() -> Result<(), Failed> {
    let imported = import(
        &fixtures().join("net_external_data.onnx"),
        &ImportOptions::default(),
    )?;
    let mlir = temp_dir().join("weights.mlir");
    let params_path = imported.write(&mlir)?;
    let file = ParamFile::open(&params_path)?;
    assert_eq!(file.names().len(), imported.params.len());
    assert_eq!(file.shape("conv1.weight"), Some(&[8usize, 3, 3, 3][..]));
    assert!(
        imported
            .ir
            .contains("df.param \"conv1.weight\" : tensor<8x3x3x3xf32>")
    );
    // Nothing large in the IR: no dense constants.
    assert!(!imported.ir.contains("dense<"));
    assert!(fs::metadata(&mlir)?.len() < 8_000);
    Ok(())
}

fn cli_fails_with_the_message() -> Result<(), Failed> {
    let output = Command::new(env!("CARGO_BIN_EXE_deepfuse"))
        .arg("import")
        .arg(fixtures().join("error_unsupported_op.onnx"))
        .arg("-o")
        .arg(temp_dir().join("cli_error.mlir"))
        .output()?;
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.trim_end(),
        "deepfuse: error: node 'norm1' (LRN): operator 'LRN' is not supported"
    );
    assert!(!temp_dir().join("cli_error.mlir").exists());
    Ok(())
}

/// Imports randomly corrupted fixtures (bytes changed, cut or inserted):
/// each must import or fail with an error, never panic, and never produce IR
/// that MLIR rejects (the importer infers every shape as the verifiers do).
/// `DEEPFUSE_FUZZ_ITERATIONS` raises the number of mutants.
fn mutated_models_never_panic() -> Result<(), Failed> {
    let iterations: usize = std::env::var("DEEPFUSE_FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let sources = [
        "net_mobilenet_block",
        "net_inception_block",
        "reshape_zero_copy_slice",
        "resize_sizes_asymmetric_opset11",
        "pad_axes_opset18",
        "gemm_trans_a",
    ];
    let originals: Vec<Vec<u8>> = sources
        .iter()
        .map(|name| fs::read(fixtures().join(format!("{name}.onnx"))))
        .collect::<Result<_, _>>()?;
    let path = temp_dir().join("mutant.onnx");
    // xorshift64: deterministic, and no dependency for a test.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move |bound: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % bound.max(1) as u64) as usize
    };
    let (mut imported, mut refused) = (0, 0);
    for iteration in 0..iterations {
        let mut bytes = originals[iteration % originals.len()].clone();
        for _ in 0..1 + next(4) {
            let at = next(bytes.len());
            match next(4) {
                0 => bytes[at] = next(256) as u8,
                1 => bytes[at] ^= 1 << next(8),
                2 => bytes.truncate(at.max(1)),
                _ => bytes.insert(at, next(256) as u8),
            }
        }
        fs::write(&path, &bytes)?;
        let result = std::panic::catch_unwind(|| import(&path, &ImportOptions::default()));
        match result {
            Err(_) => {
                let kept = temp_dir().join(format!("panic_{iteration}.onnx"));
                fs::copy(&path, &kept)?;
                return Err(format!("the importer panicked on {}", kept.display()).into());
            }
            Ok(Err(ImportError::Verify(message))) => {
                let kept = temp_dir().join(format!("unverified_{iteration}.onnx"));
                fs::copy(&path, &kept)?;
                return Err(format!(
                    "{} imported into IR that does not verify:\n{message}",
                    kept.display()
                )
                .into());
            }
            Ok(Ok(_)) => imported += 1,
            Ok(Err(_)) => refused += 1,
        }
    }
    assert_eq!(imported + refused, iterations);
    Ok(())
}
