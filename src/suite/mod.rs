//! Policy test suites (docs/language.md §10): TOML files that pin a policy's behaviour on
//! cases, by partial expectations or by whole-verdict snapshots.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;

mod coverage;
mod text;

pub use coverage::{Coverage, render_coverage};
pub use text::run_suite_text;

use crate::data::InputError;
use crate::eval::{Rows, Verdict};

/// Why a suite could not run at all.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SuiteError {
    /// The suite file could not be read.
    #[error("cannot read {}: {reason}", path.display())]
    Read {
        /// The suite file.
        path: PathBuf,
        /// What the system said.
        reason: String,
    },
    /// The suite is not valid TOML, or not a suite.
    #[error("{}{}: {message}", path.display(), at.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default())]
    Toml {
        /// The suite file.
        path: PathBuf,
        /// Line and column of the problem, when known.
        at: Option<(usize, usize)>,
        /// What is wrong.
        message: String,
    },
    /// A case of the suite is written wrong.
    #[error("{}: case \"{case}\": {problem}", path.display())]
    Case {
        /// The suite file.
        path: PathBuf,
        /// The case's name.
        case: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// The suite's policy could not be read.
    #[error("cannot read the policy {}: {reason}", path.display())]
    PolicyRead {
        /// The policy file.
        path: PathBuf,
        /// What the system said.
        reason: String,
    },
    /// The suite's policy has errors.
    #[error("the policy does not check:\n{rendered}")]
    Policy {
        /// The policy file.
        path: PathBuf,
        /// Its diagnostics, rendered for people.
        rendered: String,
    },
}

/// Why one case could not be judged.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CaseError {
    /// Its case file could not be read.
    #[error("cannot read {}: {reason}", path.display())]
    Read {
        /// The case file.
        path: PathBuf,
        /// What the system said.
        reason: String,
    },
    /// Its case file is not JSON.
    #[error("{}: not JSON: {reason}", path.display())]
    NotJson {
        /// The case file.
        path: PathBuf,
        /// What the JSON reader said.
        reason: String,
    },
    /// The inline case could not be turned into JSON.
    #[error("the inline case: {0}")]
    Inline(String),
    /// The case breaks the data contract.
    #[error("the case is invalid: {0}")]
    Invalid(InputError),
    /// Its snapshot could not be written.
    #[error("cannot write {}: {reason}", path.display())]
    Write {
        /// The snapshot file.
        path: PathBuf,
        /// What the system said.
        reason: String,
    },
}

/// A suite as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SuiteFile {
    policy: String,
    /// A platform floor the policy stands on (docs/language.md §14).
    floor: Option<String>,
    #[serde(default, rename = "case")]
    cases: Vec<CaseFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    name: String,
    /// A case file, relative to the suite.
    input: Option<String>,
    /// The case itself, written inline in TOML.
    case: Option<toml::Value>,
    expect: Option<Expect>,
    #[serde(default)]
    snapshot: bool,
    /// Judge as of this moment (RFC 3339), as `rpl judge --now` does:
    /// reviews due by then time out.
    now: Option<String>,
}

/// What a case must decide. Only the keys given are compared.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct Expect {
    decision: Option<String>,
    refund: Option<String>,
    shipping: Option<String>,
    risk: Option<i64>,
    /// The names of the flags that fired, in order.
    flags: Option<Vec<String>>,
    /// Lines matched by sku.
    lines: Option<Vec<ExpectLine>>,
    /// The constructs that could not be evaluated, in order (`[]`: none).
    errors: Option<Vec<ExpectError>>,
    /// The stage the verdict follows: `request`, `review` or `inspection`.
    stage: Option<String>,
    /// After the request: what the request's own verdict decided.
    request: Option<ExpectRequest>,
    /// The earliest due time of a line in review (`"(none)"`: none).
    review_due: Option<String>,
    /// How the reviews ended, in order: `approve`, `deny`, or `timeout: deny`.
    reviews: Option<Vec<String>>,
    /// The kinds of restriction the verdict sets, in order (`[]`: none).
    restrictions: Option<Vec<String>>,
}

/// The request's part of a later stage's verdict.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExpectRequest {
    decision: Option<String>,
    refund: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExpectLine {
    sku: String,
    decision: Option<String>,
    refund: Option<String>,
    /// What the customer is told on the line.
    message: Option<String>,
    /// The names of the rules that fired, in order.
    rules: Option<Vec<String>>,
    /// The deductions, in order: labels, or labels with their amounts.
    deductions: Option<Vec<ExpectDeduction>>,
    /// On a floor: the floor rules that overrode the merchant's decision here (`[]`: none).
    overrides: Option<Vec<String>>,
    /// A line in review: when it is due (`"(none)"`: no deadline).
    review_due: Option<String>,
    /// A line in review: what a timeout decides (`"(none)"`: it waits for a person).
    on_timeout: Option<String>,
    /// An approved line: when its refund is due (`"(none)"`: not yet known).
    refund_due: Option<String>,
}

/// A deduction as a suite names it: its label, or its label and amount.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ExpectDeduction {
    Label(String),
    Full(DeductionFull),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeductionFull {
    label: String,
    amount: String,
}

/// An evaluation error as a suite names it: the construct (`rule fee`,
/// `flag busy`, `shipping`, `refund`), or a table that may also give the sku
/// it touched and its message.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ExpectError {
    Construct(String),
    Full(ErrorFull),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ErrorFull {
    construct: String,
    sku: Option<String>,
    message: Option<String>,
}

/// One compared key that differed.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Mismatch {
    /// The expectation's key (`decision`, `lines[A].refund`, …).
    pub key: String,
    /// What the suite expects.
    pub expected: String,
    /// What the policy decided.
    pub actual: String,
}

/// What came of one case.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Outcome {
    /// Every expectation held (and the snapshot, if any, matched).
    Passed,
    /// Expectations that did not hold.
    Failed(Vec<Mismatch>),
    /// The verdict differs from its snapshot (or there is none yet).
    SnapshotDiffers {
        /// The snapshot file.
        path: PathBuf,
        /// What it holds, if it exists.
        old: Option<String>,
        /// The verdict now.
        new: String,
    },
    /// `--update` wrote this snapshot.
    SnapshotWritten(PathBuf),
    /// The case could not be judged: a bad input, a missing file.
    Error(CaseError),
}

impl Outcome {
    /// Whether the case counts as passed (a snapshot `--update` wrote does).
    pub fn passed(&self) -> bool {
        matches!(self, Outcome::Passed | Outcome::SnapshotWritten(_))
    }
}

/// One case's name and outcome.
#[derive(Debug)]
#[non_exhaustive]
pub struct CaseResult {
    /// The case's name.
    pub name: String,
    /// What came of it.
    pub outcome: Outcome,
}

/// The result of running one suite file.
#[derive(Debug)]
#[non_exhaustive]
pub struct SuiteResult {
    /// The suite file.
    pub path: PathBuf,
    /// A problem with the suite or its policy: no case could run.
    pub error: Option<SuiteError>,
    /// Each case, in the suite's order.
    pub cases: Vec<CaseResult>,
    /// Snapshot files no case owns any more (removed when updating).
    pub stale: Vec<PathBuf>,
    /// What the cases exercised of the policy (when it could run).
    pub coverage: Option<Coverage>,
}

impl SuiteResult {
    /// Cases that passed.
    pub fn passed(&self) -> usize {
        self.cases.iter().filter(|c| c.outcome.passed()).count()
    }

    /// Cases that failed, counting a suite that could not run and stale snapshots as one failure each.
    pub fn failed(&self) -> usize {
        self.cases.len() - self.passed() + usize::from(self.error.is_some()) + self.stale_failures()
    }

    fn stale_failures(&self) -> usize {
        usize::from(!self.stale.is_empty() && !self.updating())
    }

    fn updating(&self) -> bool {
        self.cases
            .iter()
            .any(|c| matches!(c.outcome, Outcome::SnapshotWritten(_)))
    }
}

/// Where a suite keeps its snapshots: `SUITE.snap/` beside it.
pub fn snapshot_dir(suite: &Path) -> PathBuf {
    let mut name = suite.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".snap");
    suite.with_file_name(name)
}

/// A case name as a file name: lower case, runs of other characters as `_`.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_string()
}

/// Runs one suite. `update` rewrites snapshots that changed or are missing,
/// and removes stale ones.
pub fn run_suite(path: &Path, update: bool) -> SuiteResult {
    let mut result = SuiteResult {
        path: path.to_path_buf(),
        error: None,
        cases: Vec::new(),
        stale: Vec::new(),
        coverage: None,
    };
    let file = match load(path) {
        Ok(f) => f,
        Err(e) => {
            result.error = Some(e);
            return result;
        }
    };
    let base = path.parent().unwrap_or(Path::new("."));
    let policy_path = base.join(&file.policy);
    let compiled = match compile_file(&policy_path) {
        Ok(c) => c,
        Err(e) => {
            result.error = Some(e);
            return result;
        }
    };
    let floor = match file.floor.as_ref().map(|f| compile_file(&base.join(f))).transpose() {
        Ok(f) => f.map(|c| c.program),
        Err(e) => {
            result.error = Some(e);
            return result;
        }
    };
    if let Some(floor) = &floor
        && let Err(reason) = crate::floor::check_pair(floor, &compiled.program)
    {
        result.error = Some(SuiteError::Policy {
            path: policy_path.clone(),
            rendered: reason,
        });
        return result;
    }
    let snap_dir = snapshot_dir(path);
    let mut owned = BTreeSet::new();
    let mut coverage = Coverage::new(&policy_path, &compiled.program);
    for case in &file.cases {
        let snap_path = snap_dir.join(format!("{}.json", slug(&case.name)));
        if case.snapshot {
            owned.insert(snap_path.clone());
        }
        let outcome = match judge_case(&compiled.program, floor.as_ref(), base, case) {
            Err(e) => Outcome::Error(e),
            Ok((verdict, rows)) => {
                coverage.add(&verdict, &rows);
                let mismatches = case.expect.as_ref().map(|e| compare(e, &verdict)).unwrap_or_default();
                if !mismatches.is_empty() {
                    Outcome::Failed(mismatches)
                } else if case.snapshot {
                    snapshot(&snap_path, &verdict, update)
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
    result.stale = stale_snapshots(&snap_dir, &owned);
    if update {
        for stale in &result.stale {
            let _ = std::fs::remove_file(stale);
        }
        if owned.is_empty() {
            let _ = std::fs::remove_dir(&snap_dir);
        }
    }
    result
}

fn load(path: &Path) -> Result<SuiteFile, SuiteError> {
    let text = std::fs::read_to_string(path).map_err(|e| SuiteError::Read {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    parse(path, &text)
}

/// A suite's text, read and its cases checked; `path` names it in errors.
fn parse(path: &Path, text: &str) -> Result<SuiteFile, SuiteError> {
    let file: SuiteFile = toml::from_str(text).map_err(|e| SuiteError::Toml {
        path: path.to_path_buf(),
        at: e.span().map(|s| crate::diag::line_col(text, s.start)),
        message: e.message().to_string(),
    })?;
    let mut names = BTreeSet::new();
    for case in &file.cases {
        let problem = if !names.insert(slug(&case.name)) {
            Some("two cases have this name (or names that make the same snapshot file)")
        } else if case.input.is_some() == case.case.is_some() {
            Some("give exactly one of `input` (a case file) and `case` (an inline case)")
        } else if case.expect.is_none() && !case.snapshot {
            Some("give `expect = { … }`, `snapshot = true`, or both")
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(SuiteError::Case {
                path: path.to_path_buf(),
                case: case.name.clone(),
                problem,
            });
        }
    }
    Ok(file)
}

/// Reads and checks a policy file of a suite.
fn compile_file(path: &Path) -> Result<crate::Compiled, SuiteError> {
    let source = std::fs::read_to_string(path).map_err(|e| SuiteError::PolicyRead {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    crate::compile(&source).map_err(|diags| SuiteError::Policy {
        rendered: crate::diag::render(&path.display().to_string(), &source, &diags),
        path: path.to_path_buf(),
    })
}

fn judge_case(
    program: &crate::Program,
    floor: Option<&crate::Program>,
    base: &Path,
    case: &CaseFile,
) -> Result<(Verdict, Rows), CaseError> {
    let read = |input: &str| {
        let path = base.join(input);
        let text = std::fs::read_to_string(&path).map_err(|e| e.to_string());
        (path, text)
    };
    judge_case_with(program, floor, case, &read)
}

/// Reads a case's `input` file: where it looked, and the text or why not.
type ReadInput<'a> = dyn Fn(&str) -> (PathBuf, Result<String, String>) + 'a;

/// Judges a suite's case as `rpl test` does, its `input` file read by
/// `read` (which says where it looked): on the floor if the suite names
/// one, and, with `now`, with the reviews due by then timed out.
fn judge_case_with(
    program: &crate::Program,
    floor: Option<&crate::Program>,
    case: &CaseFile,
    read: &ReadInput<'_>,
) -> Result<(Verdict, Rows), CaseError> {
    let value = match (&case.input, &case.case) {
        (Some(input), _) => {
            let (path, text) = read(input);
            let text = text.map_err(|reason| CaseError::Read {
                path: path.clone(),
                reason,
            })?;
            serde_json::from_str(&text).map_err(|e| CaseError::NotJson {
                path,
                reason: e.to_string(),
            })?
        }
        (None, Some(inline)) => serde_json::to_value(inline).map_err(|e| CaseError::Inline(e.to_string()))?,
        // `load` refuses a case with neither.
        (None, None) => return Err(CaseError::Inline("no input".into())),
    };
    let parsed = crate::data::parse_case_value(&value).map_err(CaseError::Invalid)?;
    let now = match &case.now {
        Some(text) => Some(
            chrono::DateTime::parse_from_rfc3339(text)
                .map_err(|_| {
                    CaseError::Invalid(InputError::new(
                        "now",
                        format!("\"{text}\" is not an RFC 3339 time with an offset"),
                    ))
                })?
                .to_utc(),
        ),
        None => None,
    };
    let (v, rows) = match floor {
        Some(floor) => crate::floor::judge_layered_rows(floor, program, &parsed),
        None => program.judge_rows(&parsed),
    }
    .map_err(CaseError::Invalid)?;
    let v = match now {
        Some(now) => crate::eval::time_out_reviews(&v, now).unwrap_or(v),
        None => v,
    };
    Ok((v, rows))
}

fn snapshot(path: &Path, verdict: &Verdict, update: bool) -> Outcome {
    // A verdict is strings, numbers and lists: it always prints.
    let new = serde_json::to_string_pretty(&Pinned::of(verdict)).unwrap_or_default() + "\n";
    let old = std::fs::read_to_string(path).ok();
    if old.as_deref() == Some(new.as_str()) {
        return Outcome::Passed;
    }
    if !update {
        return Outcome::SnapshotDiffers {
            path: path.to_path_buf(),
            old,
            new,
        };
    }
    let written = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(path, &new));
    match written {
        Ok(()) => Outcome::SnapshotWritten(path.to_path_buf()),
        Err(e) => Outcome::Error(CaseError::Write {
            path: path.to_path_buf(),
            reason: e.to_string(),
        }),
    }
}

/// A verdict as a snapshot keeps it: what was decided, not which text
/// decided it. The policy's identity changes with every edit, comments
/// included, and the suite already names its policy.
#[derive(serde::Serialize)]
struct Pinned<'a> {
    return_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    stage: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request: Option<&'a crate::eval::RequestPart>,
    decision: &'a str,
    refund: &'a str,
    currency: &'a str,
    shipping: &'a str,
    risk: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    floor: Option<PinnedFloor<'a>>,
    flags: &'a [crate::eval::FlagHit],
    lines: &'a [crate::eval::LineVerdict],
    errors: &'a [crate::eval::ErrorEntry],
    #[serde(skip_serializing_if = "Option::is_none")]
    requested_at: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    review_due: Option<&'a str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    reviews: &'a [crate::eval::ReviewRecord],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    restrictions: &'a [crate::eval::RestrictionHit],
}

/// The floor's own part of a verdict, without its identity.
#[derive(serde::Serialize)]
struct PinnedFloor<'a> {
    decision: &'a str,
    risk: i64,
    flags: &'a [crate::eval::FlagHit],
}

impl<'a> Pinned<'a> {
    fn of(v: &'a Verdict) -> Pinned<'a> {
        Pinned {
            return_id: &v.return_id,
            stage: v.stage.as_deref(),
            request: v.request.as_ref(),
            decision: &v.decision,
            refund: &v.refund,
            currency: &v.currency,
            shipping: &v.shipping,
            risk: v.risk,
            floor: v.floor.as_ref().map(|f| PinnedFloor {
                decision: &f.decision,
                risk: f.risk,
                flags: &f.flags,
            }),
            flags: &v.flags,
            lines: &v.lines,
            errors: &v.errors,
            requested_at: v.requested_at.as_deref(),
            review_due: v.review_due.as_deref(),
            reviews: &v.reviews,
            restrictions: &v.restrictions,
        }
    }
}

fn stale_snapshots(dir: &Path, owned: &BTreeSet<PathBuf>) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut stale: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json") && !owned.contains(p))
        .collect();
    stale.sort();
    stale
}

fn compare(e: &Expect, v: &Verdict) -> Vec<Mismatch> {
    let mut out = Vec::new();
    let mut check = |key: String, expected: Option<String>, actual: String| {
        if let Some(expected) = expected
            && expected != actual
        {
            out.push(Mismatch { key, expected, actual });
        }
    };
    check("decision".into(), e.decision.clone(), v.decision.to_string());
    check("refund".into(), e.refund.clone(), v.refund.clone());
    check("shipping".into(), e.shipping.clone(), v.shipping.to_string());
    check("risk".into(), e.risk.map(|r| r.to_string()), v.risk.to_string());
    check(
        "flags".into(),
        e.flags.as_ref().map(|f| list(f)),
        list(&v.flags.iter().map(|f| f.name.clone()).collect::<Vec<_>>()),
    );
    if let Some(expected) = &e.errors {
        // Each actual error is shown with the parts its expectation names.
        let shown = |i: usize, x: &crate::eval::ErrorEntry| -> String {
            match expected.get(i) {
                Some(ExpectError::Full(f)) => error_text(
                    &x.construct,
                    f.sku.as_ref().and(Some(x.sku.as_deref().unwrap_or("-"))),
                    f.message.as_ref().and(Some(x.message.as_str())),
                ),
                _ => x.construct.clone(),
            }
        };
        let want: Vec<String> = expected
            .iter()
            .map(|x| match x {
                ExpectError::Construct(c) => c.clone(),
                ExpectError::Full(f) => error_text(&f.construct, f.sku.as_deref(), f.message.as_deref()),
            })
            .collect();
        let have: Vec<String> = v.errors.iter().enumerate().map(|(i, x)| shown(i, x)).collect();
        check("errors".into(), Some(list(&want)), list(&have));
    }
    let none = || "(none)".to_string();
    check(
        "stage".into(),
        e.stage.clone(),
        v.stage.as_deref().unwrap_or("request").to_string(),
    );
    if let Some(r) = &e.request {
        let part = v.request.as_ref();
        check(
            "request.decision".into(),
            r.decision.clone(),
            part.map_or(v.decision.to_string(), |p| p.decision.to_string()),
        );
        check(
            "request.refund".into(),
            r.refund.clone(),
            part.map_or(v.refund.clone(), |p| p.refund.clone()),
        );
    }
    check(
        "review_due".into(),
        e.review_due.clone(),
        v.review_due.clone().unwrap_or_else(none),
    );
    let reviews: Vec<String> = v
        .reviews
        .iter()
        .map(|r| match r.timed_out {
            true => format!("timeout: {}", r.decision),
            false => r.decision.to_string(),
        })
        .collect();
    check("reviews".into(), e.reviews.as_ref().map(|r| list(r)), list(&reviews));
    let restrictions: Vec<String> = v.restrictions.iter().map(|r| r.kind.to_string()).collect();
    check(
        "restrictions".into(),
        e.restrictions.as_ref().map(|r| list(r)),
        list(&restrictions),
    );
    for line in e.lines.iter().flatten() {
        let Some(actual) = v.lines.iter().find(|l| l.sku == line.sku) else {
            check(
                format!("lines[{}]", line.sku),
                Some("a line".into()),
                "no such line".into(),
            );
            continue;
        };
        let key = |k: &str| format!("lines[{}].{k}", line.sku);
        check(key("decision"), line.decision.clone(), actual.decision.to_string());
        check(key("refund"), line.refund.clone(), actual.refund.clone());
        check(
            key("message"),
            line.message.clone(),
            actual.message.clone().unwrap_or_else(|| "(none)".into()),
        );
        check(
            key("review_due"),
            line.review_due.clone(),
            actual.review_due.clone().unwrap_or_else(none),
        );
        check(
            key("on_timeout"),
            line.on_timeout.clone(),
            actual.on_timeout.as_deref().map_or_else(none, str::to_string),
        );
        check(
            key("refund_due"),
            line.refund_due.clone(),
            actual.refund_due.clone().unwrap_or_else(none),
        );
        let rules: Vec<String> = actual.rules.iter().map(|r| r.rule.clone()).collect();
        check(key("rules"), line.rules.as_ref().map(|r| list(r)), list(&rules));
        let overrides: Vec<String> = actual
            .overrides
            .iter()
            .map(|o| o.floor_rule.clone().unwrap_or_else(|| "(error)".into()))
            .collect();
        check(
            key("overrides"),
            line.overrides.as_ref().map(|o| list(o)),
            list(&overrides),
        );
        if let Some(expected) = &line.deductions {
            // Labels alone, or labels with amounts, as the suite gives them.
            let with_amounts = expected.iter().any(|d| matches!(d, ExpectDeduction::Full(_)));
            let want: Vec<String> = expected
                .iter()
                .map(|d| match d {
                    ExpectDeduction::Label(l) => l.clone(),
                    ExpectDeduction::Full(f) => format!("{} {}", f.label, f.amount),
                })
                .collect();
            let have: Vec<String> = actual
                .deductions
                .iter()
                .enumerate()
                .map(|(i, d)| match (with_amounts, expected.get(i)) {
                    (true, Some(ExpectDeduction::Full(_)) | None) => format!("{} {}", d.label, d.amount),
                    _ => d.label.clone(),
                })
                .collect();
            check(key("deductions"), Some(list(&want)), list(&have));
        }
    }
    out
}

/// An error as a mismatch shows it: its construct, and the sku and message
/// where the expectation names them.
fn error_text(construct: &str, sku: Option<&str>, message: Option<&str>) -> String {
    let mut text = construct.to_string();
    if let Some(sku) = sku {
        text.push_str(&format!(" on {sku}"));
    }
    if let Some(message) = message {
        text.push_str(&format!(": {message}"));
    }
    text
}

fn list(items: &[String]) -> String {
    format!("[{}]", items.join(", "))
}

/// Every `*.test.toml` under `dir`, sorted.
pub fn find_suites(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for entry in entries.flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(".test.toml"))
            {
                found.push(p);
            }
        }
    }
    found.sort();
    found
}

/// A suite's result as `rpl test` prints it: failures with expected and
/// actual side by side, snapshots written, stale snapshots.
pub fn render(r: &SuiteResult) -> String {
    let mut out = String::new();
    let shown = r.path.display();
    if let Some(e) = &r.error {
        let _ = writeln!(out, "error: {shown}: {e}");
        return out;
    }
    for case in &r.cases {
        match &case.outcome {
            Outcome::Passed => {}
            Outcome::SnapshotWritten(p) => {
                let _ = writeln!(out, "updated  {shown}: {} -> {}", case.name, p.display());
            }
            Outcome::Error(e) => {
                let _ = writeln!(out, "FAIL  {shown}: {}\n      {e}", case.name);
            }
            Outcome::Failed(ms) => {
                let _ = writeln!(out, "FAIL  {shown}: {}", case.name);
                let kw = ms.iter().map(|m| m.key.chars().count()).max().unwrap_or(0).max(3);
                let ew = ms.iter().map(|m| m.expected.chars().count()).max().unwrap_or(0).max(8);
                let _ = writeln!(out, "      {:kw$}  {:ew$}  actual", "key", "expected");
                for m in ms {
                    let _ = writeln!(out, "      {:kw$}  {:ew$}  {}", m.key, m.expected, m.actual);
                }
            }
            Outcome::SnapshotDiffers { path, old, new } => {
                let _ = writeln!(out, "FAIL  {shown}: {}", case.name);
                match old {
                    None => {
                        let _ = writeln!(
                            out,
                            "      no snapshot at {} yet; run `rpl test --update` to record it",
                            path.display()
                        );
                    }
                    Some(old) => {
                        let _ = writeln!(
                            out,
                            "      the verdict differs from {} (- snapshot, + now):",
                            path.display()
                        );
                        out.push_str(&line_diff(old, new));
                        let _ = writeln!(out, "      run `rpl test --update` to accept it");
                    }
                }
            }
        }
    }
    for stale in &r.stale {
        let verb = if r.updating() { "removed" } else { "stale" };
        let _ = writeln!(out, "{verb}  {}: no case owns this snapshot", stale.display());
    }
    out
}

/// The lines that differ between two texts, in order, marked `-` and `+`.
fn line_diff(old: &str, new: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    // Longest common subsequence over lines; verdicts are small.
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            let _ = writeln!(out, "      - {}", a[i]);
            i += 1;
        } else {
            let _ = writeln!(out, "      + {}", b[j]);
            j += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_file_names() {
        assert_eq!(
            slug("Changed mind on day 7 is approved!"),
            "changed_mind_on_day_7_is_approved"
        );
        assert_eq!(slug("七日 no-reason"), "七日_no_reason");
    }

    #[test]
    fn diffs_show_changed_lines() {
        let d = line_diff("a\nb\nc\n", "a\nx\nc\n");
        assert_eq!(d, "      - b\n      + x\n");
    }

    #[test]
    fn a_snapshot_keeps_every_field_of_a_verdict_but_the_policy() {
        let program = crate::compile("policy \"P\" { currency \"CNY\" }").unwrap().program;
        let case = crate::parse_case(
            r#"{"order": {"id": "O", "customer_id": "C", "currency": "CNY", "placed_at": "2026-11-01T10:00:00+08:00",
                "items": [{"sku": "A", "category": "apparel", "unit_price": "1.00", "quantity": 1}]},
                "return": {"id": "R", "requested_at": "2026-11-02T10:00:00+08:00", "type": "return_refund",
                "reason": "changed_mind", "items": [{"sku": "A", "quantity": 1}]}}"#,
        )
        .unwrap();
        let verdict = program.judge(&case).unwrap();
        let keys = |v: serde_json::Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
        let mut all = keys(serde_json::to_value(&verdict).unwrap());
        all.retain(|k| k != "policy");
        assert_eq!(keys(serde_json::to_value(Pinned::of(&verdict)).unwrap()), all);
    }
}
