//! The list of deepfuse passes: names, documentation, options, constructors.
//! `deepfuse-opt` builds its flags and `--list-passes` from here, and
//! `docs/passes.md` is generated from the same text.

use melior::{ir::r#type::TypeId, pass::Pass};

use crate::{
    canonicalize::{self, Canonicalize, CanonicalizeOptions},
    options::{OptionError, OptionInfo, PassOptions},
};

/// One deepfuse pass.
pub struct PassInfo {
    /// The pipeline name, as in `builtin.module(df-canonicalize)`.
    pub argument: &'static str,
    /// One line on what it does.
    pub summary: &'static str,
    /// The longer description, with an example.
    pub description: &'static str,
    /// The options it takes.
    pub options: &'static [OptionInfo],
    create: fn(&PassOptions) -> Result<Pass, OptionError>,
}

impl PassInfo {
    /// Creates the pass from its option text (without braces).
    pub fn create(&self, options: &str) -> Result<Pass, OptionError> {
        (self.create)(&PassOptions::parse(self.argument, options, self.options)?)
    }

    /// The pass's documentation in Markdown.
    pub fn markdown(&self) -> String {
        let mut text = format!(
            "## `{}`\n\n{}\n\n{}\n",
            self.argument,
            self.summary,
            self.description.trim()
        );
        if !self.options.is_empty() {
            text.push_str("\nOptions:\n\n");
            for option in self.options {
                text.push_str(&format!(
                    "- `{}` ({}, default `{}`): {}\n",
                    option.name, option.kind, option.default, option.help
                ));
            }
        }
        text
    }
}

#[repr(align(8))]
struct PassId;

static CANONICALIZE_ID: PassId = PassId;

static PASSES: &[PassInfo] = &[PassInfo {
    argument: "df-canonicalize",
    summary: "Fold batch norms and bias adds into their layers; remove identity reshapes",
    description: r#"
Rewrites, repeated until none applies:

- `df.batch_norm(df.conv2d(x, w, b))`, the conv used only there, becomes
  `df.conv2d(x, w', b')` with `w', b' = df.fold_batch_norm w, b, ...`: the
  folding is evaluated once when parameters are loaded.
- `df.add(df.conv2d(x, w), p)` with `p` a per-channel parameter (shape
  `[1, C, 1, 1]` or `[C, 1, 1]`) becomes a conv with bias `p`; likewise a
  `df.matmul` followed by an add of a `[N]` or `[1, N]` parameter. An existing
  bias is added to `p`.
- `df.reshape` / `df.flatten` to the same type is removed; a reshape of a
  reshape or flatten becomes one reshape.

Only parameters are folded: an add of an activation stays an add.

Example:

```mlir
%c = df.conv2d %x, %w strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
    : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>) -> tensor<1x8x8x8xf32>
%b = df.param "conv.bias" : tensor<1x8x1x1xf32>
%y = df.add %c, %b : (tensor<1x8x8x8xf32>, tensor<1x8x1x1xf32>) -> tensor<1x8x8x8xf32>
// becomes
%r = df.reshape %b : tensor<1x8x1x1xf32> -> tensor<8xf32>
%y = df.conv2d %x, %w, %r strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
    : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>, tensor<8xf32>) -> tensor<1x8x8x8xf32>
```
"#,
    options: canonicalize::OPTIONS,
    create: |options| {
        let pass = Canonicalize::new(CanonicalizeOptions::from_options(options)?);
        Ok(melior::pass::create_external(
            pass,
            TypeId::create(&CANONICALIZE_ID),
            "DfCanonicalize",
            "df-canonicalize",
            "Fold batch norms and bias adds into their layers; remove identity reshapes",
            "",
            &[],
        ))
    },
}];

/// Every deepfuse pass, in pipeline order.
pub fn passes() -> &'static [PassInfo] {
    PASSES
}

/// The deepfuse pass named `argument`, if there is one.
pub fn find_pass(argument: &str) -> Option<&'static PassInfo> {
    PASSES.iter().find(|pass| pass.argument == argument)
}
