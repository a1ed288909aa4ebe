//! The scheduler: partitions a layer graph into fusion groups and picks each
//! group's tiling, minimising total off-chip traffic under the scratchpad
//! capacity; and the baselines every report compares against.
//!
//! **Order.** Layers are first gathered into *units*: a conv, pool or
//! matmul with its elementwise epilogue (the ops after it that read only its
//! result, such as the bias-add, residual add and relu), every other op
//! alone. Units are put in a topological order (Kahn's algorithm, ties to
//! program order), and their ops laid out contiguously. Any interval of a
//! topological order is convex (a path between two ops of the interval only
//! visits ops ordered between them), so every interval is a valid group
//! (unless it holds a whole-input op and one of its readers).
//!
//! **Strategies.**
//! - [`Strategy::Dp`]: dynamic programming over that order (as in Occam):
//!   `best[j] = min over i of best[i] + cost(order[i..j])`, cutting between
//!   units (or between any two ops with `split_units`), groups of at most
//!   `max_group_ops` ops. *Exact* over all partitions into such intervals,
//!   given the per-group tiling search; for a chain with `split_units`
//!   (every convex set of a chain is an interval) this is every partition.
//!   For a DAG it is a heuristic: convex groups that are not intervals of
//!   the chosen order (say, one branch of an inception block with the next
//!   block) are not considered. The per-group tiling search is itself a
//!   search over a candidate set ([`crate::tile_search`]).
//!
//!   Work is pruned without changing the optimum: a group whose traffic
//!   floor (weights and outputs once, inputs at least once, weights that
//!   cannot stay resident re-read) cannot beat the best partition found for
//!   its end is not searched (branch and bound); the group starting where
//!   the best group of the previous end starts is tried first, for a tight
//!   bound early. (Growing a group can shrink its smallest footprint a
//!   little, when an elementwise op may now overwrite its input in place,
//!   so an infeasible group does not end the search.)
//! - [`Strategy::Greedy`]: grows a group from the first unscheduled op while
//!   adding the next op costs less than running it alone.
//! - [`Strategy::Layer`]: each unit its own group (the layer-by-layer
//!   baseline).
//! - [`Strategy::Naive`]: each op its own group.
//!
//! Every strategy uses the same cost model and tiling search, so the DP is
//! never worse than layer-by-layer (its partitions include the units').

use serde::Serialize;
use thiserror::Error;

use crate::{
    cost::{CostConfig, DimCache, GroupModel, Traffic},
    graph::{LayerGraph, NodeId, ValueId},
    receptive_field::ends_group,
    tile_search::{GroupCost, Outcome, SearchMode, search, search_below_shared},
};

/// How the graph is partitioned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// Optimal partition into intervals of the unit order.
    Dp,
    /// Greedy growth of groups.
    Greedy,
    /// Layer by layer: each unit (conv/pool/matmul + epilogue) alone.
    Layer,
    /// Every op alone.
    Naive,
}

impl Strategy {
    /// The name used in options and reports.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Dp => "dp",
            Strategy::Greedy => "greedy",
            Strategy::Layer => "layer",
            Strategy::Naive => "naive",
        }
    }

    /// Parses `dp`, `greedy`, `layer` or `naive`.
    pub fn parse(text: &str) -> Option<Strategy> {
        [
            Strategy::Dp,
            Strategy::Greedy,
            Strategy::Layer,
            Strategy::Naive,
        ]
        .into_iter()
        .find(|s| s.name() == text)
    }
}

/// Scheduler settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ScheduleOptions {
    /// Capacity and cost options.
    pub cost: CostConfig,
    /// Tiling search thoroughness.
    pub search: SearchMode,
    /// The most ops one group may hold (bounds the DP's work).
    pub max_group_ops: usize,
    /// Let the DP cut between a layer and its elementwise epilogue (off by
    /// default: such a cut only adds traffic, and allowing it multiplies
    /// the groups to cost).
    pub split_units: bool,
}

impl ScheduleOptions {
    /// Defaults for a scratchpad of `capacity` bytes.
    pub fn new(capacity: u64) -> Self {
        Self {
            cost: CostConfig::new(capacity),
            search: SearchMode::Fast,
            max_group_ops: 64,
            split_units: false,
        }
    }
}

/// One fusion group of a schedule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Group {
    /// Its ops, in topological order.
    pub nodes: Vec<NodeId>,
    /// Values it reads from memory.
    pub inputs: Vec<ValueId>,
    /// Values it writes to memory.
    pub outputs: Vec<ValueId>,
    /// Its tiling, footprint and traffic.
    pub cost: GroupCost,
}

/// A partition of the graph into groups, with their tilings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Schedule {
    /// How it was found.
    pub strategy: Strategy,
    /// Groups, in execution order.
    pub groups: Vec<Group>,
    /// Sum of the groups' traffic.
    pub traffic: Traffic,
}

/// Why no schedule exists.
#[derive(Clone, Debug, Error, PartialEq, Eq, Serialize)]
pub enum ScheduleError {
    /// An op that fits in no group.
    #[error(
        "'{label}' cannot fit in a scratchpad of {capacity} bytes: its smallest tile needs {min_footprint} bytes"
    )]
    Infeasible {
        /// The op.
        node: NodeId,
        /// Its label.
        label: String,
        /// Bytes its smallest tiling needs alone.
        min_footprint: u64,
        /// The capacity.
        capacity: u64,
    },
    /// A group the model rejects (a bug in the partition).
    #[error("invalid group: {0}")]
    Group(String),
}

/// Traffic no schedule can beat: all weights, the network inputs and the
/// network outputs, each moved once.
pub fn compulsory(graph: &LayerGraph) -> Traffic {
    Traffic {
        input: graph.inputs.iter().map(|&v| graph.values[v].bytes()).sum(),
        weight: graph.weight_bytes(),
        output: graph.outputs.iter().map(|&v| graph.values[v].bytes()).sum(),
    }
}

/// The layer-by-layer units: each conv, pool or matmul with the elementwise
/// ops that follow it and read only its chain's result; every other op
/// alone. Units are listed by their first op.
pub fn layer_units(graph: &LayerGraph) -> Vec<Vec<NodeId>> {
    let mut unit_of = vec![usize::MAX; graph.nodes.len()];
    let mut units: Vec<Vec<NodeId>> = Vec::new();
    for (id, node) in graph.nodes.iter().enumerate() {
        let joins = node.kind.is_elementwise().then(|| {
            node.inputs.iter().find_map(|operand| {
                let value = &graph.values[operand.value];
                let producer = value.producer?;
                let unit = unit_of[producer];
                (value.consumers.len() == 1
                    && units[unit].last() == Some(&producer)
                    && !ends_group(graph, producer))
                .then_some(unit)
            })
        });
        match joins.flatten() {
            Some(unit) => {
                units[unit].push(id);
                unit_of[id] = unit;
            }
            None => {
                units.push(vec![id]);
                unit_of[id] = units.len() - 1;
            }
        }
    }
    units
}

/// The order the DP and greedy strategies cut into intervals: units in a
/// topological order (ties to program order), each unit's ops contiguous.
pub fn unit_order(graph: &LayerGraph) -> Vec<NodeId> {
    unit_order_with_cuts(graph).0
}

/// [`unit_order`] and the positions between units (`0` first, the number of
/// ops last).
pub fn unit_order_with_cuts(graph: &LayerGraph) -> (Vec<NodeId>, Vec<usize>) {
    let units = layer_units(graph);
    let mut unit_of = vec![0; graph.nodes.len()];
    for (u, unit) in units.iter().enumerate() {
        for &node in unit {
            unit_of[node] = u;
        }
    }
    let mut indegree = vec![0usize; units.len()];
    let mut successors: Vec<Vec<usize>> = vec![Vec::new(); units.len()];
    for (u, unit) in units.iter().enumerate() {
        let mut preds: Vec<usize> = unit
            .iter()
            .flat_map(|&n| graph.producers(n))
            .map(|p| unit_of[p])
            .filter(|&p| p != u)
            .collect();
        preds.sort_unstable();
        preds.dedup();
        indegree[u] = preds.len();
        for p in preds {
            successors[p].push(u);
        }
    }
    // Units are numbered by first op, so the smallest ready index is the
    // earliest in program order.
    let mut ready: std::collections::BTreeSet<usize> =
        (0..units.len()).filter(|&u| indegree[u] == 0).collect();
    let mut order = Vec::with_capacity(graph.nodes.len());
    let mut cuts = vec![0];
    while let Some(u) = ready.pop_first() {
        order.extend_from_slice(&units[u]);
        cuts.push(order.len());
        for &s in &successors[u] {
            indegree[s] -= 1;
            if indegree[s] == 0 {
                ready.insert(s);
            }
        }
    }
    (order, cuts)
}

/// Costs groups under one set of options.
struct Coster<'g> {
    graph: &'g LayerGraph,
    options: ScheduleOptions,
}

impl Coster<'_> {
    /// The best tiling of `nodes`; `Err(min_footprint)` when none fits.
    fn cost(&self, nodes: &[NodeId]) -> Result<Result<Group, u64>, ScheduleError> {
        let model =
            GroupModel::new(self.graph, nodes).map_err(|e| ScheduleError::Group(e.to_string()))?;
        Ok(
            match search(&model, &self.options.cost, self.options.search) {
                Ok(cost) => Ok(group_of(&model, cost)),
                Err(infeasible) => Err(infeasible.min_footprint),
            },
        )
    }

    /// The best tiling of `nodes` if its traffic is below `bound`, sharing
    /// per-layer regions through `cache`.
    fn cost_below(
        &self,
        nodes: &[NodeId],
        bound: u64,
        cache: &mut DimCache,
    ) -> Result<Option<Group>, ScheduleError> {
        let model =
            GroupModel::new(self.graph, nodes).map_err(|e| ScheduleError::Group(e.to_string()))?;
        Ok(
            match search_below_shared(
                &model,
                &self.options.cost,
                self.options.search,
                bound,
                cache,
            ) {
                Outcome::Found(cost) => Some(group_of(&model, cost)),
                Outcome::NotBelow | Outcome::Infeasible(_) => None,
            },
        )
    }

    /// Schedules fixed groups, failing on the first that does not fit.
    fn fixed(
        &self,
        strategy: Strategy,
        groups: Vec<Vec<NodeId>>,
    ) -> Result<Schedule, ScheduleError> {
        let mut out = Vec::new();
        for nodes in groups {
            match self.cost(&nodes)? {
                Ok(group) => out.push(group),
                Err(min_footprint) => return Err(self.infeasible(nodes[0], min_footprint)),
            }
        }
        Ok(finish(strategy, out))
    }

    fn infeasible(&self, node: NodeId, min_footprint: u64) -> ScheduleError {
        ScheduleError::Infeasible {
            node,
            label: self.graph.nodes[node].label.clone(),
            min_footprint,
            capacity: self.options.cost.capacity,
        }
    }

    /// The error for an op no group can hold: its own smallest footprint.
    fn unplaceable(&self, node: NodeId) -> ScheduleError {
        match self.cost(&[node]) {
            Ok(Err(min_footprint)) => self.infeasible(node, min_footprint),
            Ok(Ok(_)) | Err(_) => self.infeasible(node, 0),
        }
    }

    /// Whether `order[i..j]` holds a whole-input op and one of its readers.
    fn splits_whole_input_op(
        &self,
        order: &[NodeId],
        i: usize,
        j: usize,
        position: &[usize],
    ) -> bool {
        let node = order[i];
        ends_group(self.graph, node)
            && self
                .graph
                .consumers(node)
                .iter()
                .any(|&c| (i..j).contains(&position[c]))
    }

    /// The DP over `order`, cutting only at the positions in `cuts`
    /// (increasing, from 0 to the number of ops).
    fn dp(&self, order: &[NodeId], cuts: &[usize]) -> Result<Schedule, ScheduleError> {
        let mut position = vec![usize::MAX; self.graph.nodes.len()];
        for (p, &node) in order.iter().enumerate() {
            position[node] = p;
        }
        let m = cuts.len();
        let mut best: Vec<Option<(usize, Group)>> = vec![None; m];
        let mut best_total = vec![u64::MAX; m];
        best_total[0] = 0;
        // Groups ending at the same op share their layers' regions.
        let mut cache = DimCache::new();
        for b in 1..m {
            let j = cuts[b];
            cache.clear();
            // Group starts to try: within the op limit, and before a
            // whole-input op would meet its reader (once a group holds both,
            // every larger one does), largest first.
            let mut starts = Vec::new();
            'grow: for a in (0..b).rev() {
                let i = cuts[a];
                if j - i > self.options.max_group_ops.max(1) {
                    break;
                }
                for k in i..cuts[a + 1] {
                    if self.splits_whole_input_op(order, k, j, &position) {
                        break 'grow;
                    }
                }
                starts.push(a);
            }
            // Try first where the best group ending one unit earlier starts:
            // a tight bound early lets the floors prune the rest. The order
            // does not change the optimum.
            let hint = best[b - 1].as_ref().map(|(a, _)| *a);
            if let Some(position) = hint.and_then(|h| starts.iter().position(|&a| a == h)) {
                let a = starts.remove(position);
                starts.insert(0, a);
            }
            for a in starts {
                if best_total[a] == u64::MAX {
                    continue;
                }
                // Branch and bound: only a group cheaper than what j has
                // already can matter.
                let bound = best_total[b].saturating_sub(best_total[a]);
                if let Some(group) = self.cost_below(&order[cuts[a]..j], bound, &mut cache)? {
                    let total = best_total[a] + group.cost.evaluation.traffic.total();
                    let better = match &best[b] {
                        None => true,
                        // Equal totals go to the shorter group, whatever
                        // the order of the search.
                        Some((held, _)) => {
                            total < best_total[b] || (total == best_total[b] && a > *held)
                        }
                    };
                    if better {
                        best_total[b] = total;
                        best[b] = Some((a, group));
                    }
                }
            }
        }
        if best_total[m - 1] == u64::MAX {
            let first = (1..m).find(|&b| best_total[b] == u64::MAX).unwrap_or(m - 1);
            // The first op of the first prefix that cannot be covered, alone.
            let start = cuts[first - 1];
            for &node in &order[start..cuts[first]] {
                if let Ok(Err(min_footprint)) = self.cost(&[node]) {
                    return Err(self.infeasible(node, min_footprint));
                }
            }
            return Err(self.unplaceable(order[cuts[first] - 1]));
        }
        let mut groups = Vec::new();
        let mut b = m - 1;
        while b > 0 {
            let Some((a, group)) = best[b].take() else {
                break;
            };
            groups.push(group);
            b = a;
        }
        groups.reverse();
        Ok(finish(Strategy::Dp, groups))
    }

    fn greedy(&self, order: &[NodeId]) -> Result<Schedule, ScheduleError> {
        let n = order.len();
        let mut position = vec![usize::MAX; self.graph.nodes.len()];
        for (p, &node) in order.iter().enumerate() {
            position[node] = p;
        }
        let mut groups = Vec::new();
        let mut i = 0;
        while i < n {
            let mut current = match self.cost(&order[i..i + 1])? {
                Ok(group) => group,
                Err(min_footprint) => return Err(self.infeasible(order[i], min_footprint)),
            };
            let mut j = i + 1;
            while j < n && j - i < self.options.max_group_ops {
                if (i..=j).any(|k| self.splits_whole_input_op(order, k, j + 1, &position)) {
                    break;
                }
                let alone = match self.cost(&order[j..j + 1])? {
                    Ok(group) => group.cost.evaluation.traffic.total(),
                    Err(_) => u64::MAX,
                };
                match self.cost(&order[i..j + 1])? {
                    Ok(grown)
                        if grown.cost.evaluation.traffic.total()
                            < current
                                .cost
                                .evaluation
                                .traffic
                                .total()
                                .saturating_add(alone) =>
                    {
                        current = grown;
                        j += 1;
                    }
                    _ => break,
                }
            }
            groups.push(current);
            i = j;
        }
        Ok(finish(Strategy::Greedy, groups))
    }
}

fn group_of(model: &GroupModel, cost: GroupCost) -> Group {
    Group {
        nodes: model.nodes(),
        inputs: model.external_inputs(),
        outputs: model.outputs(),
        cost,
    }
}

fn finish(strategy: Strategy, groups: Vec<Group>) -> Schedule {
    let traffic = groups.iter().map(|g| g.cost.evaluation.traffic).sum();
    Schedule {
        strategy,
        groups,
        traffic,
    }
}

/// Schedules `graph` with `strategy`.
pub fn schedule(
    graph: &LayerGraph,
    strategy: Strategy,
    options: &ScheduleOptions,
) -> Result<Schedule, ScheduleError> {
    let coster = Coster {
        graph,
        options: *options,
    };
    match strategy {
        Strategy::Dp => {
            let (order, unit_cuts) = unit_order_with_cuts(graph);
            let cuts: Vec<usize> = if options.split_units {
                (0..=order.len()).collect()
            } else {
                unit_cuts
            };
            coster.dp(&order, &cuts)
        }
        Strategy::Greedy => coster.greedy(&unit_order(graph)),
        Strategy::Layer => {
            let order = unit_order(graph);
            let mut units = layer_units(graph);
            // Execute units in the unit order.
            let first = |u: &Vec<NodeId>| order.iter().position(|&n| n == u[0]);
            units.sort_by_key(first);
            coster.fixed(Strategy::Layer, units)
        }
        Strategy::Naive => coster.fixed(
            Strategy::Naive,
            (0..graph.nodes.len()).map(|n| vec![n]).collect(),
        ),
    }
}

/// Schedules `groups` as given (each must be a valid group).
pub fn schedule_groups(
    graph: &LayerGraph,
    groups: Vec<Vec<NodeId>>,
    options: &ScheduleOptions,
) -> Result<Schedule, ScheduleError> {
    Coster {
        graph,
        options: *options,
    }
    .fixed(Strategy::Dp, groups)
}

#[cfg(test)]
mod tests;
