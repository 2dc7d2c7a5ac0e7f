//! "Is this load still wanted?": one answer for the whole component.
//!
//! Work is scoped: a patient holds studies, a study holds the series in the viewport. Starting
//! anew at a scope (another patient, another study, another series) cancels the current work
//! at that scope and every scope below it. A [`Generation`] is a load's claim: it stays current
//! until that happens, and its token aborts the load's requests (queued ones are dropped,
//! running ones aborted, nothing they return is cached).

use crate::net::scheduler::HookGuard;
use crate::net::CancelToken;
use std::cell::RefCell;
use std::rc::Rc;

/// How far a new start reaches, widest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    Patient,
    Study,
    Series,
}

const SCOPES: usize = 3;

/// A load's claim on the screen: current until a new start at its scope or a wider one.
#[derive(Clone)]
pub struct Generation {
    /// The live tokens of its scope and the wider ones, when it began.
    chain: Vec<CancelToken>,
    /// Its own scope's token (the last of `chain`).
    token: CancelToken,
    /// A claim beside a scope: the hook that cancels its token with the scope's.
    _linked: Option<Rc<HookGuard>>,
}

impl std::fmt::Debug for Generation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generation").field("current", &self.is_current()).finish()
    }
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

    /// A claim beside the work at `scope` (the second viewport of a comparison, beside the
    /// study's series): it ends with that scope or a wider one, or when its own token is
    /// cancelled, and a new start below `scope` leaves it alone.
    pub fn beside(&self, scope: Scope) -> Generation {
        let live = self.live.borrow();
        let token = CancelToken::new();
        let mut chain = live[..=scope as usize].to_vec();
        chain.push(token.clone());
        let own = token.clone();
        let linked = live[scope as usize].on_cancel(move || own.cancel());
        Generation { chain, token, _linked: Some(Rc::new(linked)) }
    }

    /// The claim of the work now under way at `scope`, without cancelling anything.
    pub fn current(&self, scope: Scope) -> Generation {
        let live = self.live.borrow();
        Generation { chain: live[..=scope as usize].to_vec(), token: live[scope as usize].clone(), _linked: None }
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
    fn a_claim_beside_a_scope_ends_with_it_or_its_own_token_only() {
        let g = Generations::default();
        g.begin(Scope::Study);
        let beside = g.beside(Scope::Study);
        g.begin(Scope::Series);
        assert!(beside.is_current(), "another series leaves it");
        beside.token().cancel();
        assert!(!beside.is_current() && g.current(Scope::Study).is_current(), "its own token ends only it");
        let beside = g.beside(Scope::Study);
        g.begin(Scope::Study);
        assert!(!beside.is_current() && beside.token().is_cancelled(), "a new study ends it and aborts its requests");
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
