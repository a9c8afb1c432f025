//! ISO 4217 currencies and their minor units (digits after the decimal point).
//!
//! The table mirrors the active entries of ISO 4217 list one, including funds
//! codes (e.g. CLF, UYW, BOV, MXV, USN, CHE, CHW, COU, UYI, XAD) and the
//! supranational units XAF, XCD, XOF, XPF, XDR, XSU and XUA. The X-codes for
//! precious metals (XAU, XAG, XPD, XPT), testing (XTS), "no currency" (XXX)
//! and the bond-market units (XBA, XBB, XBC, XBD) are deliberately absent.
//! Withdrawn codes (e.g. ANG, BGN, CUC, HRK, VEF, ZWL) are absent too.
//!
//! ISO 4217 gives XDR, XSU and XUA no minor unit ("N.A."); they are recorded
//! here as 0.

/// Every active ISO 4217 alphabetic code with its minor-unit digits, sorted by
/// code (byte order) so that look-ups can use binary search.
const TABLE: &[(&str, u32)] = &[
    ("AED", 2),
    ("AFN", 2),
    ("ALL", 2),
    ("AMD", 2),
    ("AOA", 2),
    ("ARS", 2),
    ("AUD", 2),
    ("AWG", 2),
    ("AZN", 2),
    ("BAM", 2),
    ("BBD", 2),
    ("BDT", 2),
    ("BHD", 3),
    ("BIF", 0),
    ("BMD", 2),
    ("BND", 2),
    ("BOB", 2),
    ("BOV", 2),
    ("BRL", 2),
    ("BSD", 2),
    ("BTN", 2),
    ("BWP", 2),
    ("BYN", 2),
    ("BZD", 2),
    ("CAD", 2),
    ("CDF", 2),
    ("CHE", 2),
    ("CHF", 2),
    ("CHW", 2),
    ("CLF", 4),
    ("CLP", 0),
    ("CNY", 2),
    ("COP", 2),
    ("COU", 2),
    ("CRC", 2),
    ("CUP", 2),
    ("CVE", 2),
    ("CZK", 2),
    ("DJF", 0),
    ("DKK", 2),
    ("DOP", 2),
    ("DZD", 2),
    ("EGP", 2),
    ("ERN", 2),
    ("ETB", 2),
    ("EUR", 2),
    ("FJD", 2),
    ("FKP", 2),
    ("GBP", 2),
    ("GEL", 2),
    ("GHS", 2),
    ("GIP", 2),
    ("GMD", 2),
    ("GNF", 0),
    ("GTQ", 2),
    ("GYD", 2),
    ("HKD", 2),
    ("HNL", 2),
    ("HTG", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("IQD", 3),
    ("IRR", 2),
    ("ISK", 0),
    ("JMD", 2),
    ("JOD", 3),
    ("JPY", 0),
    ("KES", 2),
    ("KGS", 2),
    ("KHR", 2),
    ("KMF", 0),
    ("KPW", 2),
    ("KRW", 0),
    ("KWD", 3),
    ("KYD", 2),
    ("KZT", 2),
    ("LAK", 2),
    ("LBP", 2),
    ("LKR", 2),
    ("LRD", 2),
    ("LSL", 2),
    ("LYD", 3),
    ("MAD", 2),
    ("MDL", 2),
    ("MGA", 2),
    ("MKD", 2),
    ("MMK", 2),
    ("MNT", 2),
    ("MOP", 2),
    ("MRU", 2),
    ("MUR", 2),
    ("MVR", 2),
    ("MWK", 2),
    ("MXN", 2),
    ("MXV", 2),
    ("MYR", 2),
    ("MZN", 2),
    ("NAD", 2),
    ("NGN", 2),
    ("NIO", 2),
    ("NOK", 2),
    ("NPR", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PAB", 2),
    ("PEN", 2),
    ("PGK", 2),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("PYG", 0),
    ("QAR", 2),
    ("RON", 2),
    ("RSD", 2),
    ("RUB", 2),
    ("RWF", 0),
    ("SAR", 2),
    ("SBD", 2),
    ("SCR", 2),
    ("SDG", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("SHP", 2),
    ("SLE", 2),
    ("SLL", 2),
    ("SOS", 2),
    ("SRD", 2),
    ("SSP", 2),
    ("STN", 2),
    ("SVC", 2),
    ("SYP", 2),
    ("SZL", 2),
    ("THB", 2),
    ("TJS", 2),
    ("TMT", 2),
    ("TND", 3),
    ("TOP", 2),
    ("TRY", 2),
    ("TTD", 2),
    ("TWD", 2),
    ("TZS", 2),
    ("UAH", 2),
    ("UGX", 0),
    ("USD", 2),
    ("USN", 2),
    ("UYI", 0),
    ("UYU", 2),
    ("UYW", 4),
    ("UZS", 2),
    ("VED", 2),
    ("VES", 2),
    ("VND", 0),
    ("VUV", 0),
    ("WST", 2),
    ("XAD", 2),
    ("XAF", 0),
    ("XCD", 2),
    ("XCG", 2),
    ("XDR", 0),
    ("XOF", 0),
    ("XPF", 0),
    ("XSU", 0),
    ("XUA", 0),
    ("YER", 2),
    ("ZAR", 2),
    ("ZMW", 2),
    ("ZWG", 2),
];

/// The number of minor-unit digits of an active ISO 4217 currency code, or None
/// when `code` is not an active ISO 4217 code (case-sensitive, e.g. "CNY" -> Some(2), "JPY" -> Some(0), "KWD" -> Some(3), "CLF" -> Some(4)).
pub(crate) fn minor_units(code: &str) -> Option<u32> {
    TABLE
        .binary_search_by(|&(c, _)| c.cmp(code))
        .ok()
        .and_then(|i| TABLE.get(i))
        .map(|&(_, units)| units)
}

/// Every active code, sorted — used for "did you mean" hints.
pub(crate) fn codes() -> impl Iterator<Item = &'static str> {
    TABLE.iter().map(|&(code, _)| code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_without_duplicates() {
        for pair in TABLE.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{} must sort before {}", pair[0].0, pair[1].0);
        }
    }

    #[test]
    fn codes_are_three_uppercase_letters() {
        for code in codes() {
            assert_eq!(code.len(), 3, "{code}");
            assert!(code.bytes().all(|b| b.is_ascii_uppercase()), "{code}");
        }
        assert_eq!(codes().count(), TABLE.len());
    }

    #[test]
    fn spot_checks() {
        assert_eq!(minor_units("CNY"), Some(2));
        assert_eq!(minor_units("USD"), Some(2));
        assert_eq!(minor_units("EUR"), Some(2));
        assert_eq!(minor_units("JPY"), Some(0));
        assert_eq!(minor_units("KRW"), Some(0));
        assert_eq!(minor_units("KWD"), Some(3));
        assert_eq!(minor_units("CLF"), Some(4));
    }

    #[test]
    fn exponents() {
        for code in ["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"] {
            assert_eq!(minor_units(code), Some(3), "{code}");
        }
        for code in [
            "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF",
            "XOF", "XPF",
        ] {
            assert_eq!(minor_units(code), Some(0), "{code}");
        }
        assert_eq!(minor_units("UYW"), Some(4));
        for code in ["VES", "VED", "ZWG", "SLE", "STN", "MRU", "XCG", "XCD"] {
            assert_eq!(minor_units(code), Some(2), "{code}");
        }
    }

    #[test]
    fn unknown_codes_are_none() {
        for code in [
            "cny", "XXX", "ABC", "", "US", "USDD", "XAU", "XAG", "XPD", "XPT", "XTS", "XBA", "XBB", "XBC", "XBD",
        ] {
            assert_eq!(minor_units(code), None, "{code:?}");
        }
    }
}
