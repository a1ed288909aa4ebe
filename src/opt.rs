//! `deepfuse-opt`: an `mlir-opt`-style driver. It reads MLIR, runs a pass
//! pipeline of deepfuse and upstream passes, and prints the result, with the
//! flags, diagnostics and `-verify-diagnostics` semantics of `mlir-opt`.

use std::{
    ffi::OsString,
    fs,
    io::{self, Read, Write},
    path::PathBuf,
};

use clap::Parser;
use deepfuse_dialects::source::{self, DiagnosticMode, Nesting, SourceDiagnostics};
use melior::{
    Context,
    ir::{
        Location, Module,
        operation::{OperationLike, OperationMutLike, OperationPrintingFlags},
    },
    pass::{PassIrPrintingOptions, PassManager},
};

use crate::{
    context::create_context,
    pipeline::{self, Element, PipelineError},
};

/// The marker that separates cases with `--split-input-file`.
const SPLIT_MARKER: &str = "// -----";

/// Command-line options of `deepfuse-opt`. Every other `--NAME[=OPTIONS]`
/// flag names a pass (deepfuse or upstream), run in the order given.
#[derive(Debug, Parser)]
#[command(
    name = "deepfuse-opt",
    version,
    about = "Run deepfuse and MLIR passes on an .mlir file, like mlir-opt",
    after_help = "Any other --NAME or --NAME=OPTIONS flag adds the pass NAME to the pipeline,\n\
                  as in `deepfuse-opt --df-canonicalize=\"fold-bias=false\" --cse in.mlir`.\n\
                  Run with --list-passes to see them all."
)]
pub struct OptArgs {
    /// Input file; `-` reads standard input.
    #[arg(default_value = "-")]
    pub input: String,
    /// Output file; `-` writes standard output.
    #[arg(short = 'o', default_value = "-")]
    pub output: String,
    /// A textual pipeline, such as `builtin.module(df-canonicalize,cse)`.
    #[arg(long = "pass-pipeline")]
    pub pass_pipeline: Option<String>,
    /// Process each chunk separated by `// -----` on its own.
    #[arg(long = "split-input-file")]
    pub split_input_file: bool,
    /// Check diagnostics against `expected-*` annotations in the input.
    #[arg(long = "verify-diagnostics")]
    pub verify_diagnostics: bool,
    /// Print the IR after every pass (to standard error).
    #[arg(long = "mlir-print-ir-after-all")]
    pub print_ir_after_all: bool,
    /// Print the IR before every pass (to standard error).
    #[arg(long = "mlir-print-ir-before-all")]
    pub print_ir_before_all: bool,
    /// Report the time each pass takes (to standard error).
    #[arg(long = "mlir-timing")]
    pub timing: bool,
    /// List deepfuse and upstream passes with their options, then exit.
    #[arg(long = "list-passes")]
    pub list_passes: bool,
    /// Print the Markdown documentation of the deepfuse passes, then exit.
    #[arg(long = "dump-pass-docs", hide = true)]
    pub dump_pass_docs: bool,
    /// Accept operations of dialects that are not registered.
    #[arg(long = "allow-unregistered-dialect")]
    pub allow_unregistered_dialect: bool,
    /// Print locations with the IR.
    #[arg(long = "mlir-print-debuginfo")]
    pub print_debuginfo: bool,
    /// Print every operation in the generic form.
    #[arg(long = "mlir-print-op-generic")]
    pub print_op_generic: bool,
}

/// The flags of [`OptArgs`], to tell them from pass flags.
const TOOL_FLAGS: &[&str] = &[
    "o",
    "pass-pipeline",
    "split-input-file",
    "verify-diagnostics",
    "mlir-print-ir-after-all",
    "mlir-print-ir-before-all",
    "mlir-timing",
    "list-passes",
    "dump-pass-docs",
    "allow-unregistered-dialect",
    "mlir-print-debuginfo",
    "mlir-print-op-generic",
    "help",
    "h",
    "version",
    "V",
];

/// Flags that take their value as the next argument when not given `=value`.
const FLAGS_WITH_VALUE: &[&str] = &["o", "pass-pipeline"];

/// Splits the command line into tool arguments (for clap, with mlir-opt's
/// single-dash long flags given two dashes) and pass flags, in order.
fn split_arguments(args: Vec<String>) -> (Vec<String>, Vec<Element>) {
    let mut tool = Vec::new();
    let mut passes = Vec::new();
    let mut args = args.into_iter();
    tool.extend(args.next());
    while let Some(arg) = args.next() {
        if arg == "-" || !arg.starts_with('-') {
            tool.push(arg);
            continue;
        }
        let body = arg.trim_start_matches('-');
        let (name, value) = match body.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (body, None),
        };
        if TOOL_FLAGS.contains(&name) {
            let dashes = if name.len() == 1 { "-" } else { "--" };
            tool.push(format!("{dashes}{body}"));
            if value.is_none() && FLAGS_WITH_VALUE.contains(&name) {
                tool.extend(args.next());
            }
        } else {
            passes.push(Element::Pass {
                name: name.to_string(),
                options: value.map(str::to_string),
                column: 0,
            });
        }
    }
    (tool, passes)
}

/// Runs `deepfuse-opt` with `args` (the program name first); returns the
/// process exit code.
pub fn main(args: impl IntoIterator<Item = OsString>) -> i32 {
    let args: Vec<String> = args
        .into_iter()
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect();
    let (tool_args, pass_flags) = split_arguments(args);
    let options = match OptArgs::try_parse_from(tool_args) {
        Ok(options) => options,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() { 1 } else { 0 };
        }
    };
    match run(&options, &pass_flags) {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(message) => {
            eprintln!("{message}");
            1
        }
    }
}

/// The pass pipeline a command line asks for.
enum Pipeline<'a> {
    Text(&'a str),
    Flags(&'a [Element]),
}

impl Pipeline<'_> {
    fn add_to(&self, pass_manager: &PassManager) -> Result<(), String> {
        match self {
            Pipeline::Text(text) => pipeline::add_anchored_pipeline(pass_manager, text)
                .map_err(|error| format_pipeline_error(text, &error)),
            Pipeline::Flags(elements) => pipeline::add_elements(
                pass_manager.as_operation_pass_manager(),
                elements,
                Nesting::Implicit,
            )
            .map_err(|error| format!("<command line>: error: {error}")),
        }
    }
}

fn format_pipeline_error(text: &str, error: &PipelineError) -> String {
    format!(
        "<pass-pipeline>:1:{}: error: {}\n{}\n{}^",
        error.column,
        error.message,
        text,
        " ".repeat(error.column.saturating_sub(1))
    )
}

/// Runs the driver; `Ok(false)` when the input failed (diagnostics printed).
fn run(options: &OptArgs, pass_flags: &[Element]) -> Result<bool, String> {
    if options.dump_pass_docs {
        print!("{}", pass_docs());
        return Ok(true);
    }
    if options.list_passes {
        list_passes();
        return Ok(true);
    }
    let pipeline = match (&options.pass_pipeline, pass_flags.is_empty()) {
        (Some(_), false) => {
            return Err(
                "error: --pass-pipeline cannot be combined with individual pass flags".into(),
            );
        }
        (Some(text), true) => {
            pipeline::parse(text).map_err(|error| format_pipeline_error(text, &error))?;
            Pipeline::Text(text)
        }
        (None, _) => Pipeline::Flags(pass_flags),
    };
    let (text, name) = read_input(&options.input)?;
    let chunks = if options.split_input_file {
        split_chunks(&text)
    } else {
        vec![Chunk { text, start: None }]
    };

    // A failed case prints nothing but keeps its separator, as in mlir-opt,
    // so the N-th printed case is the N-th case of the input.
    let mut outputs = Vec::new();
    let mut all_ok = true;
    for chunk in &chunks {
        let (ok, output) = process_chunk(options, &pipeline, chunk, &name)?;
        all_ok &= ok;
        outputs.push(output.unwrap_or_default());
    }
    write_output(&options.output, &outputs.join(&format!("{SPLIT_MARKER}\n")))?;
    Ok(all_ok)
}

fn read_input(input: &str) -> Result<(String, String), String> {
    if input == "-" {
        let mut text = String::new();
        io::stdin()
            .read_to_string(&mut text)
            .map_err(|error| format!("<stdin>: error: cannot read standard input: {error}"))?;
        return Ok((text, "<stdin>".into()));
    }
    let text = fs::read_to_string(input)
        .map_err(|error| format!("{input}: error: could not open input file: {error}"))?;
    Ok((text, input.into()))
}

fn write_output(output: &str, text: &str) -> Result<(), String> {
    let result = if output == "-" {
        io::stdout().write_all(text.as_bytes())
    } else {
        fs::write(PathBuf::from(output), text)
    };
    result.map_err(|error| format!("{output}: error: cannot write output: {error}"))
}

/// One case of the input.
#[derive(Debug, PartialEq, Eq)]
struct Chunk {
    /// The case's text, after as many empty lines as precede it in the file.
    text: String,
    /// Where the case starts in the file (1-based line and column, just after
    /// the split marker), for all cases but the first.
    start: Option<(usize, usize)>,
}

/// Splits at `// -----` lines. Each chunk keeps its lines' numbers from the
/// whole file (earlier lines become empty), so diagnostics point at the line
/// in the file the user edits.
fn split_chunks(text: &str) -> Vec<Chunk> {
    let mut chunks = Vec::new();
    let mut current = String::new();
    let mut start = None;
    let mut first_line = 0;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let content = line.trim_end_matches(['\n', '\r']);
        if content.trim_end() == SPLIT_MARKER {
            chunks.push(Chunk {
                text: "\n".repeat(first_line) + &current,
                start,
            });
            current.clear();
            start = Some((index + 1, content.len() + 1));
            first_line = index + 1;
        } else {
            current.push_str(line);
        }
    }
    chunks.push(Chunk {
        text: "\n".repeat(first_line) + &current,
        start,
    });
    chunks
}

/// Parses one chunk in a fresh context, runs the pipeline, and returns
/// whether it succeeded (in verify mode: whether the diagnostics matched)
/// with the printed IR when the pipeline succeeded.
fn process_chunk(
    options: &OptArgs,
    pipeline: &Pipeline,
    chunk: &Chunk,
    name: &str,
) -> Result<(bool, Option<String>), String> {
    let context = create_context();
    context.set_allow_unregistered_dialects(options.allow_unregistered_dialect);
    let mode = if options.verify_diagnostics {
        DiagnosticMode::Verify
    } else {
        DiagnosticMode::Print
    };
    let diagnostics = SourceDiagnostics::attach(&context, &chunk.text, name, mode);
    let output = match source::parse_source(&context, &chunk.text, name) {
        Some(mut module) => {
            if let Some((line, column)) = chunk.start {
                locate_implicit_module(&context, &mut module, name, line, column);
            }
            let pass_manager = build_pass_manager(&context, options, pipeline)?;
            match pass_manager.run(&mut module) {
                Ok(()) => Some(print_module(options, &module)?),
                Err(_) => None,
            }
        }
        None => None,
    };
    let ok = match mode {
        DiagnosticMode::Verify => diagnostics.verify(),
        DiagnosticMode::Print => output.is_some(),
    };
    Ok((ok, output))
}

/// mlir-opt gives the implicit module of a later case the location where the
/// case starts; the parser, which sees the case alone, gives it line 0.
fn locate_implicit_module(
    context: &Context,
    module: &mut Module,
    name: &str,
    line: usize,
    column: usize,
) {
    let mut operation = module.as_operation_mut();
    if operation.location() == Location::new(context, name, 0, 0) {
        operation.set_location(Location::new(context, name, line, column));
    }
}

fn build_pass_manager<'c>(
    context: &'c Context,
    options: &OptArgs,
    pipeline: &Pipeline,
) -> Result<PassManager<'c>, String> {
    let pass_manager = pipeline::module_pass_manager(context);
    pipeline.add_to(&pass_manager)?;
    if options.print_ir_after_all || options.print_ir_before_all {
        pass_manager.enable_ir_printing(&PassIrPrintingOptions {
            before_all: options.print_ir_before_all,
            after_all: options.print_ir_after_all,
            module_scope: false,
            on_change: false,
            on_failure: false,
            flags: printing_flags(options),
            tree_printing_path: PathBuf::new(),
        });
    }
    if options.timing {
        // SAFETY: the pass manager is live; timing is reported when it drops.
        unsafe { mlir_sys::mlirPassManagerEnableTiming(pass_manager.to_raw()) };
    }
    Ok(pass_manager)
}

fn printing_flags(options: &OptArgs) -> OperationPrintingFlags {
    let mut flags = OperationPrintingFlags::new();
    if options.print_debuginfo {
        flags = flags.enable_debug_info(true, false);
    }
    if options.print_op_generic {
        flags = flags.print_generic_operation_form();
    }
    flags
}

fn print_module(options: &OptArgs, module: &melior::ir::Module) -> Result<String, String> {
    let text = module
        .as_operation()
        .to_string_with_flags(printing_flags(options))
        .map_err(|error| format!("error: cannot print the module: {error}"))?;
    Ok(text + "\n")
}

/// The Markdown documentation of every deepfuse pass (`docs/passes.md`).
pub fn pass_docs() -> String {
    let mut text = String::from(
        "# deepfuse passes\n\n\
         Generated by `deepfuse-opt --dump-pass-docs`; `--list-passes` shows the same text.\n",
    );
    for pass in pipeline::deepfuse_passes() {
        text.push('\n');
        text.push_str(&pass.markdown());
    }
    text
}

fn list_passes() {
    println!("deepfuse passes:");
    for pass in pipeline::deepfuse_passes() {
        println!("  --{:<40} - {}", pass.argument, pass.summary);
        for option in pass.options {
            println!(
                "      {:<38} - {} ({}, default {})",
                format!("{}=<{}>", option.name, option.kind),
                option.help,
                option.kind,
                option.default
            );
        }
    }
    crate::context::register_upstream_passes();
    println!("\nupstream passes:");
    let _ = io::stdout().flush();
    source::print_registered_passes();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn pass_flags_are_split_from_tool_flags() {
        let (tool, passes) = split_arguments(strings(&[
            "deepfuse-opt",
            "-split-input-file",
            "--df-canonicalize=fold-bias=false",
            "in.mlir",
            "-o",
            "out.mlir",
            "--cse",
        ]));
        assert_eq!(
            tool,
            strings(&[
                "deepfuse-opt",
                "--split-input-file",
                "in.mlir",
                "-o",
                "out.mlir"
            ])
        );
        assert_eq!(passes.len(), 2);
        assert!(
            matches!(&passes[0], Element::Pass { name, options: Some(o), .. }
            if name == "df-canonicalize" && o == "fold-bias=false")
        );
        assert!(matches!(&passes[1], Element::Pass { name, options: None, .. } if name == "cse"));
    }

    #[test]
    fn chunks_keep_their_line_numbers() {
        let chunks = split_chunks("a\n// -----\nb\nc\n// -----  \nd");
        let texts: Vec<_> = chunks.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, vec!["a\n", "\n\nb\nc\n", "\n\n\n\n\nd"]);
        let starts: Vec<_> = chunks.iter().map(|c| c.start).collect();
        assert_eq!(starts, vec![None, Some((2, 9)), Some((5, 11))]);
    }
}
