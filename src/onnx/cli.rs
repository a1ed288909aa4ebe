//! `deepfuse import`: imports an ONNX model and writes the df IR and its
//! parameters.

use std::{fmt::Write, path::PathBuf};

use clap::Args;

use super::{ImportOptions, import};

/// The arguments of `deepfuse import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The ONNX model.
    pub model: PathBuf,
    /// Where to write the df IR (default: the model's path with .mlir); the
    /// weights go beside it, with the extension .safetensors.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Pin the shape of a graph input (for dynamic dimensions), as
    /// NAME=1x3x224x224; repeat for several inputs.
    #[arg(long = "input-shape", value_name = "NAME=SHAPE", value_parser = parse_input_shape)]
    pub input_shapes: Vec<(String, Vec<usize>)>,
}

/// `x=1x3x224x224` as `("x", [1, 3, 224, 224])`.
fn parse_input_shape(text: &str) -> Result<(String, Vec<usize>), String> {
    let (name, shape) = text
        .rsplit_once('=')
        .ok_or_else(|| format!("'{text}' is not NAME=SHAPE (such as x=1x3x224x224)"))?;
    let shape = shape
        .split('x')
        .map(|d| match d.trim().parse::<usize>() {
            Ok(d) if d > 0 => Ok(d),
            _ => Err(format!(
                "'{d}' in '{text}' is not a dimension of at least 1"
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((name.to_string(), shape))
}

/// Runs `deepfuse import`, returning the report.
pub fn run(args: &ImportArgs) -> Result<String, String> {
    let options = ImportOptions {
        input_shapes: args.input_shapes.iter().cloned().collect(),
    };
    let imported = import(&args.model, &options).map_err(|e| e.to_string())?;
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| args.model.with_extension("mlir"));
    let params_path = imported.write(&output).map_err(|e| e.to_string())?;
    let summary = &imported.summary;
    let mut report = String::new();
    writeln!(
        report,
        "imported {} (opset {}{}) in {:.3} s: {} nodes -> {} ops, {} parameters ({} values, {:.1} MB)",
        summary.model.display(),
        summary.opset,
        if summary.producer.is_empty() {
            String::new()
        } else {
            format!(", {}", summary.producer)
        },
        summary.seconds,
        summary.nodes,
        summary.ops,
        imported.params.len(),
        summary.param_elements,
        summary.param_elements as f64 * 4.0 / 1e6
    )
    .expect("writing to a String");
    writeln!(
        report,
        "wrote {} and {}",
        output.display(),
        params_path.display()
    )
    .expect("writing to a String");
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_shapes_parse() {
        assert_eq!(
            parse_input_shape("x=1x3x224x224").unwrap(),
            ("x".to_string(), vec![1, 3, 224, 224])
        );
        assert!(parse_input_shape("x").is_err());
        assert!(parse_input_shape("x=1x0").is_err());
        assert!(parse_input_shape("x=1xa").is_err());
    }
}
