//! Generated documentation stays in sync with its source.

use libtest_mimic::Trial;

pub fn trials() -> Vec<Trial> {
    vec![Trial::test("docs::passes_md_is_current", || {
        crate::catching(|| {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/passes.md");
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            let generated = deepfuse::opt::pass_docs();
            if committed != generated {
                return Err(format!(
                    "{} is out of date: regenerate it with\n  \
                     target/debug/deepfuse-opt --dump-pass-docs > docs/passes.md",
                    path.display()
                )
                .into());
            }
            Ok(())
        })
    })]
}
