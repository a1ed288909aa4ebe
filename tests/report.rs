//! The scheduler on real IR: `deepfuse report` (tables, JSON), the plan of
//! `df-form-fusion-regions`, and the baselines' order on zoo networks.

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
