//! `deepfuse report --sweep LOW..HIGH`: off-chip traffic versus scratchpad
//! capacity.
//!
//! The capacities are the powers of two from `LOW` to `HIGH` (both
//! included). At each one the network is scheduled three times (deepfuse,
//! layer-by-layer, naive), as by a single report; compulsory traffic does not
//! depend on the capacity. A capacity where a schedule does not fit shows
//! that schedule as infeasible; the sweep fails only when deepfuse fits at
//! none of them. The JSON output is the [`Sweep`] structure, versioned by
//! [`SWEEP_SCHEMA`] and documented in `docs/report.md`.

use std::sync::{
    Mutex,
    atomic::{AtomicUsize, Ordering},
};

use deepfuse_passes::{
    cost::parse_size,
    graph::LayerGraph,
    schedule::{ScheduleOptions, Strategy, compulsory, schedule},
};
use serde::Serialize;

use super::{Totals, ratio, render::capacity, totals};

/// The JSON schema version of a sweep.
pub const SWEEP_SCHEMA: &str = "deepfuse-report-sweep/1";

/// The capacities of `LOW..HIGH`: every power of two from `LOW` to `HIGH`,
/// both included (each bound a size as `--scratchpad` takes it).
pub fn capacities(range: &str) -> Result<Vec<u64>, String> {
    let (low, high) = range.split_once("..").ok_or_else(|| {
        format!("invalid sweep '{range}': expected LOW..HIGH, such as 64KiB..16MiB")
    })?;
    let bound = |text: &str| parse_size(text).map_err(|e| format!("invalid sweep '{range}': {e}"));
    let (low, high) = (bound(low)?, bound(high)?);
    if low > high {
        return Err(format!(
            "invalid sweep '{range}': the lower bound ({low} bytes) is above the upper \
             bound ({high} bytes)"
        ));
    }
    let out: Vec<u64> = (0..64)
        .map(|k| 1u64 << k)
        .filter(|&c| (low..=high).contains(&c))
        .collect();
    if out.is_empty() {
        return Err(format!(
            "invalid sweep '{range}': no power of two lies between {low} and {high} bytes"
        ));
    }
    Ok(out)
}

/// The totals at one capacity; a schedule that does not fit is `None`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SweepPoint {
    /// Scratchpad capacity in bytes.
    pub scratchpad_bytes: u64,
    /// The deepfuse schedule's totals.
    pub deepfuse: Option<Totals>,
    /// The layer-by-layer baseline's totals.
    pub layer_by_layer: Option<Totals>,
    /// The naive baseline's totals.
    pub naive: Option<Totals>,
    /// deepfuse / compulsory.
    pub deepfuse_over_compulsory: Option<f64>,
    /// 1 - deepfuse / naive.
    pub reduction_vs_naive: Option<f64>,
    /// Why the deepfuse schedule does not fit (`None` when it does).
    pub infeasible: Option<String>,
}

/// The curve of one function.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NetworkSweep {
    /// The function's name.
    pub function: String,
    /// Number of ops (layers) after `df-canonicalize`.
    pub ops: usize,
    /// Strategy of the `deepfuse` totals.
    pub strategy: String,
    /// The compulsory traffic (the same at every capacity).
    pub compulsory: Totals,
    /// One point per capacity, smallest first.
    pub points: Vec<SweepPoint>,
}

/// The whole sweep.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Sweep {
    /// [`SWEEP_SCHEMA`].
    pub schema: String,
    /// The input file.
    pub file: String,
    /// The range as given.
    pub range: String,
    /// The capacities, in bytes, smallest first.
    pub capacities: Vec<u64>,
    /// The `--elem-bytes` override, if any.
    pub elem_bytes: Option<u64>,
    /// Whether DMA buffers are double-buffered.
    pub double_buffer: bool,
    /// One entry per function, in file order.
    pub networks: Vec<NetworkSweep>,
}

/// The point at one capacity.
fn point(graph: &LayerGraph, strategy: Strategy, options: &ScheduleOptions) -> SweepPoint {
    let deepfuse = schedule(graph, strategy, options);
    let layer = schedule(graph, Strategy::Layer, options);
    let naive = schedule(graph, Strategy::Naive, options);
    let bound = compulsory(graph).total();
    let d = deepfuse.as_ref().ok().map(|s| s.traffic.total());
    let n = naive.as_ref().ok().map(|s| s.traffic.total());
    SweepPoint {
        scratchpad_bytes: options.cost.capacity,
        deepfuse_over_compulsory: d.map(|d| ratio(d, bound)),
        reduction_vs_naive: d.zip(n).map(|(d, n)| 1.0 - ratio(d, n)),
        infeasible: deepfuse.as_ref().err().map(|e| e.to_string()),
        deepfuse: deepfuse.as_ref().ok().map(totals),
        layer_by_layer: layer.as_ref().ok().map(totals),
        naive: naive.as_ref().ok().map(totals),
    }
}

/// Sweeps one layer graph over `capacities`; `options` gives everything
/// but the capacity. The capacities are scheduled in parallel (the result
/// does not depend on it). Fails when deepfuse fits at no capacity.
pub fn sweep_network(
    graph: &LayerGraph,
    strategy: Strategy,
    options: &ScheduleOptions,
    capacities: &[u64],
) -> Result<NetworkSweep, String> {
    let next = AtomicUsize::new(0);
    let points = Mutex::new(vec![None; capacities.len()]);
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(capacities.len())
        .max(1);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    // Largest capacities first: their groups are the largest.
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(index) = capacities.len().checked_sub(k + 1) else {
                        break;
                    };
                    let mut options = *options;
                    options.cost.capacity = capacities[index];
                    let p = point(graph, strategy, &options);
                    points.lock().expect("no worker panics")[index] = Some(p);
                }
            });
        }
    });
    let points: Vec<SweepPoint> = points
        .into_inner()
        .expect("no worker panics")
        .into_iter()
        .map(|p| p.expect("every capacity is computed"))
        .collect();
    if let Some(last) = points.last()
        && points.iter().all(|p| p.deepfuse.is_none())
    {
        return Err(format!(
            "{}: no capacity from {} to {} fits: {}",
            graph.name,
            capacity(points[0].scratchpad_bytes),
            capacity(last.scratchpad_bytes),
            last.infeasible.as_deref().unwrap_or("infeasible")
        ));
    }
    Ok(NetworkSweep {
        function: graph.name.clone(),
        ops: graph.nodes.len(),
        strategy: strategy.name().into(),
        compulsory: Totals {
            traffic: compulsory(graph).into(),
            groups: 0,
        },
        points,
    })
}
