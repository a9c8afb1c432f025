//! What the studio serves from inside the binary: the built page (the
//! committed bundle in `studio/dist/`, made by `studio/build.mjs`), and the
//! shipped policies, suites, snapshots and example cases, so `rpl serve` and
//! `rpl studio` need no file and no network at run time.
//!
//! `build.rs` lists the shipped files; `tests/studio.rs` holds the list to
//! what is on disk.

/// A file of the page: its name under `/studio/`, its type, its bytes.
pub(super) struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

macro_rules! dist {
    ($name:literal, $type:literal) => {
        Asset {
            name: $name,
            content_type: $type,
            bytes: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/studio/dist/", $name)),
        }
    };
}

/// The page, served at `/`.
pub(super) const INDEX: Asset = dist!("index.html", "text/html; charset=utf-8");

/// Everything the page loads, served at `/studio/NAME`.
pub(super) const ASSETS: &[Asset] = &[
    dist!("app.js", "text/javascript; charset=utf-8"),
    dist!("app.css", "text/css; charset=utf-8"),
    dist!("icon.svg", "image/svg+xml"),
];

/// The shipped files, by their path in the repository, sorted: every
/// policy, suite, snapshot and case under `policies/` and `examples/`, as
/// `build.rs` lists them.
pub(super) const SHIPPED: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/shipped.rs"));
