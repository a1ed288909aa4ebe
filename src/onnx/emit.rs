//! Writing df IR as text: SSA names derived from ONNX value names, types,
//! literals that MLIR parses back to the same value, and a location on every
//! op. The text is parsed and verified by MLIR before anything is written.

use std::{collections::HashSet, fmt::Write};

/// The body of the function being written, one op per line.
#[derive(Debug, Default)]
pub struct Emitter {
    body: String,
    used: HashSet<String>,
    ops: usize,
}

impl Emitter {
    /// A fresh SSA name (`%name`) built from `hint`, unique in the function.
    pub fn fresh(&mut self, hint: &str) -> String {
        let base = ssa_name(hint);
        let mut name = base.clone();
        let mut n = 1;
        while !self.used.insert(name.clone()) {
            name = format!("{base}_{n}");
            n += 1;
        }
        format!("%{name}")
    }

    /// Writes `%result = <text> loc("<location>")` with a fresh result named
    /// after `hint`, and returns the result's SSA name.
    pub fn op(&mut self, hint: &str, text: &str, location: &str) -> String {
        let result = self.fresh(hint);
        self.ops += 1;
        writeln!(
            self.body,
            "  {result} = {text} loc({})",
            string_literal(location)
        )
        .expect("writing to a String");
        result
    }

    /// Writes an op without results (the terminator).
    pub fn terminator(&mut self, text: &str, location: &str) {
        self.ops += 1;
        writeln!(self.body, "  {text} loc({})", string_literal(location))
            .expect("writing to a String");
    }

    /// How many ops were written.
    pub fn op_count(&self) -> usize {
        self.ops
    }

    /// The body written so far.
    pub fn body(&self) -> &str {
        &self.body
    }
}

/// `hint` as the suffix of an SSA name: MLIR allows letters, digits and
/// `$._-`, and a leading digit only in all-digit names.
fn ssa_name(hint: &str) -> String {
    let mut name: String = hint
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "$._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let trimmed = name.trim_start_matches(['_', '.']);
    if trimmed.len() < name.len() && !trimmed.is_empty() {
        name = trimmed.to_string();
    }
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, 'v');
    }
    name
}

/// A symbol name for the function: the graph's name when it is a plain
/// identifier, else `main`.
pub fn symbol_name(graph_name: &str) -> String {
    let name = ssa_name(graph_name).replace(['$', '.', '-'], "_");
    if graph_name.is_empty() || name.trim_matches('_').is_empty() {
        "main".into()
    } else {
        name
    }
}

/// `tensor<1x3x8x8xf32>`.
pub fn tensor_type(shape: &[usize]) -> String {
    let mut text = String::from("tensor<");
    for dim in shape {
        write!(text, "{dim}x").expect("writing to a String");
    }
    text.push_str("f32>");
    text
}

/// `[1, 2, 3]`.
pub fn list<T: std::fmt::Display>(values: &[T]) -> String {
    let items: Vec<String> = values.iter().map(|v| v.to_string()).collect();
    format!("[{}]", items.join(", "))
}

/// A float literal MLIR reads back as exactly `value` (shortest round-trip
/// decimal with a `.`, as MLIR's lexer requires; non-finite values by their
/// bit pattern, which MLIR reads for float-typed attributes).
pub fn f32_literal(value: f32) -> String {
    if !value.is_finite() {
        return format!("0x{:08X}", value.to_bits());
    }
    let text = format!("{value:e}");
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    let mantissa = if mantissa.contains('.') {
        mantissa.to_string()
    } else {
        format!("{mantissa}.0")
    };
    format!("{mantissa}e{exponent}")
}

/// A quoted MLIR string literal: quotes, backslashes and control characters
/// escaped as two hex digits.
pub fn string_literal(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' || c.is_control() {
            let mut buffer = [0; 4];
            for byte in c.encode_utf8(&mut buffer).bytes() {
                write!(quoted, "\\{byte:02X}").expect("writing to a String");
            }
        } else {
            quoted.push(c);
        }
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssa_names_are_valid_and_unique() {
        let mut emitter = Emitter::default();
        assert_eq!(
            emitter.fresh("/layer1/conv/Conv_output_0"),
            "%layer1_conv_Conv_output_0"
        );
        assert_eq!(emitter.fresh("onnx::Conv_7"), "%onnx__Conv_7");
        assert_eq!(emitter.fresh("12"), "%v12");
        assert_eq!(emitter.fresh(""), "%v");
        assert_eq!(emitter.fresh("onnx::Conv_7"), "%onnx__Conv_7_1");
    }

    #[test]
    fn literals() {
        assert_eq!(f32_literal(6.0), "6.0e0");
        assert_eq!(f32_literal(1e-5), "1.0e-5");
        assert_eq!(f32_literal(-0.01), "-1.0e-2");
        assert_eq!(f32_literal(f32::MAX), "3.4028235e38");
        assert_eq!(f32_literal(f32::NEG_INFINITY), "0xFF800000");
        assert_eq!(string_literal("a\"b\\c\n"), "\"a\\22b\\5Cc\\0A\"");
        assert_eq!(tensor_type(&[1, 3, 8, 8]), "tensor<1x3x8x8xf32>");
        assert_eq!(list(&[1, 2]), "[1, 2]");
        assert_eq!(symbol_name("torch-jit-export"), "torch_jit_export");
        assert_eq!(symbol_name(""), "main");
    }
}
