//! Textual pass pipelines, as `mlir-opt --pass-pipeline` takes them, mixing
//! deepfuse passes and upstream ones.
//!
//! MLIR's C API cannot register a pass written in Rust under a name that the
//! MLIR pipeline parser understands, so the pipeline is parsed here: deepfuse
//! passes are created from the [`deepfuse_passes::registry`] and the
//! lowering's [`deepfuse_lowering::passes`], every other element is handed to
//! MLIR's own parser for the pass manager it nests in.

use deepfuse_dialects::source::{Nesting, add_upstream_pipeline};
use deepfuse_passes::{Built, PassInfo};
use melior::{
    Context, StringRef,
    pass::{OperationPassManager, PassManager},
};
use thiserror::Error;

/// A pipeline that cannot be built, with the 1-based column of the element
/// at fault in the pipeline text.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("{message}")]
pub struct PipelineError {
    /// Where in the pipeline text the problem is (1-based).
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

/// One element of a pipeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Element {
    /// A pass with its option text (without braces).
    Pass {
        /// The pass argument, such as `df-canonicalize` or `cse`.
        name: String,
        /// The options between braces, if any.
        options: Option<String>,
        /// 1-based column of the name.
        column: usize,
    },
    /// `anchor(elements)`: passes nested under an operation name.
    Nested {
        /// The operation name, such as `func.func`.
        anchor: String,
        /// The nested elements.
        elements: Vec<Element>,
        /// 1-based column of the anchor.
        column: usize,
    },
}

impl Element {
    fn column(&self) -> usize {
        match self {
            Element::Pass { column, .. } | Element::Nested { column, .. } => *column,
        }
    }
}

/// Parses a comma-separated list of pipeline elements.
pub fn parse(text: &str) -> Result<Vec<Element>, PipelineError> {
    let mut parser = Parser { text, position: 0 };
    let elements = parser.elements()?;
    parser.skip_whitespace();
    if parser.position < text.len() {
        return Err(parser.error(format!(
            "unexpected '{}' in the pass pipeline",
            &text[parser.position..parser.position + 1]
        )));
    }
    Ok(elements)
}

struct Parser<'a> {
    text: &'a str,
    position: usize,
}

impl Parser<'_> {
    fn error(&self, message: String) -> PipelineError {
        PipelineError {
            column: self.position + 1,
            message,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.position).copied()
    }

    fn skip_whitespace(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.position += 1;
        }
    }

    fn elements(&mut self) -> Result<Vec<Element>, PipelineError> {
        let mut elements = vec![self.element()?];
        loop {
            self.skip_whitespace();
            if self.peek() != Some(b',') {
                return Ok(elements);
            }
            self.position += 1;
            elements.push(self.element()?);
        }
    }

    fn element(&mut self) -> Result<Element, PipelineError> {
        self.skip_whitespace();
        let start = self.position;
        while self
            .peek()
            .is_some_and(|c| !b"(){},".contains(&c) && !c.is_ascii_whitespace())
        {
            self.position += 1;
        }
        if start == self.position {
            return Err(self.error("expected a pass or an operation name".into()));
        }
        let name = self.text[start..self.position].to_string();
        let column = start + 1;
        self.skip_whitespace();
        match self.peek() {
            Some(b'(') => {
                self.position += 1;
                self.skip_whitespace();
                let elements = if self.peek() == Some(b')') {
                    Vec::new()
                } else {
                    self.elements()?
                };
                self.skip_whitespace();
                if self.peek() != Some(b')') {
                    return Err(self.error(format!("expected ')' to close '{name}('")));
                }
                self.position += 1;
                Ok(Element::Nested {
                    anchor: name,
                    elements,
                    column,
                })
            }
            Some(b'{') => {
                let open = self.position;
                let mut depth = 0;
                loop {
                    match self.peek() {
                        None => {
                            self.position = open;
                            return Err(
                                self.error(format!("unbalanced '{{' in the options of '{name}'"))
                            );
                        }
                        Some(b'{') => depth += 1,
                        Some(b'}') => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    self.position += 1;
                }
                let options = self.text[open + 1..self.position].to_string();
                self.position += 1;
                Ok(Element::Pass {
                    name,
                    options: Some(options),
                    column,
                })
            }
            _ => Ok(Element::Pass {
                name,
                options: None,
                column,
            }),
        }
    }
}

/// Every deepfuse pass, in pipeline order: the df-level passes, then the
/// lowering.
pub fn deepfuse_passes() -> impl Iterator<Item = &'static PassInfo> {
    deepfuse_passes::passes()
        .iter()
        .chain(deepfuse_lowering::passes::passes())
}

/// The deepfuse pass named `argument`, if there is one.
pub fn find_pass(argument: &str) -> Option<&'static PassInfo> {
    deepfuse_passes().find(|pass| pass.argument == argument)
}

/// A pass manager that runs on modules.
pub fn module_pass_manager(context: &Context) -> PassManager<'_> {
    // SAFETY: creates an owned pass manager on a live context.
    unsafe {
        PassManager::from_raw(mlir_sys::mlirPassManagerCreateOnOperation(
            context.to_raw(),
            StringRef::new("builtin.module").to_raw(),
        ))
    }
}

/// Adds a whole `--pass-pipeline` (one `builtin.module(...)` element) to
/// `pass_manager`, which runs on modules.
pub fn add_anchored_pipeline(pass_manager: &PassManager, text: &str) -> Result<(), PipelineError> {
    let elements = parse(text)?;
    match elements.as_slice() {
        [
            Element::Nested {
                anchor, elements, ..
            },
        ] if anchor == "builtin.module" => add_elements(
            pass_manager.as_operation_pass_manager(),
            elements,
            Nesting::Explicit,
        ),
        [first, ..] => Err(PipelineError {
            column: first.column(),
            message:
                "the pass pipeline must be anchored on the module, as in 'builtin.module(...)'"
                    .into(),
        }),
        [] => Ok(()),
    }
}

/// Adds `elements` to a pass manager; `nesting` says where upstream passes
/// anchored on another operation go.
pub fn add_elements(
    manager: OperationPassManager,
    elements: &[Element],
    nesting: Nesting,
) -> Result<(), PipelineError> {
    for element in elements {
        match element {
            Element::Nested {
                anchor, elements, ..
            } => {
                add_elements(manager.nested_under(anchor), elements, nesting)?;
            }
            Element::Pass {
                name,
                options,
                column,
            } => {
                let fail = |message: String| PipelineError {
                    column: *column,
                    message,
                };
                if let Some(info) = find_pass(name) {
                    let built = info
                        .build(options.as_deref().unwrap_or(""))
                        .map_err(|error| fail(error.to_string()))?;
                    match built {
                        Built::Pass(pass) => manager.add_pass(pass),
                        Built::Pipeline(text) => add_upstream(manager, &text, nesting)
                            .map_err(|message| fail(format!("{name}: {message}")))?,
                    }
                } else {
                    let text = match options {
                        Some(options) => format!("{name}{{{options}}}"),
                        None => name.clone(),
                    };
                    add_upstream(manager, &text, nesting).map_err(fail)?;
                }
            }
        }
    }
    Ok(())
}

/// Hands one upstream pass (or nested upstream pipeline) to MLIR's parser.
fn add_upstream(manager: OperationPassManager, text: &str, nesting: Nesting) -> Result<(), String> {
    add_upstream_pipeline(manager, text, nesting).map_err(|message| {
        // MLIR's message carries its own copy of the text and a caret; keep
        // the sentence, the caller reports the position in the whole pipeline.
        message
            .lines()
            .find_map(|line| line.split_once("error: ").map(|(_, rest)| rest.to_string()))
            .unwrap_or_else(|| message.trim().to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pass(name: &str, options: Option<&str>, column: usize) -> Element {
        Element::Pass {
            name: name.into(),
            options: options.map(Into::into),
            column,
        }
    }

    #[test]
    fn parses_nested_elements_with_options_and_columns() {
        let parsed =
            parse("builtin.module(df-canonicalize{fold-bias=false}, func.func(cse))").unwrap();
        assert_eq!(
            parsed,
            vec![Element::Nested {
                anchor: "builtin.module".into(),
                column: 1,
                elements: vec![
                    pass("df-canonicalize", Some("fold-bias=false"), 16),
                    Element::Nested {
                        anchor: "func.func".into(),
                        column: 50,
                        elements: vec![pass("cse", None, 60)],
                    },
                ],
            }]
        );
    }

    #[test]
    fn nested_option_braces_stay_whole() {
        let parsed = parse("a{x={y=1} z=2},b").unwrap();
        assert_eq!(
            parsed,
            vec![pass("a", Some("x={y=1} z=2"), 1), pass("b", None, 16)]
        );
    }

    #[test]
    fn reports_where_the_pipeline_breaks() {
        assert_eq!(parse("builtin.module(cse").unwrap_err().column, 19);
        assert_eq!(parse("a,,b").unwrap_err().column, 3);
        assert_eq!(parse("a{x=1").unwrap_err().column, 2);
        assert_eq!(parse("a)").unwrap_err().column, 2);
    }
}
