//! Runs the `RUN:` lines of every `.mlir` test file, as lit does, and pins
//! the output of each `deepfuse-opt ... | FileCheck` line with insta.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use libtest_mimic::{Failed, Trial};

const LLVM_BIN: &str = "/usr/lib/llvm-22/bin";

fn source_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mlir")
}

fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_deepfuse-opt"))
        .parent()
        .expect("binaries live in a directory")
        .to_path_buf()
}

/// Every `.mlir` test file below `dir`.
fn test_files(dir: &Path, files: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            // `Inputs/` holds files that tests read; `Output/` is where
            // stock lit leaves its %t files.
            if path
                .file_name()
                .is_some_and(|name| name != "Inputs" && name != "Output")
            {
                test_files(&path, files);
            }
        } else if path.extension().is_some_and(|ext| ext == "mlir") {
            files.push(path);
        }
    }
}

/// The RUN lines of a file, with `\` continuations joined.
pub fn run_lines(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut pending = String::new();
    for line in text.lines() {
        let Some((_, command)) = line.split_once("RUN:") else {
            continue;
        };
        let command = command.trim();
        if let Some(head) = command.strip_suffix('\\') {
            pending.push_str(head);
            pending.push(' ');
        } else {
            pending.push_str(command);
            lines.push(std::mem::take(&mut pending));
        }
    }
    lines
}

fn substitute(command: &str, file: &Path, temp: &Path) -> String {
    command
        .replace("%s", &file.display().to_string())
        .replace(
            "%S",
            &file
                .parent()
                .expect("files have a parent")
                .display()
                .to_string(),
        )
        .replace("%t", &temp.display().to_string())
}

fn shell(command: &str, file: &Path) -> std::process::Output {
    let path = format!(
        "{}:{LLVM_BIN}:{}",
        bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new("bash")
        .args(["-o", "pipefail", "-c", command])
        .env("PATH", path)
        .current_dir(file.parent().expect("files have a parent"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run bash: {e}"))
}

/// The command whose output a snapshot pins: the `deepfuse-opt` stage of a
/// `deepfuse-opt ... | FileCheck ...` line.
fn snapshot_stage(command: &str) -> Option<&str> {
    let (first, rest) = command.split_once('|')?;
    (first.trim_start().starts_with("deepfuse-opt") && rest.trim_start().starts_with("FileCheck"))
        .then_some(first.trim())
}

fn run_file(file: &Path, name: &str) -> Result<(), Failed> {
    let text = fs::read_to_string(file)?;
    let lines = run_lines(&text);
    if lines.is_empty() {
        return Err(format!("{name} has no RUN line").into());
    }
    let temp_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("lit");
    fs::create_dir_all(&temp_dir)?;
    let temp = temp_dir.join(name.replace('/', "__"));
    let mut pinned = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        let command = substitute(line, file, &temp);
        let output = shell(&command, file);
        if !output.status.success() {
            return Err(format!(
                "RUN line {} failed ({}):\n  {command}\n--- stdout\n{}--- stderr\n{}",
                index + 1,
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            )
            .into());
        }
        if let Some(stage) = snapshot_stage(line)
            && !pinned.contains(&stage)
        {
            pinned.push(stage);
            let output = shell(&substitute(stage, file, &temp), file);
            let snapshot_name = format!(
                "{}@{}",
                name.trim_end_matches(".mlir").replace('/', "__"),
                pinned.len()
            );
            let mut settings = insta::Settings::clone_current();
            settings
                .set_snapshot_path(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots"));
            settings.set_prepend_module_to_snapshot(false);
            settings.set_description(stage);
            settings.set_omit_expression(true);
            let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
            settings.bind(|| insta::assert_snapshot!(snapshot_name, stdout));
        }
    }
    Ok(())
}

/// One trial per `.mlir` test file.
pub fn trials() -> Vec<Trial> {
    let root = source_root();
    let mut files = Vec::new();
    test_files(&root, &mut files);
    files
        .into_iter()
        .map(|file| {
            let name = file
                .strip_prefix(&root)
                .expect("below the root")
                .display()
                .to_string();
            Trial::test(format!("mlir::{name}"), move || {
                crate::catching(|| run_file(&file, &name))
            })
        })
        .collect()
}
