//! One ONNX node as the converters see it: its label (for locations and
//! errors), its opset, and typed access to its attributes. Converters list
//! the attributes they understand; any other attribute is refused rather
//! than ignored.

use tract_onnx::pb::{AttributeProto, NodeProto, TensorProto, attribute_proto::AttributeType};

use super::error::ImportError;

/// A node being converted.
#[derive(Clone, Copy, Debug)]
pub struct Node<'a> {
    /// The node.
    pub proto: &'a NodeProto,
    /// Its name, or `op_type#index` when it has none.
    pub label: &'a str,
    /// The default-domain opset of the model.
    pub opset: i64,
}

impl<'a> Node<'a> {
    /// The operator name.
    pub fn op(&self) -> &'a str {
        &self.proto.op_type
    }

    /// An error about this node.
    pub fn error(&self, reason: impl Into<String>) -> ImportError {
        let op = match self.proto.domain.as_str() {
            "" | "ai.onnx" => self.proto.op_type.clone(),
            domain => format!("{domain}.{}", self.proto.op_type),
        };
        ImportError::Node {
            node: self.label.to_string(),
            op,
            reason: reason.into(),
        }
    }

    /// The name of input `index`, or None when absent (missing or empty:
    /// ONNX spells an omitted optional input as an empty name).
    pub fn input_name(&self, index: usize) -> Option<&'a str> {
        self.proto
            .input
            .get(index)
            .map(String::as_str)
            .filter(|name| !name.is_empty())
    }

    /// The name of output `index`, or None when absent or empty.
    pub fn output_name(&self, index: usize) -> Option<&'a str> {
        self.proto
            .output
            .get(index)
            .map(String::as_str)
            .filter(|name| !name.is_empty())
    }

    /// Refuses attributes other than `known`.
    pub fn expect_attributes(&self, known: &[&str]) -> Result<(), ImportError> {
        match self
            .proto
            .attribute
            .iter()
            .find(|a| !known.contains(&a.name.as_str()))
        {
            Some(attribute) => Err(self.error(format!(
                "attribute '{}' is not supported{}",
                attribute.name,
                if known.is_empty() {
                    String::new()
                } else {
                    format!(" (known: {})", known.join(", "))
                }
            ))),
            None => Ok(()),
        }
    }

    /// Refuses a node with more than `count` inputs, so that an input added
    /// by a newer opset is never ignored.
    pub fn expect_inputs(&self, count: usize) -> Result<(), ImportError> {
        let given = self.proto.input.iter().rposition(|name| !name.is_empty());
        match given {
            Some(last) if last >= count => {
                Err(self.error(format!("has {} inputs, expected at most {count}", last + 1)))
            }
            _ => Ok(()),
        }
    }

    fn attribute(&self, name: &str) -> Option<&'a AttributeProto> {
        self.proto.attribute.iter().find(|a| a.name == name)
    }

    /// Checks an attribute's declared type (old exporters leave it undefined).
    fn typed(
        &self,
        name: &str,
        expected: AttributeType,
    ) -> Result<Option<&'a AttributeProto>, ImportError> {
        let Some(attribute) = self.attribute(name) else {
            return Ok(None);
        };
        let declared =
            AttributeType::try_from(attribute.r#type).unwrap_or(AttributeType::Undefined);
        if declared != expected && declared != AttributeType::Undefined {
            return Err(self.error(format!(
                "attribute '{name}' is {}, expected {}",
                declared.as_str_name(),
                expected.as_str_name()
            )));
        }
        Ok(Some(attribute))
    }

    /// An integer attribute.
    pub fn int(&self, name: &str) -> Result<Option<i64>, ImportError> {
        Ok(self.typed(name, AttributeType::Int)?.map(|a| a.i))
    }

    /// An integer attribute with a default.
    pub fn int_or(&self, name: &str, default: i64) -> Result<i64, ImportError> {
        Ok(self.int(name)?.unwrap_or(default))
    }

    /// An integer-list attribute.
    pub fn ints(&self, name: &str) -> Result<Option<Vec<i64>>, ImportError> {
        Ok(self
            .typed(name, AttributeType::Ints)?
            .map(|a| a.ints.clone()))
    }

    /// A float attribute with a default.
    pub fn float_or(&self, name: &str, default: f32) -> Result<f32, ImportError> {
        Ok(self
            .typed(name, AttributeType::Float)?
            .map_or(default, |a| a.f))
    }

    /// A float attribute.
    pub fn float(&self, name: &str) -> Result<Option<f32>, ImportError> {
        Ok(self.typed(name, AttributeType::Float)?.map(|a| a.f))
    }

    /// A float-list attribute.
    pub fn floats(&self, name: &str) -> Result<Option<Vec<f32>>, ImportError> {
        Ok(self
            .typed(name, AttributeType::Floats)?
            .map(|a| a.floats.clone()))
    }

    /// A string attribute with a default.
    pub fn string_or(&self, name: &str, default: &str) -> Result<String, ImportError> {
        match self.typed(name, AttributeType::String)? {
            Some(attribute) => String::from_utf8(attribute.s.clone())
                .map_err(|_| self.error(format!("attribute '{name}' is not UTF-8"))),
            None => Ok(default.to_string()),
        }
    }

    /// A tensor attribute.
    pub fn tensor(&self, name: &str) -> Result<Option<&'a TensorProto>, ImportError> {
        match self.typed(name, AttributeType::Tensor)? {
            Some(attribute) => attribute
                .t
                .as_ref()
                .map(Some)
                .ok_or_else(|| self.error(format!("attribute '{name}' holds no tensor"))),
            None => Ok(None),
        }
    }

    /// A boolean flag stored as an int attribute (0 or 1).
    pub fn flag(&self, name: &str) -> Result<bool, ImportError> {
        match self.int_or(name, 0)? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(self.error(format!("attribute '{name}' is {other}, expected 0 or 1"))),
        }
    }
}
