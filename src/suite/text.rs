//! Suites run from text, for the policy studio: the suite's TOML and its
//! policy's text are given, and the case files and snapshots the suite names
//! are read through a function (the studio's embedded examples) instead of
//! the file system. Everything else is `run_suite`'s: the same checks of the
//! suite, the same judging, the same comparisons, the same snapshot bytes.

use std::path::{Component, Path, PathBuf};

use super::{CaseError, CaseFile, CaseResult, Coverage, Outcome, Pinned, SuiteError, SuiteResult, Verdict};
use super::{compare, parse, slug, snapshot_dir};
use crate::eval::Rows;

/// Runs a suite given as text against a policy given as text. `path` is
/// where the suite would be (it names the suite in errors, and its folder is
/// what `input = "…"` and the snapshot folder are relative to); `files`
/// reads a file by its path, with `.` and `..` already resolved, or says why
/// it cannot. Nothing is written: a snapshot that differs, or that `files`
/// does not have, fails with the verdict as it is now; stale snapshots are
/// not looked for.
pub fn run_suite_text(
    path: &Path,
    suite: &str,
    policy: &str,
    files: &dyn Fn(&Path) -> Result<String, String>,
) -> SuiteResult {
    let mut result = SuiteResult {
        path: path.to_path_buf(),
        error: None,
        cases: Vec::new(),
        stale: Vec::new(),
        coverage: None,
    };
    let file = match parse(path, suite) {
        Ok(f) => f,
        Err(e) => {
            result.error = Some(e);
            return result;
        }
    };
    let base = path.parent().unwrap_or(Path::new(""));
    let policy_path = normalize(&base.join(&file.policy));
    let compiled = match crate::compile(policy) {
        Ok(c) => c,
        Err(diags) => {
            let shown = policy_path.display().to_string();
            result.error = Some(SuiteError::Policy {
                rendered: crate::diag::render(&shown, policy, &diags),
                path: policy_path,
            });
            return result;
        }
    };
    // A floor the suite stands on is read like its case files.
    let floor = match &file.floor {
        None => None,
        Some(f) => {
            let floor_path = normalize(&base.join(f));
            let compiled = files(&floor_path)
                .map_err(|reason| SuiteError::PolicyRead {
                    path: floor_path.clone(),
                    reason,
                })
                .and_then(|source| {
                    crate::compile(&source).map_err(|diags| SuiteError::Policy {
                        rendered: crate::diag::render(&floor_path.display().to_string(), &source, &diags),
                        path: floor_path.clone(),
                    })
                });
            match compiled {
                Ok(c) => Some(c.program),
                Err(e) => {
                    result.error = Some(e);
                    return result;
                }
            }
        }
    };
    if let Some(floor) = &floor
        && let Err(reason) = crate::floor::check_pair(floor, &compiled.program)
    {
        result.error = Some(SuiteError::Policy {
            path: policy_path,
            rendered: reason,
        });
        return result;
    }
    let snap_dir = snapshot_dir(path);
    let mut coverage = Coverage::new(&policy_path, &compiled.program);
    for case in &file.cases {
        let outcome = match judge(&compiled.program, floor.as_ref(), base, case, files) {
            Err(e) => Outcome::Error(e),
            Ok((verdict, rows)) => {
                coverage.add(&verdict, &rows);
                let mismatches = case.expect.as_ref().map(|e| compare(e, &verdict)).unwrap_or_default();
                if !mismatches.is_empty() {
                    Outcome::Failed(mismatches)
                } else if case.snapshot {
                    let snap = snap_dir.join(format!("{}.json", slug(&case.name)));
                    snapshot(&normalize(&snap), &verdict, files)
                } else {
                    Outcome::Passed
                }
            }
        };
        result.cases.push(CaseResult {
            name: case.name.clone(),
            outcome,
        });
    }
    result.coverage = Some(coverage);
    result
}

fn judge(
    program: &crate::Program,
    floor: Option<&crate::Program>,
    base: &Path,
    case: &CaseFile,
    files: &dyn Fn(&Path) -> Result<String, String>,
) -> Result<(Verdict, Rows), CaseError> {
    let read = |input: &str| {
        let path = normalize(&base.join(input));
        let text = files(&path);
        (path, text)
    };
    super::judge_case_with(program, floor, case, &read)
}

fn snapshot(path: &Path, verdict: &Verdict, files: &dyn Fn(&Path) -> Result<String, String>) -> Outcome {
    let new = serde_json::to_string_pretty(&Pinned::of(verdict)).unwrap_or_default() + "\n";
    let old = files(path).ok();
    if old.as_deref() == Some(new.as_str()) {
        return Outcome::Passed;
    }
    Outcome::SnapshotDiffers {
        path: path.to_path_buf(),
        old,
        new,
    }
}

/// `a/b/../c` as `a/c`, without touching the file system; `..` above the
/// start is kept.
fn normalize(path: &Path) -> PathBuf {
    let mut out: Vec<Component> = Vec::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.last(), Some(Component::Normal(_))) => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out.iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_resolved_lexically() {
        assert_eq!(
            normalize(Path::new("policies/../examples/m/./a.json")),
            PathBuf::from("examples/m/a.json")
        );
        assert_eq!(normalize(Path::new("../x")), PathBuf::from("../x"));
    }
}
