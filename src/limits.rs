//! Every bound rpl puts on its input, in one place (docs/language.md §9). Policies and
//! cases are untrusted: each limit turns input that would cost unbounded
//! time, memory or stack into a located error that names the limit.
//!
//! | limit | bounds | enforced in |
//! |---|---|---|
//! | [`MAX_POLICY_BYTES`] | a policy's text | the parser's pre-scan, and `rpl` before it reads a file whole |
//! | [`MAX_ITEMS`] | a policy's items | the parser's pre-scan |
//! | [`MAX_STRING_BYTES`] | a string literal in a policy | the parser's pre-scan |
//! | [`MAX_NESTING`] | brackets and `if` in an expression; evaluation depth through lets | the pre-scan, the tree builder, the checker |
//! | [`MAX_DURATION_SECONDS`] | a duration literal or window | the parser |
//! | [`MAX_CASE_BYTES`] | a case's JSON text | `data::parse_json` (and so `data::parse_case`, `rpl judge`) |
//! | [`MAX_JSON_DEPTH`] | arrays and objects inside each other in a case | `data::parse_json` (which also refuses a key given twice) |
//! | [`MAX_LINES`] | an order's items, and so a return's | `data::parse_order`, `data::parse_return` |
//! | [`MAX_HISTORY`] | a history's past orders, and its past returns | `data::parse_history` |
//!
//! Numbers carry their own bounds: integers are `i64`, decimals hold 28
//! significant digits, times are RFC 3339 (years 0000 to 9999) with an offset.
//!
//! Together they bound judging: a verdict costs time linear in the policy's
//! size times the history's length times the number of lines.

/// Largest policy, in bytes of UTF-8 text: room for 100 000 rules of 160
/// bytes. Checking takes some 60 bytes of memory per byte of policy (100 000
/// rules in 10 MB peak near 600 MB), and every offset fits a span's 32 bits.
pub const MAX_POLICY_BYTES: usize = 16 << 20;

/// Most items in a policy: header, sets, lets, flags, rules and tables.
pub const MAX_ITEMS: usize = 200_000;

/// Longest string literal in a policy, in bytes between its quotes.
pub const MAX_STRING_BYTES: usize = 4096;

/// Deepest nesting of brackets and `if … then … else` in an expression, and
/// of evaluation counted through the lets an expression reads.
pub const MAX_NESTING: usize = 256;

/// Longest duration, in seconds: a hundred years. Longer windows say nothing
/// a merchant means.
pub const MAX_DURATION_SECONDS: i64 = 100 * 366 * 86_400;

/// Largest case, in bytes of JSON text (one line of JSON Lines is one case).
pub const MAX_CASE_BYTES: usize = 8 << 20;

/// Deepest nesting of JSON arrays and objects in a case. A valid case needs
/// 5; serde_json's own limit (128) is never reached.
pub const MAX_JSON_DEPTH: usize = 64;

/// Most items on an order, and so most lines on a return: every rule runs on
/// every returned line.
pub const MAX_LINES: usize = 1_000;

/// Most past orders in a case's history, and separately most past returns:
/// every aggregate walks them.
pub const MAX_HISTORY: usize = 10_000;
