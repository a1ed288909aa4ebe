//! Parses and verifies generated IR with MLIR, collecting the diagnostics
//! (each names its node through the op's location) instead of printing them.

use std::{cell::RefCell, rc::Rc};

use deepfuse_dialects::source;
use melior::ir::operation::OperationLike;

use super::error::{ImportError, Result};
use crate::context::create_context;

/// `loc("conv1")` as `conv1`; other locations keep MLIR's spelling.
fn describe(location: &str) -> String {
    location
        .strip_prefix("loc(\"")
        .and_then(|rest| rest.strip_suffix("\")"))
        .unwrap_or(location)
        .to_string()
}

/// Parses `ir` (named `name` in diagnostics) and runs the verifiers.
pub fn verify(ir: &str, name: &str) -> Result<()> {
    let context = create_context();
    let messages = Rc::new(RefCell::new(Vec::new()));
    let sink = messages.clone();
    let handler = context.attach_diagnostic_handler(move |diagnostic| {
        let location = describe(&diagnostic.location().to_string());
        sink.borrow_mut().push(format!("{location}: {diagnostic}"));
        true
    });
    let verified = source::parse_source(&context, ir, name)
        .is_some_and(|module| module.as_operation().verify());
    context.detach_diagnostic_handler(handler);
    if verified {
        return Ok(());
    }
    let mut report = messages.borrow().join("\n");
    if report.is_empty() {
        report = "MLIR reported no diagnostic".into();
    }
    Err(ImportError::Verify(report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagnostics_name_the_node() {
        let ir = r#"func.func @f(%x: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %y = df.reshape %x : tensor<1x2xf32> -> tensor<1x3xf32> loc("bad_reshape")
  return %x : tensor<1x2xf32> loc("f")
}"#;
        let error = verify(ir, "test").unwrap_err().to_string();
        assert!(
            error.contains("bad_reshape: 'df.reshape' op cannot reshape 2 elements into 3"),
            "{error}"
        );
        verify(&ir.replace("1x3xf32", "2x1xf32"), "test").unwrap();
    }
}
