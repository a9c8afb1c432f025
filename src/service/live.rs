//! The policies in force: the platform floor's versions and each merchant's,
//! every one compiled once, held in one snapshot that the writer replaces
//! atomically when a version is stored, rolled back or a token changes.
//!
//! Which version decides a return (docs/language.md §15.2): the floor
//! version in force at the request (`return.requested_at`), the merchant
//! version in force when the order was placed (`order.placed_at`: the terms
//! the buyer bought under). A version is in force from its `effective_at`
//! until a version with a later one (a version stored without one is in
//! force from the stream's clock at the moment it was stored, so it decides
//! every request from then on); before the first effective time, the
//! earliest version decides.

use std::collections::HashMap;
use std::sync::Arc;

use crate::data::{Case, InputError};
use crate::{Explanation, Program, Verdict};

/// One stored policy version, compiled.
pub(crate) struct Version {
    /// Its number in the store (per merchant, or the floor's).
    pub version: u64,
    /// Microseconds since the epoch from which it is in force; `i64::MIN`:
    /// from the beginning.
    pub effective: i64,
    pub program: Program,
}

/// A merchant: the hash of its token (none once revoked) and its versions.
pub(crate) struct Merchant {
    pub token_sha256: Option<[u8; 32]>,
    /// Oldest first.
    pub versions: Vec<Arc<Version>>,
}

/// Everything in force, as one value.
#[derive(Default, Clone)]
pub(crate) struct Policies {
    /// The floor's versions in the order they were put in force (a rollback
    /// withdraws the last).
    pub floor: Vec<Arc<Version>>,
    pub merchants: HashMap<String, Arc<Merchant>>,
}

/// The version of `versions` in force at `t` (µs): the one with the latest
/// effective time not after `t` (of two alike, the later put in force);
/// before every effective time, the earliest.
pub(crate) fn in_force(versions: &[Arc<Version>], t: i64) -> Option<&Arc<Version>> {
    let mut best: Option<&Arc<Version>> = None;
    for v in versions {
        if v.effective <= t && best.is_none_or(|b| v.effective >= b.effective) {
            best = Some(v);
        }
    }
    best.or_else(|| versions.iter().min_by_key(|v| v.effective))
}

/// A verdict with the versions that gave it.
pub(crate) struct Judgement {
    pub verdict: Verdict,
    pub explanation: Option<Explanation>,
    pub floor_version: u64,
    /// The order's merchant and, when it has a policy, the version that decided.
    pub merchant_id: Option<String>,
    pub merchant_version: Option<u64>,
}

impl Policies {
    /// Whether a floor is in force (the service is ready).
    pub fn ready(&self) -> bool {
        !self.floor.is_empty()
    }

    /// The floor version in force at `t`.
    pub fn floor_at(&self, t: i64) -> Option<&Arc<Version>> {
        in_force(&self.floor, t)
    }

    /// The version of merchant `id` in force at `t`, if it has any.
    pub fn merchant_at(&self, id: &str, t: i64) -> Option<&Arc<Version>> {
        in_force(&self.merchants.get(id)?.versions, t)
    }

    /// Judges `case`: its merchant's version in force when the order was
    /// placed on the floor version in force at the request; the floor alone
    /// when the order names no merchant, or one without a policy.
    pub fn judge(&self, case: &Case, explain: bool) -> Result<Judgement, InputError> {
        let floor = self
            .floor_at(case.ret.requested_at.timestamp_micros())
            .ok_or_else(|| InputError::new("", "no policy is in force"))?;
        let merchant_id = case.order.merchant_id.clone();
        let merchant = merchant_id
            .as_deref()
            .and_then(|m| self.merchant_at(m, case.order.placed_at.timestamp_micros()));
        let (verdict, explanation) = match (merchant, explain) {
            (None, false) => (floor.program.judge(case)?, None),
            (None, true) => {
                let (v, e) = floor.program.judge_explained(case)?;
                (v, Some(e))
            }
            (Some(m), false) => (crate::judge_layered(&floor.program, &m.program, case)?, None),
            (Some(m), true) => {
                let (v, e) = crate::judge_layered_explained(&floor.program, &m.program, case)?;
                (v, Some(e))
            }
        };
        Ok(Judgement {
            verdict,
            explanation,
            floor_version: floor.version,
            merchant_version: merchant.map(|m| m.version),
            merchant_id,
        })
    }

    /// How long (seconds of the stream's time) history must be kept for
    /// every version in force to read what it needs; `None`: all of it.
    pub fn history_needed(&self) -> Option<i64> {
        let mut longest = 0;
        let all = self
            .floor
            .iter()
            .chain(self.merchants.values().flat_map(|m| m.versions.iter()));
        for v in all {
            longest = longest.max(v.program.history_needed()?);
        }
        Some(longest)
    }

    /// The merchant a token belongs to, if it is a live merchant token
    /// (`m.<id>.<secret>`). The comparison takes the same time whatever the
    /// token's content.
    pub fn merchant_of(&self, token: &str) -> Option<&str> {
        let rest = token.strip_prefix("m.")?;
        let (id, _) = rest.split_once('.')?;
        let (key, merchant) = self.merchants.get_key_value(id)?;
        let want = merchant.token_sha256.as_ref()?;
        let got = sha256(token.as_bytes());
        let differ = want.iter().zip(&got).fold(0u8, |acc, (a, b)| acc | (a ^ b));
        (differ == 0).then_some(key.as_str())
    }
}

/// The SHA-256 of `bytes`.
pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).into()
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(2 * bytes.len());
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

/// The bytes of a 64-digit hex string.
pub(crate) fn unhex(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// A new merchant token: `m.<id>.` and 32 random bytes in hex, from the
/// kernel's generator.
pub(crate) fn new_token(id: &str) -> Result<String, String> {
    use std::io::Read as _;
    let mut secret = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut secret))
        .map_err(|e| format!("cannot read random bytes for a token: {e}"))?;
    Ok(format!("m.{id}.{}", hex(&secret)))
}

/// Whether `id` may name a merchant: 1 to 64 letters, digits, `_` or `-`
/// (it appears in paths and tokens).
pub(crate) fn valid_merchant_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(version: u64, effective: i64) -> Arc<Version> {
        let program = crate::compile("policy \"t\" {\n  currency \"CNY\"\n}\n")
            .map(|c| c.program)
            .unwrap_or_else(|d| panic!("{d:?}"));
        Arc::new(Version {
            version,
            effective,
            program,
        })
    }

    #[test]
    fn the_latest_effective_version_not_after_the_time_decides() {
        let vs = vec![version(1, i64::MIN), version(2, 100), version(3, 50), version(4, 100)];
        let at = |t| in_force(&vs, t).map(|v| v.version);
        assert_eq!(at(0), Some(1));
        assert_eq!(at(50), Some(3));
        assert_eq!(at(99), Some(3));
        // Two alike: the later put in force.
        assert_eq!(at(100), Some(4));
        let scheduled = vec![version(1, 10), version(2, 20)];
        // Before every effective time, the earliest.
        assert_eq!(in_force(&scheduled, 0).map(|v| v.version), Some(1));
        assert!(in_force(&[], 0).is_none());
    }

    #[test]
    fn tokens_hash_and_parse() {
        let token = new_token("shop-1").unwrap_or_default();
        assert!(token.starts_with("m.shop-1.") && token.len() == "m.shop-1.".len() + 64);
        let hash = sha256(token.as_bytes());
        assert_eq!(unhex(&hex(&hash)), Some(hash));
        let mut p = Policies::default();
        p.merchants.insert(
            "shop-1".into(),
            Arc::new(Merchant {
                token_sha256: Some(hash),
                versions: vec![],
            }),
        );
        assert_eq!(p.merchant_of(&token), Some("shop-1"));
        assert_eq!(p.merchant_of(&token.replace("m.shop-1", "m.shop-2")), None);
        assert_eq!(p.merchant_of(&format!("{token}0")), None);
        assert!(valid_merchant_id("linen_house-2") && !valid_merchant_id("a.b") && !valid_merchant_id(""));
    }
}
