//! One dispatch per poll, once a flattened child's states are the parent's: the clean-up
//! after each child `flatten_child` flattens.
//!
//! Flattening leaves the child's code as it was spliced: a parent's dispatch arm for a
//! child state jumps to the await loop, which reaches the child's own switch on the (now
//! shared) tag; the child's drop code stays after paths where the child already returned;
//! a `Poll` match follows the child's return. Continuing the doc example of
//! `flatten_child` (`middle` awaiting `leaf`, leaf's states are variants 3 to 6; schematic,
//! block numbers illustrative):
//!
//! ```text
//! // before
//! bb0:  _12 = discriminant((*_13)); switchInt(move _12) -> [0: bb1, 3: bb14, 4: bb14, 5: bb14, 6: bb14, ...];
//! bb14: goto -> bb17;
//! bb17: _25 = discriminant((*_13)); switchInt(move _25) -> [3: bb18, 4: bb30, 5: bb31, 6: bb22, ...];
//!
//! // after
//! bb0:  _12 = discriminant((*_13)); switchInt(move _12) -> [0: bb1, 6: bb28, ...];
//! bb28: goto -> bb22;   // the copied goto path, straight to leaf's code for state 6
//! ```
//!
//! [`run`] does, in this order:
//! - `known_variant`: a `Poll` match right after a spliced return jumps to its arm;
//! - the dispatch arms (both bodies) of states no poll can end in go, when the dispatch's
//!   otherwise is `unreachable`: a poll starting from Unresumed only ever ends in the
//!   observable states (`tag_flow::observable_states`), so the child's Unresumed, Returned
//!   and Poisoned variants are passed through within a poll;
//! - each remaining resume-dispatch arm whose goto-only path reaches a switch on the tag
//!   (no tag write on the way) is threaded through that path, straight to the switch's
//!   target for the arm's state: the tag is that state there;
//! - every switch on the tag whose possible values (`tag_flow`'s dataflow, entered with
//!   the observable states) all lead to one target becomes a jump, and blocks no path
//!   reaches go.
//!
//! When it runs: after each child, before the next child of the same body is flattened
//! (`Stage::AfterEachStep` in `PASSES`; `flatten_child` reports each child it keeps with
//! `PassCx::step_done`). Run once, after all the children, it would give other code:
//! tried on 2026-11-30 (settling once after flatten_child's loop), 4 of the 735 resume
//! functions of the corpus at -O1 and -O3 compiled differently: `c_regress_flatten_nested_holder`'s
//! `grand` grew from 1,550 to 1,642 bytes at both levels, `c_select_join_ready`'s two
//! multi-child bodies shrank by 5 and 13 bytes.
//!
//! Which arms it threads: every arm of the resume dispatch whose goto-only path reaches a
//! switch on the tag. Right after a flattening those are the arms of the new child's
//! states (an arm of an earlier child was threaded after that child, and goes straight to
//! its code); as a helper inside flatten_child this step was given the new child's states
//! by name, and the MIR of the corpus and the benchmarks at -O0, -O1, -O3 and -O3 with
//! `corolift=all` is the same either way (compared on 2026-11-30 with `--emit=mir`).
//!
//! Preconditions (otherwise the body is left as it was): both bodies open with a dispatch
//! on the tag and reach the coroutine only through `(*self)` projections, and every tag
//! read feeds a switch (`machine::states_editable`): then every write of the tag is a
//! `discriminant(..) = v` the dataflow sees, and every switch on it is one it can decide.
//! The dispatch's arms go only when its otherwise is `unreachable` (a value without an arm
//! would be undefined behaviour anyway).

use rustc_middle::mir::{BasicBlock, BasicBlockData, Body, Local, Operand, StatementKind, Terminator, TerminatorKind};
use rustc_middle::ty::TyCtxt;

use super::{PassCx, PassOutcome};
use crate::body_edit::{clear_unreachable_blocks, edit_switch, remove_unreachable_blocks, use_counts};
use crate::machine::{find_dispatch, states_editable};
use crate::tag_flow::{TagSet, observable_states, step, tag_read_into, tag_sets, track_tag_local, variant_of};

/// Blocks followed from a dispatch arm to the next switch on the tag.
const THREAD_PATH_LIMIT: usize = 8;

pub fn run<'tcx>(cx: &PassCx<'tcx>, body: &mut Body<'tcx>) -> PassOutcome {
    if let Err(why) = states_editable(body) {
        return PassOutcome::Declined(why);
    }
    let Some(variant_count) = body.coroutine_layout_raw().map(|layout| layout.variant_fields.len()) else {
        return PassOutcome::Declined("the body has no coroutine layout".into());
    };
    // `states_editable` found both dispatches.
    let (Ok((dispatch, coroutine_ref)), Some(Ok((drop_dispatch, drop_ref)))) =
        (find_dispatch(body), body.coroutine_drop().map(find_dispatch))
    else {
        return PassOutcome::Declined("no dispatch in the resume body or the drop body".into());
    };
    let tcx = cx.tcx;
    let known_variants = crate::known_variant::thread_known_variants(tcx, body);
    let observable = observable_states(tcx, body, coroutine_ref, variant_count);
    let unobserved_arms = remove_unobserved_arms(body, dispatch, &observable);
    let drop_body = body.coroutine.as_mut().and_then(|info| info.coroutine_drop.as_mut()).expect("found above");
    let unobserved_drop_arms = remove_unobserved_arms(drop_body, drop_dispatch, &observable);
    let threaded_arms = thread_dispatch(body, dispatch, coroutine_ref);
    let mut folded_switches = fold_tag_switches(tcx, body, coroutine_ref, &observable);
    let mut dead_blocks = clear_unreachable_blocks(body) + remove_unreachable_blocks(body);
    let drop_body = body.coroutine.as_mut().and_then(|info| info.coroutine_drop.as_mut()).expect("found above");
    folded_switches += fold_tag_switches(tcx, drop_body, drop_ref, &observable);
    dead_blocks += clear_unreachable_blocks(drop_body) + remove_unreachable_blocks(drop_body);
    // Each step above that changes the body counts what it changed.
    if known_variants + unobserved_arms + unobserved_drop_arms + threaded_arms + folded_switches + dead_blocks == 0 {
        return PassOutcome::Declined("no dispatch arm, tag switch or Poll match to settle, and no unreachable block".into());
    }
    PassOutcome::Applied(format!(
        "{unobserved_arms} dispatch arms no poll can end in removed, {threaded_arms} arms threaded into the child's code, \
         {folded_switches} switches on the tag decided, {known_variants} Poll matches jumped past"
    ))
}

/// Each dispatch arm whose goto-only path reaches a switch on the tag: the path is copied,
/// and ends in a jump to that switch's target for the arm's state. Returns how many arms
/// were threaded.
fn thread_dispatch(body: &mut Body<'_>, dispatch: BasicBlock, coroutine_ref: Local) -> usize {
    let TerminatorKind::SwitchInt { targets, .. } = &body.basic_blocks[dispatch].terminator().kind else { return 0 };
    let arms: Vec<(u128, BasicBlock)> = targets.iter().collect();
    let mut threaded = 0;
    let mut new_arms = Vec::new();
    for (value, start) in arms {
        match thread_path(body, start, coroutine_ref, value) {
            Some(copy) => {
                threaded += 1;
                new_arms.push((value, copy));
            }
            None => new_arms.push((value, start)),
        }
    }
    // Each arm keeps its value and goes to its threaded copy (or where it went).
    edit_switch(body, dispatch, |value, _| new_arms.iter().find(|(v, _)| *v == value).copied());
    threaded
}

/// Copies the goto path from `start` to the first switch on the tag, ending in that
/// switch's target for `value`; the first copied block, or `None` if there is no such path.
fn thread_path(body: &mut Body<'_>, start: BasicBlock, coroutine_ref: Local, value: u128) -> Option<BasicBlock> {
    let mut path: Vec<BasicBlock> = Vec::new();
    let mut block = start;
    let (end, switch_read) = loop {
        if path.len() > THREAD_PATH_LIMIT || path.contains(&block) {
            return None;
        }
        let data = &body.basic_blocks[block];
        if data.is_cleanup {
            return None;
        }
        // No tag write on the way.
        let mut tag_local = None;
        for stmt in &data.statements {
            if matches!(&stmt.kind, StatementKind::SetDiscriminant { place, .. } if place.local == coroutine_ref) {
                return None;
            }
            track_tag_local(stmt, coroutine_ref, &mut tag_local);
        }
        match &data.terminator().kind {
            TerminatorKind::Goto { target } => {
                path.push(block);
                block = *target;
            }
            TerminatorKind::SwitchInt { discr: Operand::Move(p) | Operand::Copy(p), targets }
                if tag_local.is_some() && p.as_local() == tag_local =>
            {
                break (targets.target_for_value(value), tag_local);
            }
            _ => return None,
        }
    };
    // The switch block's statements run too, but its tag read, then the jump goes straight
    // to the arm.
    path.push(block);
    let first = BasicBlock::from_usize(body.basic_blocks.len());
    let count = path.len();
    for (i, &original) in path.iter().enumerate() {
        let data = &body.basic_blocks[original];
        let last = i + 1 == count;
        let next = if last { end } else { BasicBlock::from_usize(first.as_usize() + i + 1) };
        let mut statements = data.statements.clone();
        if last {
            // The switch's own tag read has no reader in the copy; nothing else goes.
            for stmt in &mut statements {
                if let Some(into) = tag_read_into(stmt, coroutine_ref)
                    && into.as_local() == switch_read
                {
                    stmt.make_nop(true);
                }
            }
        }
        let copy = BasicBlockData::new_stmts(
            statements,
            Some(Terminator { source_info: data.terminator().source_info, kind: TerminatorKind::Goto { target: next } }),
            false,
        );
        body.basic_blocks.as_mut().push(copy);
    }
    Some(first)
}

/// Every switch on the tag whose possible values (by the dataflow) all lead to one target
/// becomes a jump there; its tag read goes with it. Returns how many.
fn fold_tag_switches<'tcx>(tcx: TyCtxt<'tcx>, body: &mut Body<'tcx>, coroutine_ref: Local, entry: &TagSet) -> usize {
    let sets = tag_sets(tcx, body, coroutine_ref, entry, &[]);
    let uses = use_counts(body);
    let mut folds: Vec<(BasicBlock, BasicBlock, Option<usize>)> = Vec::new();
    for (bb, data) in body.basic_blocks.iter_enumerated() {
        let Some(entry) = &sets[bb] else { continue };
        let mut state = entry.clone();
        let mut tag_local = None;
        let mut read_at = None;
        for (index, stmt) in data.statements.iter().enumerate() {
            step(stmt, coroutine_ref, Some(&mut state), &mut tag_local);
            if let StatementKind::Assign(assign) = &stmt.kind
                && tag_local.is_some()
                && assign.0.as_local() == tag_local
            {
                read_at = Some(index);
            }
        }
        let TerminatorKind::SwitchInt { discr: Operand::Move(p) | Operand::Copy(p), targets } = &data.terminator().kind else {
            continue;
        };
        if tag_local.is_none() || p.as_local() != tag_local {
            continue;
        }
        let mut reached: Vec<BasicBlock> = Vec::new();
        for variant in state.iter() {
            let target = targets.target_for_value(u128::from(variant.as_u32()));
            if !reached.contains(&target) {
                reached.push(target);
            }
        }
        if let [only] = reached.as_slice() {
            // The read goes too when the switch was its only reader.
            let read = read_at.filter(|_| tag_local.is_some_and(|local| uses[local] == 2));
            folds.push((bb, *only, read));
        }
    }
    for &(bb, target, read) in &folds {
        let data = &mut body.basic_blocks.as_mut()[bb];
        if let Some(index) = read {
            data.statements[index].make_nop(true);
        }
        data.terminator_mut().kind = TerminatorKind::Goto { target };
    }
    folds.len()
}

/// Removes the dispatch arms of states no poll ends in, when the switch's otherwise is
/// `unreachable` (so that a removed value would be UB to see anyway). Returns how many.
fn remove_unobserved_arms(body: &mut Body<'_>, dispatch: BasicBlock, observable: &TagSet) -> usize {
    let TerminatorKind::SwitchInt { targets, .. } = &body.basic_blocks[dispatch].terminator().kind else { return 0 };
    let otherwise = &body.basic_blocks[targets.otherwise()];
    if !(otherwise.statements.iter().all(|s| matches!(s.kind, StatementKind::Nop | StatementKind::StorageDead(_)))
        && matches!(otherwise.terminator().kind, TerminatorKind::Unreachable))
    {
        return 0;
    }
    let before = targets.iter().count();
    // A value outside the variants is kept: it is not a state this body knows of.
    let observed = |value: u128| variant_of(value, observable).is_none_or(|v| observable.contains(v));
    edit_switch(body, dispatch, |value, target| observed(value).then_some((value, target)));
    let TerminatorKind::SwitchInt { targets, .. } = &body.basic_blocks[dispatch].terminator().kind else { unreachable!() };
    before - targets.iter().count()
}
