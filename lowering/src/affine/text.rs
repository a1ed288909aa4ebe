//! A writer of MLIR function bodies in textual form: fresh SSA names, loops,
//! and constants hoisted to the function entry (where they dominate every
//! use), so that kernels can ask for a constant anywhere.

use std::{collections::HashMap, fmt::Write};

/// One function being written.
#[derive(Default)]
pub struct FunctionText {
    prologue: String,
    body: String,
    indent: usize,
    next: usize,
    constants: HashMap<String, String>,
    vector_registers: Option<i64>,
}

impl FunctionText {
    /// An empty function for a CPU with `vector_registers` vector
    /// registers, which its register blocks are sized for.
    pub fn for_registers(vector_registers: i64) -> Self {
        FunctionText {
            vector_registers: Some(vector_registers),
            ..FunctionText::default()
        }
    }

    /// The vector registers the function's register blocks may fill (16,
    /// AVX2's, unless [`FunctionText::for_registers`] said otherwise).
    pub fn vector_registers(&self) -> i64 {
        self.vector_registers.unwrap_or(16)
    }

    /// A fresh SSA name with the given prefix.
    pub fn fresh(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("%{prefix}{}", self.next)
    }

    /// Appends one line of the body at the current depth.
    pub fn line(&mut self, text: impl AsRef<str>) {
        for _ in 0..self.indent + 1 {
            self.body.push_str("  ");
        }
        self.body.push_str(text.as_ref());
        self.body.push('\n');
    }

    /// Appends `name = value` with a fresh `name` (prefix `prefix`) and
    /// returns the name.
    pub fn assign(&mut self, prefix: &str, value: impl AsRef<str>) -> String {
        let name = self.fresh(prefix);
        self.line(format!("{name} = {}", value.as_ref()));
        name
    }

    /// Appends a line to the entry block, before the body.
    pub fn prologue_line(&mut self, text: impl AsRef<str>) {
        writeln!(self.prologue, "  {}", text.as_ref()).expect("writing to a String");
    }

    /// An `index` constant.
    pub fn index(&mut self, value: i64) -> String {
        self.constant(format!("{value} : index"), "c")
    }

    /// An `i64` constant.
    pub fn i64(&mut self, value: i64) -> String {
        self.constant(format!("{value} : i64"), "l")
    }

    /// An `f32` constant, written by its bit pattern so it is exact.
    pub fn f32(&mut self, value: f32) -> String {
        self.constant(format!("0x{:08X} : f32", value.to_bits()), "f")
    }

    /// The address of buffer argument `%name` (a `memref<bytes x i8>`) as
    /// an `i64`, computed once at the function entry.
    pub fn base_address(&mut self, name: &str, bytes: u64) -> String {
        let key = format!("base {name}");
        if let Some(value) = self.constants.get(&key) {
            return value.clone();
        }
        let pointer = self.fresh("a");
        let value = self.fresh("a");
        self.prologue_line(format!(
            "{pointer} = memref.extract_aligned_pointer_as_index %{name} : memref<{}xi8> -> index",
            bytes.max(1)
        ));
        self.prologue_line(format!(
            "{value} = arith.index_cast {pointer} : index to i64"
        ));
        self.constants.insert(key, value.clone());
        value
    }

    /// Replaces every occurrence of `from` in the body written so far.
    pub fn replace_all(&mut self, from: &str, to: &str) {
        self.body = self.body.replace(from, to);
    }

    /// An `arith.constant` of `literal` (value and type), hoisted and
    /// shared like the others; `prefix` starts its SSA name.
    pub fn constant_literal(&mut self, literal: &str, prefix: &str) -> String {
        self.constant(literal.to_string(), prefix)
    }

    fn constant(&mut self, literal: String, prefix: &str) -> String {
        if let Some(name) = self.constants.get(&literal) {
            return name.clone();
        }
        let name = self.fresh(prefix);
        self.prologue_line(format!("{name} = arith.constant {literal}"));
        self.constants.insert(literal, name.clone());
        name
    }

    /// Opens `affine.for %iv = lower to upper` (bounds are affine bound
    /// expressions, e.g. `0` and `56`, or `max affine_map<...>(%x)`).
    pub fn open_for(&mut self, lower: impl AsRef<str>, upper: impl AsRef<str>) -> String {
        let iv = self.fresh("i");
        self.line(format!(
            "affine.for {iv} = {} to {} {{",
            lower.as_ref(),
            upper.as_ref()
        ));
        self.indent += 1;
        iv
    }

    /// Opens one `affine.for %iv = 0 to extent` per extent, outermost first.
    pub fn open_nest(&mut self, extents: &[i64]) -> Vec<String> {
        extents
            .iter()
            .map(|&extent| self.open_for("0", extent.to_string()))
            .collect()
    }

    /// Opens a block whose header line is `header` (ending in `{`).
    pub fn open(&mut self, header: impl AsRef<str>) {
        self.line(header);
        self.indent += 1;
    }

    /// Ends the `then` region of an `affine.if` and opens its `else`.
    pub fn else_branch(&mut self) {
        self.indent -= 1;
        self.line("} else {");
        self.indent += 1;
    }

    /// Closes the innermost open block.
    pub fn close(&mut self) {
        self.indent -= 1;
        self.line("}");
    }

    /// Closes `count` blocks.
    pub fn close_n(&mut self, count: usize) {
        for _ in 0..count {
            self.close();
        }
    }

    /// The function: `header` (ending in `{`), the entry block and `}`.
    pub fn finish(self, header: &str, terminator: &str) -> String {
        assert_eq!(self.indent, 0, "every block is closed");
        format!(
            "{header}\n{}{}  {terminator}\n}}\n",
            self.prologue, self.body
        )
    }
}

/// A memref type of static `shape` and f32 elements.
pub fn memref_type(shape: &[i64]) -> String {
    let mut text = String::from("memref<");
    for dim in shape {
        write!(text, "{dim}x").expect("writing to a String");
    }
    text.push_str("f32>");
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_are_hoisted_and_shared() {
        let mut f = FunctionText::default();
        let a = f.index(3);
        let b = f.index(3);
        let c = f.f32(1.0);
        assert_eq!(a, b);
        let iv = f.open_for("0", "4");
        f.line(format!(
            "\"test.use\"({a}, {c}, {iv}) : (index, f32, index) -> ()"
        ));
        f.close();
        let text = f.finish("func.func @f() {", "return");
        assert_eq!(
            text,
            "func.func @f() {\n  %c1 = arith.constant 3 : index\n  %f2 = arith.constant 0x3F800000 : f32\n  \
             affine.for %i3 = 0 to 4 {\n    \"test.use\"(%c1, %f2, %i3) : (index, f32, index) -> ()\n  }\n  return\n}\n"
        );
    }
}
