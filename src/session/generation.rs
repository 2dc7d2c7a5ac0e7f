//! "Is this load still wanted?": one answer for the whole component.
//!
//! Work is scoped: a patient holds studies, a study holds the series in the viewport. Starting
//! anew at a scope (another patient, another study, another series) cancels the current work
//! at that scope and every scope below it. A [`Generation`] is a load's claim: it stays current
//! until that happens, and its token aborts the load's requests (queued ones are dropped,
//! running ones aborted, nothing they return is cached).

use crate::net::CancelToken;
use std::cell::RefCell;

/// How far a new start reaches, widest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    Patient,
    Study,
    Series,
}

const SCOPES: usize = 3;

/// A load's claim on the screen: current until a new start at its scope or a wider one.
#[derive(Debug, Clone)]
pub struct Generation {
    /// The live tokens of its scope and the wider ones, when it began.
    chain: Vec<CancelToken>,
    /// Its own scope's token (the last of `chain`).
    token: CancelToken,
}

impl Generation {
    pub fn is_current(&self) -> bool {
        self.chain.iter().all(|t| !t.is_cancelled())
    }

    /// The token the load's requests carry: cancelled when the load stops being current.
    pub fn token(&self) -> &CancelToken {
        &self.token
    }
}

/// The live tokens, one per scope.
#[derive(Debug)]
pub struct Generations {
    live: RefCell<[CancelToken; SCOPES]>,
}

impl Default for Generations {
    fn default() -> Self {
        Generations { live: RefCell::new([CancelToken::new(), CancelToken::new(), CancelToken::new()]) }
    }
}

impl Generations {
    /// Cancels the work at `scope` and below, and returns the claim of what starts now.
    pub fn begin(&self, scope: Scope) -> Generation {
        let mut live = self.live.borrow_mut();
        let old: Vec<CancelToken> = (scope as usize..SCOPES).map(|i| std::mem::take(&mut live[i])).collect();
        drop(live);
        // Cancelling runs abort hooks: done with the borrow released.
        for token in old {
            token.cancel();
        }
        self.current(scope)
    }

    /// The claim of the work now under way at `scope`, without cancelling anything.
    pub fn current(&self, scope: Scope) -> Generation {
        let live = self.live.borrow();
        Generation { chain: live[..=scope as usize].to_vec(), token: live[scope as usize].clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_start_ends_its_scope_and_those_below_only() {
        let g = Generations::default();
        let patient = g.begin(Scope::Patient);
        let study = g.begin(Scope::Study);
        let series = g.begin(Scope::Series);
        let next_series = g.begin(Scope::Series);
        assert!(patient.is_current() && study.is_current() && next_series.is_current());
        assert!(!series.is_current() && series.token().is_cancelled());
        let next_study = g.begin(Scope::Study);
        assert!(!study.is_current() && !next_series.is_current());
        assert!(patient.is_current() && next_study.is_current());
        g.begin(Scope::Patient);
        assert!(!patient.is_current() && !next_study.is_current());
        assert!(g.current(Scope::Series).is_current());
    }

    #[test]
    fn current_claims_share_the_live_tokens() {
        let g = Generations::default();
        let a = g.current(Scope::Study);
        let b = g.current(Scope::Study);
        g.begin(Scope::Study);
        assert!(!a.is_current() && !b.is_current());
        assert!(a.token().is_cancelled());
    }
}
