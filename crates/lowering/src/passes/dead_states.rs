//! Dead suspend states: removed from the dispatch, from the drop glue and from the layout.
//!
//! A suspend state is dead when no block reachable from the start of the resume body
//! writes it. Earlier passes make states dead: `ready_child` cuts the Pending edge of an
//! await whose child is Ready on its first poll, `merge_states` redirects a duplicate
//! state's writes to its twin. For `bar` after `ready_child`:
//!
//! ```text
//! // before                                             // after
//! bb0: switchInt(_17) -> [0: bb1, 1: bb22, 2: bb21,     bb0: switchInt(_17) -> [0: bb1, 1: bb22, 2: bb21,
//!                         3: bb20, otherwise: bb9]                              otherwise: bb9]
//! bb5: ((*_18) as variant#3).0 = move _4; ...           bb5: _23 = move _4; ...
//! bb6: _8 = &mut ((*_18) as variant#3).0; ...           bb6: _8 = &mut _23; ...
//! bb20: goto -> bb6;            // state 3's resume     bb20: unreachable;
//! /* coroutine_layout = variant_fields: {           /* coroutine_layout = variant_fields: {
//!      Unresumed(0): [], Returned (1): [],             Unresumed(0): [], Returned (1): [],
//!      Poisoned (2): [], Suspend0 (3): [_s0] } */      Poisoned (2): [] } */
//! ```
//!
//! What the pass does, on a copy of the body that replaces it only if every step worked:
//! - drops the dead states' arms from every switch on the tag (the resume dispatch, the
//!   coroutine drop body's dispatch, and a flattened child's switches if `flatten_child`
//!   ran first), and clears the blocks that became unreachable;
//! - numbers the live suspend states densely again (state == variant index), in the
//!   dispatch values, in every `discriminant(..) = s` write and in every
//!   `as variant#s` projection, in both bodies;
//! - removes the dead variants from `CoroutineLayout`, and every saved local no variant
//!   holds any more (through `layout_edit`, whose check then runs on both bodies);
//! - a saved local of a dead variant can still be used by reachable code: a state that is
//!   never written never survives a `return`, so such a use stays inside one poll.
//!   It becomes an ordinary local of the resume function (it is "demoted"), unless a live
//!   variant holds the same saved local, in which case the access goes through that
//!   variant's field for it (the same bytes: a saved local has one place in the layout).
//!
//! Why MIR: the layout is a product of `optimized_mir`'s `CoroutineLayout`, so removing a
//! variant there is what makes `size_of` shrink, and the drop glue (`coroutine_drop`),
//! the discriminant range and downstream crates (metadata) all follow from the same body.
//! Removing variants and their exclusive saved locals only takes constraints away from
//! the layout computation; the report and the `report` suite check that no future grew.
//!
//! Preconditions (otherwise the pass declines): the machine is recovered, both bodies
//! have the shape `machine::states_editable` checks (one alias of the coroutine, the tag
//! read only for switches), there is no async drop body, the drop body's dispatch (if any) is recognised, and no state write
//! of a dead state survives in a reachable block of either body.

use rustc_abi::{FieldIdx, VariantIdx};
use rustc_middle::mir::{Body, CoroutineLayout, Local, LocalDecl, ProjectionElem, StatementKind, VarDebugInfoContents};

use super::{PassCx, PassOutcome};
use crate::body_edit::{
    VariantRewrite, VariantTarget, clear_unreachable_blocks, edit_switch, reachable_blocks,
};
use crate::layout_edit::{LayoutEdit, check};
use crate::machine::{FIRST_SUSPEND_STATE, StateMachine, find_dispatch, states_editable, tag_switches};

pub fn run<'tcx>(cx: &PassCx<'tcx>, body: &mut Body<'tcx>) -> PassOutcome {
    match remove_dead_states(cx, body) {
        Ok((new_body, evidence)) => {
            *body = new_body;
            PassOutcome::Applied(evidence)
        }
        Err(why) => PassOutcome::Declined(why),
    }
}

/// States >= 3 that a reachable block of `body` writes.
fn written_states(body: &Body<'_>, coroutine_ref: Local) -> Vec<u32> {
    let reachable = reachable_blocks(body);
    let mut states = Vec::new();
    for (bb, data) in body.basic_blocks.iter_enumerated() {
        if !reachable.contains(bb) {
            continue;
        }
        for stmt in &data.statements {
            if let StatementKind::SetDiscriminant { place, variant_index } = &stmt.kind
                && place.local == coroutine_ref
                && place.projection.len() == 1
            {
                states.push(variant_index.as_u32());
            }
        }
    }
    states
}

/// The suspend states no reachable block writes, and the numbering of the others.
struct DeadStates {
    dead: Vec<u32>,
}

impl DeadStates {
    fn is_dead(&self, state: u32) -> bool {
        self.dead.contains(&state)
    }

    /// A live state's number once the dead ones are gone (Unresumed, Returned and
    /// Poisoned keep theirs).
    fn renumber(&self, state: u32) -> u32 {
        if state < FIRST_SUSPEND_STATE { state } else { state - self.dead.iter().filter(|&&d| d < state).count() as u32 }
    }
}

fn remove_dead_states<'tcx>(cx: &PassCx<'tcx>, body: &Body<'tcx>) -> Result<(Body<'tcx>, String), String> {
    let machine = StateMachine::recover(body).map_err(|why| why.0)?;
    states_editable(body)?;
    let coroutine_ref = machine.dispatch.coroutine_ref;
    let info = body.coroutine.as_ref().ok_or("the body has no coroutine info")?;
    if info.coroutine_drop_async.is_some() {
        return Err("the coroutine has an async drop body, which this pass does not edit".into());
    }
    let layout = body.coroutine_layout_raw().ok_or("the body has no coroutine layout")?;
    let variant_count = layout.variant_fields.len() as u32;

    let written = written_states(body, coroutine_ref);
    let states = DeadStates {
        dead: (FIRST_SUSPEND_STATE..variant_count).filter(|state| !written.contains(state)).collect(),
    };
    if states.dead.is_empty() {
        return Err("every suspend state is written on a reachable path".into());
    }

    let mut new = body.clone();
    // 1. The dispatches lose the dead arms; the live suspend states are renumbered.
    let drop_ref = match new.coroutine.as_ref().and_then(|i| i.coroutine_drop.as_ref()) {
        Some(drop_body) => Some(find_dispatch(drop_body).map_err(|why| format!("coroutine drop body: {why}"))?.1),
        None => None,
    };
    renumber_tag_switches(&mut new, coroutine_ref, &states);
    if let Some(drop_ref) = drop_ref {
        renumber_tag_switches(drop_body_mut(&mut new), drop_ref, &states);
    }

    // 2. Where the dead variants' fields go: a live variant holding the same saved local,
    //    or a fresh local of the resume function.
    let (field_targets, demoted) = dead_field_targets(&states, layout, &mut new);

    // 3. No write of a dead state may survive, in either body.
    if let Some(drop_ref) = drop_ref
        && written_states(drop_body_mut(&mut new), drop_ref).iter().any(|&s| states.is_dead(s))
    {
        return Err("the drop body writes a dead state".into());
    }
    if written_states(&new, coroutine_ref).iter().any(|&s| states.is_dead(s)) {
        return Err("a dead state is still written".into());
    }

    // 4. Rewrite the projections and state writes of both bodies.
    rewrite_variants(cx, &states, &field_targets, &mut new, coroutine_ref, drop_ref)?;

    // 5. The layout: dead variants out, then saved locals no variant holds.
    let removed_locals = shrink_layout(&states, variant_count, &mut new, coroutine_ref, drop_ref)?;

    let dead: Vec<String> = states.dead.iter().map(u32::to_string).collect();
    Ok((
        new,
        format!(
            "no reachable block writes state {}; removed from the dispatch, the drop glue and the layout \
             ({removed_locals} saved locals removed, {demoted} fields demoted to locals)",
            dead.join(", ")
        ),
    ))
}

fn drop_body_mut<'b, 'tcx>(body: &'b mut Body<'tcx>) -> &'b mut Body<'tcx> {
    body.coroutine.as_mut().and_then(|info| info.coroutine_drop.as_mut()).expect("the drop body was found before")
}

/// Every switch on the tag, not only the dispatch, loses the arms of dead states and has
/// the live ones renumbered: a flattened child's switches hold state numbers too
/// (`states_editable` made sure the tag is read for switches only).
fn renumber_tag_switches(body: &mut Body<'_>, coroutine_ref: Local, states: &DeadStates) {
    let keep_arm = |value: u128, target| {
        let state = u32::try_from(value).ok()?;
        if state >= FIRST_SUSPEND_STATE && states.is_dead(state) {
            return None;
        }
        Some((states.renumber(state) as u128, target))
    };
    for block in tag_switches(body, coroutine_ref) {
        edit_switch(body, block, keep_arm);
    }
    clear_unreachable_blocks(body);
}

/// Where each field of a dead variant goes: the same saved local in a live variant, or a
/// fresh local of `new` (demoted). Returns the targets and how many were demoted.
fn dead_field_targets<'tcx>(
    states: &DeadStates,
    layout: &CoroutineLayout<'tcx>,
    new: &mut Body<'tcx>,
) -> (Vec<((u32, FieldIdx), VariantTarget)>, usize) {
    let mut field_targets = Vec::new();
    let mut demoted = 0;
    for &state in &states.dead {
        let fields = &layout.variant_fields[VariantIdx::from_u32(state)];
        for (field, &saved) in fields.iter_enumerated() {
            let live_holder = layout.variant_fields.iter_enumerated().find_map(|(v, fs)| {
                let v = v.as_u32();
                if v < FIRST_SUSPEND_STATE || states.is_dead(v) {
                    return None;
                }
                fs.iter().position(|&s| s == saved).map(|position| (v, position))
            });
            let target = match live_holder {
                Some((v, position)) => {
                    VariantTarget::Field(VariantIdx::from_u32(states.renumber(v)), FieldIdx::from_usize(position))
                }
                None => {
                    let saved_ty = &layout.field_tys[saved];
                    demoted += 1;
                    VariantTarget::Demote(new.local_decls.push(LocalDecl::new(saved_ty.ty, saved_ty.source_info.span)))
                }
            };
            field_targets.push(((state, field), target));
        }
    }
    (field_targets, demoted)
}

/// Rewrites the projections and state writes of the resume body and the drop body: live
/// variants renumbered, a dead variant's fields to their targets.
fn rewrite_variants<'tcx>(
    cx: &PassCx<'tcx>,
    states: &DeadStates,
    field_targets: &[((u32, FieldIdx), VariantTarget)],
    new: &mut Body<'tcx>,
    coroutine_ref: Local,
    drop_ref: Option<Local>,
) -> Result<(), String> {
    let map = |variant: VariantIdx, field: Option<FieldIdx>| {
        let state = variant.as_u32();
        if !states.is_dead(state) {
            return Some(VariantTarget::Variant(VariantIdx::from_u32(states.renumber(state))));
        }
        // A dead state's variant can only be rewritten field by field.
        let field = field?;
        field_targets.iter().find(|(key, _)| *key == (state, field)).map(|(_, t)| *t)
    };
    VariantRewrite::new(cx.tcx, coroutine_ref, &map).apply(new)?;
    let Some(drop_ref) = drop_ref else { return Ok(()) };
    let drop_body = drop_body_mut(new);
    // The drop body runs between polls: a dead state's field that only lives within one
    // poll (demoted in the resume body) cannot hold anything there.
    let drop_map = |variant, field| match map(variant, field) {
        Some(VariantTarget::Demote(_)) => None,
        other => other,
    };
    // Debug info of the drop shim may name a dead state's fields; those names go.
    drop_body.var_debug_info.retain(|info| match &info.value {
        VarDebugInfoContents::Place(place) => !(place.local == drop_ref
            && matches!(place.projection.as_slice(),
                [ProjectionElem::Deref, ProjectionElem::Downcast(_, v), ..] if states.is_dead(v.as_u32()))),
        VarDebugInfoContents::Const(_) => true,
    });
    VariantRewrite::new(cx.tcx, drop_ref, &drop_map)
        .apply(drop_body)
        .map_err(|why| format!("coroutine drop body, on a reachable path: {why}"))
}

/// Removes the dead variants from the layout, then the saved locals no variant holds, and
/// checks both bodies against the result. Returns how many saved locals went.
fn shrink_layout(
    states: &DeadStates,
    variant_count: u32,
    new: &mut Body<'_>,
    coroutine_ref: Local,
    drop_ref: Option<Local>,
) -> Result<usize, String> {
    let info = new.coroutine.as_mut().unwrap();
    let layout = info.coroutine_layout.as_mut().unwrap();
    let saved_before = layout.field_tys.len();
    let mut edit = LayoutEdit::new(layout);
    for &state in &states.dead {
        edit.remove_variant(VariantIdx::from_u32(state));
    }
    let renumbering = edit.finish(layout);
    let removed_locals = saved_before - layout.field_tys.len();
    // The renumbering the bodies already follow (dense suspend states, fields unchanged).
    debug_assert!((0..variant_count).all(|v| {
        renumbering.variant(VariantIdx::from_u32(v)) == (!states.is_dead(v)).then(|| VariantIdx::from_u32(states.renumber(v)))
    }));
    let layout = layout.clone();
    check(&layout, new, coroutine_ref).map_err(|why| format!("resume body after the edit: {why}"))?;
    if let Some(drop_ref) = drop_ref {
        check(&layout, drop_body_mut(new), drop_ref).map_err(|why| format!("drop body after the edit: {why}"))?;
    }
    Ok(removed_locals)
}
