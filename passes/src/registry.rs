//! The list of deepfuse passes: names, documentation, options, constructors.
//! `deepfuse-opt` builds its flags and `--list-passes` from here, and
//! `docs/passes.md` is generated from the same text.

use melior::{ir::r#type::TypeId, pass::Pass};

use crate::{
    canonicalize::{self, Canonicalize, CanonicalizeOptions},
    fusion_regions::{self, FormFusionRegions, FusionOptions},
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
    /// How it is built from its options.
    pub construct: Construct,
}

/// How a registry entry is built from its options.
#[derive(Clone, Copy)]
pub enum Construct {
    /// A pass written in Rust.
    Pass(fn(&PassOptions) -> Result<Pass, OptionError>),
    /// A named pipeline of upstream passes, like `mlir-opt`'s registered
    /// pipelines: the text that goes inside `builtin.module(...)`.
    Pipeline(fn(&PassOptions) -> Result<String, OptionError>),
}

/// A registry entry built from its options.
pub enum Built {
    /// A pass to add to the pass manager.
    Pass(Pass),
    /// An upstream pipeline to parse into the pass manager.
    Pipeline(String),
}

impl PassInfo {
    /// Builds the pass (or pipeline) from its option text (without braces).
    pub fn build(&self, options: &str) -> Result<Built, OptionError> {
        let options = PassOptions::parse(self.argument, options, self.options)?;
        Ok(match self.construct {
            Construct::Pass(create) => Built::Pass(create(&options)?),
            Construct::Pipeline(expand) => Built::Pipeline(expand(&options)?),
        })
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
static FORM_FUSION_REGIONS_ID: PassId = PassId;

static PASSES: &[PassInfo] = &[
    PassInfo {
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
        construct: Construct::Pass(|options| {
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
        }),
    },
    PassInfo {
        argument: "df-form-fusion-regions",
        summary: "Group layers into tiled fusion regions that minimise off-chip traffic",
        description: r#"
Deep Fusion's scheduler. For every function, builds the layer graph (ops on
activations; parameters count as weight bytes of the layers reading them),
partitions it into groups and picks each group's tiling to minimise the
off-chip traffic for a scratchpad of `scratchpad` bytes, then outlines each
group into a `df.fusion_region` whose operands are every value the group
reads (activations and weights) and whose results are the values read after
it. The `schedule` attribute records the choice:

- `tile`: rows, columns and channels of the group's reference output (its
  last output) per tile; `tiles`: how many tiles along each;
- `order`: `spatial-outer` (channel chunks inside each spatial tile; weights
  re-read per tile unless resident) or `channel-outer` (each chunk's weights
  stay for a sweep over the tiles; inputs re-read per chunk);
- `overlap`: halos between tiles `recompute`d, or cached on chip along the
  width (`cache-h`), the height (`cache-v`) or both (`cache`);
- `stream_inputs`: external inputs streamed per use in channel chunks;
- `footprint`, `resident_weights`: scratchpad bytes of one step;
- `traffic`: predicted bytes read (`input`, `weight`) and written (`output`).

Strategies: `dp` is a dynamic program over a topological order in which
each conv/pool/matmul and its elementwise epilogue are contiguous; it is
exact over partitions into intervals of that order (every partition of a
chain) and a heuristic for DAGs (convex groups that are not intervals are
not tried). `greedy` grows each group while the next op is cheaper inside
than alone; `layer` makes each conv/pool/matmul with its epilogue a group;
`naive` makes each op a group. Global pooling, matmul, softmax and reshapes
across dimensions end their group. Run `df-canonicalize` first.

Example (`scratchpad=1MiB`):

```mlir
%c = df.conv2d %x, %w, %b strides [1, 1] pads [1, 1, 1, 1] dilations [1, 1]
    : (tensor<1x8x16x16xf32>, tensor<8x8x3x3xf32>, tensor<8xf32>) -> tensor<1x8x16x16xf32>
%y = df.activation relu %c : tensor<1x8x16x16xf32>
// becomes
%y = df.fusion_region(%x, %w, %b) : (tensor<1x8x16x16xf32>, tensor<8x8x3x3xf32>, tensor<8xf32>)
    -> tensor<1x8x16x16xf32> attributes {schedule = {order = "spatial-outer", tile = array<i64: 16, 16, 8>, ...}} {
^bb0(%a: tensor<1x8x16x16xf32>, %f: tensor<8x8x3x3xf32>, %g: tensor<8xf32>):
  %c = df.conv2d %a, %f, %g ...
  %r = df.activation relu %c : tensor<1x8x16x16xf32>
  df.yield %r : tensor<1x8x16x16xf32>
}
```

If an op fits in no group, the pass fails with an error at that op naming
the bytes its smallest tile needs.
"#,
        options: fusion_regions::OPTIONS,
        construct: Construct::Pass(|options| {
            let pass = FormFusionRegions::new(FusionOptions::from_options(options)?);
            Ok(melior::pass::create_external(
                pass,
                TypeId::create(&FORM_FUSION_REGIONS_ID),
                "DfFormFusionRegions",
                "df-form-fusion-regions",
                "Group layers into tiled fusion regions that minimise off-chip traffic",
                "",
                &[],
            ))
        }),
    },
];

/// Every deepfuse pass, in pipeline order.
pub fn passes() -> &'static [PassInfo] {
    PASSES
}

/// The deepfuse pass named `argument`, if there is one.
pub fn find_pass(argument: &str) -> Option<&'static PassInfo> {
    PASSES.iter().find(|pass| pass.argument == argument)
}
