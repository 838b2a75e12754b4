//! What a coroutine's tag (its state's discriminant, in `(*self)`) can be at each point
//! of its resume or drop body: a forward dataflow over sets of variant indices.
//!
//! A `discriminant((*self)) = v` write makes the set `{v}`; a `switchInt` on a value just
//! read by `discriminant((*self))` narrows the set on each edge to what that edge allows;
//! everything else passes the set on, unwind edges included. This is sound only when the
//! tag changes by those writes alone: `flatten_child` checks that the coroutine reference
//! is used only through projections before it relies on the sets.

use rustc_index::IndexVec;
use rustc_middle::mir::{BasicBlock, Body, Local, Location, Operand, Place, ProjectionElem, Rvalue, START_BLOCK, Statement, StatementKind, TerminatorKind};

/// The tag values each block may start with: `None` where no path reaches it yet.
pub type TagSets = IndexVec<BasicBlock, Option<Vec<bool>>>;

/// Forward dataflow of the possible tag values. The parent's writes of `k` that the
/// rewrite will remove are treated as the no-ops they become.
pub fn tag_sets(body: &Body<'_>, coroutine_ref: Local, entry: &[bool], ignored: &[(BasicBlock, usize)]) -> TagSets {
    let variant_count = entry.len();
    let mut sets: TagSets = IndexVec::from_elem_n(None, body.basic_blocks.len());
    sets[START_BLOCK] = Some(entry.to_vec());
    let mut work = vec![START_BLOCK];
    while let Some(bb) = work.pop() {
        let mut state = sets[bb].clone().unwrap();
        let data = &body.basic_blocks[bb];
        let mut tag_local: Option<Local> = None;
        for (index, stmt) in data.statements.iter().enumerate() {
            step(stmt, coroutine_ref, &mut state, ignored.contains(&(bb, index)), &mut tag_local);
        }
        let mut edges: Vec<(BasicBlock, Vec<bool>)> = Vec::new();
        match &data.terminator().kind {
            TerminatorKind::SwitchInt { discr: Operand::Move(p) | Operand::Copy(p), targets }
                if tag_local.is_some() && p.as_local() == tag_local =>
            {
                let mut rest = state.clone();
                for (value, target) in targets.iter() {
                    let mut only = vec![false; variant_count];
                    if let Some(slot) = usize::try_from(value).ok().filter(|&v| v < variant_count) {
                        only[slot] = state[slot];
                        rest[slot] = false;
                    }
                    edges.push((target, only));
                }
                edges.push((targets.otherwise(), rest));
            }
            _ => {
                for target in data.terminator().successors() {
                    edges.push((target, state.clone()));
                }
            }
        }
        for (target, incoming) in edges {
            let slot = &mut sets[target];
            let changed = match slot {
                None => {
                    *slot = Some(incoming);
                    true
                }
                Some(existing) => {
                    let mut changed = false;
                    for (e, i) in existing.iter_mut().zip(&incoming) {
                        if *i && !*e {
                            *e = true;
                            changed = true;
                        }
                    }
                    changed
                }
            };
            if changed {
                work.push(target);
            }
        }
    }
    sets
}

/// Whether `place` is `(*coroutine_ref)`: the coroutine itself, through the body's `self`.
pub fn is_coroutine(place: &Place<'_>, coroutine_ref: Local) -> bool {
    place.local == coroutine_ref && place.projection.as_slice() == [ProjectionElem::Deref]
}

/// Where `stmt` puts the tag, if it is the read `_t = discriminant((*coroutine_ref))`.
pub fn tag_read_into<'a, 'tcx>(stmt: &'a Statement<'tcx>, coroutine_ref: Local) -> Option<&'a Place<'tcx>> {
    match &stmt.kind {
        StatementKind::Assign(assign) => match &assign.1 {
            Rvalue::Discriminant(place) if is_coroutine(place, coroutine_ref) => Some(&assign.0),
            _ => None,
        },
        _ => None,
    }
}

/// Follows, statement by statement within one block, which local holds the tag just
/// read: a tag read sets it, any other assignment to that local clears it. Says whether
/// `stmt` was a tag read.
pub fn track_tag_local(stmt: &Statement<'_>, coroutine_ref: Local, tag_local: &mut Option<Local>) -> bool {
    if let Some(into) = tag_read_into(stmt, coroutine_ref) {
        *tag_local = into.as_local();
        return true;
    }
    if let StatementKind::Assign(assign) = &stmt.kind
        && Some(assign.0.local) == *tag_local
    {
        *tag_local = None;
    }
    false
}

/// One statement's effect on the possible tag values.
pub fn step(stmt: &Statement<'_>, coroutine_ref: Local, state: &mut [bool], ignored: bool, tag_local: &mut Option<Local>) {
    if let StatementKind::SetDiscriminant { place, variant_index } = &stmt.kind
        && is_coroutine(place, coroutine_ref)
    {
        if !ignored {
            state.iter_mut().for_each(|s| *s = false);
            if let Some(slot) = state.get_mut(variant_index.as_usize()) {
                *slot = true;
            }
        }
        *tag_local = None;
        return;
    }
    track_tag_local(stmt, coroutine_ref, tag_local);
}

/// The tag values at one statement.
pub fn tag_set_at(body: &Body<'_>, sets: &TagSets, coroutine_ref: Local, location: Location, ignored: &[(BasicBlock, usize)]) -> Option<Vec<bool>> {
    let mut state = sets[location.block].clone()?;
    let mut tag_local = None;
    for (index, stmt) in body.basic_blocks[location.block].statements[..location.statement_index].iter().enumerate() {
        step(stmt, coroutine_ref, &mut state, ignored.contains(&(location.block, index)), &mut tag_local);
    }
    Some(state)
}

/// The tag values a poll can end with, and so the next poll and the drop glue start
/// from: the least set holding Unresumed that is closed under "a poll that starts in one
/// of them returns or unwinds in". Nothing but this body's own writes changes the tag
/// (`self_ref_only_projected`), and a pinned coroutine is not moved.
pub fn observable_states(body: &Body<'_>, coroutine_ref: Local, variant_count: usize) -> Vec<bool> {
    let mut observable = vec![false; variant_count];
    observable[0] = true;
    loop {
        let sets = tag_sets(body, coroutine_ref, &observable, &[]);
        let mut next = observable.clone();
        for (bb, data) in body.basic_blocks.iter_enumerated() {
            // A poll ends at a return, at a resume of unwinding, and at any terminator that
            // unwinds straight out of the function.
            let exits = matches!(data.terminator().kind, TerminatorKind::Return | TerminatorKind::UnwindResume)
                || data.terminator().unwind() == Some(&rustc_middle::mir::UnwindAction::Continue);
            if !exits {
                continue;
            }
            let Some(exit) = tag_set_at(body, &sets, coroutine_ref, Location { block: bb, statement_index: data.statements.len() }, &[]) else {
                continue;
            };
            for (slot, possible) in next.iter_mut().zip(exit) {
                *slot |= possible;
            }
        }
        if next == observable {
            return observable;
        }
        observable = next;
    }
}

