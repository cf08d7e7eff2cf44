//! The ui-tests: every rule the macros enforce has a compile-fail case in `fail/<area>/`, and
//! the correct forms compile in `pass/`. See `ui-tests/README.md` for the catalogue.
//!
//! Regenerate the expected output with `TRYBUILD=overwrite cargo test -p hyperbun-ui-tests`,
//! then review the diff; never edit a `.stderr` by hand.

use std::fs;
use std::path::{Path, PathBuf};

/// Compiles every case and compares the compiler's output with the recorded `.stderr`.
/// The output was recorded with rustc 1.95; other toolchains word errors differently.
#[test]
#[rustversion::attr(not(stable(1.95)), ignore = "ui-test output recorded with rustc 1.95")]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("fail/*/*.rs");
    t.pass("pass/*.rs");
}

/// Every file under `dir`, at any depth, whose name ends in `.ext`; sorted.
fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let entries =
            fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == ext) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Each case documents itself and fails with exactly one error: a rule that cascades into
/// follow-up errors (from the fallback output of a macro, or from rustc) fails here.
#[test]
fn every_case_documents_one_rule_with_one_error() {
    let fail = Path::new(env!("CARGO_MANIFEST_DIR")).join("fail");
    // While `TRYBUILD=overwrite` regenerates the `.stderr` files, `ui` may not have written
    // a new case's yet; run the tests again afterwards.
    let regenerating = std::env::var_os("TRYBUILD").is_some_and(|v| v == "overwrite");
    let mut problems = Vec::new();
    let cases = files(&fail, "rs");
    assert!(
        !cases.is_empty(),
        "no compile-fail cases in {}",
        fail.display()
    );
    for case in &cases {
        let source = fs::read_to_string(case).expect("read case");
        let mut lines = source.lines();
        for prefix in ["// RULE: ", "// WHY: ", "// FIX: "] {
            match lines.next() {
                Some(line) if line.starts_with(prefix) && line.len() > prefix.len() => {}
                _ => problems.push(format!(
                    "{}: the first three lines must be `// RULE: …`, `// WHY: …` and `// FIX: …` \
                     (`{}` is missing)",
                    case.display(),
                    prefix.trim_end(),
                )),
            }
        }
        if !regenerating && !case.with_extension("stderr").exists() {
            problems.push(format!(
                "{}: no .stderr; run `TRYBUILD=overwrite cargo test -p hyperbun-ui-tests`",
                case.display()
            ));
        }
    }
    for stderr in files(&fail, "stderr") {
        let text = fs::read_to_string(&stderr).expect("read stderr");
        let errors = text.lines().filter(|l| l.starts_with("error")).count();
        if errors != 1 {
            problems.push(format!(
                "{}: {errors} errors; a case must fail with exactly one",
                stderr.display()
            ));
        }
        if let Some(line) = text.lines().find(|l| l.starts_with("warning")) {
            problems.push(format!(
                "{}: a case must not warn, but it does: `{line}`",
                stderr.display()
            ));
        }
    }
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}
