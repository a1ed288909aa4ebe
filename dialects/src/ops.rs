//! Typed builders and accessors for every `df` op, generated from the ODS.

melior::dialect! {
    name: "df",
    files: ["DfOps.td"],
    include_directory_env_vars: ["DF_ODS_DIR"],
}

pub use df::*;
