//! The policy studio's endpoints on the real binary over loopback (`rpl
//! serve` and `rpl studio`), every answer held to the OpenAPI document, and
//! each result to what the command line says about the same input: `rpl
//! check --error-format json`, `rpl fmt`, `rpl judge`, `rpl test`, `rpl gen`
//! and `rpl backtest --json`. The page in a browser is `studio/test.sh`.

#[path = "service/harness.rs"]
#[allow(dead_code)]
mod harness;

use harness::{Client, Options, Scratch, Server, rpl};
use serde_json::{Value, json};

const MARKETPLACE: &str = "policies/marketplace.rpl";
const ADMIN: &str = "studio-admin";
const CLIENT: &str = "studio-client";

fn read(path: &str) -> String {
    std::fs::read_to_string(harness::root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn server(scratch: &Scratch) -> Server {
    let options = Options::policy(MARKETPLACE)
        .env("RPL_ADMIN_TOKEN", ADMIN)
        .env("RPL_CLIENT_TOKEN", CLIENT);
    Server::start(&scratch.path("data"), &options)
}

#[test]
fn rpl_serve_serves_the_studio_and_its_helpers() {
    let scratch = Scratch::new("studio");
    let server = server(&scratch);
    let open = Client::new(&server);

    // The page and its assets, with no token.
    let page = open.get("/").expect(200);
    assert!(page.content_type.starts_with("text/html"), "{}", page.content_type);
    assert_eq!(page.body, read("studio/dist/index.html"));
    let js = open.get("/studio/app.js").expect(200);
    assert!(js.content_type.starts_with("text/javascript"));
    assert_eq!(js.body, read("studio/dist/app.js"));
    open.get("/studio/app.css").expect(200);
    open.get("/studio/icon.svg").expect(200);
    open.get("/studio/other.js").error(404, "not_found");

    // check: the objects `rpl check --error-format json` prints.
    let scratch_policy = scratch.path("typo.rpl");
    let typo =
        "policy \"x\" {\n  currency \"CNY\"\n}\n\nrule a {\n  when return.reasn == \"changed_mind\"\n  approve\n}\n";
    std::fs::write(&scratch_policy, typo).unwrap_or_else(|e| panic!("{e}"));
    let v = open
        .post("/v1/check", &json!({"policy": typo, "file": "typo.rpl"}).to_string())
        .expect(200)
        .json();
    let cli = std::process::Command::new(harness::bin())
        .args(["check", "--error-format", "json", "typo.rpl"])
        .current_dir(&scratch.0)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let cli: Vec<Value> = String::from_utf8_lossy(&cli.stdout).lines().map(json_of).collect();
    assert_eq!(v["diagnostics"], json!(cli));
    assert_eq!(v["ok"], json!(false));

    // fmt: `rpl fmt`'s layout.
    let messy = "policy \"x\" {\ncurrency \"CNY\"\n}\nrule a {\nwhen return.reason == \"changed_mind\"\napprove\n}\n";
    let messy_path = scratch.path("messy.rpl");
    std::fs::write(&messy_path, messy).unwrap_or_else(|e| panic!("{e}"));
    let v = open
        .post("/v1/fmt", &json!({"policy": messy}).to_string())
        .expect(200)
        .json();
    rpl(&["fmt", &messy_path.to_string_lossy()]);
    assert_eq!(
        v["policy"],
        json!(std::fs::read_to_string(&messy_path).unwrap_or_default())
    );
    open.post("/v1/fmt", &json!({"policy": "policy {"}).to_string())
        .error(422, "policy_invalid");

    // try: `rpl judge`'s verdict.
    let example = "examples/marketplace/day7_changed_mind_approved.json";
    let v = open
        .post(
            "/v1/try",
            &json!({"policy": read(MARKETPLACE), "case": read(example)}).to_string(),
        )
        .expect(200)
        .json();
    assert_eq!(
        v["verdict"],
        json_of(&rpl(&["judge", MARKETPLACE, example, "--compact"]))
    );
    assert_eq!(
        (v["verdict"]["decision"].clone(), v["verdict"]["refund"].clone()),
        (json!("approve"), json!("199.00"))
    );
    open.post(
        "/v1/try",
        &json!({"policy": read(MARKETPLACE), "case": "{}"}).to_string(),
    )
    .error(422, "invalid_input");
    open.post("/v1/try", "[]").error(400, "bad_request");

    // test: `rpl test`'s count.
    let suite = "policies/marketplace.test.toml";
    let v = open
        .post(
            "/v1/test",
            &json!({"policy": read(MARKETPLACE), "suite": read(suite), "path": suite}).to_string(),
        )
        .expect(200)
        .json();
    let out = rpl(&["test", suite]);
    assert!(out.contains(&format!("{} passed, 0 failed", v["passed"])), "{out}\n{v}");
    let v = open
        .post(
            "/v1/test",
            &json!({"policy": read(MARKETPLACE), "suite": "[[case]"}).to_string(),
        )
        .error(422, "suite_invalid")
        .json();
    assert_eq!(v["suite"]["line"], json!(1));

    // examples: every shipped policy.
    let v = open.get("/v1/studio/examples").expect(200).json();
    assert!(v["policies"].as_array().is_some_and(|p| p.len() >= 7), "{v}");

    // replay against the saved version: the client token, and `rpl backtest --compare --json`.
    let draft = read(MARKETPLACE).replace("days_since_sign <= 7", "days_since_sign <= 2");
    let body = json!({"policy": draft, "compare": "saved", "generate": {"customers": 300, "days": 45, "seed": 2}, "skip_invalid": true})
        .to_string();
    open.post("/v1/replay", &body).error(401, "unauthorized");
    let reply = open.with_token(CLIENT).post("/v1/replay", &body).expect(200);
    assert!(reply.content_type.starts_with("application/x-ndjson"));
    let last = json_of(reply.body.lines().last().unwrap_or_default());
    let events = scratch.path("events.jsonl");
    let draft_path = scratch.path("draft.rpl");
    std::fs::write(&draft_path, &draft).unwrap_or_else(|e| panic!("{e}"));
    rpl(&[
        "gen",
        "--customers",
        "300",
        "--days",
        "45",
        "--seed",
        "2",
        "--out",
        &events.to_string_lossy(),
    ]);
    let cli = json_of(&rpl(&[
        "backtest",
        &draft_path.to_string_lossy(),
        &events.to_string_lossy(),
        "--compare",
        MARKETPLACE,
        "--json",
        "--skip-invalid",
    ]));
    assert_eq!(last["summary"], cli);
    assert_eq!(last["stream"]["compare"], json!({"with": "saved", "version": 1}));
    assert!(cli["compare"]["changed"].as_u64().is_some_and(|n| n > 0), "{cli}");
    // A compare that is neither: 400 before any line.
    open.post(
        "/v1/replay",
        &json!({"policy": draft, "compare": "other", "events": ""}).to_string(),
    )
    .error(400, "bad_request");
    server.stop();
}

#[test]
fn rpl_studio_starts_with_the_policy_in_force_and_prints_its_address() {
    let scratch = Scratch::new("rpl-studio");
    let (mut studio, token) = Server::studio(&scratch.0, "policies/fashion.rpl");
    assert_eq!(token.len(), 32, "{token}");
    let open = Client::new(&studio);
    open.get("/").expect(200);
    // The token of the address opens the admin endpoints; nothing else does.
    open.get("/v1/policy").error(401, "unauthorized");
    let admin = open.with_token(&token);
    let v = admin.get("/v1/policy").expect(200).json();
    assert_eq!(v["source"], json!(read("policies/fashion.rpl")));
    // What is saved goes to a temporary store, removed when the studio stops.
    let saved = admin
        .put(
            "/v1/policy",
            &read("policies/fashion.rpl").replace("30 days", "31 days"),
        )
        .expect(200)
        .json();
    assert_eq!(saved["version"], json!(2));
    let stores = || {
        std::fs::read_dir(&scratch.0)
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| e.file_name().to_string_lossy().starts_with("rpl-studio-"))
                    .count()
            })
            .unwrap_or(0)
    };
    assert_eq!(stores(), 1);
    studio.term();
    let status = studio.wait();
    assert!(status.success(), "{status}: {}", studio.stderr());
    assert!(studio.stderr().contains("rpl studio: stopped"), "{}", studio.stderr());
    assert_eq!(stores(), 0, "the temporary store is left behind");
}

#[test]
fn rpl_studio_refuses_a_policy_that_does_not_check() {
    let scratch = Scratch::new("rpl-studio-bad");
    let bad = scratch.path("bad.rpl");
    std::fs::write(
        &bad,
        "policy \"x\" { currency \"CNY\" }\nrule a { when nothing approve }\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = std::process::Command::new(harness::bin())
        .args(["studio", &bad.to_string_lossy()])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("does not check"), "{stderr}");
    assert!(out.stdout.is_empty());
}
