//! Renders a [`Report`] or a [`Sweep`] as tables or as JSON.

use std::fmt::Write;

use super::{NetworkReport, Report, Totals, sweep::Sweep};

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
pub(crate) fn capacity(bytes: u64) -> String {
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

/// The sweep as one table per function: a row per capacity.
pub fn render_sweep_table(sweep: &Sweep) -> String {
    let mut out = String::new();
    let w = |out: &mut String, line: String| writeln!(out, "{}", line.trim_end()).expect("String");
    let data = match sweep.elem_bytes {
        Some(bytes) => format!("{bytes}-byte elements (--elem-bytes)"),
        None => "element sizes from the IR".into(),
    };
    for (i, network) in sweep.networks.iter().enumerate() {
        if i > 0 {
            w(&mut out, String::new());
        }
        let (first, last) = (
            sweep.capacities[0],
            sweep.capacities[sweep.capacities.len() - 1],
        );
        w(
            &mut out,
            format!(
                "{}: {} ops after df-canonicalize; scratchpad sweep {} .. {} ({} {}){}; {}",
                network.function,
                network.ops,
                capacity(first),
                capacity(last),
                sweep.capacities.len(),
                if sweep.capacities.len() == 1 {
                    "capacity"
                } else {
                    "capacities"
                },
                if sweep.double_buffer {
                    ", double-buffered"
                } else {
                    ""
                },
                data
            ),
        );
        let bound = network.compulsory.traffic.total;
        w(
            &mut out,
            format!(
                "compulsory traffic (at every capacity): {} bytes ({})",
                super::super::cli::thousands(bound),
                human(bound)
            ),
        );
        w(&mut out, String::new());
        let row = |cells: [&str; 7]| {
            format!(
                "{:>10}  {:>15}  {:>6}  {:>15}  {:>15}  {:>21}  {:>14}",
                cells[0], cells[1], cells[2], cells[3], cells[4], cells[5], cells[6]
            )
        };
        w(
            &mut out,
            row([
                "scratchpad",
                &format!("deepfuse ({})", network.strategy),
                "groups",
                "layer-by-layer",
                "naive",
                "deepfuse / compulsory",
                "saved vs naive",
            ]),
        );
        let bytes = |totals: &Option<Totals>| match totals {
            Some(t) => super::super::cli::thousands(t.traffic.total),
            None => "infeasible".into(),
        };
        for point in &network.points {
            w(
                &mut out,
                row([
                    &capacity(point.scratchpad_bytes),
                    &bytes(&point.deepfuse),
                    &point
                        .deepfuse
                        .as_ref()
                        .map_or("-".into(), |t| t.groups.to_string()),
                    &bytes(&point.layer_by_layer),
                    &bytes(&point.naive),
                    &point
                        .deepfuse_over_compulsory
                        .map_or("-".into(), |r| format!("{r:.3}")),
                    &point
                        .reduction_vs_naive
                        .map_or("-".into(), |r| format!("{:.1}%", 100.0 * r)),
                ]),
            );
        }
        let infeasible: Vec<_> = network
            .points
            .iter()
            .filter_map(|p| Some((p.scratchpad_bytes, p.infeasible.as_ref()?)))
            .collect();
        if !infeasible.is_empty() {
            w(&mut out, String::new());
            for (bytes, why) in infeasible {
                w(
                    &mut out,
                    format!("infeasible at {}: {why}", capacity(bytes)),
                );
            }
        }
    }
    out
}

/// The sweep as pretty-printed JSON, ending with a newline.
pub fn render_sweep_json(sweep: &Sweep) -> String {
    let mut text = serde_json::to_string_pretty(sweep).expect("plain data serialises");
    text.push('\n');
    text
}
