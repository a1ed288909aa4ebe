//! The MLIR context deepfuse works in.

use std::sync::Once;

use melior::{Context, dialect::DialectRegistry, utility};

/// A context with every upstream dialect and the `df` dialect loaded, and
/// every upstream pass registered (so textual pipelines can name them).
pub fn create_context() -> Context {
    register_upstream_passes();

    let registry = DialectRegistry::new();
    utility::register_all_dialects(&registry);
    deepfuse_dialects::register(&registry);
    let context = Context::new();
    context.append_dialect_registry(&registry);
    context.load_all_available_dialects();
    context
}

/// Registers every upstream pass with MLIR's global registry, once per
/// process, so that textual pipelines can name them.
pub fn register_upstream_passes() {
    static REGISTER_PASSES: Once = Once::new();
    REGISTER_PASSES.call_once(utility::register_all_passes);
}
