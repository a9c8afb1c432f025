//! The types of RPL values (docs/language.md §5).

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Bool,
    Int,
    Dec,
    Str,
    Time,
    Dur,
    List,
    /// An `attrs` value: its type is known only at run time.
    Dyn,
    /// The type of an expression that already failed to check; it meets
    /// anything without a second error.
    Error,
}

impl Ty {
    pub fn is_num(self) -> bool {
        matches!(self, Ty::Int | Ty::Dec | Ty::Dyn | Ty::Error)
    }

    /// Whether a value of this type may stand where `want` is needed.
    pub fn fits(self, want: Ty) -> bool {
        self == want || matches!(self, Ty::Dyn | Ty::Error) || (want == Ty::Dec && self == Ty::Int)
    }

    /// The common type of two branches or operands, if any.
    pub fn join(self, other: Ty) -> Option<Ty> {
        match (self, other) {
            (Ty::Error, _) | (_, Ty::Error) => Some(Ty::Error),
            (Ty::Dyn, t) | (t, Ty::Dyn) => Some(if t == Ty::Dyn { Ty::Dyn } else { t }),
            (a, b) if a == b => Some(a),
            (Ty::Int, Ty::Dec) | (Ty::Dec, Ty::Int) => Some(Ty::Dec),
            _ => None,
        }
    }
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Ty::Bool => "a boolean",
            Ty::Int => "a whole number",
            Ty::Dec => "a decimal",
            Ty::Str => "a string",
            Ty::Time => "a time",
            Ty::Dur => "a duration",
            Ty::List => "a list",
            Ty::Dyn => "an attribute value",
            Ty::Error => "an invalid value",
        })
    }
}
