//! The coroutine transforms, in pipeline order.
//!
//! Every pass starts from a [`StateMachine`](crate::machine::StateMachine) recovered from
//! the body as it stands, checks its own preconditions, and either rewrites the body
//! and says why that was safe ([`PassOutcome::Applied`]) or leaves the body untouched
//! and says why ([`PassOutcome::Declined`]). Both end up in `corolift-report`.

use rustc_hir::CoroutineKind;
use rustc_hir::def_id::DefId;
use rustc_middle::mir::Body;
use rustc_middle::ty::TyCtxt;

pub mod await_calls;
pub mod await_free;
pub mod dead_states;
pub mod flatten_child;
pub mod inline_child;
pub mod last_arm_default;
pub mod merge_states;
pub mod ready_child;
pub mod returned_arm;
pub mod self_in_register;
pub mod single_return;

/// What a pass sees besides the body.
pub struct PassCx<'tcx> {
    pub tcx: TyCtxt<'tcx>,
    pub def_id: DefId,
    pub kind: CoroutineKind,
    /// The pass runs because the knobs named it or said `all`, not as part of the
    /// default: `inline_child` then splices every child, not only single-use ones.
    pub asked_for: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PassOutcome {
    /// The body was rewritten; the string is the evidence that it was safe.
    Applied(String),
    /// The body is untouched; the string says which precondition failed.
    Declined(String),
}

/// A pass as the pipeline and the knobs know it.
pub struct PassInfo {
    /// The name used in `-Cllvm-args=corolift=<name>,...`.
    pub name: &'static str,
    /// One line for the README and for `./y.sh help`.
    pub summary: &'static str,
    /// Part of `corolift=default` at opt-level 0.
    pub default_at_opt0: bool,
    /// Part of `corolift=default` at opt-level 1 and up.
    pub default_when_optimizing: bool,
    /// The pass rewrites the body when it applies. `self_in_register` does not: it only
    /// reads the final body, for the codegen hook.
    pub rewrites_mir: bool,
    pub run: for<'tcx> fn(&PassCx<'tcx>, &mut Body<'tcx>) -> PassOutcome,
}

/// Every pass, in the order the pipeline runs them.
///
/// The order matters: `await_calls` first, so that `merge_states` compares fewer blocks;
/// `inline_child` after the state passes, so that it splices each merged await once and
/// never an await that `ready_child` removed;
/// `returned_arm` next, so that an await-free child (lowered by the
/// same pipeline when its own MIR is requested) has no Pending return for `ready_child`
/// to see; `merge_states` and `ready_child` leave states without writes, which
/// `dead_states` removes; `flatten_child` right after `inline_child`, on the children it
/// spliced (it needs the dispatch as `inline_child` leaves it, before `last_arm_default`
/// turns an arm into the otherwise); a body left without suspend states is then
/// `await_free`. `last_arm_default` and `single_return` come late: they change the shapes
/// the others recognise (the dispatch's arms, "state write, then `return`").
/// `self_in_register` reads the final body, the one cg_clif lowers.
pub static PASSES: &[PassInfo] = &[
    PassInfo {
        name: "await_calls",
        summary: "the await desugaring's into_future and Pin::new_unchecked calls become the moves \
                  their MIR consists of",
        default_at_opt0: true,
        default_when_optimizing: true,
        rewrites_mir: true,
        run: await_calls::run,
    },
    PassInfo {
        name: "returned_arm",
        summary: "without debug-assertions, a Future polled after completion or after a panic \
                  returns Pending instead of panicking",
        default_at_opt0: true,
        default_when_optimizing: true,
        rewrites_mir: true,
        run: returned_arm::run,
    },
    PassInfo {
        name: "ready_child",
        summary: "an await of a child whose every return is Poll::Ready loses its Pending branch \
                  (and so its suspend state)",
        default_at_opt0: true,
        default_when_optimizing: true,
        rewrites_mir: true,
        run: ready_child::run,
    },
    PassInfo {
        name: "merge_states",
        summary: "two suspend states with the same saved locals and the same continuation \
                  become one, with one copy of the poll code",
        default_at_opt0: true,
        default_when_optimizing: true,
        rewrites_mir: true,
        run: merge_states::run,
    },
    PassInfo {
        name: "dead_states",
        summary: "suspend states that no reachable code writes leave the dispatch, the drop glue \
                  and the layout",
        default_at_opt0: true,
        default_when_optimizing: true,
        rewrites_mir: true,
        run: dead_states::run,
    },
    PassInfo {
        name: "inline_child",
        summary: "an await's poll of a child coroutine becomes the child's own (already lowered) \
                  resume code, spliced in: no call, and the child's resume function is not emitted \
                  once no caller is left; by default only a local async fn the crate mentions once",
        // Under the default only single-use children (`fn_uses`): a child awaited in several
        // places would be copied into each, and the corpus's resume bytes would grow
        // (README, "inline_child"). At opt-level 0 not at all: nothing is inlined there
        // (rustc's MIR inliner does not run either), and a debugger steps through each
        // child as its own function.
        default_at_opt0: false,
        default_when_optimizing: true,
        rewrites_mir: true,
        run: inline_child::run,
    },
    PassInfo {
        name: "flatten_child",
        summary: "a spliced child's states become variants of the parent: its tag is the parent's, \
                  its drops are its drop code, and the parent's dispatch jumps straight to the \
                  child's code for each of its states",
        // With inline_child, at opt-level 1 and up; under the default it declines where the
        // future would grow (the child's upvars move into the parent's prefix).
        default_at_opt0: false,
        default_when_optimizing: true,
        rewrites_mir: true,
        run: flatten_child::run,
    },
    PassInfo {
        name: "await_free",
        summary: "without debug-assertions, a Future that never suspends and has only Copy upvars \
                  loses its dispatch and state writes",
        default_at_opt0: true,
        default_when_optimizing: true,
        rewrites_mir: true,
        run: await_free::run,
    },
    PassInfo {
        name: "last_arm_default",
        summary: "a switch whose otherwise is unreachable (the state dispatch, every Poll match) \
                  makes its last arm the otherwise: a compare and branch instead of a jump table",
        default_at_opt0: true,
        default_when_optimizing: true,
        rewrites_mir: true,
        run: last_arm_default::run,
    },
    PassInfo {
        name: "single_return",
        summary: "every return of the resume function jumps to one exit block: one epilogue",
        default_at_opt0: true,
        default_when_optimizing: true,
        rewrites_mir: true,
        run: single_return::run,
    },
    PassInfo {
        name: "self_in_register",
        summary: "the pointer to the coroutine (and any local borrowed only as `&(*p).field`) stays in \
                  a register instead of a stack slot reloaded at every access; changes no MIR, \
                  steers cg_clif's SSA analysis",
        default_at_opt0: true,
        default_when_optimizing: true,
        rewrites_mir: false,
        run: self_in_register::run,
    },
];
