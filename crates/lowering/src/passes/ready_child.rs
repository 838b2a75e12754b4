//! Awaits of a child future that is Ready on its first poll: the Pending edge is cut.
//!
//! `bar` awaits `foo`, whose body never suspends. Once `await_free` has lowered `foo`,
//! every `return` of `foo`'s resume function returns `Poll::Ready`, so the parent's
//! Pending branch, which is the suspend site of the await, can never run:
//!
//! ```text
//! // before
//! bb5: { _7 = <{async fn body of foo()} as Future>::poll(move _8, move _2) -> [return: bb6, unwind: bb11]; }
//! bb6: { StorageDead(_9); StorageDead(_8); _10 = discriminant(_7);
//!        switchInt(move _10) -> [0: bb9, 1: bb8, otherwise: bb7]; }
//! bb8: { StorageDead(_7); _0 = Poll::<i32>::Pending; ...; discriminant((*_14)) = 3; return; }
//!
//! // after
//! bb6: { StorageDead(_9); StorageDead(_8); _10 = discriminant(_7); goto -> bb9; }
//! bb8: { unreachable; }      // cleared; state 3 is now written nowhere
//! ```
//!
//! State 3 then has no reachable write, and `dead_states` removes it from the dispatch
//! and the layout.
//!
//! The proof reads the `optimized_mir` of the body the poll resolves to (for an async
//! closure called by value, its by-move body, not the coroutine's own), which for a local child is corolift's own
//! lowered body and for a child from another crate is the body that crate's corolift
//! wrote into its metadata: in either case the body that will run. The child is Ready on
//! *every* poll when every reachable `return` of its resume function is preceded, in the
//! same block, by a last write of `_0` that builds `Poll::Ready`, and `_0` is never
//! borrowed (rustc's `borrowed_locals`, which also counts a borrow of a part of it, such
//! as `&mut (_0 as Ready).0`). rustc's own machine for an await-free body passes (its Returned arm panics,
//! it does not return), and so does one that `await_free` lowered (every poll runs the
//! body); one whose Returned arm `returned_arm` turned into `return Pending` does not.
//!
//! Why every poll and not just the first: the same `<Child as Future>::poll` call and
//! `match` shape can be written by hand (`match fut.as_mut().poll(cx) { .. }`), and a
//! hand-written second poll of a finished child would then read a Pending as Ready.
//!
//! Why MIR: the property is about which code paths exist, and the layout change that
//! follows (`dead_states`) can only be made in MIR.
//!
//! Preconditions (otherwise the await is left alone): the call is
//! `<Child as Future>::poll` on a concrete coroutine type other than this coroutine, the
//! child's MIR is available, the call returns to a block reached from nowhere else that
//! switches on the discriminant of the call's result.

use rustc_hir::LangItem;
use rustc_hir::def_id::DefId;
use rustc_index::bit_set::DenseBitSet;
use rustc_middle::mir::{
    AggregateKind, BasicBlock, Body, RETURN_PLACE, START_BLOCK, Rvalue, StatementKind, TerminatorKind,
};
use rustc_mir_dataflow::impls::borrowed_locals;
use rustc_middle::ty::{self, Instance, TyCtxt, TypingEnv};

use super::{PassCx, PassOutcome};
use crate::body_edit::{Mentions, clear_unreachable_blocks, reachable_blocks};

/// One `<Child as Future>::poll(..)` call of the parent.
struct ChildPoll {
    child: DefId,
    /// The block the call returns to, which switches on the result's discriminant.
    result_switch: BasicBlock,
    ready_target: BasicBlock,
}

pub fn run<'tcx>(cx: &PassCx<'tcx>, body: &mut Body<'tcx>) -> PassOutcome {
    let tcx = cx.tcx;
    let (Some(poll_fn), Some(ready)) =
        (tcx.lang_items().get(LangItem::FuturePoll), tcx.lang_items().get(LangItem::PollReady))
    else {
        return PassOutcome::Declined("the Future/Poll lang items are missing".into());
    };
    let typing_env = TypingEnv::post_analysis(tcx, cx.def_id);
    let predecessors = body.basic_blocks.predecessors();
    let reachable = reachable_blocks(body);
    let mut polls = Vec::new();
    let mut skipped = Vec::new();
    for (bb, data) in body.basic_blocks.iter_enumerated() {
        if !reachable.contains(bb) {
            continue;
        }
        let TerminatorKind::Call { func, destination, target: Some(target), .. } = &data.terminator().kind
        else {
            continue;
        };
        let Some((callee, args)) = func.const_fn_def() else { continue };
        if callee != poll_fn {
            continue;
        }
        let ty::Coroutine(coroutine, _) = *args.type_at(0).kind() else { continue };
        // The body that runs is the instance the poll resolves to, which is not always the
        // coroutine's own: an async closure called by value runs its by-move body
        // (`tests/corpus/c_regress_ready_child_by_move_body.rs`).
        let child = match Instance::try_resolve(tcx, typing_env, poll_fn, args) {
            Ok(Some(Instance { def: ty::InstanceKind::Item(body_def), .. })) => body_def,
            _ => {
                skipped.push(format!("{bb:?}: the poll of {} does not resolve to a body here", tcx.def_path_str(coroutine)));
                continue;
            }
        };
        if child == cx.def_id {
            skipped.push(format!("{bb:?}: the coroutine polls itself"));
            continue;
        }
        let Some(result) = destination.as_local() else { continue };
        if predecessors[*target].as_slice() != [bb] {
            skipped.push(format!("{bb:?}: the poll's return block is shared"));
            continue;
        }
        let Some(ready_target) = result_switch(tcx, body, *target, result, ready) else {
            skipped.push(format!("{bb:?}: the poll result is not switched on right away"));
            continue;
        };
        polls.push(ChildPoll { child, result_switch: *target, ready_target });
    }
    if polls.is_empty() {
        return PassOutcome::Declined(if skipped.is_empty() {
            "no await of a coroutine child".into()
        } else {
            skipped.join("; ")
        });
    }

    let mut cut = Vec::new();
    for poll in &polls {
        match child_always_ready(tcx, poll.child, ready) {
            Ok(()) => cut.push(poll),
            Err(why) => skipped.push(format!("{}: {why}", tcx.def_path_str(poll.child))),
        }
    }
    let mut unique = Vec::new();
    for reason in skipped {
        if !unique.contains(&reason) {
            unique.push(reason);
        }
    }
    let skipped = unique;
    if cut.is_empty() {
        return PassOutcome::Declined(skipped.join("; "));
    }
    let blocks = body.basic_blocks.as_mut();
    for poll in &cut {
        blocks[poll.result_switch].terminator_mut().kind = TerminatorKind::Goto { target: poll.ready_target };
    }
    clear_unreachable_blocks(body);
    let mut names: Vec<String> = Vec::new();
    for poll in &cut {
        let name = tcx.def_path_str(poll.child);
        if !names.contains(&name) {
            names.push(name);
        }
    }
    let mut evidence = format!(
        "every return of {} builds Poll::Ready, so the Pending branch after its poll is dead",
        names.join(", ")
    );
    if !skipped.is_empty() {
        evidence.push_str(&format!(" (kept: {})", skipped.join("; ")));
    }
    PassOutcome::Applied(evidence)
}

/// In `block`: `_d = discriminant(result); switchInt(_d) -> [ready: A, ..]`. Returns A.
/// Returns (A, B).
fn result_switch<'tcx>(
    tcx: TyCtxt<'tcx>,
    body: &Body<'tcx>,
    block: BasicBlock,
    result: rustc_middle::mir::Local,
    ready: DefId,
) -> Option<BasicBlock> {
    let data = &body.basic_blocks[block];
    let TerminatorKind::SwitchInt { discr, targets } = &data.terminator().kind else { return None };
    let discr = discr.place()?.as_local()?;
    let reads_result = data.statements.iter().any(|stmt| match &stmt.kind {
        StatementKind::Assign(assign) => {
            assign.0.as_local() == Some(discr)
                && matches!(&assign.1, Rvalue::Discriminant(p) if p.as_local() == Some(result))
        }
        _ => false,
    });
    if !reads_result {
        return None;
    }
    let ty::Adt(adt, _) = body.local_decls[result].ty.kind() else { return None };
    if Some(adt.did()) != tcx.lang_items().get(LangItem::Poll) {
        return None;
    }
    let ready_value = adt.discriminant_for_variant(tcx, adt.variant_index_with_id(ready)).val;
    targets.iter().find(|(v, _)| *v == ready_value).map(|(_, target)| target)
}

/// Does every reachable `return` of `child`'s resume function return `Poll::Ready`?
fn child_always_ready(tcx: TyCtxt<'_>, child: DefId, ready: DefId) -> Result<(), String> {
    if !tcx.is_mir_available(child) {
        return Err("its MIR is not available".into());
    }
    let body = tcx.optimized_mir(child);
    // rustc's borrow scan: it also sees a borrow of a projection (`&mut (_0 as Ready).0`).
    if borrowed_locals(body).contains(RETURN_PLACE) {
        return Err("its return place is borrowed".into());
    }
    let every_poll_starts_at = START_BLOCK;
    let mut seen = DenseBitSet::new_empty(body.basic_blocks.len());
    let mut work = vec![every_poll_starts_at];
    while let Some(bb) = work.pop() {
        if !seen.insert(bb) {
            continue;
        }
        let data = &body.basic_blocks[bb];
        work.extend(data.terminator().successors());
        if !matches!(data.terminator().kind, TerminatorKind::Return) {
            continue;
        }
        // The last statement that touches `_0` must build `Poll::Ready` into all of it.
        let last_write = data.statements.iter().rev().find(|stmt| Mentions::all().of_statement(stmt).contains(&RETURN_PLACE));
        let builds_ready = match last_write.map(|stmt| &stmt.kind) {
            Some(StatementKind::Assign(assign)) if assign.0.as_local() == Some(RETURN_PLACE) => match &assign.1 {
                Rvalue::Aggregate(kind, _) => match **kind {
                    AggregateKind::Adt(adt, variant, ..) => {
                        tcx.adt_def(adt).variant(variant).def_id == ready
                    }
                    _ => false,
                },
                _ => false,
            },
            _ => false,
        };
        if !builds_ready {
            return Err(format!("its return in {bb:?} may not be Poll::Ready"));
        }
    }
    Ok(())
}

