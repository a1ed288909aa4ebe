//! The scheduler on real IR: `deepfuse report` (tables, JSON), the plan of
//! `df-form-fusion-regions`, the baselines' order on zoo networks, and the
//! traffic-versus-capacity sweep (`--sweep`: table, JSON, SVG).

use std::collections::BTreeSet;

use deepfuse::{
    context::create_context,
    dialects::source,
    examples::TINY_CNN,
    passes::{
        fusion_regions::{FusionOptions, plan},
        graph::from_ir,
        ir::op_name,
        schedule::{ScheduleOptions, Strategy, compulsory, schedule},
    },
    report::{self, Format, ReportArgs, analyse, load_graphs},
    zoo,
};
use libtest_mimic::{Failed, Trial};
use melior::ir::operation::{OperationLike, WalkOrder, WalkResult};

fn check(name: &str, body: fn() -> Result<(), Failed>) -> Trial {
    Trial::test(format!("report::{name}"), move || crate::catching(body))
}

pub fn trials() -> Vec<Trial> {
    vec![
        check("tiny_cnn_graph", tiny_cnn_graph),
        check("tiny_cnn_report_orders", tiny_cnn_report_orders),
        check(
            "json_is_documented_and_stable",
            json_is_documented_and_stable,
        ),
        check("plan_names_every_op_once", plan_names_every_op_once),
        check("zoo_networks_at_one_mib", zoo_networks_at_one_mib),
        check("report_errors", report_errors),
        check("sweep_is_monotone", sweep_is_monotone),
        check("sweep_json_is_documented", sweep_json_is_documented),
        check("sweep_table_and_output_file", sweep_table_and_output_file),
        check("sweep_svg_is_a_plot", sweep_svg_is_a_plot),
        check("sweep_errors", sweep_errors),
    ]
}

fn args(input: &str, scratchpad: &str, format: Format) -> ReportArgs {
    ReportArgs {
        input: input.into(),
        scratchpad: scratchpad.into(),
        elem_bytes: None,
        format,
        strategy: "dp".into(),
        double_buffer: false,
        max_group_ops: 64,
        exhaustive: false,
        sweep: None,
        output: None,
    }
}

fn sweep_args(input: &str, range: &str, format: Format) -> ReportArgs {
    ReportArgs {
        sweep: Some(range.into()),
        ..args(input, "1MiB", format)
    }
}

fn u64_at(value: &serde_json::Value) -> u64 {
    value
        .as_u64()
        .unwrap_or_else(|| panic!("not a u64: {value}"))
}

fn temp_file(name: &str, text: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, text).expect("writable temp dir");
    path.display().to_string()
}

/// The canonicalised tiny CNN as a layer graph: parameters are weights, not
/// layers; batch norms and biases are folded.
fn tiny_cnn_graph() -> Result<(), Failed> {
    let graphs = load_graphs(TINY_CNN, "tiny_cnn")?;
    assert_eq!(graphs.len(), 1);
    let g = &graphs[0];
    let kinds: Vec<String> = g.nodes.iter().map(|n| n.kind.short_name()).collect();
    assert_eq!(
        kinds,
        [
            "conv3x3",
            "relu",
            "maxpool",
            "conv3x3",
            "relu",
            "conv3x3",
            "add",
            "relu",
            "conv3x3",
            "clip",
            "global_pool",
            "reshape",
            "matmul",
            "softmax"
        ]
    );
    assert_eq!(g.nodes[0].label, "conv1");
    // conv1: 16*3*3*3 filter + 16 bias (folded from the batch norm).
    assert_eq!(g.nodes[0].weight_bytes(), (16 * 27 + 16) * 4);
    // The residual add reads the block input (the pool) and the conv.
    assert_eq!(g.producers(6), vec![2, 5]);
    assert_eq!(g.inputs.len(), 1);
    assert_eq!(g.outputs, vec![g.nodes[13].output]);
    // fc: 10*32 weights + 10 bias.
    assert_eq!(g.nodes[12].weight_bytes(), 330 * 4);
    Ok(())
}

/// deepfuse <= layer-by-layer <= naive, all >= compulsory, at several
/// capacities; every op in exactly one group.
fn tiny_cnn_report_orders() -> Result<(), Failed> {
    let graph = &load_graphs(TINY_CNN, "tiny_cnn")?[0];
    for capacity in [2u64 << 10, 8 << 10, 64 << 10, 1 << 20] {
        let r = analyse(graph, Strategy::Dp, &ScheduleOptions::new(capacity))?;
        let (d, l, n, c) = (
            r.deepfuse.traffic.total,
            r.layer_by_layer.traffic.total,
            r.naive.traffic.total,
            r.compulsory.traffic.total,
        );
        assert!(c <= d && d <= l && l <= n, "{capacity}: {c} {d} {l} {n}");
        let ops: Vec<&String> = r.groups.iter().flat_map(|g| &g.ops).collect();
        let unique: BTreeSet<&String> = ops.iter().copied().collect();
        assert_eq!(ops.len(), graph.nodes.len());
        assert_eq!(unique.len(), graph.nodes.len());
        for group in &r.groups {
            assert!(group.footprint <= capacity, "{group:?}");
            assert_eq!(
                group.traffic.total,
                group.traffic.input + group.traffic.weight + group.traffic.output
            );
        }
    }
    Ok(())
}

/// The JSON has the documented top-level and per-network fields.
fn json_is_documented_and_stable() -> Result<(), Failed> {
    let path = temp_file("tiny_cnn.mlir", TINY_CNN);
    let text = report::run(&args(&path, "16KiB", Format::Json))?;
    let json: serde_json::Value = serde_json::from_str(&text)?;
    assert_eq!(json["schema"], "deepfuse-report/1");
    assert_eq!(json["scratchpad_bytes"], 16384);
    assert_eq!(json["elem_bytes"], serde_json::Value::Null);
    let network = &json["networks"][0];
    assert_eq!(network["function"], "tiny_cnn");
    assert_eq!(network["ops"], 14);
    for key in ["deepfuse", "layer_by_layer", "naive", "compulsory"] {
        for field in ["input", "weight", "output", "total"] {
            assert!(network[key]["traffic"][field].is_u64(), "{key}.{field}");
        }
    }
    for key in [
        "deepfuse_over_compulsory",
        "deepfuse_over_layer_by_layer",
        "deepfuse_over_naive",
        "layer_by_layer_over_naive",
        "reduction_vs_naive",
        "reduction_vs_layer_by_layer",
    ] {
        assert!(network["ratios"][key].is_f64(), "{key}");
    }
    let group = &network["groups"][0];
    for key in [
        "index",
        "ops",
        "inputs",
        "outputs",
        "tile",
        "tiles",
        "order",
        "overlap",
        "stream_inputs",
        "footprint",
        "resident_weights",
        "traffic",
    ] {
        assert!(!group[key].is_null(), "group field {key}");
    }
    assert_eq!(group["inputs"][0], "input#0");
    // The same input gives the same bytes.
    assert_eq!(text, report::run(&args(&path, "16KiB", Format::Json))?);
    // Halving the element size halves the compulsory traffic.
    let halved = report::run(&ReportArgs {
        elem_bytes: Some(2),
        ..args(&path, "16KiB", Format::Json)
    })?;
    let halved: serde_json::Value = serde_json::from_str(&halved)?;
    assert_eq!(
        halved["networks"][0]["compulsory"]["traffic"]["total"]
            .as_u64()
            .unwrap()
            * 2,
        network["compulsory"]["traffic"]["total"].as_u64().unwrap()
    );
    let table = report::run(&args(&path, "16KiB", Format::Table))?;
    assert!(table.starts_with("tiny_cnn: 14 ops after df-canonicalize; scratchpad 16 KiB"));
    assert!(table.contains("deepfuse saves"));
    Ok(())
}

/// The pass's plan, read back from IR: every layer in exactly one group,
/// groups in an order where every operand is computed before it is read.
fn plan_names_every_op_once() -> Result<(), Failed> {
    let context = create_context();
    let module = source::parse_source(&context, TINY_CNN, "tiny").ok_or("parse")?;
    let mut funcs = Vec::new();
    module.as_operation().walk(WalkOrder::PreOrder, |op| {
        if op_name(&op) == "func.func" {
            funcs.push(op.to_raw());
        }
        WalkResult::Advance
    });
    // SAFETY: collected from the live module above.
    let func = unsafe { melior::ir::OperationRef::from_raw(funcs[0]) };
    let built = from_ir::build(&func).map_err(|e| e.error.to_string())?;
    for strategy in [
        Strategy::Dp,
        Strategy::Greedy,
        Strategy::Layer,
        Strategy::Naive,
    ] {
        let options = FusionOptions {
            strategy,
            ..FusionOptions::default()
        };
        let plan = plan(&func, &options).map_err(|e| e.message)?;
        let planned: Vec<_> = plan.groups.iter().flat_map(|g| &g.ops).collect();
        assert_eq!(planned.len(), built.ops.len(), "{strategy:?}");
        let unique: BTreeSet<usize> = planned.iter().map(|op| op.ptr as usize).collect();
        assert_eq!(unique.len(), built.ops.len());
        // The schedule from the graph agrees with the plan's group count.
        let s = schedule(&built.graph, strategy, &options.schedule)?;
        assert_eq!(s.groups.len(), plan.groups.len());
        assert!(
            plan.groups
                .iter()
                .all(|g| g.schedule.contains("traffic = {"))
        );
    }
    Ok(())
}

/// The two smallest zoo networks at 1 MiB: the order of the totals holds
/// and no group overflows (the six networks are measured in release builds,
/// see the report docs).
fn zoo_networks_at_one_mib() -> Result<(), Failed> {
    for name in ["resnet18", "mobilenet_v2"] {
        let network = zoo::build(name, None)?;
        let graph = &load_graphs(&network.text, name)?[0];
        let r = analyse(graph, Strategy::Dp, &ScheduleOptions::new(1 << 20))?;
        let (d, l, n) = (
            r.deepfuse.traffic.total,
            r.layer_by_layer.traffic.total,
            r.naive.traffic.total,
        );
        assert!(d <= l && l <= n, "{name}: {d} {l} {n}");
        assert_eq!(r.compulsory.traffic.total, compulsory(graph).total());
        assert!(r.groups.iter().all(|g| g.footprint <= 1 << 20));
    }
    Ok(())
}

fn report_errors() -> Result<(), Failed> {
    let path = temp_file("tiny_cnn_errors.mlir", TINY_CNN);
    let error = report::run(&args(&path, "1XB", Format::Table)).unwrap_err();
    assert!(error.contains("unknown unit 'XB'"), "{error}");
    let error = report::run(&ReportArgs {
        strategy: "best".into(),
        ..args(&path, "1MiB", Format::Table)
    })
    .unwrap_err();
    assert!(error.contains("unknown strategy 'best'"), "{error}");
    let error = report::run(&args(&path, "64", Format::Table)).unwrap_err();
    assert!(
        error.starts_with("tiny_cnn: 'conv1' cannot fit in a scratchpad of 64 bytes"),
        "{error}"
    );
    Ok(())
}

/// The tiny CNN over 256 B .. 1 MiB and ResNet-18 over 256 KiB .. 4 MiB:
/// the capacities are the powers of two, infeasible ones (the tiny CNN's
/// below 1 KiB) come first, and where feasible, deepfuse traffic never grows
/// with the capacity and compulsory <= deepfuse <= layer-by-layer <= naive.
fn sweep_is_monotone() -> Result<(), Failed> {
    let tiny = temp_file("tiny_cnn_sweep.mlir", TINY_CNN);
    let resnet = temp_file("resnet18_sweep.mlir", &zoo::build("resnet18", None)?.text);
    for (path, range, points, infeasible) in
        [(&tiny, "256..1MiB", 13, 2), (&resnet, "256KiB..4MiB", 5, 0)]
    {
        let text = report::run(&sweep_args(path, range, Format::Json))?;
        let json: serde_json::Value = serde_json::from_str(&text)?;
        let capacities: Vec<u64> = json["capacities"]
            .as_array()
            .ok_or("capacities")?
            .iter()
            .map(u64_at)
            .collect();
        assert_eq!(capacities.len(), points, "{range}");
        assert!(capacities.iter().all(|c| c.is_power_of_two()));
        assert!(capacities.windows(2).all(|w| w[1] == 2 * w[0]));
        let network = &json["networks"][0];
        let compulsory = u64_at(&network["compulsory"]["traffic"]["total"]);
        let points = network["points"].as_array().ok_or("points")?;
        let mut previous = u64::MAX;
        for (k, (point, &capacity)) in points.iter().zip(&capacities).enumerate() {
            assert_eq!(u64_at(&point["scratchpad_bytes"]), capacity);
            if k < infeasible {
                assert!(point["deepfuse"].is_null(), "{range}: {point}");
                let why = point["infeasible"].as_str().ok_or("infeasible")?;
                assert!(why.contains("cannot fit"), "{why}");
                continue;
            }
            assert!(point["infeasible"].is_null(), "{range}: {point}");
            let total = |key: &str| u64_at(&point[key]["traffic"]["total"]);
            let (d, l, n) = (total("deepfuse"), total("layer_by_layer"), total("naive"));
            assert!(
                d <= previous,
                "{range}: {d} at {capacity} > {previous} below it"
            );
            assert!(
                compulsory <= d && d <= l && l <= n,
                "{range} at {capacity}: {compulsory} {d} {l} {n}"
            );
            let ratio = point["deepfuse_over_compulsory"].as_f64().ok_or("ratio")?;
            assert!((ratio - d as f64 / compulsory as f64).abs() < 1e-9);
            previous = d;
        }
    }
    Ok(())
}

/// The sweep JSON has the fields docs/report.md documents, and at each
/// capacity the same totals as a single report there.
fn sweep_json_is_documented() -> Result<(), Failed> {
    let path = temp_file("tiny_cnn_sweep_json.mlir", TINY_CNN);
    let text = report::run(&sweep_args(&path, "8KiB..32KiB", Format::Json))?;
    let json: serde_json::Value = serde_json::from_str(&text)?;
    assert_eq!(json["schema"], "deepfuse-report-sweep/1");
    assert_eq!(json["range"], "8KiB..32KiB");
    assert_eq!(json["capacities"], serde_json::json!([8192, 16384, 32768]));
    assert_eq!(json["elem_bytes"], serde_json::Value::Null);
    assert_eq!(json["double_buffer"], false);
    let network = &json["networks"][0];
    assert_eq!(network["function"], "tiny_cnn");
    assert_eq!(network["ops"], 14);
    assert_eq!(network["strategy"], "dp");
    assert_eq!(network["compulsory"]["groups"], 0);
    for point in network["points"].as_array().ok_or("points")? {
        for key in [
            "scratchpad_bytes",
            "deepfuse",
            "layer_by_layer",
            "naive",
            "deepfuse_over_compulsory",
            "reduction_vs_naive",
            "infeasible",
        ] {
            assert!(point.get(key).is_some(), "point field {key}");
        }
        for key in ["deepfuse", "layer_by_layer", "naive"] {
            for field in ["input", "weight", "output", "total"] {
                assert!(point[key]["traffic"][field].is_u64(), "{key}.{field}");
            }
            assert!(point[key]["groups"].as_u64().is_some_and(|g| g > 0));
        }
        assert!(point["reduction_vs_naive"].is_f64());
        // The same totals as `deepfuse report --scratchpad` there.
        let capacity = u64_at(&point["scratchpad_bytes"]);
        let single = report::run(&args(&path, &capacity.to_string(), Format::Json))?;
        let single: serde_json::Value = serde_json::from_str(&single)?;
        let single = &single["networks"][0];
        for key in ["deepfuse", "layer_by_layer", "naive"] {
            assert_eq!(point[key], single[key], "{key} at {capacity}");
        }
        assert_eq!(network["compulsory"], single["compulsory"]);
    }
    // Deterministic; --elem-bytes 2 halves compulsory.
    assert_eq!(
        text,
        report::run(&sweep_args(&path, "8KiB..32KiB", Format::Json))?
    );
    let halved = report::run(&ReportArgs {
        elem_bytes: Some(2),
        ..sweep_args(&path, "8KiB..32KiB", Format::Json)
    })?;
    let halved: serde_json::Value = serde_json::from_str(&halved)?;
    assert_eq!(halved["elem_bytes"], 2);
    assert_eq!(
        2 * u64_at(&halved["networks"][0]["compulsory"]["traffic"]["total"]),
        u64_at(&network["compulsory"]["traffic"]["total"])
    );
    Ok(())
}

/// The table: a title, the compulsory traffic, a header and one aligned row
/// per capacity; infeasible capacities say so, with the reason below. `-o`
/// writes the same text to a file.
fn sweep_table_and_output_file() -> Result<(), Failed> {
    let path = temp_file("tiny_cnn_sweep_table.mlir", TINY_CNN);
    let table = report::run(&sweep_args(&path, "512..4KiB", Format::Table))?;
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with(
            "tiny_cnn: 14 ops after df-canonicalize; scratchpad sweep 512 B .. 4 KiB (4 capacities)"
        ),
        "{table}"
    );
    assert!(lines[1].starts_with("compulsory traffic (at every capacity): 52,560 bytes"));
    let header = lines[3];
    for column in [
        "scratchpad",
        "deepfuse (dp)",
        "groups",
        "layer-by-layer",
        "naive",
        "deepfuse / compulsory",
        "saved vs naive",
    ] {
        assert!(header.contains(column), "{header}");
    }
    let rows = &lines[4..8];
    assert!(rows[0].trim_start().starts_with("512 B"), "{table}");
    assert!(rows[0].contains("infeasible"), "{table}");
    for (row, capacity) in rows[1..].iter().zip(["1 KiB", "2 KiB", "4 KiB"]) {
        assert!(row.trim_start().starts_with(capacity), "{row}");
        assert!(!row.contains("infeasible"), "{row}");
    }
    // Aligned: every row ends where the header does.
    assert!(rows.iter().all(|row| row.len() == header.len()), "{table}");
    assert!(table.contains("infeasible at 512 B: 'block.conv1' cannot fit"));

    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("tiny_cnn_sweep.txt");
    let note = report::run(&ReportArgs {
        output: Some(out.clone()),
        ..sweep_args(&path, "512..4KiB", Format::Table)
    })?;
    assert_eq!(note, format!("wrote {}\n", out.display()));
    assert_eq!(std::fs::read_to_string(&out)?, table);
    Ok(())
}

/// `--format svg`: one SVG document with a line per schedule and one for
/// compulsory, named in the legend, and the capacities on the x axis.
fn sweep_svg_is_a_plot() -> Result<(), Failed> {
    let path = temp_file("tiny_cnn_sweep_svg.mlir", TINY_CNN);
    let svg = report::run(&sweep_args(&path, "512..64KiB", Format::Svg))?;
    assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(200)]);
    assert!(svg.trim_end().ends_with("</svg>"));
    assert!(svg.contains("xmlns=\"http://www.w3.org/2000/svg\""));
    assert_eq!(svg.matches("<svg").count(), 1);
    assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count());
    let texts: Vec<&str> = svg
        .split("<text")
        .skip(1)
        .filter_map(|t| t.split_once('>')?.1.split_once("</text>"))
        .map(|(text, _)| text.trim())
        .collect();
    for name in [
        "deepfuse",
        "layer-by-layer",
        "naive",
        "compulsory",
        "1 KiB",
        "64 KiB",
        "infeasible",
    ] {
        assert!(texts.contains(&name), "no text '{name}' in {texts:?}");
    }
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("tiny_cnn: off-chip traffic"))
    );
    // The three schedules and compulsory (dashed: several segments).
    assert!(svg.matches("<polyline").count() >= 4);
    // The same input gives the same document.
    assert_eq!(
        svg,
        report::run(&sweep_args(&path, "512..64KiB", Format::Svg))?
    );
    Ok(())
}

fn sweep_errors() -> Result<(), Failed> {
    let path = temp_file("tiny_cnn_sweep_errors.mlir", TINY_CNN);
    let error = |range: &str| report::run(&sweep_args(&path, range, Format::Table)).unwrap_err();
    let e = error("1MiB..64KiB");
    assert!(
        e.contains("the lower bound (1048576 bytes) is above the upper bound (65536 bytes)"),
        "{e}"
    );
    let e = error("64KiB");
    assert!(e.contains("expected LOW..HIGH"), "{e}");
    let e = error("64KiB..");
    assert!(e.starts_with("invalid sweep '64KiB..'"), "{e}");
    let e = error("64KiB..2XB");
    assert!(e.contains("unknown unit 'XB'"), "{e}");
    let e = error("100KiB..120KiB");
    assert!(e.contains("no power of two"), "{e}");
    // Infeasible at every capacity: an error naming the network and the op.
    let e = error("64..512");
    assert!(
        e.starts_with("tiny_cnn: no capacity from 64 B to 512 B fits: 'block.conv1' cannot fit"),
        "{e}"
    );
    // A plot needs a sweep.
    let e = report::run(&args(&path, "1MiB", Format::Svg)).unwrap_err();
    assert!(e.contains("--format svg plots a sweep"), "{e}");
    Ok(())
}
