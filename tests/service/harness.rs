//! What tests/service.rs drives the service with: the real `rpl serve`
//! binary on loopback (`Server`), a blocking HTTP client that holds every
//! answer to the OpenAPI document (`Client`, `Spec`), a raw socket for
//! requests that must stay in flight (`Slow`), and scratch folders.

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_rpl")
}

// -- scratch folders -----------------------------------------------------------

/// A fresh folder under the target's scratch space, removed when dropped
/// (kept when the test fails, to look at).
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("service-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        Scratch(dir)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// Runs `rpl ARGS…` from the crate root and returns its standard output;
/// panics unless it exits 0.
pub fn rpl(args: &[&str]) -> String {
    let out = Command::new(bin())
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run rpl: {e}"));
    assert!(
        out.status.success(),
        "rpl {} failed: {}\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

// -- the server ------------------------------------------------------------------

/// How to start `rpl serve`.
#[derive(Clone, Default)]
pub struct Options {
    pub policy: Option<String>,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
}

impl Options {
    pub fn policy(path: &str) -> Options {
        Options {
            policy: Some(path.to_string()),
            ..Options::default()
        }
    }

    pub fn arg(mut self, a: &str) -> Options {
        self.args.push(a.to_string());
        self
    }

    pub fn env(mut self, k: &str, v: &str) -> Options {
        self.env.push((k.to_string(), v.to_string()));
        self
    }
}

/// A running `rpl serve`, killed (-9) when dropped if still running.
pub struct Server {
    pub child: Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    stdout: PathBuf,
    stderr: PathBuf,
}

static STARTS: AtomicUsize = AtomicUsize::new(0);

impl Server {
    /// Starts `rpl serve --listen 127.0.0.1:0 --data DATA …` and waits for
    /// the first line of its standard output, which says where it listens.
    pub fn start(data: &Path, options: &Options) -> Server {
        let n = STARTS.fetch_add(1, Ordering::Relaxed);
        let stdout = data.with_file_name(format!(
            "{}.stdout.{n}",
            data.file_name().and_then(|f| f.to_str()).unwrap_or("data")
        ));
        let stderr = stdout.with_extension(format!("stderr.{n}"));
        let file = |p: &Path| std::fs::File::create(p).unwrap_or_else(|e| panic!("cannot create {}: {e}", p.display()));
        let mut command = Command::new(bin());
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .args(&options.args)
            .current_dir(root())
            .env_remove("RPL_ADMIN_TOKEN")
            .env_remove("RPL_CLIENT_TOKEN")
            .stdin(Stdio::null())
            .stdout(file(&stdout))
            .stderr(file(&stderr));
        if let Some(p) = &options.policy {
            command.args(["--policy", p]);
        }
        for (k, v) in &options.env {
            command.env(k, v);
        }
        Server::spawn(command, stdout, stderr, "rpl serve: listening on http://")
    }

    /// Starts `rpl studio POLICY --listen 127.0.0.1:0` with its temporary
    /// store under `tmp`; the server and the admin token its address carries.
    /// (tests/studio_loopback.rs; tests/service.rs has no use for it.)
    #[allow(dead_code)]
    pub fn studio(tmp: &Path, policy: &str) -> (Server, String) {
        let n = STARTS.fetch_add(1, Ordering::Relaxed);
        let stdout = tmp.join(format!("studio.stdout.{n}"));
        let stderr = tmp.join(format!("studio.stderr.{n}"));
        let file = |p: &Path| std::fs::File::create(p).unwrap_or_else(|e| panic!("cannot create {}: {e}", p.display()));
        let mut command = Command::new(bin());
        command
            .args(["studio", policy, "--listen", "127.0.0.1:0"])
            .current_dir(root())
            .env("TMPDIR", tmp)
            .env_remove("RPL_ADMIN_TOKEN")
            .env_remove("RPL_CLIENT_TOKEN")
            .stdin(Stdio::null())
            .stdout(file(&stdout))
            .stderr(file(&stderr));
        let mut server = Server::spawn(command, stdout, stderr, "rpl studio: open http://");
        let Some((addr, token)) = server.addr.split_once("/#token=") else {
            panic!("rpl studio printed no token: {}", server.addr);
        };
        let (addr, token) = (addr.to_string(), token.to_string());
        server.addr = addr;
        (server, token)
    }

    /// Spawns `command` and waits for the first line of its standard output,
    /// which starts with `prefix` and then says where it listens.
    fn spawn(mut command: Command, stdout: PathBuf, stderr: PathBuf, prefix: &str) -> Server {
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start rpl serve: {e}"));
        let started = Instant::now();
        let addr = loop {
            let text = std::fs::read_to_string(&stdout).unwrap_or_default();
            if let Some(line) = text.lines().next()
                && text.contains('\n')
            {
                let Some(addr) = line.strip_prefix(prefix) else {
                    panic!("unexpected first line of rpl: {line:?}");
                };
                break addr.to_string();
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "rpl serve exited ({status}) before listening:\n{}",
                    std::fs::read_to_string(&stderr).unwrap_or_default()
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "rpl serve did not say where it listens"
            );
            std::thread::sleep(Duration::from_millis(5));
        };
        Server {
            child,
            addr,
            stdout,
            stderr,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `kill -9`: no chance to finish anything.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM (to a process not yet waited for: at worst a zombie).
    pub fn term(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .unwrap_or_else(|e| panic!("cannot run kill: {e}"));
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits (at most 30 s) for the process to end.
    pub fn wait(&mut self) -> ExitStatus {
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "rpl serve did not stop:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGTERM (unless it already stopped), and checks that it stopped
    /// cleanly (exit 0, the store closed).
    pub fn stop(mut self) -> (String, String) {
        if let Ok(None) = self.child.try_wait() {
            self.term();
        }
        let status = self.wait();
        let stderr = self.stderr();
        assert!(status.success(), "rpl serve exited {status} on SIGTERM:\n{stderr}");
        assert!(
            stderr.contains("rpl serve: stopped; the store is closed"),
            "no clean stop:\n{stderr}"
        );
        (self.stdout(), stderr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill9();
        }
    }
}

// -- the OpenAPI document ----------------------------------------------------------

/// The OpenAPI document, and validators for the schemas of its answers.
pub struct Spec {
    pub doc: Value,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

/// An answer's schema, found in the document.
enum Shape {
    Json(String),
    Lines(String),
    Text,
}

fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

pub fn spec() -> &'static Spec {
    static SPEC: OnceLock<Spec> = OnceLock::new();
    SPEC.get_or_init(|| {
        let text = include_str!("../../src/service/openapi.json");
        let doc: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("openapi.json is not JSON: {e}"));
        Spec {
            doc,
            validators: Mutex::new(HashMap::new()),
        }
    })
}

impl Spec {
    /// The validator of the schema at `pointer` (a JSON pointer into the
    /// document): the whole document with a root `$ref`, so that the
    /// schema's own `$ref`s resolve within it.
    fn validator(&self, pointer: &str) -> Arc<jsonschema::Validator> {
        let mut cache = self.validators.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(v) = cache.get(pointer) {
            return v.clone();
        }
        let mut schema = self.doc.clone();
        schema["$schema"] = Value::from("https://json-schema.org/draft/2020-12/schema");
        // A URI fragment: the braces of a path template are percent-encoded.
        let fragment = pointer.replace('{', "%7B").replace('}', "%7D");
        schema["$ref"] = Value::from(format!("#{fragment}"));
        let validator = jsonschema::draft202012::new(&schema)
            .unwrap_or_else(|e| panic!("the schema at {pointer} does not compile: {e}"));
        let validator = Arc::new(validator);
        cache.insert(pointer.to_string(), validator.clone());
        validator
    }

    /// The document's path that `path` is: itself, or a template whose
    /// `{name}` segments stand for any one segment (`/studio/{file}`).
    fn path_item(&self, path: &str) -> Option<(String, &Value)> {
        let paths = self.doc["paths"].as_object()?;
        if let Some(item) = paths.get(path) {
            return Some((path.to_string(), item));
        }
        let segments: Vec<&str> = path.split('/').collect();
        paths.iter().find_map(|(template, item)| {
            let parts: Vec<&str> = template.split('/').collect();
            let fits = parts.len() == segments.len()
                && parts
                    .iter()
                    .zip(&segments)
                    .all(|(p, s)| p == s || (p.starts_with('{') && p.ends_with('}') && !s.is_empty()));
            fits.then(|| (template.clone(), item))
        })
    }

    /// Where the schema of `method path` answering `status` is, and the
    /// content type the document gives it. A path or method the document
    /// does not have is answered 404 or 405 with the error body.
    fn shape(&self, method: &str, path: &str, status: u16) -> (String, Shape) {
        let error = (
            "application/json".to_string(),
            Shape::Json("/components/schemas/Error".into()),
        );
        let Some((template, item)) = self.path_item(path) else {
            assert_eq!(status, 404, "{method} {path} is not in the OpenAPI document");
            return error;
        };
        let path = template.as_str();
        let method = method.to_ascii_lowercase();
        let Some(op) = item.get(&method) else {
            assert_eq!(status, 405, "{method} {path} is not in the OpenAPI document");
            return error;
        };
        let code = status.to_string();
        let Some(mut response) = op["responses"].get(&code) else {
            panic!("the OpenAPI document has no {status} answer for {method} {path}");
        };
        let mut pointer = format!("/paths/{}/{method}/responses/{code}", escape(path));
        if let Some(r) = response.get("$ref").and_then(Value::as_str) {
            let target = r.strip_prefix('#').unwrap_or(r);
            response = self.doc.pointer(target).unwrap_or_else(|| panic!("dangling $ref {r}"));
            pointer = target.to_string();
        }
        let Some(content) = response.get("content").and_then(Value::as_object) else {
            panic!("the {status} answer of {method} {path} has no content in the document");
        };
        assert_eq!(content.len(), 1, "one content type per answer");
        let Some((ctype, media)) = content.iter().next() else {
            unreachable!()
        };
        let base = format!("{pointer}/content/{}", escape(ctype));
        let shape = match ctype.as_str() {
            "application/json" => Shape::Json(format!("{base}/schema")),
            "application/x-ndjson" => {
                assert!(media.get("x-line-schema").is_some(), "JSON Lines need x-line-schema");
                Shape::Lines(format!("{base}/x-line-schema"))
            }
            // The studio's page and assets: text, not held to a schema.
            "text/plain" | "text/html" | "*/*" => Shape::Text,
            other => panic!("unexpected content type {other}"),
        };
        (ctype.clone(), shape)
    }

    /// Panics unless `body`, the answer of `method path` with `status` and
    /// content type `ctype`, is what the document says.
    pub fn check(&self, method: &str, path: &str, status: u16, ctype: &str, body: &str) {
        let path = path.split('?').next().unwrap_or(path);
        let (want_type, shape) = self.shape(method, path, status);
        assert!(
            want_type == "*/*" || ctype.starts_with(&want_type),
            "{method} {path} {status}: content type {ctype:?}, the document says {want_type}"
        );
        let validate = |pointer: &str, text: &str| {
            let value: Value = serde_json::from_str(text)
                .unwrap_or_else(|e| panic!("{method} {path} {status}: not JSON ({e}): {text}"));
            let validator = self.validator(pointer);
            let errors: Vec<String> = validator
                .iter_errors(&value)
                .map(|e| format!("{} at {}", e, e.instance_path()))
                .collect();
            assert!(
                errors.is_empty(),
                "{method} {path} {status}: the answer breaks {pointer}:\n  {}\n{text}",
                errors.join("\n  ")
            );
        };
        match shape {
            Shape::Json(pointer) => validate(&pointer, body),
            Shape::Lines(pointer) => {
                for line in body.lines() {
                    validate(&pointer, line);
                }
            }
            Shape::Text => {}
        }
    }
}

// -- the client ----------------------------------------------------------------------

/// An answer: status, headers that matter, body.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub retry_after: Option<String>,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// The error code of an error answer.
    pub fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or_default().to_string()
    }

    /// Panics unless the status is `status`.
    #[track_caller]
    pub fn expect(self, status: u16) -> Reply {
        assert_eq!(self.status, status, "{}", self.body);
        self
    }

    /// Panics unless this is an error with `status` and `code`.
    #[track_caller]
    pub fn error(self, status: u16, code: &str) -> Reply {
        assert_eq!((self.status, self.code().as_str()), (status, code), "{}", self.body);
        self
    }
}

/// A blocking client, every answer checked against the OpenAPI document.
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    base: String,
    token: Option<String>,
}

impl Client {
    pub fn new(server: &Server) -> Client {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        Client {
            agent,
            base: server.url(""),
            token: None,
        }
    }

    /// The same client, sending `token` as its bearer token.
    pub fn with_token(&self, token: &str) -> Client {
        Client {
            token: Some(token.to_string()),
            ..self.clone()
        }
    }

    pub fn get(&self, path: &str) -> Reply {
        self.try_call("GET", path, None)
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    pub fn post(&self, path: &str, body: &str) -> Reply {
        self.try_call("POST", path, Some(body))
            .unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }

    pub fn put(&self, path: &str, body: &str) -> Reply {
        self.try_call("PUT", path, Some(body))
            .unwrap_or_else(|e| panic!("PUT {path}: {e}"))
    }

    #[allow(dead_code)] // the merchants' tests use it
    pub fn delete(&self, path: &str) -> Reply {
        self.try_call("DELETE", path, None)
            .unwrap_or_else(|e| panic!("DELETE {path}: {e}"))
    }

    pub fn call_bytes(&self, method: &str, path: &str, body: &[u8]) -> Reply {
        self.try_call_bytes(method, path, Some(body))
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// One request; an error only when no answer came (the connection failed).
    pub fn try_call(&self, method: &str, path: &str, body: Option<&str>) -> Result<Reply, ureq::Error> {
        self.try_call_bytes(method, path, body.map(str::as_bytes))
    }

    fn try_call_bytes(&self, method: &str, path: &str, body: Option<&[u8]>) -> Result<Reply, ureq::Error> {
        let url = format!("{}{path}", self.base);
        let auth = self.token.as_ref().map(|t| format!("Bearer {t}"));
        let ctype = match path.split('?').next() {
            Some("/v1/events") => "application/x-ndjson",
            Some(p) if p.ends_with("/policy") => "text/plain",
            _ => "application/json",
        };
        let mut response = match (method, body) {
            ("GET", _) => {
                let mut r = self.agent.get(&url);
                if let Some(a) = &auth {
                    r = r.header("Authorization", a);
                }
                r.call()?
            }
            ("DELETE", _) => {
                let mut r = self.agent.delete(&url);
                if let Some(a) = &auth {
                    r = r.header("Authorization", a);
                }
                r.call()?
            }
            (m, body) => {
                let mut r = match m {
                    "POST" => self.agent.post(&url),
                    "PUT" => self.agent.put(&url),
                    other => panic!("no method {other} in this client"),
                };
                if let Some(a) = &auth {
                    r = r.header("Authorization", a);
                }
                match body {
                    Some(b) => r.content_type(ctype).send(b)?,
                    None => r.send_empty()?,
                }
            }
        };
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let status = response.status().as_u16();
        let content_type = header("content-type").unwrap_or_default();
        let retry_after = header("retry-after");
        let body = response.body_mut().with_config().limit(1 << 30).read_to_string()?;
        let reply = Reply {
            status,
            content_type,
            retry_after,
            body,
        };
        check_reply(method, path, &reply);
        Ok(reply)
    }
}

/// Every answer: the document's schema for it; every error JSON with a code;
/// a 503 for load with `Retry-After`.
pub fn check_reply(method: &str, path: &str, reply: &Reply) {
    spec().check(method, path, reply.status, &reply.content_type, &reply.body);
    if reply.status >= 400 {
        let code = reply.code();
        assert!(!code.is_empty(), "an error without a code: {}", reply.body);
        if code == "overloaded" || code == "timeout" {
            assert_eq!(reply.status, 503);
            let secs: Option<u32> = reply.retry_after.as_deref().and_then(|s| s.parse().ok());
            assert!(secs.is_some_and(|s| s >= 1), "503 {code} without Retry-After");
        }
    }
}

// -- a request kept in flight -----------------------------------------------------------

/// A request written by hand on its own connection: its head and part of
/// its body first, the rest when the test says; it stays in flight meanwhile.
pub struct Slow {
    stream: TcpStream,
    method: String,
    path: String,
    rest: Vec<u8>,
}

impl Slow {
    /// Sends the head of `method path` and the first `sent` bytes of `body`.
    pub fn start(server: &Server, method: &str, path: &str, body: &[u8], sent: usize) -> Slow {
        let mut stream =
            TcpStream::connect(&server.addr).unwrap_or_else(|e| panic!("cannot connect to {}: {e}", server.addr));
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-ndjson\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            server.addr,
            body.len()
        );
        let write = |s: &mut TcpStream, b: &[u8]| s.write_all(b).unwrap_or_else(|e| panic!("cannot send: {e}"));
        write(&mut stream, head.as_bytes());
        write(&mut stream, &body[..sent]);
        let _ = stream.flush();
        Slow {
            stream,
            method: method.to_string(),
            path: path.to_string(),
            rest: body[sent..].to_vec(),
        }
    }

    /// Sends the rest of the body and reads the answer (checked like any).
    pub fn finish(mut self) -> Reply {
        let rest = std::mem::take(&mut self.rest);
        self.stream
            .write_all(&rest)
            .unwrap_or_else(|e| panic!("cannot send the rest: {e}"));
        self.answer()
    }

    /// Reads the answer without sending more (the server answers on its own:
    /// a timeout).
    pub fn answer(self) -> Reply {
        let _ = self.stream.set_read_timeout(Some(Duration::from_secs(60)));
        let mut reader = BufReader::new(&self.stream);
        let mut status_line = String::new();
        reader
            .read_line(&mut status_line)
            .unwrap_or_else(|e| panic!("no answer: {e}"));
        let status: u16 = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP status line: {status_line:?}"));
        let mut headers = HashMap::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap_or_else(|e| panic!("bad head: {e}"));
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        let mut body = Vec::new();
        match headers.get("content-length").and_then(|n| n.parse::<usize>().ok()) {
            Some(n) => {
                body.resize(n, 0);
                reader
                    .read_exact(&mut body)
                    .unwrap_or_else(|e| panic!("short body: {e}"));
            }
            None => {
                let _ = reader.read_to_end(&mut body);
            }
        }
        let reply = Reply {
            status,
            content_type: headers.get("content-type").cloned().unwrap_or_default(),
            retry_after: headers.get("retry-after").cloned(),
            body: String::from_utf8_lossy(&body).into_owned(),
        };
        check_reply(&self.method, &self.path, &reply);
        reply
    }
}

// -- event streams ----------------------------------------------------------------------

/// The raw text of each verdict in `rpl backtest --out`, by return id: a
/// line is the verdict itself, or a record holding it under `verdict`.
pub fn backtest_verdicts(out: &str) -> Vec<(String, String)> {
    out.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let fields: HashMap<String, Box<serde_json::value::RawValue>> =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("--out line is not an object ({e}): {line}"));
            let raw = match fields.get("verdict") {
                Some(v) => v.get().to_string(),
                None => line.to_string(),
            };
            let verdict: Value = serde_json::from_str(&raw).unwrap_or(Value::Null);
            let id = verdict["return_id"].as_str().unwrap_or_default().to_string();
            (id, raw, verdict.get("stage").is_some())
        })
        // The request's verdicts: in a stream without life events, a record of a
        // later stage is a review timed out at the stream's end, which the service's
        // timer applies on its own clock (`verdicts_equal_the_backtests_life` holds those).
        .filter(|(_, _, later)| !later)
        .map(|(id, raw, _)| (id, raw))
        .collect()
}

/// Every record of `rpl backtest --out`, in order: its stream line and the
/// raw text of its verdict (the requests', the life events', then the
/// timeouts at the stream's end).
pub fn backtest_records(out: &str) -> Vec<(u64, String)> {
    out.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let fields: HashMap<String, Box<serde_json::value::RawValue>> =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("--out line is not an object ({e}): {line}"));
            let number = fields.get("line").and_then(|l| l.get().parse().ok()).unwrap_or(0);
            let raw = fields
                .get("verdict")
                .map_or_else(|| line.to_string(), |v| v.get().to_string());
            (number, raw)
        })
        .collect()
}

/// The raw text of a field of a JSON object: the bytes the service wrote.
pub fn raw_field(body: &str, key: &str) -> String {
    let fields: HashMap<String, Box<serde_json::value::RawValue>> =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("not an object ({e}): {body}"));
    fields
        .get(key)
        .unwrap_or_else(|| panic!("no {key} in {body}"))
        .get()
        .to_string()
}

/// The raw text of each verdict of a `POST /v1/events` answer, in order.
pub fn reply_verdicts(body: &str) -> Vec<String> {
    #[derive(serde::Deserialize)]
    struct Reply<'a> {
        #[serde(borrow)]
        verdicts: Vec<&'a serde_json::value::RawValue>,
    }
    let reply: Reply<'_> = serde_json::from_str(body).unwrap_or_else(|e| panic!("not an events reply ({e}): {body}"));
    reply.verdicts.iter().map(|v| v.get().to_string()).collect()
}

/// An event line's kind and id, and the customer it belongs to (through its
/// order, for a return).
pub struct Line {
    pub text: String,
    pub kind: String,
    pub id: String,
    pub customer: String,
}

pub fn parse_stream(text: &str) -> Vec<Line> {
    let mut owner: HashMap<String, String> = HashMap::new();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|text| {
            let v: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("bad stream line ({e}): {text}"));
            let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
            let kind = s("event");
            let id = s("id");
            let customer = match kind.as_str() {
                "customer" => id.clone(),
                "order" => {
                    owner.insert(id.clone(), s("customer_id"));
                    s("customer_id")
                }
                // An update names its order by `id`, a return by `order_id`.
                "order_update" => owner.get(&id).cloned().unwrap_or_default(),
                _ => owner.get(&s("order_id")).cloned().unwrap_or_default(),
            };
            Line {
                text: text.to_string(),
                kind,
                id,
                customer,
            }
        })
        .collect()
}

/// Every decision in the log (following the cursor), as JSON.
pub fn all_decisions(admin: &Client, filter: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let sep = if filter.is_empty() { "" } else { "&" };
        let reply = admin
            .get(&format!("/v1/decisions?{filter}{sep}after={after}&limit=500"))
            .expect(200);
        let page: Vec<Value> = reply
            .body
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad log line ({e}): {l}")))
            .collect();
        let Some(last) = page.last() else {
            return out;
        };
        after = last["decision_id"].as_u64().unwrap_or(u64::MAX);
        out.extend(page);
    }
}
