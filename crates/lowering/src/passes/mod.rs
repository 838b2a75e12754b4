//! The coroutine transforms, in pipeline order.
//!
//! Every pass starts from a [`StateMachine`](crate::machine::StateMachine) recovered from
//! the body as it stands, checks its own preconditions, and either rewrites the body
//! and says why that was safe ([`PassOutcome::Applied`]) or leaves the body untouched
//! and says why ([`PassOutcome::Declined`]). Both end up in `corolift-report`.

use std::cell::{Cell, RefCell};

use rustc_hir::CoroutineKind;
use rustc_hir::def_id::DefId;
use rustc_middle::mir::Body;
use rustc_middle::ty::TyCtxt;
use rustc_middle::ty::print::with_no_trimmed_paths;

use crate::fn_uses::LazyCensus;
use crate::knobs::OptGoal;
use crate::report;
use crate::verify::Verifier;

pub mod await_calls;
pub mod await_free;
pub mod construct_in_place;
pub mod dead_states;
pub mod flatten_child;
pub mod forward_upvars;
pub mod inline_child;
pub mod last_arm_default;
pub mod merge_states;
pub mod one_dispatch;
pub mod ready_child;
pub mod returned_arm;
pub mod single_return;
pub mod unused_locals;

/// What a pass sees besides the body.
pub struct PassCx<'tcx> {
    pub tcx: TyCtxt<'tcx>,
    pub def_id: DefId,
    pub kind: CoroutineKind,
    /// The pass runs because the knobs named it or said `all`, not as part of the
    /// default: `inline_child` then splices every child, not only single-use ones.
    pub asked_for: bool,
    /// The session's census, which `inline_child`'s default policy looks children up in.
    /// A shared handle rather than a borrow of the caller's
    /// [`LoweringSession`](crate::LoweringSession): `'tcx` is the only lifetime the passes
    /// name, and the session does not live that long.
    pub census: LazyCensus,
    /// How the pipeline runs passes on this body: see [`PassCx::run`].
    pub(crate) runs: PipelineRuns,
}

/// What the pipeline keeps while it runs the passes on one body.
pub(crate) struct PipelineRuns {
    /// Checks every body a pass changed (debug builds of corolift, and `corolift-verify`).
    pub verifier: Option<Verifier>,
    /// With `corolift-dump`: the MIR after each pass (or step of a pass) that changed it.
    pub steps: Option<RefCell<Vec<(&'static str, String)>>>,
    /// The selected passes run after each step of another ([`Stage::AfterEachStep`]).
    pub followers: Vec<&'static PassInfo>,
    /// How each run of a follower went, in order.
    pub follower_outcomes: RefCell<Vec<(&'static str, PassOutcome)>>,
    /// How many times a body was checked and dumped ([`PassCx::checkpoint`]). A pass
    /// that changed the body while this count stayed put is checked once it returns;
    /// one that reported steps ([`PassCx::step_done`]) was checked after each.
    pub checkpoints: Cell<usize>,
}

impl<'tcx> PassCx<'tcx> {
    /// Runs `pass` on `body`; if it changed the body, the verifier checks the result (a
    /// failure is a fatal error naming the pass) and the dump keeps it.
    pub(crate) fn run(&self, pass: &PassInfo, body: &mut Body<'tcx>) -> PassOutcome {
        let Some(transform) = pass.mir_transform() else {
            return PassOutcome::Declined("not a MIR transform".into());
        };
        let checkpoints_before = self.runs.checkpoints.get();
        // Reasons name items and types. Trimmed paths may only be computed for a
        // diagnostic, so rustc ICEs at exit if they were ("trimmed_def_paths called,
        // diagnostics were expected but none were emitted", seen compiling tokio).
        let outcome = with_no_trimmed_paths!(transform(self, body));
        if matches!(outcome, PassOutcome::Applied(_)) && self.runs.checkpoints.get() == checkpoints_before {
            self.checkpoint(pass.name, body);
        }
        outcome
    }

    /// Called by a pass that works in steps (`flatten_child`: one child) after each step
    /// it kept: the body is checked and dumped, then the passes that run after each of
    /// its steps run on it, in `PASSES` order.
    pub fn step_done(&self, pass: &'static str, body: &mut Body<'tcx>) {
        self.checkpoint(pass, body);
        for follower in self.runs.followers.iter().filter(|f| f.follows() == Some(pass)) {
            let outcome = self.run(follower, body);
            self.runs.follower_outcomes.borrow_mut().push((follower.name, outcome));
        }
    }

    /// The verifier's check and the dump of `body`, just changed by `pass`.
    fn checkpoint(&self, pass: &'static str, body: &Body<'tcx>) {
        let tcx = self.tcx;
        self.runs.checkpoints.set(self.runs.checkpoints.get() + 1);
        if let Some(verifier) = &self.runs.verifier
            && let Err(why) = with_no_trimmed_paths!(verifier.check(tcx, body))
        {
            tcx.dcx().fatal(format!(
                "corolift: after the pass `{pass}`, the body of {} fails the verifier: {why}. This is a bug in corolift; \
                 `-Cllvm-args=corolift=-{pass}` leaves the pass out",
                with_no_trimmed_paths!(tcx.def_path_str(self.def_id)),
            ));
        }
        if let Some(steps) = &self.runs.steps {
            steps.borrow_mut().push((pass, with_no_trimmed_paths!(report::mir_text(tcx, body))));
        }
    }
}

/// The guard of the passes that change what polling a finished Future does
/// (`returned_arm`, `await_free`): debug-assertions off (with them on, rustc's panic is
/// the contract; `with_debug_assertions` says what is kept) and the coroutine a Future (a
/// `gen` block or a plain coroutine keeps its semantics).
pub fn may_change_repoll(cx: &PassCx<'_>, with_debug_assertions: &str) -> Result<(), String> {
    if cx.tcx.sess.opts.debug_assertions {
        return Err(format!("debug-assertions are on: {with_debug_assertions}"));
    }
    if !matches!(cx.kind, CoroutineKind::Desugared(rustc_hir::CoroutineDesugaring::Async, _)) {
        return Err(format!("{} is not a Future: its semantics are kept", cx.kind));
    }
    Ok(())
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
    /// `Some(why)`: the pass only makes sense for the Cranelift backend, and the LLVM driver
    /// does not run it (the report gives the reason).
    pub cranelift_only: Option<&'static str>,
    /// `Some((goal, why))`: under the LLVM driver, in a build for `goal`, the default
    /// leaves the pass out: LLVM does better without it there. Named by the knobs, it runs.
    pub llvm_leaves_out: Option<(OptGoal, &'static str)>,
    pub stage: Stage,
}

/// Where a pass does its work.
pub enum Stage {
    /// A MIR transform, run by the pipeline in the `optimized_mir` override: the layout,
    /// the drop glue, the metadata and every backend see its result.
    Mir(for<'tcx> fn(&PassCx<'tcx>, &mut Body<'tcx>) -> PassOutcome),
    /// A MIR transform that the pipeline runs each time the pass named `of` has finished a
    /// step ([`PassCx::step_done`]), before its next one, and not in the sequence of its
    /// own: `one_dispatch` after each child `flatten_child` flattens.
    AfterEachStep { of: &'static str, run: for<'tcx> fn(&PassCx<'tcx>, &mut Body<'tcx>) -> PassOutcome },
    /// A step of the Cranelift backend's codegen hooks (crates/codegen): it reads the final
    /// MIR and steers how cg_clif lowers it, and its outcome joins the report line there.
    /// It changes no MIR, so another backend has nothing of it.
    Codegen,
}

impl PassInfo {
    /// The pass's MIR transform, if it is one.
    pub fn mir_transform(&self) -> Option<for<'tcx> fn(&PassCx<'tcx>, &mut Body<'tcx>) -> PassOutcome> {
        match self.stage {
            Stage::Mir(run) | Stage::AfterEachStep { run, .. } => Some(run),
            Stage::Codegen => None,
        }
    }

    /// The pass after each of whose steps this one runs, if it runs so.
    pub fn follows(&self) -> Option<&'static str> {
        match self.stage {
            Stage::AfterEachStep { of, .. } => Some(of),
            Stage::Mir(_) | Stage::Codegen => None,
        }
    }
}

/// Every pass, in the order the pipeline runs them. Why this order, from the code:
/// - `await_calls` first: `into_future` and `Pin::new_unchecked` become moves, which
///   `construct_in_place` forwards the new future through and `merge_states` compares as
///   plain statements;
/// - `construct_in_place` next: the child future is built in its saved field before the
///   state passes look at the awaits, and `flatten_child` later takes the child's upvars
///   straight from that aggregate;
/// - `forward_upvars` after both: the moves it follows from an upvar into a saved local are
///   the ones `await_calls` made plain, and an argument future built in place is moved into
///   its awaitee there; before the state passes, so that `dead_states` and `merge_states`
///   compare the smaller layout;
/// - `returned_arm` is independent of the others (it rewrites only the Returned and
///   Poisoned arms); early, so that the later passes see one shared arm. It does not
///   decide what `ready_child` sees of a child: an await-free child's Returned arm goes
///   with its dispatch, in the child's own `await_free`;
/// - `ready_child` and `merge_states` leave suspend states that nothing writes any more,
///   which `dead_states` then takes out of the dispatch, the drop glue and the layout;
/// - `inline_child` after the state passes, so that it splices each merged await once and
///   never an await `ready_child` removed; `flatten_child` right after it, on the children
///   it spliced (it needs the dispatch as `inline_child` leaves it, before
///   `last_arm_default` turns an arm into the otherwise); `one_dispatch` after each child
///   it flattens, before the next: the arms it threads are then that child's states';
/// - a body the passes above left without a suspend state is then `await_free`;
/// - `last_arm_default` and `single_return` come late: they change the shapes the others
///   recognise (the dispatch's arms, "state write, then `return`");
/// - `unused_locals` is the last MIR pass: it removes what the others left unused, and a
///   parent that splices this body later copies only what is left;
/// - the two codegen steps come last: they read the final body, the one cg_clif lowers.
pub static PASSES: &[PassInfo] = &[
    PassInfo {
        name: "await_calls",
        summary: "the await desugaring's into_future and Pin::new_unchecked calls become the moves \
                  their MIR consists of",
        default_at_opt0: true,
        default_when_optimizing: true,
        cranelift_only: None,
        llvm_leaves_out: None,
        stage: Stage::Mir(await_calls::run),
    },
    PassInfo {
        name: "construct_in_place",
        summary: "a call of an async fn (a function that only builds a coroutine from its arguments) \
                  becomes that aggregate, written straight into the place the future is moved to: \
                  no call, no temporary copy of the child future",
        default_at_opt0: true,
        default_when_optimizing: true,
        cranelift_only: None,
        llvm_leaves_out: None,
        stage: Stage::Mir(construct_in_place::run),
    },
    PassInfo {
        name: "forward_upvars",
        summary: "a saved local initialised by moving an upvar that is not used again lives in that \
                  upvar's bytes: an async fn's argument held across an await is not stored twice, and \
                  an awaited argument future is not copied into its awaitee (rust-lang/rust#62958)",
        default_at_opt0: true,
        default_when_optimizing: true,
        cranelift_only: None,
        llvm_leaves_out: None,
        stage: Stage::Mir(forward_upvars::run),
    },
    PassInfo {
        name: "returned_arm",
        summary: "without debug-assertions, a Future polled after completion or after a panic \
                  returns Pending instead of panicking",
        default_at_opt0: true,
        default_when_optimizing: true,
        cranelift_only: None,
        llvm_leaves_out: Some((
            OptGoal::Speed,
            "a panicking Returned arm tells LLVM that a finished child is never polled again, which it uses when it inlines a chain of polls; with a Pending arm instead it keeps those paths (seed 0.94M against 1.37M instructions at -O3 without and with it)",
        )),
        stage: Stage::Mir(returned_arm::run),
    },
    PassInfo {
        name: "ready_child",
        summary: "an await of a child whose every return is Poll::Ready loses its Pending branch \
                  (and so its suspend state)",
        default_at_opt0: true,
        default_when_optimizing: true,
        cranelift_only: None,
        llvm_leaves_out: None,
        stage: Stage::Mir(ready_child::run),
    },
    PassInfo {
        name: "merge_states",
        summary: "two suspend states with the same saved locals and the same continuation \
                  become one, with one copy of the poll code",
        default_at_opt0: true,
        default_when_optimizing: true,
        cranelift_only: None,
        llvm_leaves_out: None,
        stage: Stage::Mir(merge_states::run),
    },
    PassInfo {
        name: "dead_states",
        summary: "suspend states that no reachable code writes leave the dispatch, the drop glue \
                  and the layout",
        default_at_opt0: true,
        default_when_optimizing: true,
        cranelift_only: None,
        llvm_leaves_out: None,
        stage: Stage::Mir(dead_states::run),
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
        cranelift_only: None,
        llvm_leaves_out: None,
        stage: Stage::Mir(inline_child::run),
    },
    PassInfo {
        name: flatten_child::NAME,
        summary: "a spliced child's states become variants of the parent: its tag is the parent's, \
                  its drops are its drop code, and the parent's write of the await state goes; \
                  one child at a time, with one_dispatch after each",
        // With inline_child, at opt-level 1 and up; under every knob it declines where the
        // future would grow (the child's upvars move into the parent's prefix).
        default_at_opt0: false,
        default_when_optimizing: true,
        cranelift_only: None,
        llvm_leaves_out: None,
        stage: Stage::Mir(flatten_child::run),
    },
    PassInfo {
        name: "one_dispatch",
        summary: "after each child flatten_child flattens: the dispatch arms of states no poll ends in go, \
                  each arm of the child's states jumps straight to the child's code for it, and every \
                  switch on the tag whose value the dataflow decides becomes a jump",
        // It runs only after a step of flatten_child, so only where that pass runs.
        default_at_opt0: false,
        default_when_optimizing: true,
        cranelift_only: None,
        llvm_leaves_out: None,
        stage: Stage::AfterEachStep { of: flatten_child::NAME, run: one_dispatch::run },
    },
    PassInfo {
        name: "await_free",
        summary: "without debug-assertions, a Future that never suspends and has only Copy upvars \
                  loses its dispatch and state writes",
        default_at_opt0: true,
        default_when_optimizing: true,
        cranelift_only: None,
        llvm_leaves_out: None,
        stage: Stage::Mir(await_free::run),
    },
    PassInfo {
        name: "last_arm_default",
        summary: "a switch whose otherwise is unreachable (the state dispatch, every Poll match) \
                  makes its last arm the otherwise: a compare and branch instead of a jump table",
        default_at_opt0: true,
        default_when_optimizing: true,
        cranelift_only: Some(
            "cg_clif lowers a switch with an unreachable otherwise to a bounds check and a jump table; LLVM drops an unreachable otherwise itself",
        ),
        llvm_leaves_out: None,
        stage: Stage::Mir(last_arm_default::run),
    },
    PassInfo {
        name: "single_return",
        summary: "every return of the resume function jumps to one exit block: one epilogue (and, \
                  under LLVM, one Poll value that a caller's loop can branch on)",
        default_at_opt0: true,
        default_when_optimizing: true,
        cranelift_only: None,
        // Under LLVM with optimization: with one `return`, `_0` is one alloca that SROA makes
        // a phi of the Poll discriminant, which JumpThreading threads in an inlining caller,
        // so the Ready edge leaves the caller's poll loop directly; with several, LLVM merges
        // the returns into a phi of the whole Poll pair and the loop stays.
        llvm_leaves_out: Some((
            OptGoal::Debug,
            "nothing merges the jumps to the shared exit there: one more instruction per return (benches/compare/chain16_plain: 17,072,012 against 16,752,012 instructions with and without it, 2026-11-30)",
        )),
        stage: Stage::Mir(single_return::run),
    },
    PassInfo {
        name: "unused_locals",
        summary: "locals that nothing uses but their storage markers (left by the splices and the \
                  rewrites after them) are removed from the resume body and the drop body",
        default_at_opt0: true,
        default_when_optimizing: true,
        cranelift_only: None,
        llvm_leaves_out: None,
        stage: Stage::Mir(unused_locals::run),
    },
    PassInfo {
        name: "self_in_register",
        summary: "the pointer to the coroutine (and any local borrowed only as `&(*p).field`) stays in \
                  a register instead of a stack slot reloaded at every access; changes no MIR, \
                  steers cg_clif's SSA analysis",
        default_at_opt0: true,
        default_when_optimizing: true,
        cranelift_only: Some(
            "it steers cg_clif's SSA analysis; LLVM keeps a pointer that is only dereferenced in a register itself",
        ),
        llvm_leaves_out: None,
        stage: Stage::Codegen,
    },
    PassInfo {
        name: "share_stack_slots",
        summary: "locals whose storage is never live at the same time share a stack slot, and a \
                  slot no instruction names keeps no bytes: a resume function's frame at its live \
                  size; a codegen step (crates/codegen/src/shared_slots.rs), changes no MIR",
        default_at_opt0: true,
        default_when_optimizing: true,
        cranelift_only: Some(
            "it recolours cg_clif's stack slots; LLVM colours its stack slots itself (StackColoring, from the lifetime markers rustc emits)",
        ),
        llvm_leaves_out: None,
        stage: Stage::Codegen,
    },
];
