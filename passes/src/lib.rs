//! deepfuse's passes on the `df` dialect.
//!
//! Every pass is listed in [`registry`] with its documentation and options;
//! `deepfuse-opt --list-passes` and `docs/passes.md` are generated from there.
//! A pass is split into an analysis that returns a plan (plain data, testable
//! alone) and a step that applies the plan to the IR.

#![warn(missing_docs)]

pub mod attributes;
pub mod canonicalize;
pub mod cost;
pub mod fusion_regions;
pub mod graph;
pub mod ir;
pub mod options;
#[cfg(test)]
mod random_graphs;
pub mod receptive_field;
pub mod registry;
pub mod schedule;
pub mod tile_plan;
pub mod tile_search;

pub use options::{OptionError, PassOptions};
pub use registry::{Built, Construct, PassInfo, find_pass, passes};
