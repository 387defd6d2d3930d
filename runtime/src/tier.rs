//! Which compiler makes a module's machine code for the CPU targets (`cpu`,
//! `parallel`, `mpi`): the names, the `KERN_TIER` environment variable and
//! whether this build has the tier. The compile service acts on it
//! (`compile/`); this file knows names only.
//!
//! * `baseline` — Cranelift: sub-millisecond compiles, 128-bit vectors. The
//!   default.
//! * `optimized` — LLVM `-O3` for this CPU (feature `llvm`): every loop and
//!   function is compiled by LLVM before its first call, synchronously.
//! * `auto` — tiering (feature `llvm`; without it, `baseline`): every loop and
//!   function runs Cranelift's code at once while LLVM compiles it on a
//!   background thread; calls after that compile finished run LLVM's code. No
//!   call waits for LLVM.
//!
//! Every tier computes the same bits (no fast math, no contraction): the tier
//! changes speed and compile time, never results.

use crate::named::named_choice;
use crate::Error;

/// The environment variable that picks the tier of every module a process
/// creates (`Module::set_tier` overrides it per module).
pub const TIER_VARIABLE: &str = "KERN_TIER";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Tier {
    /// Cranelift machine code.
    #[default]
    Baseline,
    /// LLVM `-O3` machine code for this CPU (needs the `llvm` feature).
    Optimized,
    /// Baseline first, optimized where hot.
    Auto,
}

impl Tier {
    /// The tier `KERN_TIER` names (`baseline` when unset or empty), or an error
    /// naming the variable.
    pub fn from_env() -> Result<Tier, Error> {
        match std::env::var(TIER_VARIABLE) {
            Ok(value) if !value.is_empty() => value
                .parse::<Tier>()
                .map_err(|e| Error::Call(format!("{TIER_VARIABLE}: {e}"))),
            _ => Ok(Tier::Baseline),
        }
    }

    /// `Ok` when this build can compile with the tier.
    pub fn check_available(self) -> Result<(), Error> {
        if self == Tier::Optimized && !cfg!(feature = "llvm") {
            return Err(no_llvm());
        }
        Ok(())
    }
}

/// The error of asking a build without the `llvm` feature for LLVM's code.
pub(crate) fn no_llvm() -> Error {
    Error::Call("the `optimized` tier needs kern built with the `llvm` feature (LLVM 19)".into())
}

named_choice!(Tier, "tier", {
    Baseline => "baseline",
    Optimized => "optimized",
    Auto => "auto",
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_parse_by_name_and_print_back() {
        for tier in [Tier::Baseline, Tier::Optimized, Tier::Auto] {
            assert_eq!(tier.name().parse::<Tier>(), Ok(tier));
            assert_eq!(tier.to_string(), tier.name());
        }
        assert!("fast"
            .parse::<Tier>()
            .unwrap_err()
            .contains("baseline, optimized, auto"));
    }

    #[test]
    fn the_optimized_tier_is_available_exactly_with_the_llvm_feature() {
        assert!(Tier::Baseline.check_available().is_ok());
        assert!(Tier::Auto.check_available().is_ok());
        assert_eq!(
            Tier::Optimized.check_available().is_ok(),
            cfg!(feature = "llvm")
        );
    }
}
