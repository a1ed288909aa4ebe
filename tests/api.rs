//! The Rust API: typed builders, verification, pipelines, the demo job.

use deepfuse::{
    context::create_context,
    dialects::{ops, source},
    passes::canonicalize::{self, CanonicalizeOptions, Rewrite},
    pipeline,
};
use libtest_mimic::{Failed, Trial};
use melior::ir::{
    Location, Module, Type, attribute::DenseI64ArrayAttribute, block::BlockLike,
    operation::OperationLike, r#type::RankedTensorType,
};

fn check(name: &str, body: fn() -> Result<(), Failed>) -> Trial {
    Trial::test(format!("api::{name}"), move || crate::catching(body))
}

pub fn trials() -> Vec<Trial> {
    vec![
        check(
            "typed_builder_builds_a_verified_conv",
            typed_builder_builds_a_verified_conv,
        ),
        check(
            "verifier_rejects_a_wrong_output_shape",
            verifier_rejects_a_wrong_output_shape,
        ),
        check(
            "canonicalize_plan_on_the_tiny_cnn",
            canonicalize_plan_on_the_tiny_cnn,
        ),
        check(
            "pipeline_errors_name_the_element",
            pipeline_errors_name_the_element,
        ),
        check("demo_folds_every_batch_norm", demo_folds_every_batch_norm),
    ]
}

fn tensor<'c>(context: &'c melior::Context, shape: &[u64]) -> Type<'c> {
    RankedTensorType::new(shape, Type::float32(context), None).into()
}

/// Builds `conv2d(x, w)` in a fresh module with the generated typed builder;
/// returns whether it verifies, its text, and the diagnostics.
fn build_conv(output_height: u64) -> (bool, String, Vec<String>) {
    let context = create_context();
    let diagnostics = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let sink = diagnostics.clone();
    context.attach_diagnostic_handler(move |diagnostic| {
        sink.borrow_mut().push(diagnostic.to_string());
        true
    });
    let location = Location::unknown(&context);
    let module = Module::new(location);
    let block = module.body();
    let param = |name: &str, shape: &[u64]| {
        ops::ParamOperation::builder(&context, location)
            ._name(melior::ir::attribute::StringAttribute::new(&context, name))
            .result(tensor(&context, shape))
            .build()
    };
    let x = block.append_operation(param("x", &[1, 3, 8, 8]).into());
    let w = block.append_operation(param("w", &[4, 3, 3, 3]).into());
    let conv = ops::Conv2dOperation::builder(&context, location)
        .input(x.result(0).unwrap().into())
        .filter(w.result(0).unwrap().into())
        .strides(DenseI64ArrayAttribute::new(&context, &[1, 1]).into())
        .pads(DenseI64ArrayAttribute::new(&context, &[1, 1, 1, 1]).into())
        .dilations(DenseI64ArrayAttribute::new(&context, &[1, 1]).into())
        .output(tensor(&context, &[1, 4, output_height, 8]))
        .build();
    let conv = block.append_operation(conv.into());
    let verified = conv.verify();
    let messages = diagnostics.borrow().clone();
    (verified, conv.to_string(), messages)
}

fn typed_builder_builds_a_verified_conv() -> Result<(), Failed> {
    let (verified, text, diagnostics) = build_conv(8);
    assert!(verified, "{text}: {diagnostics:?}");
    assert_eq!(
        text,
        "%2 = df.conv2d %0, %1 strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1] \
         : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x8x8xf32>"
    );
    Ok(())
}

fn verifier_rejects_a_wrong_output_shape() -> Result<(), Failed> {
    let (verified, _, diagnostics) = build_conv(7);
    assert!(!verified);
    assert_eq!(
        diagnostics,
        vec![
            "'df.conv2d' op output dimension 2 (height) is 7, expected 8 from input height 8, \
             kernel 3, stride 1, padding 1+1"
                .to_string()
        ]
    );
    Ok(())
}

fn canonicalize_plan_on_the_tiny_cnn() -> Result<(), Failed> {
    let context = create_context();
    let module = source::parse_source(&context, deepfuse::examples::TINY_CNN, "tiny_cnn.mlir")
        .ok_or("the example does not parse")?;
    let plan = canonicalize::plan(&module.as_operation(), CanonicalizeOptions::default());
    let count = |pred: fn(&Rewrite) -> bool| plan.iter().filter(|r| pred(r)).count();
    // Two conv + batch_norm pairs; bias adds after conv3, conv4 and the
    // matmul; one identity reshape.
    assert_eq!(count(|r| matches!(r, Rewrite::FoldBatchNorm { .. })), 2);
    assert_eq!(count(|r| matches!(r, Rewrite::FoldBias { .. })), 3);
    assert_eq!(count(|r| matches!(r, Rewrite::RemoveIdentity { .. })), 1);
    assert_eq!(plan.len(), 6);
    let only_bias = CanonicalizeOptions {
        fold_batch_norm: false,
        remove_identities: false,
        ..CanonicalizeOptions::default()
    };
    assert_eq!(
        canonicalize::plan(&module.as_operation(), only_bias).len(),
        3
    );
    Ok(())
}

fn pipeline_errors_name_the_element() -> Result<(), Failed> {
    let context = create_context();
    let pass_manager = pipeline::module_pass_manager(&context);
    let error = pipeline::add_anchored_pipeline(&pass_manager, "builtin.module(cse,no-such-pass)")
        .unwrap_err();
    assert_eq!(error.column, 20);
    assert!(
        error
            .message
            .contains("'no-such-pass' does not refer to a registered pass"),
        "{error}"
    );
    let error = pipeline::add_anchored_pipeline(
        &pass_manager,
        "builtin.module(df-canonicalize{fold-bias=maybe})",
    )
    .unwrap_err();
    assert_eq!(error.column, 16);
    assert_eq!(
        error.message,
        "invalid value 'maybe' for option 'fold-bias' of pass 'df-canonicalize': expected true or false"
    );
    let error = pipeline::add_anchored_pipeline(&pass_manager, "func.func(cse)").unwrap_err();
    assert!(error.message.contains("anchored on the module"), "{error}");
    Ok(())
}

fn demo_folds_every_batch_norm() -> Result<(), Failed> {
    let report = deepfuse::demo::run(false)?;
    let row = |op: &str| {
        report
            .lines()
            .find(|line| line.split_whitespace().next() == Some(op))
            .map(|line| {
                line.split_whitespace()
                    .skip(1)
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
    };
    assert_eq!(
        row("df.batch_norm"),
        Some(vec!["2".into(), "0".into()]),
        "{report}"
    );
    assert_eq!(
        row("df.fold_batch_norm"),
        Some(vec!["0".into(), "2".into()]),
        "{report}"
    );
    assert_eq!(
        row("df.add"),
        Some(vec!["4".into(), "1".into()]),
        "{report}"
    );
    // The compiled job stages regions and counts their traffic (the demo
    // fails if the counts differ from the prediction).
    let staged: Vec<usize> = report
        .lines()
        .filter_map(|line| line.strip_prefix("staged "))
        .filter_map(|rest| rest.split_whitespace().next()?.parse().ok())
        .collect();
    assert_eq!(staged.len(), 2, "{report}");
    assert!(staged.iter().any(|&n| n > 0), "{report}");
    Ok(())
}
