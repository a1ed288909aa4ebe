//! Renders a [`Sweep`] as an SVG line plot: total off-chip traffic (MB)
//! against scratchpad capacity (log2 axis), one line per schedule (deepfuse,
//! layer-by-layer, naive) and the constant compulsory traffic; one chart per
//! function, stacked.
//!
//! Drawn with `plotters`' SVG backend and no font backend: text is written
//! as SVG `<text>` for the viewer to render, and laid out with plotters'
//! estimate of its size.

use plotters::{
    coord::Shift,
    prelude::*,
    style::text_anchor::{HPos, Pos, VPos},
};

use super::{
    Totals,
    render::capacity,
    sweep::{NetworkSweep, Sweep},
};

/// Width of the plot and height of each function's chart, in pixels.
const WIDTH: u32 = 900;
const HEIGHT: u32 = 540;

/// The schedules' colours: deepfuse, layer-by-layer, naive.
const COLOURS: [RGBColor; 3] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0xd6, 0x27, 0x28),
];

fn error(e: impl std::fmt::Display) -> String {
    format!("cannot draw the plot: {e}")
}

/// The sweep as an SVG document.
pub fn render_sweep_svg(sweep: &Sweep) -> Result<String, String> {
    let charts = sweep.networks.len().max(1);
    let mut svg = String::new();
    {
        let root =
            SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT * charts as u32)).into_drawing_area();
        root.fill(&WHITE).map_err(error)?;
        for (area, network) in root.split_evenly((charts, 1)).iter().zip(&sweep.networks) {
            chart(area, sweep, network)?;
        }
        root.present().map_err(error)?;
    }
    svg.push('\n');
    Ok(svg)
}

/// Megabytes (decimal, as traffic is quoted).
fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

fn chart<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    sweep: &Sweep,
    network: &NetworkSweep,
) -> Result<(), String> {
    let exponents: Vec<f64> = sweep
        .capacities
        .iter()
        .map(|c| f64::from(c.trailing_zeros()))
        .collect();
    let (low, high) = (exponents[0] - 0.25, exponents[exponents.len() - 1] + 0.25);
    let compulsory = mb(network.compulsory.traffic.total);
    let series: [(&str, Vec<&Option<Totals>>); 3] = [
        (
            "deepfuse",
            network.points.iter().map(|p| &p.deepfuse).collect(),
        ),
        (
            "layer-by-layer",
            network.points.iter().map(|p| &p.layer_by_layer).collect(),
        ),
        ("naive", network.points.iter().map(|p| &p.naive).collect()),
    ];
    // The highest traffic among the points `range` (by capacity index).
    let highest = |range: std::ops::Range<usize>| {
        series
            .iter()
            .flat_map(|(_, totals)| totals[range.clone()].iter().filter_map(|t| t.as_ref()))
            .map(|t| mb(t.traffic.total))
            .fold(0.0, f64::max)
    };
    let n = network.points.len();
    let top = highest(0..n).max(compulsory).max(1e-3) * 1.1;
    // The legend goes in the upper corner whose half of the plot is lower.
    let legend = if highest(n / 2..n) <= highest(0..n.div_ceil(2)) {
        SeriesLabelPosition::UpperRight
    } else {
        SeriesLabelPosition::UpperLeft
    };

    let mut chart = ChartBuilder::on(area)
        .caption(
            format!(
                "{}: off-chip traffic vs scratchpad capacity",
                network.function
            ),
            ("sans-serif", 20),
        )
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(low..high, 0f64..top)
        .map_err(error)?;
    // x is log2 of the capacity: label the whole exponents.
    let label = |x: &f64| {
        let exponent = x.round();
        if (x - exponent).abs() < 1e-6 && (0.0..64.0).contains(&exponent) {
            capacity(1u64 << exponent as u32)
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .x_labels(exponents.len().max(2))
        .light_line_style(TRANSPARENT)
        .x_desc("scratchpad capacity (log2 scale)")
        .y_desc("total off-chip traffic (MB)")
        .x_label_formatter(&label)
        .y_label_formatter(&|y| format!("{y:.0}"))
        .draw()
        .map_err(error)?;

    for ((name, totals), colour) in series.iter().zip(COLOURS) {
        // Infeasible capacities have no point.
        let points: Vec<(f64, f64)> = exponents
            .iter()
            .zip(totals)
            .filter_map(|(&x, t)| Some((x, mb(t.as_ref()?.traffic.total))))
            .collect();
        chart
            .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))
            .map_err(error)?
            .label(*name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 24, y)], colour.stroke_width(2)));
        chart
            .draw_series(points.iter().map(|&p| Circle::new(p, 3, colour.filled())))
            .map_err(error)?;
    }
    chart
        .draw_series(DashedLineSeries::new(
            [(low, compulsory), (high, compulsory)],
            8,
            5,
            BLACK.stroke_width(1),
        ))
        .map_err(error)?
        .label("compulsory")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 24, y)], BLACK.stroke_width(1)));
    // Capacities where deepfuse does not fit.
    let note = TextStyle::from(("sans-serif", 12))
        .color(&RGBColor(0x60, 0x60, 0x60))
        .pos(Pos::new(HPos::Center, VPos::Bottom));
    chart
        .draw_series(
            exponents
                .iter()
                .zip(&network.points)
                .filter(|(_, p)| p.deepfuse.is_none())
                .map(|(&x, _)| Text::new("infeasible", (x, top * 0.02), note.clone())),
        )
        .map_err(error)?;
    chart
        .configure_series_labels()
        .position(legend)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(error)?;
    Ok(())
}
