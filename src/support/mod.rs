//! Small pieces the layers above share and that depend on nothing of rpl's:
//! a deep stack for the recursive phases, and the frozen PRNG behind the
//! generator and the tests' mutated inputs.

pub(crate) mod rng;
mod stack;

pub(crate) use stack::with_stack;
