//! The layering of the library, held: text -> syntax -> ir -> check, and
//! data -> history -> eval -> generator -> backtest -> suite, each module reading
//! only the layers before it (`support`, `diag`, `limits` and `currency` serve them all).
//! A module that reaches up the chain fails here, naming the file and the
//! module it reached for. Test modules may read anything.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

/// The layers, lowest first, as `src/lib.rs` lists them.
const LAYERS: [&str; 14] = [
    "support",
    "diag",
    "limits",
    "currency",
    "syntax",
    "ir",
    "check",
    "data",
    "history",
    "eval",
    "floor",
    "generator",
    "backtest",
    "suite",
];

fn rank(module: &str) -> Option<usize> {
    LAYERS.iter().position(|m| *m == module)
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The text of a file without its `#[cfg(test)] mod tests { … }` tail.
fn without_tests(text: &str) -> &str {
    text.find("#[cfg(test)]\nmod tests {").map_or(text, |at| &text[..at])
}

#[test]
fn no_module_reads_a_layer_above_it() {
    let mut files = Vec::new();
    rust_files(Path::new("src"), &mut files);
    let mut problems = Vec::new();
    let mut seen = 0;
    for path in &files {
        let rel = path.strip_prefix("src").unwrap();
        let top = rel.iter().next().unwrap().to_str().unwrap().trim_end_matches(".rs");
        let Some(own) = rank(top) else { continue };
        if rel
            .file_name()
            .is_some_and(|n| n == "tests.rs" || n.to_string_lossy().ends_with("_tests.rs"))
        {
            continue;
        }
        seen += 1;
        let text = std::fs::read_to_string(path).unwrap();
        let code = without_tests(&text);
        for (at, _) in code.match_indices("crate::") {
            let name: String = code[at + 7..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            if let Some(other) = rank(&name)
                && other > own
            {
                problems.push(format!(
                    "{}: `{top}` reads `crate::{name}`, a layer above it",
                    path.display()
                ));
            }
        }
    }
    assert!(
        seen > 40,
        "only {seen} files looked at: is the test run from the crate root?"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_checker_knows_nothing_of_the_evaluator() {
    let mut files = Vec::new();
    rust_files(Path::new("src/check"), &mut files);
    rust_files(Path::new("src/ir"), &mut files);
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("crate::eval"), "{} reads the evaluator", path.display());
    }
}
