//! Generates the df dialect's C++ from its ODS definitions with `mlir-tblgen`
//! and compiles it, with the registration glue, into a static library.

use std::{env, path::PathBuf, process::Command};

const TD_FILES: &[&str] = &["df/DfBase.td", "df/DfOps.td"];
const CPP_FILES: &[&str] = &[
    "cpp/DfDialect.cpp",
    "cpp/DfVerifiers.cpp",
    "cpp/ToolSupport.cpp",
];

fn main() {
    let prefix = PathBuf::from(
        env::var("MLIR_SYS_220_PREFIX").unwrap_or_else(|_| "/usr/lib/llvm-22".into()),
    );
    let include = prefix.join("include");
    let tblgen = prefix.join("bin/mlir-tblgen");
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));

    for (generator, file) in [
        ("-gen-dialect-decls", "DfOpsDialect.h.inc"),
        ("-gen-dialect-defs", "DfOpsDialect.cpp.inc"),
        ("-gen-op-decls", "DfOps.h.inc"),
        ("-gen-op-defs", "DfOps.cpp.inc"),
        ("-gen-enum-decls", "DfOpsEnums.h.inc"),
        ("-gen-enum-defs", "DfOpsEnums.cpp.inc"),
    ] {
        let status = Command::new(&tblgen)
            .arg(generator)
            .arg("-I")
            .arg(&include)
            .arg("-I")
            .arg("df")
            .arg("df/DfOps.td")
            .arg("-o")
            .arg(out.join(file))
            .status()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run {}: {e}; run scripts/setup.sh to install LLVM/MLIR 22",
                    tblgen.display()
                )
            });
        assert!(status.success(), "mlir-tblgen {generator} failed");
    }

    cc::Build::new()
        .cpp(true)
        .files(CPP_FILES)
        .include(&out)
        .include("cpp")
        .include(&include)
        .flag("-std=c++17")
        .flag("-fno-rtti")
        .flag("-fno-exceptions")
        .flag("-Wno-unused-parameter")
        .warnings(false)
        .compile("deepfuse_df_dialect");

    for path in TD_FILES.iter().chain(CPP_FILES).chain(&["cpp/DfDialect.h"]) {
        println!("cargo:rerun-if-changed={path}");
    }
    println!("cargo:rerun-if-env-changed=MLIR_SYS_220_PREFIX");
    // Read by `melior::dialect!` in src/ops.rs to find the ODS files.
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    println!(
        "cargo:rustc-env=DF_ODS_DIR={}",
        manifest.join("df").display()
    );
}
