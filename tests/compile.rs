//! Compiled networks against the reference interpreter: every zoo network
//! (at small input sizes), the example CNN under every strategy and several
//! scratchpads, and the imported ONNX fixtures; plus the errors of
//! `deepfuse run` and `deepfuse compile`.

use std::path::Path;

use deepfuse::passes::schedule::Strategy;
use deepfuse::{
    cli::{
        compile::{CodegenArgs, CompileArgs, Emit},
        run::{max_relative_difference, random_input},
    },
    compile::{CompileOptions, Compiler},
    interpreter::{self, ParamSource, Tensor},
    zoo::{self, weights},
};
use libtest_mimic::{Failed, Trial};

/// The tolerance the issue sets for compiled against reference outputs.
const TOLERANCE: f32 = 1e-4;

/// The register budgets the kernels are sized for (AVX2's and AVX-512's):
/// the convolution tests run under both, whatever the host has.
const VECTOR_REGISTERS: [i64; 2] = [16, 32];

fn check(name: &str, body: impl FnOnce() -> Result<(), Failed> + Send + 'static) -> Trial {
    Trial::test(format!("compile::{name}"), move || crate::catching(body))
}

pub fn trials() -> Vec<Trial> {
    let mut trials = vec![
        check("example_under_every_schedule", example_under_every_schedule),
        check("emits_every_stage", emits_every_stage),
        check(
            "staged_regions_move_the_predicted_bytes",
            staged_regions_move_the_predicted_bytes,
        ),
        check("errors_are_messages", errors_are_messages),
        check(
            "predicted_traffic_is_the_reports",
            predicted_traffic_is_the_reports,
        ),
        check(
            "init_only_parameters_come_last",
            init_only_parameters_come_last,
        ),
        check(
            "blocked_convolutions_cover_every_row_width",
            blocked_convolutions_cover_every_row_width,
        ),
        check(
            "convolutions_run_a_cache_tile_at_a_time",
            convolutions_run_a_cache_tile_at_a_time,
        ),
        check(
            "strided_convolutions_split_into_phases",
            strided_convolutions_split_into_phases,
        ),
        check(
            "pools_run_in_vectors_along_rows",
            pools_run_in_vectors_along_rows,
        ),
        check(
            "weight_slices_load_in_groups_of_output_channels",
            weight_slices_load_in_groups_of_output_channels,
        ),
        check(
            "pointwise_products_cover_chunks_and_edges",
            pointwise_products_cover_chunks_and_edges,
        ),
        check(
            "deep_filters_block_output_channels_outside",
            deep_filters_block_output_channels_outside,
        ),
        check(
            "channel_chunks_keep_phase_one_on_chip",
            channel_chunks_keep_phase_one_on_chip,
        ),
        check(
            "branches_keep_part_of_their_weights_across_chunks",
            branches_keep_part_of_their_weights_across_chunks,
        ),
        check(
            "cached_overlaps_carry_halos_between_tiles",
            cached_overlaps_carry_halos_between_tiles,
        ),
        check("classifier_tails_run_whole", classifier_tails_run_whole),
        check(
            "binary_ops_chunk_both_streamed_inputs",
            binary_ops_chunk_both_streamed_inputs,
        ),
        check(
            "concat_inputs_load_into_the_output",
            concat_inputs_load_into_the_output,
        ),
        check(
            "depthwise_convolutions_compute_chunk_by_chunk",
            depthwise_convolutions_compute_chunk_by_chunk,
        ),
        check(
            "kept_windows_outlive_the_chunk_loop",
            kept_windows_outlive_the_chunk_loop,
        ),
        check(
            "stage_all_stages_slow_regions",
            stage_all_stages_slow_regions,
        ),
        check(
            "global_pools_finish_chunk_by_chunk",
            global_pools_finish_chunk_by_chunk,
        ),
        check(
            "elementwise_tiles_run_in_vectors",
            elementwise_tiles_run_in_vectors,
        ),
        check(
            "cached_overlaps_cross_channel_chunks",
            cached_overlaps_cross_channel_chunks,
        ),
        check(
            "concat_branches_keep_weights_per_sweep",
            concat_branches_keep_weights_per_sweep,
        ),
        check(
            "chunks_keep_weights_for_their_sweep",
            chunks_keep_weights_for_their_sweep,
        ),
        check(
            "chunk_loads_read_packed_filters",
            chunk_loads_read_packed_filters,
        ),
        check("layers_widen_one_at_a_time", layers_widen_one_at_a_time),
        check(
            "pointwise_tiles_read_taller_windows",
            pointwise_tiles_read_taller_windows,
        ),
    ];
    // Small inputs keep the suite fast; the full sizes run in
    // scripts/compile_zoo.sh.
    for (name, size) in [
        ("tiny", 16),
        ("resnet18", 32),
        ("resnet50", 32),
        ("mobilenet_v2", 32),
        ("googlenet", 32),
        ("inception_v3", 75),
        ("vgg16", 32),
    ] {
        trials.push(check(&format!("zoo_{name}_{size}"), move || {
            zoo_network(name, size)
        }));
    }
    trials
}

/// Compiles `text` with `options`, runs it on `input`, compares every
/// output with the reference interpreter's and the DMA bytes the runtime
/// counted in every staged region with the schedule's prediction, per kind.
/// Returns the number of regions staged.
fn compare(
    text: &str,
    options: CompileOptions,
    params: &dyn ParamSource,
    inputs: Vec<Tensor>,
) -> Result<usize, Failed> {
    let label = format!("{} {}", options.strategy.name(), options.scratchpad);
    let compiled = Compiler::new(options).compile(text, "net.mlir")?;
    let parameters = compiled.load_params(params)?;
    let result = compiled.run(&parameters, &inputs)?;
    let mismatches = compiled.lowered.traffic_mismatches(&result.stats);
    assert!(
        mismatches.is_empty(),
        "{label}: counted traffic differs from the prediction: {}",
        mismatches
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    );

    let context = deepfuse::context::create_context();
    let module = deepfuse::dialects::source::parse_source(&context, text, "net.mlir")
        .ok_or("does not parse")?;
    let reference = interpreter::run_module(&module, params, inputs)?;
    assert_eq!(result.outputs.len(), reference.len());
    for (i, (got, want)) in result.outputs.iter().zip(&reference).enumerate() {
        assert!(want.data().iter().all(|x| x.is_finite()));
        let difference = max_relative_difference(got, want);
        assert!(
            difference <= TOLERANCE,
            "{label}: output #{i} differs by {difference:e}"
        );
    }
    Ok(compiled.lowered.staged_regions())
}

/// [`compare`]s `text` run op by op (no staging) with kernels blocked for
/// each register file of [`VECTOR_REGISTERS`].
fn compare_op_by_op(
    text: &str,
    params: &dyn ParamSource,
    inputs: Vec<Tensor>,
) -> Result<(), Failed> {
    for registers in VECTOR_REGISTERS {
        let options = CompileOptions {
            staging: false,
            vector_registers: Some(registers),
            ..CompileOptions::default()
        };
        compare(text, options, params, inputs.clone()).map_err(|e| {
            let message = e.message().unwrap_or_default();
            format!("{registers} registers: {message}")
        })?;
    }
    Ok(())
}

/// The register-blocked convolution (`lowering/src/affine/conv.rs`) on rows
/// narrower than a vector, between one and two vectors, and wider, with
/// padding (masked first and last vectors), dilation, 1x1 (merged rows),
/// asymmetric kernels, groups, a channel count that does not block by 4,
/// no bias, and stride 2; op by op, where every convolution of column
/// stride 1 or 2 uses it.
fn blocked_convolutions_cover_every_row_width() -> Result<(), Failed> {
    struct Layer {
        name: &'static str,
        channels: i64,
        kernel: [i64; 2],
        /// Top, left, bottom, right.
        pads: [i64; 4],
        dilation: i64,
        stride: i64,
        groups: i64,
        bias: bool,
    }
    let layer = |name, channels, kernel, pads, (dilation, stride), groups, bias| Layer {
        name,
        channels,
        kernel,
        pads,
        dilation,
        stride,
        groups,
        bias,
    };
    let layers = [
        layer("k3", 8, [3, 3], [1, 1, 1, 1], (1, 1), 1, true),
        layer("k1", 8, [1, 1], [0, 0, 0, 0], (1, 1), 1, true),
        layer("k5", 4, [5, 5], [2, 2, 2, 2], (1, 1), 1, true),
        layer("dilated", 8, [3, 3], [2, 2, 2, 2], (2, 1), 1, true),
        layer("row", 8, [1, 7], [0, 3, 0, 3], (1, 1), 1, true),
        layer("depthwise", 4, [3, 3], [1, 1, 1, 1], (1, 1), 4, true),
        layer("six", 6, [3, 3], [1, 1, 1, 1], (1, 1), 1, true),
        layer("unbiased", 8, [3, 3], [0, 0, 0, 0], (1, 1), 1, false),
        layer("strided", 8, [3, 3], [1, 1, 1, 1], (1, 2), 1, true),
        layer("strided_k1", 8, [1, 1], [0, 0, 0, 0], (1, 2), 1, true),
        layer("stem", 8, [7, 7], [3, 3, 3, 3], (1, 2), 1, true),
    ];
    let params = weights::RandomParams { seed: 3 };
    for width in [5, 8, 13, 20, 37] {
        let (c, h) = (4, 6);
        let input = format!("tensor<1x{c}x{h}x{width}xf32>");
        let mut body = String::new();
        let mut results = Vec::new();
        for layer in &layers {
            let (name, k, groups) = (layer.name, layer.channels, layer.groups);
            let (d, stride) = (layer.dilation, layer.stride);
            let ([kh, kw], [pt, pl, pb, pr]) = (layer.kernel, layer.pads);
            let oh = (h + pt + pb - d * (kh - 1) - 1) / stride + 1;
            let ow = (width + pl + pr - d * (kw - 1) - 1) / stride + 1;
            let filter = format!("tensor<{k}x{}x{kh}x{kw}xf32>", c / groups);
            let output = format!("tensor<1x{k}x{oh}x{ow}xf32>");
            body.push_str(&format!("  %{name}_w = df.param \"{name}.w\" : {filter}\n"));
            let (bias_operand, bias_type) = if layer.bias {
                body.push_str(&format!(
                    "  %{name}_b = df.param \"{name}.b\" : tensor<{k}xf32>\n"
                ));
                (format!(", %{name}_b"), format!(", tensor<{k}xf32>"))
            } else {
                (String::new(), String::new())
            };
            body.push_str(&format!(
                "  %{name} = df.conv2d %x, %{name}_w{bias_operand} strides [{stride}, {stride}] \
                 pads [{pt}, {pl}, {pb}, {pr}] dilations [{d}, {d}] {{groups = {groups} : i64}}\n      \
                 : ({input}, {filter}{bias_type}) -> {output}\n"
            ));
            results.push((format!("%{name}"), output));
        }
        let text = function_of(&input, &body, results);
        let inputs = vec![random_input(
            &[1, c as usize, h as usize, width as usize],
            3,
            0,
        )];
        compare_op_by_op(&text, &params, inputs).map_err(|e| {
            let message = e.message().unwrap_or_default();
            format!("width {width}, {message}")
        })?;
    }
    Ok(())
}

fn example_under_every_schedule() -> Result<(), Failed> {
    let params = weights::RandomParams { seed: 5 };
    let input = random_input(&[1, 3, 32, 32], 5, 0);
    for strategy in [Strategy::Dp, Strategy::Layer, Strategy::Naive] {
        for scratchpad in [256 << 10, 1 << 20, 8 << 20] {
            let options = CompileOptions {
                scratchpad,
                strategy,
                ..CompileOptions::default()
            };
            compare(
                deepfuse::examples::TINY_CNN,
                options,
                &params,
                vec![input.clone()],
            )?;
        }
    }
    Ok(())
}

/// Regions staged through the scratchpad compute the reference's outputs
/// and move exactly the predicted bytes, per region and kind, under
/// schedules that stage many regions (one step or many, weights streamed
/// per output channel or resident, inputs kept or streamed).
fn staged_regions_move_the_predicted_bytes() -> Result<(), Failed> {
    let network = zoo::build("resnet18", Some(32))?;
    let params = weights::tensors(&network, 3);
    let input = random_input(&network.input_shape, 3, 0);
    let mut staged = Vec::new();
    for (strategy, scratchpad) in [
        (Strategy::Layer, 64 << 10),
        (Strategy::Layer, 256 << 10),
        (Strategy::Naive, 64 << 10),
        (Strategy::Dp, 1 << 20),
    ] {
        let options = CompileOptions {
            scratchpad,
            strategy,
            ..CompileOptions::default()
        };
        staged.push(compare(
            &network.text,
            options,
            &params,
            vec![input.clone()],
        )?);
    }
    assert!(
        staged.iter().all(|&n| n > 0) && staged.iter().sum::<usize>() >= 40,
        "too few regions staged: {staged:?}"
    );
    Ok(())
}

/// `@net(%x: input)` with `body`, returning `results` (name, type).
fn function_of(input: &str, body: &str, results: Vec<(String, String)>) -> String {
    let (names, types): (Vec<String>, Vec<String>) = results.into_iter().unzip();
    format!(
        "func.func @net(%x: {input}) -> ({}) {{\n{body}  return {} : {}\n}}\n",
        types.join(", "),
        names.join(", "),
        types.join(", ")
    )
}

/// Strided convolutions as products on the input's phases
/// (`affine/product.rs`, `Form::Phased`): 3x3 of stride 2 on even and odd
/// sizes (the last padded row read, or not), a 5x5 of stride 3, strides
/// that differ by axis, a 2x2 of stride 2 that leaves the last row and
/// column unread, a padded 1x1 of stride 2, asymmetric padding, and a
/// dilated strided one (which keeps the blocked kernel); 40 input channels,
/// so that the products run in two passes. Op by op, against the
/// reference, with both register files.
fn strided_convolutions_split_into_phases() -> Result<(), Failed> {
    /// Name, kernel, strides, pads (top, left, bottom, right), dilation.
    type Layer = (&'static str, [i64; 2], [i64; 2], [i64; 4], i64);
    let layers: [Layer; 8] = [
        ("k3s2", [3, 3], [2, 2], [1, 1, 1, 1], 1),
        ("k5s3", [5, 5], [3, 3], [2, 2, 2, 2], 1),
        ("k3s21", [3, 3], [2, 1], [1, 1, 1, 1], 1),
        ("k3s12", [3, 5], [1, 2], [0, 2, 0, 2], 1),
        ("k2s2", [2, 2], [2, 2], [0, 0, 0, 0], 1),
        ("k1s2", [1, 1], [2, 2], [1, 1, 1, 1], 1),
        ("skewed", [3, 3], [2, 2], [0, 1, 1, 0], 1),
        ("dilated", [3, 3], [2, 2], [2, 2, 2, 2], 2),
    ];
    let (c, k) = (40, 12);
    let params = weights::RandomParams { seed: 16 };
    for (h, w) in [(7, 11), (10, 30)] {
        let input = format!("tensor<1x{c}x{h}x{w}xf32>");
        let mut body = String::new();
        let mut results = Vec::new();
        for (name, [kh, kw], [sh, sw], [pt, pl, pb, pr], d) in layers {
            let oh = (h + pt + pb - d * (kh - 1) - 1) / sh + 1;
            let ow = (w + pl + pr - d * (kw - 1) - 1) / sw + 1;
            let filter = format!("tensor<{k}x{c}x{kh}x{kw}xf32>");
            let output = format!("tensor<1x{k}x{oh}x{ow}xf32>");
            body.push_str(&format!(
                "  %{name}_w = df.param \"{name}.w\" : {filter}\n  \
                 %{name}_b = df.param \"{name}.b\" : tensor<{k}xf32>\n  \
                 %{name} = df.conv2d %x, %{name}_w, %{name}_b strides [{sh}, {sw}] \
                 pads [{pt}, {pl}, {pb}, {pr}] dilations [{d}, {d}]\n      \
                 : ({input}, {filter}, tensor<{k}xf32>) -> {output}\n"
            ));
            results.push((format!("%{name}"), output));
        }
        let text = function_of(&input, &body, results);
        let inputs = vec![random_input(
            &[1, c as usize, h as usize, w as usize],
            16,
            0,
        )];
        compare_op_by_op(&text, &params, inputs).map_err(|e| {
            let message = e.message().unwrap_or_default();
            format!("{h}x{w}: {message}")
        })?;
    }
    Ok(())
}

/// Pools in vectors along the output rows (`affine/pool.rs`): max and
/// average, strides 1 and 2 (and 3, which keeps the scalar loops), padding
/// on every side, ceil mode (windows past the padded input), and averages
/// with and without the padding in their count, on rows of 7 to 37
/// columns. Op by op, and staged (every layer alone, at 2 and 8 KiB, so
/// that tiles cut the rows), against the reference.
fn pools_run_in_vectors_along_rows() -> Result<(), Failed> {
    /// Kind, kernel, stride, pads (top, left, bottom, right), flags.
    type Layer = (&'static str, i64, i64, [i64; 4], &'static str);
    let layers: [Layer; 7] = [
        ("max", 3, 1, [1, 1, 1, 1], ""),
        ("max", 3, 2, [1, 1, 1, 1], ""),
        ("max", 3, 2, [0, 0, 0, 0], " ceil_mode"),
        ("avg", 3, 1, [1, 1, 1, 1], " count_include_pad"),
        ("avg", 3, 1, [1, 0, 1, 2], ""),
        ("avg", 2, 2, [1, 1, 1, 1], " ceil_mode count_include_pad"),
        ("max", 3, 3, [1, 1, 1, 1], ""),
    ];
    let params = weights::RandomParams { seed: 17 };
    let c = 6;
    for (h, w) in [(7, 7), (9, 20), (6, 37)] {
        let input = format!("tensor<1x{c}x{h}x{w}xf32>");
        let mut body = String::new();
        let mut results = Vec::new();
        for (i, (kind, k, s, [pt, pl, pb, pr], flags)) in layers.into_iter().enumerate() {
            let ceil = flags.contains("ceil_mode");
            let size = |n: i64, before: i64, after: i64| {
                let span = n + before + after - k;
                let out = (if ceil { (span + s - 1) / s } else { span / s }) + 1;
                // A last window that would start in the right padding is dropped.
                if ceil && (out - 1) * s >= n + before {
                    out - 1
                } else {
                    out
                }
            };
            let output = format!("tensor<1x{c}x{}x{}xf32>", size(h, pt, pb), size(w, pl, pr));
            body.push_str(&format!(
                "  %p{i} = df.pool2d {kind} %x kernel [{k}, {k}] strides [{s}, {s}] \
                 pads [{pt}, {pl}, {pb}, {pr}]{flags} : {input} -> {output}\n"
            ));
            results.push((format!("%p{i}"), output));
        }
        let text = function_of(&input, &body, results);
        let inputs = vec![random_input(
            &[1, c as usize, h as usize, w as usize],
            17,
            0,
        )];
        let label = |e: Failed| format!("{h}x{w}: {}", e.message().unwrap_or_default());
        compare_op_by_op(&text, &params, inputs.clone()).map_err(label)?;
        for scratchpad in [2 << 10, 8 << 10] {
            let options = CompileOptions {
                scratchpad,
                strategy: Strategy::Naive,
                stage_all: true,
                ..CompileOptions::default()
            };
            every_region_staged(&text, options, &params, inputs.clone()).map_err(label)?;
        }
    }
    Ok(())
}

/// Op-by-op convolutions over input rows wider than the cache tile
/// (`conv.rs`'s `CACHE_TILE_BYTES`; 192 channels x 70 columns is 53 KiB a
/// row): 3x3 layers one output row per tile, a strided 1x1 two rows per
/// tile (the last tile short), and a 1x1's merged row in stretches of 16
/// blocks (the last short, then the edge blocks); blocks of 8, 4 and 1
/// output channels.
fn convolutions_run_a_cache_tile_at_a_time() -> Result<(), Failed> {
    let (c, h, w) = (192, 9, 70);
    let input = format!("tensor<1x{c}x{h}x{w}xf32>");
    // (name, output channels, kernel, stride, pad, output rows and columns)
    let layers = [
        ("k3", 16, 3, 1, 1, (9, 70)),
        ("k3s2", 12, 3, 2, 1, (5, 35)),
        ("k1", 16, 1, 1, 0, (9, 70)),
        ("k1s2", 6, 1, 2, 0, (5, 35)),
    ];
    let mut body = String::new();
    let mut results = Vec::new();
    for (name, k, kernel, stride, pad, (oh, ow)) in layers {
        let filter = format!("tensor<{k}x{c}x{kernel}x{kernel}xf32>");
        let output = format!("tensor<1x{k}x{oh}x{ow}xf32>");
        body.push_str(&format!(
            "  %{name}_w = df.param \"{name}.w\" : {filter}\n  \
             %{name}_b = df.param \"{name}.b\" : tensor<{k}xf32>\n  \
             %{name} = df.conv2d %x, %{name}_w, %{name}_b strides [{stride}, {stride}] \
             pads [{pad}, {pad}, {pad}, {pad}] dilations [1, 1]\n      \
             : ({input}, {filter}, tensor<{k}xf32>) -> {output}\n"
        ));
        results.push((format!("%{name}"), output));
    }
    let text = function_of(&input, &body, results);
    let inputs = vec![random_input(&[1, c, h, w], 7, 0)];
    compare_op_by_op(&text, &weights::RandomParams { seed: 7 }, inputs)
}

/// Streamed weights load several output channels' slices at once when the
/// arena has room (`staging::widen`): groups of 8, 4 and 2 over 20 and 12
/// output channels, so the last group is short, and groups of all 12 or 20
/// channels where a layer alone can widen; filters loaded per input
/// chunk (12 and 20 input channels in chunks of 8, or wider where the arena
/// has room) as boxes of one row per output channel; stride 2 and 1x1 tile
/// kernels blocked over the group's channels; and a one-pixel 1x1 convolution (the dot-product
/// kernel, blocks of 8 output channels summed across lanes, a 4-channel
/// tail). Outputs and bytes match at every scratchpad size.
fn weight_slices_load_in_groups_of_output_channels() -> Result<(), Failed> {
    let chain = r#"func.func @net(%x: tensor<1x12x10x10xf32>) -> tensor<1x20x5x5xf32> {
  %wa = df.param "a.w" : tensor<20x12x3x3xf32>
  %ba = df.param "a.b" : tensor<20xf32>
  %a = df.conv2d %x, %wa, %ba strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x12x10x10xf32>, tensor<20x12x3x3xf32>, tensor<20xf32>) -> tensor<1x20x10x10xf32>
  %r = df.activation relu %a : tensor<1x20x10x10xf32>
  %wb = df.param "b.w" : tensor<12x20x1x1xf32>
  %b = df.conv2d %r, %wb strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1]
      : (tensor<1x20x10x10xf32>, tensor<12x20x1x1xf32>) -> tensor<1x12x10x10xf32>
  %wc = df.param "c.w" : tensor<20x12x3x3xf32>
  %bc = df.param "c.b" : tensor<20xf32>
  %c = df.conv2d %b, %wc, %bc strides [2, 2] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x12x10x10xf32>, tensor<20x12x3x3xf32>, tensor<20xf32>) -> tensor<1x20x5x5xf32>
  return %c : tensor<1x20x5x5xf32>
}
"#;
    let pixel = r#"func.func @net(%x: tensor<1x20x1x1xf32>) -> tensor<1x12x1x1xf32> {
  %w = df.param "w" : tensor<12x20x1x1xf32>
  %b = df.param "b" : tensor<12xf32>
  %c = df.conv2d %x, %w, %b strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1]
      : (tensor<1x20x1x1xf32>, tensor<12x20x1x1xf32>, tensor<12xf32>) -> tensor<1x12x1x1xf32>
  return %c : tensor<1x12x1x1xf32>
}
"#;
    let params = weights::RandomParams { seed: 5 };
    let mut staged = 0;
    for (text, input, schedules) in [
        (
            chain,
            [1, 12, 10, 10],
            &[
                (Strategy::Layer, 4 << 10),
                (Strategy::Layer, 8 << 10),
                (Strategy::Naive, 16 << 10),
                (Strategy::Dp, 8 << 10),
                (Strategy::Dp, 16 << 10),
            ][..],
        ),
        (
            pixel,
            [1, 20, 1, 1],
            &[(Strategy::Dp, 1 << 10), (Strategy::Dp, 1 << 20)][..],
        ),
    ] {
        let input = random_input(&input, 5, 0);
        for &(strategy, scratchpad) in schedules {
            for registers in VECTOR_REGISTERS {
                let options = CompileOptions {
                    scratchpad,
                    strategy,
                    vector_registers: Some(registers),
                    ..CompileOptions::default()
                };
                staged += compare(text, options, &params, vec![input.clone()])?;
            }
        }
    }
    assert!(staged >= 20, "too few regions staged: {staged}");
    Ok(())
}

fn zoo_network(name: &str, size: usize) -> Result<(), Failed> {
    let network = zoo::build(name, Some(size))?;
    let params = weights::tensors(&network, 11);
    let input = random_input(&network.input_shape, 11, 0);
    compare(
        &network.text,
        CompileOptions::default(),
        &params,
        vec![input],
    )?;
    Ok(())
}

fn emits_every_stage() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let network = dir.path().join("tiny.mlir");
    std::fs::write(&network, deepfuse::examples::TINY_CNN)?;
    let emit = |emit: Emit, output: Option<&Path>| {
        deepfuse::cli::compile::run(&CompileArgs {
            network: network.clone(),
            scratchpad: "1MiB".into(),
            strategy: "dp".into(),
            staging: Default::default(),
            codegen: CodegenArgs {
                codegen_threads: 2,
                ..CodegenArgs::default()
            },
            emit: Some(emit),
            output: output.map(Path::to_path_buf),
        })
    };
    let df = emit(Emit::Df, None)?;
    assert!(df.contains("df.fusion_region"), "{df}");
    let affine = emit(Emit::Affine, None)?;
    assert!(affine.contains("func.func @deepfuse_forward"));
    assert!(affine.contains("affine.for"));
    assert!(!affine.contains("df."), "no df op is left:\n{affine}");
    Ok(())
}

fn errors_are_messages() -> Result<(), Failed> {
    // A network input of the wrong shape.
    let compiled = Compiler::default().compile(deepfuse::examples::TINY_CNN, "tiny.mlir")?;
    let params = compiled.load_params(&weights::RandomParams { seed: 0 })?;
    let error = compiled
        .run(&params, &[random_input(&[1, 3, 8, 8], 0, 0)])
        .expect_err("wrong input shape");
    assert!(error.contains("input #0 has shape [1, 3, 8, 8]"), "{error}");

    // A parameter missing from the source.
    let empty = std::collections::HashMap::<String, Tensor>::new();
    let error = compiled.load_params(&empty).expect_err("no parameters");
    assert!(error.contains("is missing"), "{error}");

    // A scratchpad too small for any schedule names the op.
    let options = CompileOptions {
        scratchpad: 64,
        strategy: Strategy::Dp,
        ..CompileOptions::default()
    };
    let error = Compiler::new(options)
        .compile(deepfuse::examples::TINY_CNN, "tiny.mlir")
        .expect_err("64 bytes fit nothing");
    assert!(error.contains("scheduling failed"), "{error}");
    Ok(())
}

/// The traffic the compiled regions' schedules predict is what `deepfuse
/// report` prints for the same network and scratchpad.
fn predicted_traffic_is_the_reports() -> Result<(), Failed> {
    for scratchpad in [64u64 << 10, 1 << 20] {
        let options = CompileOptions {
            scratchpad,
            strategy: Strategy::Dp,
            ..CompileOptions::default()
        };
        let lowered = Compiler::new(options).lower(deepfuse::examples::TINY_CNN, "tiny.mlir")?;
        let graphs = deepfuse::report::load_graphs(deepfuse::examples::TINY_CNN, "tiny.mlir")?;
        let schedule_options = deepfuse::passes::schedule::ScheduleOptions::new(scratchpad);
        let report = deepfuse::report::analyse(&graphs[0], Strategy::Dp, &schedule_options)?;
        let predicted = lowered.predicted_total();
        assert_eq!(lowered.regions, report.deepfuse.groups);
        assert_eq!(
            predicted.total(),
            report.deepfuse.traffic.total,
            "{scratchpad}"
        );
        assert_eq!(predicted.input, report.deepfuse.traffic.input);
        assert_eq!(predicted.weight, report.deepfuse.traffic.weight);
        assert_eq!(predicted.output, report.deepfuse.traffic.output);
    }
    Ok(())
}

/// The weights a batch norm is folded from are read by the init function
/// only: they are placed after what the forward function reads, and the
/// forward function is given only that prefix.
fn init_only_parameters_come_last() -> Result<(), Failed> {
    let lowered = Compiler::default().lower(deepfuse::examples::TINY_CNN, "tiny.mlir")?;
    let plan = &lowered.plan;
    assert!(plan.forward_param_bytes < plan.param_bytes, "{plan:?}");
    let forward = format!(
        "@deepfuse_forward(%arg0: memref<{}xi8>, %arg1: memref<{}xi8>",
        plan.activation_bytes, plan.forward_param_bytes
    );
    assert!(lowered.affine.contains(&forward), "{}", lowered.affine);
    Ok(())
}

/// 1x1 convolutions as products of matrices (`lowering/src/affine/product.rs`):
/// 300 input channels, so passes of 128, 128 and 44 channels where the first
/// starts from the bias (or zero) and the others add to the output; 13, 8
/// and 3 output channels (blocks of 4, or 8 with 32 vector registers, and
/// what is left over); 99 columns (four blocks
/// of 24 and a masked one) and, strided by 2 and 3, 30 and 12 columns from a
/// subsampled input. Op by op, then staged: tile steps whose frame spans
/// whole rows run the product, the others the general tile kernel, and
/// both compute the reference's outputs and move the predicted bytes.
fn pointwise_products_cover_chunks_and_edges() -> Result<(), Failed> {
    let (c, h, w) = (300, 9, 11);
    let input = format!("tensor<1x{c}x{h}x{w}xf32>");
    // (name, output channels, stride, bias, output rows and columns)
    let layers = [
        ("biased", 13, 1, true, (9, 11)),
        ("unbiased", 8, 1, false, (9, 11)),
        ("s2", 13, 2, true, (5, 6)),
        ("s3", 5, 3, false, (3, 4)),
        ("narrow", 3, 1, true, (9, 11)),
    ];
    let mut body = String::new();
    let mut results = Vec::new();
    for (name, k, stride, bias, (oh, ow)) in layers {
        let filter = format!("tensor<{k}x{c}x1x1xf32>");
        let output = format!("tensor<1x{k}x{oh}x{ow}xf32>");
        body.push_str(&format!("  %{name}_w = df.param \"{name}.w\" : {filter}\n"));
        let (bias_operand, bias_type) = if bias {
            body.push_str(&format!(
                "  %{name}_b = df.param \"{name}.b\" : tensor<{k}xf32>\n"
            ));
            (format!(", %{name}_b"), format!(", tensor<{k}xf32>"))
        } else {
            (String::new(), String::new())
        };
        body.push_str(&format!(
            "  %{name} = df.conv2d %x, %{name}_w{bias_operand} strides [{stride}, {stride}] \
             pads [0, 0, 0, 0] dilations [1, 1]\n      \
             : ({input}, {filter}{bias_type}) -> {output}\n"
        ));
        results.push((format!("%{name}"), output));
    }
    let text = function_of(&input, &body, results);
    let params = weights::RandomParams { seed: 11 };
    let inputs = vec![random_input(&[1, c, h, w], 11, 0)];
    let mut staged = 0;
    for registers in VECTOR_REGISTERS {
        let op_by_op = CompileOptions {
            staging: false,
            vector_registers: Some(registers),
            ..CompileOptions::default()
        };
        compare(&text, op_by_op, &params, inputs.clone())?;
        for (strategy, scratchpad) in [
            (Strategy::Layer, 16 << 10),
            (Strategy::Layer, 64 << 10),
            (Strategy::Layer, 1 << 20),
            (Strategy::Dp, 32 << 10),
        ] {
            let options = CompileOptions {
                scratchpad,
                strategy,
                vector_registers: Some(registers),
                ..CompileOptions::default()
            };
            staged += compare(&text, options, &params, inputs.clone())?;
        }
    }
    assert!(staged >= 16, "too few regions staged: {staged}");
    Ok(())
}

/// Products whose pass reads more filter than input run their blocks of
/// output channels outside the blocks of columns: a 1x1 convolution of
/// 600 to 1003 channels on 7x7 (passes of 128 input channels and a last
/// of 88; 49 columns, two blocks of 24 and a masked one; 1003 channels, so
/// the last block repeats its last channel) and a 3x3 one of 40 to 300
/// channels with padding on 6x9 (passes of 32 and 8 channels on the padded
/// grid's 64 columns). Op by op, both outputs are the reference's.
fn deep_filters_block_output_channels_outside() -> Result<(), Failed> {
    let text = r#"func.func @net(%x: tensor<1x600x7x7xf32>, %y: tensor<1x40x6x9xf32>) -> (tensor<1x1003x7x7xf32>, tensor<1x300x6x9xf32>) {
  %w1 = df.param "w1" : tensor<1003x600x1x1xf32>
  %b1 = df.param "b1" : tensor<1003xf32>
  %a = df.conv2d %x, %w1, %b1 strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1]
      : (tensor<1x600x7x7xf32>, tensor<1003x600x1x1xf32>, tensor<1003xf32>) -> tensor<1x1003x7x7xf32>
  %w2 = df.param "w2" : tensor<300x40x3x3xf32>
  %b = df.conv2d %y, %w2 strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x40x6x9xf32>, tensor<300x40x3x3xf32>) -> tensor<1x300x6x9xf32>
  return %a, %b : tensor<1x1003x7x7xf32>, tensor<1x300x6x9xf32>
}
"#;
    let params = weights::RandomParams { seed: 18 };
    let inputs = vec![
        random_input(&[1, 600, 7, 7], 18, 0),
        random_input(&[1, 40, 6, 9], 18, 1),
    ];
    compare_op_by_op(text, &params, inputs)
}

/// A 3x3 conv feeding a 1x1 conv to 256 channels and a relu, both
/// results returned, at capacities where the DP schedule cuts the 256
/// channels into chunks inside one spatial tile: the 3x3 conv runs at the
/// first chunk only and its output stays in the arena while every chunk's
/// 1x1 conv reads it. The relu's buffer, needed after the 1x1 conv's last
/// read, must not take its place (the arena keeps it live to the end of
/// the step). Each chunk loads its own output channels' weight slices.
/// Counted bytes equal the prediction and the outputs the reference's.
fn channel_chunks_keep_phase_one_on_chip() -> Result<(), Failed> {
    let text = r#"func.func @net(%x: tensor<1x16x14x14xf32>) -> (tensor<1x256x14x14xf32>, tensor<1x256x14x14xf32>) {
  %wa = df.param "a.w" : tensor<16x16x3x3xf32>
  %ba = df.param "a.b" : tensor<16xf32>
  %a = df.conv2d %x, %wa, %ba strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x16x14x14xf32>, tensor<16x16x3x3xf32>, tensor<16xf32>) -> tensor<1x16x14x14xf32>
  %wb = df.param "b.w" : tensor<256x16x1x1xf32>
  %bb = df.param "b.b" : tensor<256xf32>
  %b = df.conv2d %a, %wb, %bb strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1]
      : (tensor<1x16x14x14xf32>, tensor<256x16x1x1xf32>, tensor<256xf32>) -> tensor<1x256x14x14xf32>
  %r = df.activation relu %b : tensor<1x256x14x14xf32>
  return %b, %r : tensor<1x256x14x14xf32>, tensor<1x256x14x14xf32>
}
"#;
    let params = weights::RandomParams { seed: 7 };
    let input = random_input(&[1, 16, 14, 14], 7, 0);
    for scratchpad in [26 << 10, 28 << 10] {
        let options = CompileOptions {
            scratchpad,
            strategy: Strategy::Dp,
            ..CompileOptions::default()
        };
        let (steps, _) = staged_steps(text, &options)?;
        assert!(
            steps.len() == 1 && steps[0] >= 16,
            "{scratchpad}: expected one region staged in channel chunks, got steps {steps:?}"
        );
        assert_eq!(compare(text, options, &params, vec![input.clone()])?, 1);
    }
    Ok(())
}

/// The example network's DP schedules at 16, 32 and 64 KiB keep the
/// overlaps of rows and columns between tiles (DeFiNES's fully cached
/// mode): the first region, from the input on, runs in grids of 16x16,
/// 8x8 and 8x2 tiles whose windows keep their halos on chip. Each
/// tile computes only the rows and columns the tiles before did not,
/// shifts what it shares with the tile to its left, and restores the rows
/// it shares with the band above from a line buffer. Counted bytes equal
/// the prediction (every input byte loaded once) and outputs the
/// reference's.
fn cached_overlaps_carry_halos_between_tiles() -> Result<(), Failed> {
    let text = deepfuse::examples::TINY_CNN;
    let params = weights::RandomParams { seed: 3 };
    let input = random_input(&[1, 3, 32, 32], 3, 0);
    for scratchpad in [16 << 10, 32 << 10, 64 << 10] {
        let options = CompileOptions {
            scratchpad,
            strategy: Strategy::Dp,
            // At 16 and 32 KiB the tiles are 2 and 4 columns of 32, which
            // the default leaves op by op (17 times as fast).
            stage_all: true,
            ..CompileOptions::default()
        };
        let compiled = Compiler::new(options.clone()).compile(text, "tiny_cnn.mlir")?;
        let first = compiled.lowered.staging[0].clone();
        assert!(
            first
                .as_ref()
                .is_ok_and(|s| s.steps > 1 && s.kept_windows > 0 && s.line_buffers > 0),
            "{scratchpad}: expected the first region staged with kept windows and line \
             buffers, got {first:?}"
        );
        assert!(compare(text, options, &params, vec![input.clone()])? >= 1);
    }
    Ok(())
}

/// The example network's classifier (flatten, reshape, matmul, bias add,
/// softmax) has no tile kernels, but its regions are one tile whose
/// windows are whole tensors: each op runs its own kernel on arena buffers,
/// so every region of both schedules is staged, with the predicted bytes.
fn classifier_tails_run_whole() -> Result<(), Failed> {
    let text = deepfuse::examples::TINY_CNN;
    let params = weights::RandomParams { seed: 4 };
    let input = random_input(&[1, 3, 32, 32], 4, 0);
    for strategy in [Strategy::Dp, Strategy::Layer] {
        let options = CompileOptions {
            scratchpad: 64 << 10,
            strategy,
            ..CompileOptions::default()
        };
        let compiled = Compiler::new(options.clone()).compile(text, "tiny_cnn.mlir")?;
        let unstaged: Vec<&String> = compiled
            .lowered
            .staging
            .iter()
            .filter_map(|region| region.as_ref().err())
            .collect();
        assert!(unstaged.is_empty(), "{}: {unstaged:?}", strategy.name());
        let regions = compiled.lowered.staging.len();
        assert_eq!(
            compare(text, options, &params, vec![input.clone()])?,
            regions
        );
    }
    Ok(())
}

/// A residual add of two network inputs: the cost model streams both
/// through buffers of 8 channels, so at 12 KiB the add's region fits only
/// when both are loaded chunk by chunk (the same chunks of each), the sum
/// computed on each pair. At 64 KiB, in chunks of 32.
fn binary_ops_chunk_both_streamed_inputs() -> Result<(), Failed> {
    let text = r#"func.func @net(%x: tensor<1x32x16x16xf32>, %y: tensor<1x32x16x16xf32>) -> tensor<1x32x16x16xf32> {
  %s = df.add %x, %y : (tensor<1x32x16x16xf32>, tensor<1x32x16x16xf32>) -> tensor<1x32x16x16xf32>
  return %s : tensor<1x32x16x16xf32>
}
"#;
    let params = weights::RandomParams { seed: 5 };
    let inputs = vec![
        random_input(&[1, 32, 16, 16], 5, 0),
        random_input(&[1, 32, 16, 16], 5, 1),
    ];
    for scratchpad in [12 << 10, 64 << 10] {
        let options = CompileOptions {
            scratchpad,
            strategy: Strategy::Naive,
            ..CompileOptions::default()
        };
        let (steps, _) = staged_steps(text, &options)?;
        assert_eq!(steps.len(), 1, "{scratchpad}: the add's region is staged");
        assert_eq!(compare(text, options, &params, inputs.clone())?, 1);
    }
    Ok(())
}

/// A channel concat of two network inputs and a relu of one of them. The
/// cost model streams a concat's inputs through buffers of 8 channels, so
/// at 16 KiB the naive schedule's concat region fits only when its inputs
/// are loaded straight into the output window (buffers of their own would
/// double it). Under dp, the concat reads `%x` straight and copies the
/// relu's result and `%y` (read twice, so its window is loaded once).
/// Every region is staged, the counted bytes equal the prediction and the
/// output the reference's.
fn concat_inputs_load_into_the_output() -> Result<(), Failed> {
    let text = r#"func.func @net(%x: tensor<1x24x16x16xf32>, %y: tensor<1x16x16x16xf32>) -> tensor<1x56x16x16xf32> {
  %r = df.activation relu %y : tensor<1x16x16x16xf32>
  %c = df.concat %x, %r, %y axis 1 : (tensor<1x24x16x16xf32>, tensor<1x16x16x16xf32>, tensor<1x16x16x16xf32>) -> tensor<1x56x16x16xf32>
  return %c : tensor<1x56x16x16xf32>
}
"#;
    let params = weights::RandomParams { seed: 6 };
    let inputs = vec![
        random_input(&[1, 24, 16, 16], 6, 0),
        random_input(&[1, 16, 16, 16], 6, 1),
    ];
    for strategy in [Strategy::Naive, Strategy::Dp] {
        for scratchpad in [16 << 10, 64 << 10] {
            let options = CompileOptions {
                scratchpad,
                strategy,
                ..CompileOptions::default()
            };
            every_region_staged(text, options, &params, inputs.clone())?;
        }
    }
    Ok(())
}

/// A depthwise convolution (stride 2, padded, 40 channels) of a relu's
/// result. The cost model streams the convolution's input through a
/// buffer of 8 channels and its weights one channel at a time, so at
/// 32 KiB its region fits only when the input comes in chunks of channels,
/// each chunk's output channels computed from it with their weights loaded
/// in the chunk; at the other capacities the tiles are smaller. Every
/// region is staged, the counted bytes equal the prediction and the output
/// the reference's.
fn depthwise_convolutions_compute_chunk_by_chunk() -> Result<(), Failed> {
    let text = r#"func.func @net(%x: tensor<1x40x16x16xf32>) -> tensor<1x40x8x8xf32> {
  %r = df.activation relu %x : tensor<1x40x16x16xf32>
  %w = df.param "dw.w" : tensor<40x1x3x3xf32>
  %b = df.param "dw.b" : tensor<40xf32>
  %y = df.conv2d %r, %w, %b strides [2, 2] pads [1, 1, 1, 1] dilations [1, 1] {groups = 40 : i64}
      : (tensor<1x40x16x16xf32>, tensor<40x1x3x3xf32>, tensor<40xf32>) -> tensor<1x40x8x8xf32>
  return %y : tensor<1x40x8x8xf32>
}
"#;
    let params = weights::RandomParams { seed: 8 };
    let input = random_input(&[1, 40, 16, 16], 8, 0);
    for strategy in [Strategy::Naive, Strategy::Layer, Strategy::Dp] {
        for scratchpad in [8 << 10, 16 << 10, 32 << 10] {
            let options = CompileOptions {
                scratchpad,
                strategy,
                // The smaller tiles are a few columns of 16.
                stage_all: true,
                ..CompileOptions::default()
            };
            every_region_staged(text, options, &params, vec![input.clone()])?;
        }
    }
    Ok(())
}

/// ResNet-50's layer2.0 tail: a 1x1 convolution of the block's 4x4
/// branch, the strided 1x1 downsampling of its 8x8 input, their sum and a
/// relu. At 64 KiB the dp schedule computes 16 chunks of 32 output
/// channels in one tile; the downsampling's 256-channel input window is
/// loaded with the first chunk and kept, and the first convolution, which
/// runs before it at every chunk, loads its weights meanwhile. Those must
/// not land on the kept window (they once did, from the second chunk on).
fn kept_windows_outlive_the_chunk_loop() -> Result<(), Failed> {
    let text = r#"func.func @net(%x: tensor<1x128x4x4xf32>, %y: tensor<1x256x8x8xf32>) -> tensor<1x512x4x4xf32> {
  %wa = df.param "a.w" : tensor<512x128x1x1xf32>
  %ba = df.param "a.b" : tensor<512xf32>
  %a = df.conv2d %x, %wa, %ba strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1]
      : (tensor<1x128x4x4xf32>, tensor<512x128x1x1xf32>, tensor<512xf32>) -> tensor<1x512x4x4xf32>
  %wd = df.param "d.w" : tensor<512x256x1x1xf32>
  %bd = df.param "d.b" : tensor<512xf32>
  %d = df.conv2d %y, %wd, %bd strides [2, 2] pads [0, 0, 0, 0] dilations [1, 1]
      : (tensor<1x256x8x8xf32>, tensor<512x256x1x1xf32>, tensor<512xf32>) -> tensor<1x512x4x4xf32>
  %s = df.add %a, %d : (tensor<1x512x4x4xf32>, tensor<1x512x4x4xf32>) -> tensor<1x512x4x4xf32>
  %r = df.activation relu %s : tensor<1x512x4x4xf32>
  return %r : tensor<1x512x4x4xf32>
}
"#;
    let params = weights::RandomParams { seed: 12 };
    let inputs = vec![
        random_input(&[1, 128, 4, 4], 12, 0),
        random_input(&[1, 256, 8, 8], 12, 1),
    ];
    let options = CompileOptions {
        scratchpad: 64 << 10,
        strategy: Strategy::Dp,
        ..CompileOptions::default()
    };
    let (steps, _) = staged_steps(text, &options)?;
    assert_eq!(steps, [16], "one region in 16 chunks");
    every_region_staged(text, options, &params, inputs)
}

/// ResNet-50 at 32x32 under dp at 64 KiB leaves one region op by op: with
/// its chunks the arena leaves room to stream a filter only one output
/// channel per call, several times slower than op by op. `stage_all`
/// stages it too, and its bytes are counted as predicted.
fn stage_all_stages_slow_regions() -> Result<(), Failed> {
    let network = zoo::build("resnet50", Some(32))?;
    let params = weights::tensors(&network, 13);
    let input = random_input(&network.input_shape, 13, 0);
    let options = CompileOptions {
        scratchpad: 64 << 10,
        strategy: Strategy::Dp,
        ..CompileOptions::default()
    };
    let compiled = Compiler::new(options.clone()).compile(&network.text, "net.mlir")?;
    let slow = (compiled.lowered.staging.iter())
        .filter_map(|region| region.as_ref().err())
        .filter(|reason| reason.contains("several times slower"))
        .count();
    assert!(slow >= 1, "{:?}", compiled.lowered.staging);
    let options = CompileOptions {
        stage_all: true,
        ..options
    };
    every_region_staged(&network.text, options, &params, vec![input])
}

/// Overlaps kept on chip (cached) in regions cut into channel chunks, as
/// the dp schedule picks them for a 3x3 convolution of 16 to 64 channels on
/// 32x32 (and a relu): at 12, 24 and 32 KiB with chunks outside the tiles,
/// each chunk's sweep starting afresh (columns, both with line buffers,
/// rows cached); at 16 KiB with chunks inside, the input's window moving at
/// a tile's first chunk. Then a depthwise convolution after it, which
/// makes the first convolution's output a cached window that changes with
/// the chunk: at 16 and 24 KiB with chunks outside (columns cached, then
/// both with line buffers), the depthwise layer keeping each chunk's first
/// filters for its sweep; at 48 KiB with chunks inside, the window holding
/// every chunk's channels. Every region is staged, the counted bytes equal
/// the prediction and the output the reference's.
fn cached_overlaps_cross_channel_chunks() -> Result<(), Failed> {
    let conv = r#"  %w = df.param "w" : tensor<64x16x3x3xf32>
  %b = df.param "b" : tensor<64xf32>
  %c = df.conv2d %x, %w, %b strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x16x32x32xf32>, tensor<64x16x3x3xf32>, tensor<64xf32>) -> tensor<1x64x32x32xf32>
  %r = df.activation relu %c : tensor<1x64x32x32xf32>
"#;
    let alone = format!(
        "func.func @net(%x: tensor<1x16x32x32xf32>) -> tensor<1x64x32x32xf32> {{\n{conv}  \
         return %r : tensor<1x64x32x32xf32>\n}}\n"
    );
    let depthwise = format!(
        r#"func.func @net(%x: tensor<1x16x32x32xf32>) -> tensor<1x64x32x32xf32> {{
{conv}  %wd = df.param "wd" : tensor<64x1x3x3xf32>
  %bd = df.param "bd" : tensor<64xf32>
  %d = df.conv2d %r, %wd, %bd strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1] {{groups = 64 : i64}}
      : (tensor<1x64x32x32xf32>, tensor<64x1x3x3xf32>, tensor<64xf32>) -> tensor<1x64x32x32xf32>
  return %d : tensor<1x64x32x32xf32>
}}
"#
    );
    let params = weights::RandomParams { seed: 16 };
    let input = random_input(&[1, 16, 32, 32], 16, 0);
    // (network, KiB, chunks outside, line buffers)
    let cases = [
        (&alone, 12, true, false),
        (&alone, 16, false, false),
        (&alone, 24, true, true),
        (&alone, 32, true, false),
        (&depthwise, 16, true, false),
        (&depthwise, 24, true, true),
        (&depthwise, 48, false, false),
    ];
    for (text, kib, outside, lines) in cases {
        let options = CompileOptions {
            scratchpad: kib << 10,
            strategy: Strategy::Dp,
            // Their tiles are a few columns wide.
            stage_all: true,
            ..CompileOptions::default()
        };
        let compiled = Compiler::new(options.clone()).compile(text, "net.mlir")?;
        let summary = compiled.lowered.staging[0].clone();
        assert!(
            summary.as_ref().is_ok_and(|s| s.tiles[2] > 1
                && s.chunks_outside == outside
                && s.kept_windows > 0
                && (s.line_buffers > 0) == lines),
            "{kib} KiB: {summary:?}"
        );
        every_region_staged(text, options, &params, vec![input.clone()])?;
    }
    Ok(())
}

/// GoogLeNet's inception3b tail (two branches' last convolutions, the
/// concat with two more inputs, the 3x3 max pool of stride 2) at 256 KiB:
/// the dp schedule sweeps 196 tiles per chunk of 120 of the 480 channels,
/// cached both ways, and keeps each branch's weights for the sweeps of the
/// chunks its channels fall in. A branch's piece of a chunk can be all of
/// its channels, part of them or none: each chunk keeps as many of its
/// first channels as it has. Every weight is read once, as predicted.
fn concat_branches_keep_weights_per_sweep() -> Result<(), Failed> {
    let text = r#"func.func @net(%a: tensor<1x32x28x28xf32>, %b: tensor<1x256x28x28xf32>, %c: tensor<1x128x28x28xf32>, %d: tensor<1x192x28x28xf32>) -> tensor<1x480x14x14xf32> {
  %w1 = df.param "w1" : tensor<96x32x3x3xf32>
  %b1 = df.param "b1" : tensor<96xf32>
  %w2 = df.param "w2" : tensor<64x256x1x1xf32>
  %b2 = df.param "b2" : tensor<64xf32>
  %0 = df.conv2d %a, %w1, %b1 strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1] : (tensor<1x32x28x28xf32>, tensor<96x32x3x3xf32>, tensor<96xf32>) -> tensor<1x96x28x28xf32>
  %1 = df.activation relu %0 : tensor<1x96x28x28xf32>
  %2 = df.pool2d max %b kernel [3, 3] strides [1, 1] pads [1, 1, 1, 1] ceil_mode : tensor<1x256x28x28xf32> -> tensor<1x256x28x28xf32>
  %3 = df.conv2d %2, %w2, %b2 strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1] : (tensor<1x256x28x28xf32>, tensor<64x256x1x1xf32>, tensor<64xf32>) -> tensor<1x64x28x28xf32>
  %4 = df.activation relu %3 : tensor<1x64x28x28xf32>
  %5 = df.concat %c, %d, %1, %4 axis 1 : (tensor<1x128x28x28xf32>, tensor<1x192x28x28xf32>, tensor<1x96x28x28xf32>, tensor<1x64x28x28xf32>) -> tensor<1x480x28x28xf32>
  %6 = df.pool2d max %5 kernel [3, 3] strides [2, 2] pads [0, 0, 0, 0] ceil_mode : tensor<1x480x28x28xf32> -> tensor<1x480x14x14xf32>
  return %6 : tensor<1x480x14x14xf32>
}
"#;
    let params = weights::RandomParams { seed: 17 };
    let inputs = [32, 256, 128, 192]
        .iter()
        .enumerate()
        .map(|(i, &c)| random_input(&[1, c, 28, 28], 17, i))
        .collect();
    let options = CompileOptions {
        scratchpad: 256 << 10,
        strategy: Strategy::Dp,
        // Its steps are one pixel.
        stage_all: true,
        ..CompileOptions::default()
    };
    let compiled = Compiler::new(options.clone()).compile(text, "net.mlir")?;
    let summary = compiled.lowered.staging[0].clone();
    assert!(
        summary
            .as_ref()
            .is_ok_and(|s| s.chunks_outside && s.tiles == [14, 14, 4]),
        "{summary:?}"
    );
    let weights = (96 * 32 * 9 + 96 + 64 * 256 + 64) * 4;
    assert_eq!(compiled.lowered.predicted_total().weight, weights);
    every_region_staged(text, options, &params, inputs)
}

/// A 1x1 convolution, a relu and a global average pool, whose 256
/// channels the dp schedule cuts into chunks inside row tiles: 32 chunks
/// in each of 2 row tiles at 12 and 16 KiB (some weights kept at 12), 16
/// chunks of the whole plane at 24 KiB. Each chunk's channels of the
/// pool's accumulator are complete at a different step, which divides
/// them by the plane and stores them there.
fn global_pools_finish_chunk_by_chunk() -> Result<(), Failed> {
    let text = r#"func.func @net(%x: tensor<1x64x8x8xf32>) -> tensor<1x256x1x1xf32> {
  %w = df.param "w" : tensor<256x64x1x1xf32>
  %b = df.param "b" : tensor<256xf32>
  %c = df.conv2d %x, %w, %b strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1]
      : (tensor<1x64x8x8xf32>, tensor<256x64x1x1xf32>, tensor<256xf32>) -> tensor<1x256x8x8xf32>
  %r = df.activation relu %c : tensor<1x256x8x8xf32>
  %g = df.global_pool avg %r : tensor<1x256x8x8xf32> -> tensor<1x256x1x1xf32>
  return %g : tensor<1x256x1x1xf32>
}
"#;
    let params = weights::RandomParams { seed: 14 };
    let input = random_input(&[1, 64, 8, 8], 14, 0);
    for scratchpad in [12 << 10, 16 << 10, 24 << 10] {
        let options = CompileOptions {
            scratchpad,
            strategy: Strategy::Dp,
            ..CompileOptions::default()
        };
        let (steps, _) = staged_steps(text, &options)?;
        assert!(
            steps.len() == 1 && steps[0] >= 16,
            "{scratchpad}: one region in chunks, got steps {steps:?}"
        );
        every_region_staged(text, options, &params, vec![input.clone()])?;
    }
    Ok(())
}

/// Every activation kind and binary op as tile kernels, which compute a
/// row at a time in masked vectors, or a channel's rows as one run when
/// the frame spans whole rows of every buffer (`affine/elementwise.rs`): a
/// 3x3 convolution of 8 channels on 13x13, each activation of its output,
/// then adds and multiplies of them. Tiles of 2 columns, which do not
/// divide the 13 (dp at 4 KiB: runs of 2 columns, and rows at the last
/// column), bands of whole rows (dp at 16 KiB, one activation in place;
/// layer at 4 KiB), whole tensors (naive at 16 KiB), and op by op (flat
/// loops); every region staged, with the reference's output and the
/// predicted bytes.
fn elementwise_tiles_run_in_vectors() -> Result<(), Failed> {
    let text = r#"func.func @net(%x: tensor<1x8x13x13xf32>) -> tensor<1x8x13x13xf32> {
  %w = df.param "w" : tensor<8x8x3x3xf32>
  %b = df.param "b" : tensor<8xf32>
  %c = df.conv2d %x, %w, %b strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x8x13x13xf32>, tensor<8x8x3x3xf32>, tensor<8xf32>) -> tensor<1x8x13x13xf32>
  %a0 = df.activation relu %c : tensor<1x8x13x13xf32>
  %a1 = df.activation clip %c {min = -0.5 : f32, max = 0.75 : f32} : tensor<1x8x13x13xf32>
  %a2 = df.activation leaky_relu %c {alpha = 0.125 : f32} : tensor<1x8x13x13xf32>
  %a3 = df.activation sigmoid %c : tensor<1x8x13x13xf32>
  %a4 = df.activation tanh %c : tensor<1x8x13x13xf32>
  %a5 = df.activation hard_sigmoid %c {alpha = 0.25 : f32, beta = 0.5 : f32} : tensor<1x8x13x13xf32>
  %a6 = df.activation hard_swish %c : tensor<1x8x13x13xf32>
  %a7 = df.activation silu %c : tensor<1x8x13x13xf32>
  %s0 = df.add %a0, %a1 : (tensor<1x8x13x13xf32>, tensor<1x8x13x13xf32>) -> tensor<1x8x13x13xf32>
  %s1 = df.mul %a2, %a3 : (tensor<1x8x13x13xf32>, tensor<1x8x13x13xf32>) -> tensor<1x8x13x13xf32>
  %s2 = df.add %a4, %a5 : (tensor<1x8x13x13xf32>, tensor<1x8x13x13xf32>) -> tensor<1x8x13x13xf32>
  %s3 = df.mul %a6, %a7 : (tensor<1x8x13x13xf32>, tensor<1x8x13x13xf32>) -> tensor<1x8x13x13xf32>
  %t0 = df.add %s0, %s1 : (tensor<1x8x13x13xf32>, tensor<1x8x13x13xf32>) -> tensor<1x8x13x13xf32>
  %t1 = df.mul %s2, %s3 : (tensor<1x8x13x13xf32>, tensor<1x8x13x13xf32>) -> tensor<1x8x13x13xf32>
  %y = df.add %t0, %t1 : (tensor<1x8x13x13xf32>, tensor<1x8x13x13xf32>) -> tensor<1x8x13x13xf32>
  return %y : tensor<1x8x13x13xf32>
}
"#;
    let params = weights::RandomParams { seed: 15 };
    let input = random_input(&[1, 8, 13, 13], 15, 0);
    for (strategy, scratchpad) in [
        (Strategy::Dp, 4 << 10),
        (Strategy::Dp, 16 << 10),
        (Strategy::Layer, 4 << 10),
        (Strategy::Naive, 16 << 10),
    ] {
        let options = CompileOptions {
            scratchpad,
            strategy,
            stage_all: true,
            ..CompileOptions::default()
        };
        every_region_staged(text, options, &params, vec![input.clone()])?;
    }
    compare_op_by_op(text, &params, vec![input])
}

/// A 3x3 convolution of 64 channels on 32x32 and a relu. At 48, 56 and
/// 64 KiB the layer schedule cuts the output channels into 2 chunks
/// outside 3 or 4 spatial tiles, and keeps the weights of each chunk's
/// first 2 or 5 channels for the chunk's sweep: loaded with the other
/// channels' at its first tile, then only the others'. The input streams
/// in chunks of input channels, into which the kept channels' kernel
/// accumulates too. Every region is staged, the counted bytes equal the
/// prediction (less than streaming every weight at every tile) and the
/// output the reference's.
fn chunks_keep_weights_for_their_sweep() -> Result<(), Failed> {
    let text = r#"func.func @net(%x: tensor<1x64x32x32xf32>) -> tensor<1x64x32x32xf32> {
  %w = df.param "w" : tensor<64x64x3x3xf32>
  %b = df.param "b" : tensor<64xf32>
  %c = df.conv2d %x, %w, %b strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x64x32x32xf32>, tensor<64x64x3x3xf32>, tensor<64xf32>) -> tensor<1x64x32x32xf32>
  %r = df.activation relu %c : tensor<1x64x32x32xf32>
  return %r : tensor<1x64x32x32xf32>
}
"#;
    let params = weights::RandomParams { seed: 15 };
    let input = random_input(&[1, 64, 32, 32], 15, 0);
    for scratchpad in [48 << 10, 56 << 10, 64 << 10] {
        let options = CompileOptions {
            scratchpad,
            strategy: Strategy::Layer,
            ..CompileOptions::default()
        };
        let (steps, predicted) = staged_steps(text, &options)?;
        let weights = 64 * 64 * 9 * 4 + 64 * 4;
        assert!(
            steps.len() == 1 && steps[0] >= 6,
            "{scratchpad}: one region in chunks of tiles, got steps {steps:?}"
        );
        assert!(
            predicted.weight > weights && predicted.weight < steps[0] as u64 / 2 * weights,
            "{scratchpad}: each chunk should keep some weights for its sweep: {predicted:?}"
        );
        every_region_staged(text, options, &params, vec![input.clone()])?;
    }
    Ok(())
}

/// A bottleneck block with a strided shortcut, whose layers get chunks and
/// weight slices of their own widths (`staging::widen_each`): 8 to 64
/// output channels per load and 8 to 32 input channels per chunk, the
/// widths differing from layer to layer and from capacity to capacity.
/// Every region is staged, the outputs are the reference's and the counted
/// bytes the predicted ones.
fn layers_widen_one_at_a_time() -> Result<(), Failed> {
    let text = r#"func.func @net(%x: tensor<1x64x14x14xf32>) -> tensor<1x128x7x7xf32> {
  %w1 = df.param "c1.w" : tensor<32x64x1x1xf32>
  %b1 = df.param "c1.b" : tensor<32xf32>
  %c1 = df.conv2d %x, %w1, %b1 strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1]
      : (tensor<1x64x14x14xf32>, tensor<32x64x1x1xf32>, tensor<32xf32>) -> tensor<1x32x14x14xf32>
  %r1 = df.activation relu %c1 : tensor<1x32x14x14xf32>
  %w2 = df.param "c2.w" : tensor<32x32x3x3xf32>
  %b2 = df.param "c2.b" : tensor<32xf32>
  %c2 = df.conv2d %r1, %w2, %b2 strides [2, 2] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x32x14x14xf32>, tensor<32x32x3x3xf32>, tensor<32xf32>) -> tensor<1x32x7x7xf32>
  %r2 = df.activation relu %c2 : tensor<1x32x7x7xf32>
  %w3 = df.param "c3.w" : tensor<128x32x1x1xf32>
  %b3 = df.param "c3.b" : tensor<128xf32>
  %c3 = df.conv2d %r2, %w3, %b3 strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1]
      : (tensor<1x32x7x7xf32>, tensor<128x32x1x1xf32>, tensor<128xf32>) -> tensor<1x128x7x7xf32>
  %wd = df.param "ds.w" : tensor<128x64x1x1xf32>
  %bd = df.param "ds.b" : tensor<128xf32>
  %d = df.conv2d %x, %wd, %bd strides [2, 2] pads [0, 0, 0, 0] dilations [1, 1]
      : (tensor<1x64x14x14xf32>, tensor<128x64x1x1xf32>, tensor<128xf32>) -> tensor<1x128x7x7xf32>
  %s = df.add %c3, %d : (tensor<1x128x7x7xf32>, tensor<1x128x7x7xf32>) -> tensor<1x128x7x7xf32>
  %y = df.activation relu %s : tensor<1x128x7x7xf32>
  return %y : tensor<1x128x7x7xf32>
}
"#;
    let schedules = [
        (Strategy::Dp, 24 << 10),
        (Strategy::Dp, 48 << 10),
        (Strategy::Dp, 64 << 10),
        (Strategy::Dp, 96 << 10),
        (Strategy::Layer, 24 << 10),
        (Strategy::Naive, 16 << 10),
    ];
    all_stages_match(text, &[1, 64, 14, 14], 23, &schedules)
}

/// A 1x1 and a 3x3 convolution of the same input, added, on rows of 35
/// columns. With rows cached from step to step (the dp schedule, in steps
/// of whole rows), the input's window holds the row above the 1x1's frame
/// as well, so the windows start at different rows and the 1x1's product
/// reads its input a row further on (`product::conv2d_tile`); the 3x3's
/// tile kernel covers a row with one block of five vectors
/// (`conv::tile_vectors`). Outputs and bytes match; an input read at the
/// output's rows breaks them.
fn pointwise_tiles_read_taller_windows() -> Result<(), Failed> {
    let text = r#"func.func @net(%x: tensor<1x16x12x35xf32>) -> tensor<1x16x12x35xf32> {
  %wa = df.param "a.w" : tensor<16x16x1x1xf32>
  %ba = df.param "a.b" : tensor<16xf32>
  %a = df.conv2d %x, %wa, %ba strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1]
      : (tensor<1x16x12x35xf32>, tensor<16x16x1x1xf32>, tensor<16xf32>) -> tensor<1x16x12x35xf32>
  %wb = df.param "b.w" : tensor<16x16x3x3xf32>
  %bb = df.param "b.b" : tensor<16xf32>
  %b = df.conv2d %x, %wb, %bb strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x16x12x35xf32>, tensor<16x16x3x3xf32>, tensor<16xf32>) -> tensor<1x16x12x35xf32>
  %s = df.add %a, %b : (tensor<1x16x12x35xf32>, tensor<1x16x12x35xf32>) -> tensor<1x16x12x35xf32>
  %y = df.activation relu %s : tensor<1x16x12x35xf32>
  return %y : tensor<1x16x12x35xf32>
}
"#;
    let schedules = [
        (Strategy::Dp, 24 << 10),
        (Strategy::Dp, 32 << 10),
        (Strategy::Dp, 48 << 10),
        (Strategy::Layer, 24 << 10),
    ];
    all_stages_match(text, &[1, 16, 12, 35], 29, &schedules)
}

/// [`every_region_staged`] for `text` under each of `schedules`, with
/// `--stage-all` (narrow tiles too), random parameters and input of
/// `seed`.
fn all_stages_match(
    text: &str,
    input_shape: &[usize],
    seed: u64,
    schedules: &[(Strategy, u64)],
) -> Result<(), Failed> {
    let params = weights::RandomParams { seed };
    let input = random_input(input_shape, seed, 0);
    for &(strategy, scratchpad) in schedules {
        let options = CompileOptions {
            scratchpad,
            strategy,
            stage_all: true,
            ..CompileOptions::default()
        };
        every_region_staged(text, options, &params, vec![input.clone()])?;
    }
    Ok(())
}

/// Filters loaded chunk by chunk read a chunk-major copy the init function
/// makes (`lowering/src/packing.rs`): a 3x3 conv of 40 input channels and a
/// 1x1 conv of 24, whose inputs stream in chunks of 8 (all full) or 16 (the
/// last of 8 channels), under every strategy. Every region is staged, the
/// outputs are the reference's and the counted bytes the predicted ones,
/// which a slice read from the wrong place of the copy would break.
fn chunk_loads_read_packed_filters() -> Result<(), Failed> {
    let text = r#"func.func @net(%x: tensor<1x40x12x12xf32>) -> tensor<1x24x12x12xf32> {
  %w = df.param "w" : tensor<24x40x3x3xf32>
  %b = df.param "b" : tensor<24xf32>
  %c = df.conv2d %x, %w, %b strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x40x12x12xf32>, tensor<24x40x3x3xf32>, tensor<24xf32>) -> tensor<1x24x12x12xf32>
  %r = df.activation relu %c : tensor<1x24x12x12xf32>
  %v = df.param "v" : tensor<24x24x1x1xf32>
  %d = df.conv2d %r, %v strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1]
      : (tensor<1x24x12x12xf32>, tensor<24x24x1x1xf32>) -> tensor<1x24x12x12xf32>
  return %d : tensor<1x24x12x12xf32>
}
"#;
    let params = weights::RandomParams { seed: 17 };
    let input = random_input(&[1, 40, 12, 12], 17, 0);
    let cases = [
        (Strategy::Dp, 4 << 10, &[8][..]),
        (Strategy::Dp, 24 << 10, &[16]),
        (Strategy::Naive, 12 << 10, &[8]),
        (Strategy::Naive, 24 << 10, &[16, 16]),
        (Strategy::Layer, 24 << 10, &[16, 16]),
    ];
    for (strategy, scratchpad, chunks) in cases {
        let options = CompileOptions {
            scratchpad,
            strategy,
            ..CompileOptions::default()
        };
        let label = format!("{} {scratchpad}", strategy.name());
        let lowered = Compiler::new(options.clone()).lower(text, "net.mlir")?;
        let packed: Vec<i64> = lowered.packed.iter().map(|filter| filter.chunk).collect();
        assert_eq!(
            packed, chunks,
            "{label}: chunk widths of the packed filters"
        );
        every_region_staged(text, options, &params, vec![input.clone()])
            .map_err(|e| format!("{label}: {}", e.message().unwrap_or_default()))?;
    }
    Ok(())
}

/// Asserts that `text` compiled with `options` stages every region, and
/// [`compare`]s it.
fn every_region_staged(
    text: &str,
    options: CompileOptions,
    params: &dyn ParamSource,
    inputs: Vec<Tensor>,
) -> Result<(), Failed> {
    let label = format!("{} {}", options.strategy.name(), options.scratchpad);
    let compiled = Compiler::new(options.clone()).compile(text, "net.mlir")?;
    let unstaged: Vec<&String> = (compiled.lowered.staging.iter())
        .filter_map(|region| region.as_ref().err())
        .collect();
    assert!(unstaged.is_empty(), "{label}: {unstaged:?}");
    let regions = compiled.lowered.staging.len();
    assert_eq!(compare(text, options, params, inputs)?, regions);
    Ok(())
}

/// The steps of every staged region of `text` compiled with `options`, and
/// the predicted traffic of all regions.
fn staged_steps(
    text: &str,
    options: &CompileOptions,
) -> Result<(Vec<usize>, deepfuse::passes::cost::Traffic), Failed> {
    let compiled = Compiler::new(options.clone()).compile(text, "net.mlir")?;
    let steps = compiled
        .lowered
        .staging
        .iter()
        .filter_map(|region| region.as_ref().ok().map(|summary| summary.steps))
        .collect();
    Ok((steps, compiled.lowered.predicted_total()))
}

/// An inception-like block: a 1x1 branch and a 1x1 -> relu -> 3x3 branch,
/// concatenated. At these capacities the DP schedule cuts the 96 output
/// channels into chunks inside spatial tiles and keeps part of the weights
/// on chip: the first channels of some layers' filters for all steps, the
/// others streamed by slices. The 1x1 branch comes first in the network
/// but runs in the chunk loop; the middle 1x1 conv and relu (outside it)
/// run first in every step, so that the branch's buffers cannot take the
/// place of their kept result. Counted bytes equal the prediction and the
/// output the reference's.
fn branches_keep_part_of_their_weights_across_chunks() -> Result<(), Failed> {
    let text = r#"func.func @net(%x: tensor<1x32x14x14xf32>) -> tensor<1x96x14x14xf32> {
  %wa = df.param "a.w" : tensor<48x32x1x1xf32>
  %ba = df.param "a.b" : tensor<48xf32>
  %a = df.conv2d %x, %wa, %ba strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1]
      : (tensor<1x32x14x14xf32>, tensor<48x32x1x1xf32>, tensor<48xf32>) -> tensor<1x48x14x14xf32>
  %wb = df.param "b.w" : tensor<16x32x1x1xf32>
  %bb = df.param "b.b" : tensor<16xf32>
  %b = df.conv2d %x, %wb, %bb strides [1, 1] pads [0, 0, 0, 0] dilations [1, 1]
      : (tensor<1x32x14x14xf32>, tensor<16x32x1x1xf32>, tensor<16xf32>) -> tensor<1x16x14x14xf32>
  %rb = df.activation relu %b : tensor<1x16x14x14xf32>
  %wc = df.param "c.w" : tensor<48x16x3x3xf32>
  %bc = df.param "c.b" : tensor<48xf32>
  %c = df.conv2d %rb, %wc, %bc strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
      : (tensor<1x16x14x14xf32>, tensor<48x16x3x3xf32>, tensor<48xf32>) -> tensor<1x48x14x14xf32>
  %y = df.concat %a, %c axis 1 : (tensor<1x48x14x14xf32>, tensor<1x48x14x14xf32>) -> tensor<1x96x14x14xf32>
  return %y : tensor<1x96x14x14xf32>
}
"#;
    let params = weights::RandomParams { seed: 9 };
    let input = random_input(&[1, 32, 14, 14], 9, 0);
    for scratchpad in [16 << 10, 24 << 10, 32 << 10] {
        let options = CompileOptions {
            scratchpad,
            strategy: Strategy::Dp,
            ..CompileOptions::default()
        };
        let (staged, predicted) = staged_steps(text, &options)?;
        assert!(
            staged.len() == 1 && staged[0] >= 64,
            "{scratchpad}: expected the block staged in chunks of several tiles, got steps {staged:?}"
        );
        assert!(
            predicted.weight > 36_288 && predicted.weight < 4 * 36_288,
            "{scratchpad}: the weights should be partly kept: {predicted:?}"
        );
        assert_eq!(compare(text, options, &params, vec![input.clone()])?, 1);
    }
    Ok(())
}
