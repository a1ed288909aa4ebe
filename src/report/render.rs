//! Renders a [`Report`] as tables or as JSON.

use std::fmt::Write;

use super::{NetworkReport, Report, Totals};

/// `1234567` as `1.23 MB` (decimal units, as traffic is usually quoted).
pub fn human(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= 1e9 {
        format!("{:.2} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.2} MB", b / 1e6)
    } else if b >= 1e3 {
        format!("{:.1} KB", b / 1e3)
    } else {
        format!("{bytes} B")
    }
}

/// Scratchpad bytes in KiB, the unit capacities are given in.
fn kib(bytes: u64) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

/// A capacity as given in binary units when it is one (`1 MiB`).
fn capacity(bytes: u64) -> String {
    for (unit, shift) in [("GiB", 30), ("MiB", 20), ("KiB", 10)] {
        if bytes >= 1 << shift && bytes.is_multiple_of(1 << shift) {
            return format!("{} {unit}", bytes >> shift);
        }
    }
    format!("{bytes} B")
}

/// The ops of a group, shortened: `first .. last (n ops)`.
fn ops_summary(ops: &[String]) -> String {
    match ops {
        [] => String::new(),
        [one] => one.clone(),
        [first, .., last] => format!("{first} .. {last} ({})", ops.len()),
    }
}

fn network_table(out: &mut String, report: &Report, network: &NetworkReport) {
    let w = |out: &mut String, line: String| writeln!(out, "{line}").expect("String");
    let data = match report.elem_bytes {
        Some(bytes) => format!("{bytes}-byte elements (--elem-bytes)"),
        None => "element sizes from the IR".into(),
    };
    w(
        out,
        format!(
            "{}: {} ops after df-canonicalize; scratchpad {} ({} bytes){}; {}",
            network.function,
            network.ops,
            capacity(report.scratchpad_bytes),
            report.scratchpad_bytes,
            if report.double_buffer {
                ", double-buffered"
            } else {
                ""
            },
            data
        ),
    );
    w(out, String::new());
    w(
        out,
        format!(
            "{:>5}  {:<44} {:>17} {:>12}  {:<13} {:<9} {:>12} {:>12} {:>10} {:>10} {:>10} {:>10}",
            "group",
            format!("ops ({})", network.strategy),
            "tile h x w x c",
            "tiles",
            "order",
            "overlap",
            "footprint",
            "resident",
            "input",
            "weight",
            "output",
            "total"
        ),
    );
    for group in &network.groups {
        let mut ops = ops_summary(&group.ops);
        if ops.len() > 44 {
            ops.truncate(43);
            ops.push('~');
        }
        w(
            out,
            format!(
                "{:>5}  {:<44} {:>17} {:>12}  {:<13} {:<9} {:>12} {:>12} {:>10} {:>10} {:>10} {:>10}",
                group.index,
                ops,
                format!("{}x{}x{}", group.tile[0], group.tile[1], group.tile[2]),
                format!("{}x{}x{}", group.tiles[0], group.tiles[1], group.tiles[2]),
                group.order,
                format!(
                    "{}{}",
                    group.overlap,
                    if group.stream_inputs { "+s" } else { "" }
                ),
                kib(group.footprint),
                kib(group.resident_weights),
                human(group.traffic.input),
                human(group.traffic.weight),
                human(group.traffic.output),
                human(group.traffic.total),
            ),
        );
    }
    w(out, String::new());
    w(
        out,
        format!(
            "{:<16} {:>10} {:>10} {:>10} {:>10} {:>16} {:>7} {:>14}",
            "traffic", "input", "weight", "output", "total", "bytes", "groups", "/ compulsory"
        ),
    );
    let compulsory = network.compulsory.traffic.total;
    let row = |out: &mut String, name: &str, totals: &Totals| {
        let t = &totals.traffic;
        w(
            out,
            format!(
                "{:<16} {:>10} {:>10} {:>10} {:>10} {:>16} {:>7} {:>14}",
                name,
                human(t.input),
                human(t.weight),
                human(t.output),
                human(t.total),
                super::super::cli::thousands(t.total),
                if totals.groups > 0 {
                    totals.groups.to_string()
                } else {
                    "-".into()
                },
                format!(
                    "{:.3}",
                    if compulsory == 0 {
                        0.0
                    } else {
                        t.total as f64 / compulsory as f64
                    }
                ),
            ),
        );
    };
    row(out, "deepfuse", &network.deepfuse);
    row(out, "layer-by-layer", &network.layer_by_layer);
    row(out, "naive", &network.naive);
    row(out, "compulsory", &network.compulsory);
    w(out, String::new());
    let r = &network.ratios;
    w(
        out,
        format!(
            "deepfuse saves {:.1}% against naive and {:.1}% against layer-by-layer; \
             deepfuse / compulsory = {:.3}; layer-by-layer / naive = {:.3}",
            100.0 * r.reduction_vs_naive,
            100.0 * r.reduction_vs_layer_by_layer,
            r.deepfuse_over_compulsory,
            r.layer_by_layer_over_naive
        ),
    );
}

/// The report as tables, one block per function.
pub fn render_table(report: &Report) -> String {
    let mut out = String::new();
    for (i, network) in report.networks.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        network_table(&mut out, report, network);
    }
    out
}

/// The report as pretty-printed JSON, ending with a newline.
pub fn render_json(report: &Report) -> String {
    let mut text = serde_json::to_string_pretty(report).expect("plain data serialises");
    text.push('\n');
    text
}
