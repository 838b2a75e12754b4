//! Returned and Poisoned arms: `Poll::Pending` instead of a panic, without debug-assertions.
//!
//! rustc gives every resume function an arm for state 1 (Returned) and, when the body
//! can unwind, for state 2 (Poisoned). Both panic if the future is polled again:
//!
//! ```text
//! // before
//! bb0:  { _17 = discriminant((*_18)); switchInt(move _17) -> [0: bb1, 1: bb32, 2: bb31, 3: bb29, otherwise: bb9]; }
//! bb31: { assert(const false, "`async fn` resumed after panicking") -> [success: bb31, unwind continue]; }
//! bb32: { assert(const false, "`async fn` resumed after completion") -> [success: bb32, unwind continue]; }
//!
//! // after (debug-assertions off): one block serves both arms
//! bb0:  { ...; switchInt(move _17) -> [0: bb1, 1: bb32, 2: bb32, 3: bb29, otherwise: bb9]; }
//! bb31: { unreachable; }
//! bb32: { _0 = Poll::<u32>::Pending; return; }
//! ```
//!
//! Polling a finished future is a contract violation of the caller's, for which the
//! `Future` docs allow any behaviour but undefined behaviour. Returning Pending touches
//! nothing inside the coroutine, so it is memory-safe whatever the state holds, and the
//! binary keeps no panic call, location or message for these arms.
//!
//! Why MIR and not the Cranelift function: at MIR level the arm's panic call never
//! becomes a mono item, so neither its code nor its `Location` constant reach the object,
//! and the arm disappears from every consumer (cg_clif, metadata for downstream crates).
//!
//! Preconditions (otherwise the pass declines):
//! - debug-assertions are off: with them on, rustc's panic is kept exactly;
//! - the coroutine is a Future (`async fn`, async block, async closure): `gen` blocks and
//!   plain coroutines keep rustc's semantics;
//! - the arm's block is rustc's `assert(const false, ResumedAfter..)`, reached only from
//!   the dispatch switch, so rewriting it changes nothing else.

use rustc_hir::LangItem;
use rustc_middle::mir::{
    AggregateKind, Body, Rvalue, Statement, StatementKind, TerminatorKind, RETURN_PLACE,
};
use rustc_middle::ty::{self, TyCtxt};

use super::{PassCx, PassOutcome};
use crate::body_edit::{clear_unreachable_blocks, edit_switch};
use crate::machine::{ArmKind, StateMachine};

pub fn run<'tcx>(cx: &PassCx<'tcx>, body: &mut Body<'tcx>) -> PassOutcome {
    if let Err(why) = super::may_change_repoll(cx, "rustc's panic is kept") {
        return PassOutcome::Declined(why);
    }
    let machine = match StateMachine::recover(body) {
        Ok(machine) => machine,
        Err(why) => return PassOutcome::Declined(why.0),
    };
    let Some(pending) = poll_pending(cx.tcx, body) else {
        return PassOutcome::Declined("the return type is not `Poll<T>`".into());
    };

    let predecessors = body.basic_blocks.predecessors();
    let mut rewritten = Vec::new();
    for kind in [ArmKind::Returned, ArmKind::Poisoned] {
        let Some(arm) = machine.arm(kind) else { continue };
        if !arm.panics_on_resume {
            return PassOutcome::Declined(format!(
                "the {kind:?} arm ({:?}) is not rustc's resumed-after assert",
                arm.target
            ));
        }
        // rustc's assert block names itself as its success target; that edge is dead.
        let outside = |pred: &_| *pred != machine.dispatch.block && *pred != arm.target;
        if predecessors[arm.target].iter().any(outside) {
            return PassOutcome::Declined(format!(
                "the {kind:?} arm's block {:?} is also reached from outside the dispatch",
                arm.target
            ));
        }
        rewritten.push((kind, arm.target));
    }
    if rewritten.is_empty() {
        return PassOutcome::Declined("the dispatch has no Returned or Poisoned arm".into());
    }

    let blocks = body.basic_blocks.as_mut();
    for &(_, block) in &rewritten {
        let data = &mut blocks[block];
        let source_info = data.terminator().source_info;
        data.statements.push(Statement::new(
            source_info,
            StatementKind::Assign(Box::new((RETURN_PLACE.into(), pending.clone()))),
        ));
        data.terminator_mut().kind = TerminatorKind::Return;
    }
    // The two arms are now the same code: one block serves both.
    if let [(_, returned), (_, poisoned)] = rewritten[..] {
        edit_switch(body, machine.dispatch.block, |value, target| {
            Some((value, if target == poisoned { returned } else { target }))
        });
        clear_unreachable_blocks(body);
    }
    let arms: Vec<String> = rewritten.iter().map(|(k, b)| format!("{k:?} ({b:?})")).collect();
    PassOutcome::Applied(format!(
        "debug-assertions off, Future kind; {} return Pending instead of panicking",
        arms.join(" and ")
    ))
}

/// `Poll::<T>::Pending` for the body's return type.
fn poll_pending<'tcx>(tcx: TyCtxt<'tcx>, body: &Body<'tcx>) -> Option<Rvalue<'tcx>> {
    let ty::Adt(adt, args) = body.local_decls[RETURN_PLACE].ty.kind() else { return None };
    if Some(adt.did()) != tcx.lang_items().get(LangItem::Poll) {
        return None;
    }
    let pending = tcx.lang_items().get(LangItem::PollPending)?;
    let variant = adt.variant_index_with_id(pending);
    Some(Rvalue::Aggregate(
        Box::new(AggregateKind::Adt(adt.did(), variant, args, None, None)),
        Default::default(),
    ))
}
