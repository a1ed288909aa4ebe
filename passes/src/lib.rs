//! deepfuse's passes on the `df` dialect.
//!
//! Every pass is listed in [`registry`] with its documentation and options;
//! `deepfuse-opt --list-passes` and `docs/passes.md` are generated from there.
//! A pass is split into an analysis that returns a plan (plain data, testable
//! alone) and a step that applies the plan to the IR.

pub mod canonicalize;
pub mod ir;
pub mod options;
pub mod registry;

pub use options::{OptionError, PassOptions};
pub use registry::{PassInfo, find_pass, passes};
