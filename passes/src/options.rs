//! Pass options in MLIR's textual form: `name=value` pairs separated by
//! spaces, as in `df-canonicalize{fold-bias=false}`.

use indexmap::IndexMap;
use thiserror::Error;

/// A declared option of a pass.
#[derive(Clone, Copy, Debug)]
pub struct OptionInfo {
    /// The option's name, as written in a pipeline.
    pub name: &'static str,
    /// The kind of value it takes, for help texts (`bool`, `size`, ...).
    pub kind: &'static str,
    /// The value used when the option is not given.
    pub default: &'static str,
    /// What the option does.
    pub help: &'static str,
}

/// Why a pass's options were rejected.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum OptionError {
    /// An option the pass does not declare.
    #[error("unknown option '{name}' for pass '{pass}'; it takes: {known}")]
    Unknown {
        /// The pass.
        pass: String,
        /// The option given.
        name: String,
        /// The options the pass declares, comma-separated.
        known: String,
    },
    /// A `name=value` pair that does not parse.
    #[error("malformed option '{text}' for pass '{pass}': expected name=value")]
    Malformed {
        /// The pass.
        pass: String,
        /// The text that is not `name=value`.
        text: String,
    },
    /// A value of the wrong kind.
    #[error("invalid value '{value}' for option '{name}' of pass '{pass}': expected {expected}")]
    InvalidValue {
        /// The pass.
        pass: String,
        /// The option.
        name: String,
        /// The value given.
        value: String,
        /// What the option takes.
        expected: String,
    },
}

/// The options given to one pass, checked against its declaration.
#[derive(Clone, Debug, Default)]
pub struct PassOptions {
    pass: String,
    values: IndexMap<String, String>,
}

impl PassOptions {
    /// Parses `text` (without braces) for the pass `pass` declaring `declared`.
    pub fn parse(pass: &str, text: &str, declared: &[OptionInfo]) -> Result<Self, OptionError> {
        let mut values = IndexMap::new();
        for pair in text.split_whitespace() {
            let Some((name, value)) = pair.split_once('=') else {
                return Err(OptionError::Malformed {
                    pass: pass.into(),
                    text: pair.into(),
                });
            };
            if !declared.iter().any(|option| option.name == name) {
                let known = declared.iter().map(|o| o.name).collect::<Vec<_>>();
                return Err(OptionError::Unknown {
                    pass: pass.into(),
                    name: name.into(),
                    known: if known.is_empty() {
                        "no options".into()
                    } else {
                        known.join(", ")
                    },
                });
            }
            values.insert(name.to_string(), value.to_string());
        }
        for option in declared {
            values
                .entry(option.name.to_string())
                .or_insert_with(|| option.default.to_string());
        }
        Ok(Self {
            pass: pass.into(),
            values,
        })
    }

    fn raw(&self, name: &str) -> &str {
        self.values
            .get(name)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("option '{name}' is not declared by '{}'", self.pass))
    }

    fn invalid(&self, name: &str, expected: &str) -> OptionError {
        OptionError::InvalidValue {
            pass: self.pass.clone(),
            name: name.into(),
            value: self.raw(name).into(),
            expected: expected.into(),
        }
    }

    /// The text of an option, checked by the caller; `parse` turns it into
    /// a value or the reason it is not one (reported as the expected form).
    pub fn parsed<T>(
        &self,
        name: &str,
        parse: impl FnOnce(&str) -> Option<T>,
        expected: &str,
    ) -> Result<T, OptionError> {
        parse(self.raw(name)).ok_or_else(|| self.invalid(name, expected))
    }

    /// A `bool` option: `true`/`false` (also `1`/`0`, as LLVM accepts).
    pub fn bool(&self, name: &str) -> Result<bool, OptionError> {
        match self.raw(name) {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err(self.invalid(name, "true or false")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DECLARED: &[OptionInfo] = &[OptionInfo {
        name: "fold",
        kind: "bool",
        default: "true",
        help: "",
    }];

    #[test]
    fn defaults_fill_missing_options() {
        let options = PassOptions::parse("p", "", DECLARED).unwrap();
        assert!(options.bool("fold").unwrap());
        let options = PassOptions::parse("p", " fold=false ", DECLARED).unwrap();
        assert!(!options.bool("fold").unwrap());
    }

    #[test]
    fn rejects_unknown_malformed_and_invalid() {
        let unknown = PassOptions::parse("p", "bogus=1", DECLARED).unwrap_err();
        assert_eq!(
            unknown.to_string(),
            "unknown option 'bogus' for pass 'p'; it takes: fold"
        );
        assert!(matches!(
            PassOptions::parse("p", "fold", DECLARED),
            Err(OptionError::Malformed { .. })
        ));
        let options = PassOptions::parse("p", "fold=maybe", DECLARED).unwrap();
        assert_eq!(
            options.bool("fold").unwrap_err().to_string(),
            "invalid value 'maybe' for option 'fold' of pass 'p': expected true or false"
        );
    }
}
