//! corolift's coroutine lowering: analyses and transforms on the MIR of resume functions.
//!
//! The host (`corolift_host`, inside the patched cg_clif or the LLVM driver) calls
//! [`lower_coroutine`] from its `optimized_mir` override, once per coroutine defined in
//! the crate being compiled. Because the coroutine's layout (`layout_of`), its drop glue
//! and the crate's metadata all read `optimized_mir`, a rewrite made here is the one every
//! consumer sees.
//!
//! This crate holds no process-wide state. What lasts for a compilation session (the
//! knobs, the crate's census for `inline_child`'s policy) is a [`LoweringSession`] that
//! the caller owns and passes in; what lowering one coroutine did comes back as a
//! [`LoweringSummary`], for the caller to keep until it writes its report.
//!
//! The pipeline:
//! 1. recover the state machine of rustc's resume body ([`machine`]); a body whose shape
//!    is not recognised is reported and left alone;
//! 2. run the passes the knobs select ([`knobs`]), in [`passes::PASSES`] order, each on
//!    the output of the previous one; each applies with evidence or declines with a reason.
//!    A pass that works in steps (`flatten_child`, one child at a time) has the passes
//!    that follow each of its steps (`one_dispatch`) run after every step it keeps;
//! 3. recover the machine again, for the "after" figures of [`report`].

#![feature(rustc_private)]

extern crate rustc_abi;
extern crate rustc_hir;
extern crate rustc_index;
extern crate rustc_middle;
extern crate rustc_mir_dataflow;
extern crate rustc_session;
extern crate rustc_span;

pub mod body_edit;
pub mod fn_uses;
pub mod knobs;
pub mod layout_edit;
pub mod known_variant;
pub mod machine;
pub mod passes;
pub mod report;
pub mod splice;
pub mod storage_overlap;
pub mod tag_flow;
pub mod verify;

use fn_uses::LazyCensus;
use rustc_hir::def_id::DefId;
use rustc_hir::{CoroutineDesugaring, CoroutineKind, CoroutineSource};
use rustc_middle::mir::Body;
use rustc_middle::ty::TyCtxt;
use rustc_middle::ty::print::with_no_trimmed_paths;
use rustc_session::config::OptLevel;

use crate::knobs::{Knobs, PassSelection};
use crate::machine::StateMachine;
use std::cell::{Cell, RefCell};

use crate::passes::{PASSES, PassCx, PassOutcome, PipelineRuns};

/// What the lowering reads for every coroutine of one compilation session, owned by the
/// caller: the host builds one per session and passes it to each [`lower_coroutine`].
pub struct LoweringSession {
    /// The session's knobs, parsed once by the host.
    pub knobs: Knobs,
    /// The crate's census for `inline_child`'s policy ([`fn_uses`]), taken on first need.
    census: LazyCensus,
}

impl LoweringSession {
    pub fn new(knobs: Knobs) -> LoweringSession {
        LoweringSession { knobs, census: LazyCensus::default() }
    }
}

/// What happened to one pass on one coroutine.
#[derive(Clone, Debug)]
pub struct PassRecord {
    pub pass: &'static str,
    pub outcome: PassOutcome,
}

/// What lowering one coroutine did, for the report.
#[derive(Clone, Debug)]
pub struct LoweringSummary {
    pub kind: &'static str,
    /// Dispatch arms of rustc's resume body (`None`: not recognised).
    pub states_before: Option<usize>,
    /// Dispatch arms after corolift's passes (0: no dispatch switch any more).
    pub states_after: Option<usize>,
    /// Suspend states (arms for state 3 and up) before and after.
    pub suspend_states_before: Option<usize>,
    pub suspend_states_after: Option<usize>,
    pub passes: Vec<PassRecord>,
    /// Why the machine could not be recovered, if it could not.
    pub unrecognised: Option<String>,
}

impl LoweringSummary {
    /// Did the pass called `name` rewrite the body?
    pub fn applied(&self, name: &str) -> bool {
        self.passes.iter().any(|r| r.pass == name && matches!(r.outcome, PassOutcome::Applied(_)))
    }
}

/// The report's name for a coroutine's kind.
pub fn kind_label(kind: CoroutineKind) -> &'static str {
    match kind {
        CoroutineKind::Desugared(CoroutineDesugaring::Async, CoroutineSource::Fn) => "async fn",
        CoroutineKind::Desugared(CoroutineDesugaring::Async, CoroutineSource::Block) => "async block",
        CoroutineKind::Desugared(CoroutineDesugaring::Async, CoroutineSource::Closure) => "async closure",
        CoroutineKind::Desugared(CoroutineDesugaring::Gen, _) => "gen",
        CoroutineKind::Desugared(CoroutineDesugaring::AsyncGen, _) => "async gen",
        CoroutineKind::Coroutine(_) => "coroutine",
    }
}

/// Does this build optimise (opt-level 1 and up)? The default pass set depends on it.
pub fn optimizing(tcx: TyCtxt<'_>) -> bool {
    tcx.sess.opts.optimize != OptLevel::No
}

/// The report's one outcome for `follower`, a pass run after each step of `lead`: its
/// runs' evidence, or why it never ran.
fn follower_outcome(follower: &str, lead: &str, lead_ran: bool, cx: &PassCx<'_>) -> PassOutcome {
    let outcomes: Vec<PassOutcome> =
        cx.runs.follower_outcomes.borrow().iter().filter(|(name, _)| *name == follower).map(|(_, o)| o.clone()).collect();
    let applied: Vec<&str> = outcomes
        .iter()
        .filter_map(|o| match o {
            PassOutcome::Applied(why) => Some(why.as_str()),
            PassOutcome::Declined(_) => None,
        })
        .collect();
    match (applied.is_empty(), outcomes.first()) {
        (false, _) => PassOutcome::Applied(applied.join("; ")),
        (true, Some(declined)) => declined.clone(),
        (true, None) if lead_ran => PassOutcome::Declined(format!("it runs after each step `{lead}` keeps, and it kept none")),
        (true, None) => PassOutcome::Declined(format!("it runs after each step `{lead}` keeps, and `{lead}` did not run")),
    }
}

/// Lowers the resume body of coroutine `def_id` under `session` (that of `tcx`). Returns
/// the rewritten body, or `None` when no pass changed anything (the caller then keeps
/// rustc's body as it is), and what was done.
pub fn lower_coroutine<'tcx>(
    tcx: TyCtxt<'tcx>,
    def_id: DefId,
    kind: CoroutineKind,
    body: &Body<'tcx>,
    session: &LoweringSession,
) -> (Option<Body<'tcx>>, LoweringSummary) {
    let knobs = &session.knobs;
    let before = StateMachine::recover(body);
    let mut summary = LoweringSummary {
        kind: kind_label(kind),
        states_before: before.as_ref().ok().map(StateMachine::state_count),
        states_after: None,
        suspend_states_before: before.as_ref().ok().map(|m| m.suspend_states().count()),
        suspend_states_after: None,
        passes: Vec::new(),
        unrecognised: before.as_ref().err().map(|why| why.0.clone()),
    };
    if body.tainted_by_errors.is_some() || before.is_err() {
        summary.states_after = summary.states_before;
        summary.suspend_states_after = summary.suspend_states_before;
        return (None, summary);
    }

    let optimizing = optimizing(tcx);
    // A pass named by the knobs (or by `corolift=all`) was asked for in full; under the
    // default a pass may apply a narrower policy (`inline_child` does).
    let selected = knobs.selected(optimizing);
    let runs = PipelineRuns {
        verifier: (knobs.verify || cfg!(debug_assertions)).then(|| verify::Verifier::for_input(tcx, body)),
        steps: knobs.dump.is_some().then(|| RefCell::new(Vec::new())),
        followers: selected.iter().copied().filter(|p| p.follows().is_some() && knobs.backend_skips(p).is_none()).collect(),
        follower_outcomes: RefCell::new(Vec::new()),
        checkpoints: Cell::new(0),
    };
    let cx = PassCx {
        tcx,
        def_id,
        kind,
        asked_for: matches!(knobs.passes, PassSelection::All | PassSelection::Only(_)),
        census: session.census.clone(),
        runs,
    };
    let mut lowered = body.clone();
    let mut ran: Vec<&'static str> = Vec::new();
    for pass in selected {
        let outcome = if let Some(why) = knobs.backend_skips(pass) {
            PassOutcome::Declined(why)
        } else if let Some(lead) = pass.follows() {
            debug_assert!(
                PASSES.iter().position(|p| p.name == lead) < PASSES.iter().position(|p| p.name == pass.name),
                "a pass that follows the steps of another comes after it in PASSES"
            );
            follower_outcome(pass.name, lead, ran.contains(&lead), &cx)
        } else if pass.mir_transform().is_some() {
            ran.push(pass.name);
            cx.run(pass, &mut lowered)
        } else {
            continue;
        };
        summary.passes.push(PassRecord { pass: pass.name, outcome });
    }
    let changed = summary.passes.iter().any(|r| matches!(r.outcome, PassOutcome::Applied(_)));
    let steps = cx.runs.steps.map(RefCell::into_inner).unwrap_or_default();
    let after = StateMachine::recover(&lowered);
    summary.states_after = match &after {
        Ok(machine) => Some(machine.state_count()),
        // `await_free` removes the dispatch: no state is switched on any more.
        Err(_) if summary.applied("await_free") => Some(0),
        Err(_) => None,
    };
    summary.suspend_states_after = match &after {
        Ok(machine) => Some(machine.suspend_states().count()),
        Err(_) if summary.applied("await_free") => Some(0),
        Err(_) => None,
    };

    if let Some(dir) = &knobs.dump {
        with_no_trimmed_paths!(report::dump_coroutine(tcx, def_id, dir, body, &before, &lowered, &after, &summary, &steps));
    }
    (changed.then_some(lowered), summary)
}
