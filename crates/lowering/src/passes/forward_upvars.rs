//! Saved locals that live in an upvar's bytes: an argument is not stored twice, and a
//! future passed in and awaited does not double at every level (rust-lang/rust#62958).
//!
//! An async fn's arguments are its coroutine's upvars, in the layout's prefix. The body's
//! first act is `let arg = arg;`: each argument moves into a local, and a local held across
//! an await is a saved local, with a place of its own in a variant. So an 8 KiB argument
//! held across one await costs 16 KiB. The same happens to a future passed in and awaited:
//! it is an upvar, then the saved local `fut`, then the awaitee, each a full copy, and a
//! ten-deep nesting of such functions around an 8 KiB future is 8 MiB.
//!
//! ```text
//! // before                                          // after
//! bb1: { ((*_22) as variant#3).0 = move ((*_22).0);  bb1: { nop;
//!        ... }                                              ... }
//! bb10: { _13 = move ((*_22) as variant#3).0;        bb10: { nop;
//!         _12 = move _13; ... }                              nop; ... }
//! bb11: { ((*_22) as variant#4).0 = move _12; }      bb11: { nop; }
//! bb12: { _16 = &mut ((*_22) as variant#4).0; ... }  bb12: { _16 = &mut ((*_22).0); ... }
//! /* variant_fields: { ..., Suspend0(3): [_s0, _s1],  /* variant_fields: { ..., Suspend0(3): [_s1],
//!                          Suspend1(4): [_s2, ...] }                       Suspend1(4): [...] }
//! ```
//!
//! A saved local `s` initialised by moving (or copying) upvar `u`, directly or through
//! temporaries used for nothing else, lives in `u`'s bytes: every place of `s` becomes the
//! same place of `u`, the moves go, and no variant holds `s` any more. The awaitee that is
//! then moved out of such a local is moved out of `u` itself, and is forwarded too, until
//! nothing changes.
//!
//! Why it is sound, given the checks:
//! - `u` is not used after the move: over all of the coroutine's polls, no place of `u` in
//!   the resume body (debug info aside) can run after the moving statement, that statement
//!   included (a copy of a `Copy` upvar that could run again would read `u` again). Its
//!   bytes hold nothing else from then on, and they are in the prefix, which no variant's
//!   fields overlap. Places of `u` before the move (a drop on a path that does not move it)
//!   are its own business.
//! - `s` holds nothing before the move: over all of the coroutine's polls (the resume
//!   body's edges, and an edge from every state write to where the next poll resumes that
//!   state), every way from the start to another place of `s` runs the move first. So `s`
//!   and `u` never hold a value at the same time.
//! - Drops follow: drop elaboration already dropped `u` only where it was still whole
//!   (before the move, in the Unresumed state's drop glue) and `s` only where it was
//!   initialised; `s`'s drops now name `u`'s bytes, which then hold `s`'s value.
//! - Pinning: the address of `s` is now `u`'s, which is stable while the coroutine is pinned,
//!   and every borrow of `s` comes after the move.
//! - Nothing else reaches the coroutine: the body uses it only through projections of
//!   `(*self)` ([`self_reached_only_by_projection`], on both bodies).
//!
//! The layout changes through [`crate::layout_edit`]: `s` leaves every variant, the fields
//! after it in a variant move up one, and the check runs on both bodies.
//!
//! Why MIR: the layout is the `CoroutineLayout` of `optimized_mir`; `size_of`, the drop
//! glue and downstream crates (a generic coroutine's layout is computed where it is used)
//! all follow from it.

use rustc_abi::{FieldIdx, VariantIdx};
use rustc_index::IndexVec;
use rustc_index::bit_set::DenseBitSet;
use rustc_middle::mir::visit::{PlaceContext, Visitor};
use rustc_middle::mir::{
    BasicBlock, Body, CoroutineSavedLocal, Local, Location, Operand, Place, ProjectionElem, Rvalue,
    StatementKind, TerminatorKind,
};
use rustc_middle::ty::{self, Ty};

use super::{PassCx, PassOutcome};
use crate::body_edit::{VariantRewrite, VariantTarget};
use crate::layout_edit::{LayoutEdit, check};
use crate::machine::{StateMachine, find_dispatch, states_editable};

/// One saved local to forward: where it is initialised from which upvar, through which
/// temporaries.
struct Forward {
    saved: CoroutineSavedLocal,
    upvar: FieldIdx,
    /// The statements that move the value from `upvar` to `saved`, the last one writing
    /// `saved`'s field.
    moves: Vec<Location>,
}

pub fn run<'tcx>(cx: &PassCx<'tcx>, body: &mut Body<'tcx>) -> PassOutcome {
    match forward_all(cx, body) {
        Ok(evidence) => PassOutcome::Applied(evidence),
        Err(why) => PassOutcome::Declined(why),
    }
}

fn forward_all<'tcx>(cx: &PassCx<'tcx>, body: &mut Body<'tcx>) -> Result<String, String> {
    let machine = StateMachine::recover(body).map_err(|why| why.0)?;
    let coroutine_ref = machine.dispatch.coroutine_ref;
    let info = body.coroutine.as_ref().ok_or("the body has no coroutine info")?;
    if info.coroutine_drop_async.is_some() {
        return Err("the coroutine has an async drop body, which this pass does not edit".into());
    }
    states_editable(body)?;
    let drop_ref = match info.coroutine_drop.as_ref() {
        Some(drop_body) => Some(find_dispatch(drop_body).map_err(|why| format!("coroutine drop body: {}", why.0))?.1),
        None => None,
    };
    let ty::Coroutine(_, args) = *cx.tcx.type_of(cx.def_id).instantiate_identity().skip_norm_wip().kind() else {
        return Err("not a coroutine type".into());
    };
    let upvar_tys: Vec<Ty<'tcx>> = args.as_coroutine().upvar_tys().iter().collect();
    if upvar_tys.is_empty() {
        return Err("the coroutine has no upvars".into());
    }

    let mut forwarded: Vec<String> = Vec::new();
    let mut new = body.clone();
    loop {
        let layout = new.coroutine_layout_raw().ok_or("the body has no coroutine layout")?;
        let machine = StateMachine::recover(&new).map_err(|why| why.0)?;
        let Some(forward) = find_forward(&new, &machine, coroutine_ref, layout, &upvar_tys) else { break };
        let name = layout.field_names[forward.saved].map_or_else(|| format!("saved local {}", forward.saved.as_u32()), |n| format!("`{n}`"));
        apply(cx, &mut new, coroutine_ref, drop_ref, &forward)?;
        forwarded.push(format!("{name} -> upvar {}", forward.upvar.as_u32()));
    }
    if forwarded.is_empty() {
        return Err("no saved local is initialised from an upvar that is not used again".into());
    }
    let layout = new.coroutine_layout_raw().unwrap().clone();
    check(&layout, &new, coroutine_ref).map_err(|why| format!("resume body after the edit: {why}"))?;
    if let Some(drop_ref) = drop_ref {
        let drop_body = new.coroutine.as_ref().unwrap().coroutine_drop.as_ref().unwrap();
        check(&layout, drop_body, drop_ref).map_err(|why| format!("drop body after the edit: {why}"))?;
    }
    *body = new;
    Ok(format!(
        "{} saved local(s) live in the upvar they are moved out of: the upvar is not used after the move, and \
         the saved local not before it, over all polls: {}",
        forwarded.len(),
        forwarded.join(", ")
    ))
}

/// The first saved local of `body` that may live in an upvar. The order in which the
/// blocks run over the coroutine's polls is [`StateMachine::successors_across_polls`].
fn find_forward<'tcx>(
    body: &Body<'tcx>,
    machine: &StateMachine,
    coroutine_ref: Local,
    layout: &rustc_middle::mir::CoroutineLayout<'tcx>,
    upvar_tys: &[Ty<'tcx>],
) -> Option<Forward> {
    let places = Places::collect(body, coroutine_ref, layout);
    for (bb, data) in body.basic_blocks.iter_enumerated() {
        for (index, statement) in data.statements.iter().enumerate() {
            let StatementKind::Assign(assign) = &statement.kind else { continue };
            let Some(saved) = saved_local_of(&assign.0, coroutine_ref, layout) else { continue };
            let Rvalue::Use(Operand::Move(source) | Operand::Copy(source), _) = &assign.1 else { continue };
            let here = Location { block: bb, statement_index: index };
            let Some((upvar, mut moves)) = trace_to_upvar(body, coroutine_ref, source, here, &places) else { continue };
            moves.push(here);
            let ty = layout.field_tys[saved].ty;
            if upvar_tys.get(upvar.as_usize()) != Some(&ty) {
                continue;
            }
            // The upvar: the first move is its last use, over all of the coroutine's polls. No
            // place of it (that move included, for a copy that would run again) can run after.
            let upvar_places = places.upvars.get(upvar.as_usize()).map(Vec::as_slice).unwrap_or_default();
            if any_reached_after(body, machine, moves[0], upvar_places) {
                continue;
            }
            // The saved local: every other place of it comes after the move, over all of the
            // coroutine's polls.
            if only_after(body, machine, here, &places.saved[saved]) {
                return Some(Forward { saved, upvar, moves });
            }
        }
    }
    None
}

/// Can one of `places` run after the statement at `at`, over all of the coroutine's polls
/// (`at` itself, if it is on a cycle)?
///
/// Drop flags are followed: a boolean that the block of `at` sets to `false` before `at`
/// and that nothing can set again afterwards stays `false`, so a switch on it only takes
/// its `0` edge. That is how drop elaboration guards the drop of a value on the paths where
/// it may already have been moved: at -O0, the cleanup path after an await still names the
/// argument future that the await moved out, behind its flag.
fn any_reached_after<'tcx>(body: &Body<'tcx>, machine: &StateMachine, at: Location, places: &[Location]) -> bool {
    if places.iter().any(|p| p.block == at.block && p.statement_index > at.statement_index) {
        return true;
    }
    let false_flags = flags_cleared_before(body, machine, at);
    let next = |bb: BasicBlock| -> Vec<BasicBlock> {
        let terminator = body.basic_blocks[bb].terminator();
        if let TerminatorKind::SwitchInt { discr: Operand::Copy(flag) | Operand::Move(flag), targets } = &terminator.kind
            && false_flags.contains(flag)
        {
            let mut next = machine.successors_across_polls(body, bb);
            next.retain(|target| !terminator.successors().any(|s| s == *target));
            next.push(targets.target_for_value(0));
            return next;
        }
        machine.successors_across_polls(body, bb)
    };
    let mut seen = DenseBitSet::new_empty(body.basic_blocks.len());
    let mut stack = next(at.block);
    while let Some(bb) = stack.pop() {
        if !seen.insert(bb) {
            continue;
        }
        if places.iter().any(|p| p.block == bb) {
            return true;
        }
        stack.extend(next(bb));
    }
    false
}

/// The boolean places that the block of `at` sets to `false` before `at` (and not again
/// before it), and that no assignment of anything but `false` can set after `at`, over all
/// polls.
fn flags_cleared_before<'tcx>(body: &Body<'tcx>, machine: &StateMachine, at: Location) -> Vec<Place<'tcx>> {
    let statements = &body.basic_blocks[at.block].statements;
    let mut cleared: Vec<Place<'tcx>> = Vec::new();
    for statement in &statements[..at.statement_index] {
        let StatementKind::Assign(assign) = &statement.kind else { continue };
        cleared.retain(|flag| *flag != assign.0);
        if is_false(&assign.1) {
            cleared.push(assign.0);
        }
    }
    cleared.retain(|flag| {
        let writes: Vec<Location> = body
            .basic_blocks
            .iter_enumerated()
            .flat_map(|(block, data)| {
                data.statements.iter().enumerate().filter_map(move |(statement_index, statement)| {
                    matches!(&statement.kind, StatementKind::Assign(assign) if assign.0 == *flag && !is_false(&assign.1))
                        .then_some(Location { block, statement_index })
                })
            })
            .collect();
        !reached_after_plain(body, machine, at, &writes)
    });
    cleared
}

fn is_false(rvalue: &Rvalue<'_>) -> bool {
    // Only a `bool` constant can be asked for its truth: rustc treats asking a constant of
    // another size as a bug (an ICE on `_5 = const 0_u32`, fuzz seeds 901027 and 901123).
    matches!(rvalue, Rvalue::Use(Operand::Constant(constant), _)
        if constant.ty().is_bool() && constant.const_.try_to_bool() == Some(false))
}

/// [`any_reached_after`] without following drop flags.
fn reached_after_plain(body: &Body<'_>, machine: &StateMachine, at: Location, places: &[Location]) -> bool {
    if places.iter().any(|p| p.block == at.block && p.statement_index > at.statement_index) {
        return true;
    }
    let mut seen = DenseBitSet::new_empty(body.basic_blocks.len());
    let mut stack = machine.successors_across_polls(body, at.block);
    while let Some(bb) = stack.pop() {
        if !seen.insert(bb) {
            continue;
        }
        if places.iter().any(|p| p.block == bb) {
            return true;
        }
        stack.extend(machine.successors_across_polls(body, bb));
    }
    false
}

/// Is every one of `places` (statement or terminator locations) reached, over all of the
/// coroutine's polls, only through `here`: no way from the coroutine's start leads to one of
/// them without running `here` first?
fn only_after(body: &Body<'_>, machine: &StateMachine, here: Location, places: &[Location]) -> bool {
    let Some(start) = machine.start() else { return false };
    let mut seen = DenseBitSet::new_empty(body.basic_blocks.len());
    let mut stack = vec![start];
    while let Some(bb) = stack.pop() {
        if !seen.insert(bb) {
            continue;
        }
        if bb == here.block {
            // Reached before the move only if earlier in its block; past it, everything is after.
            if places.iter().any(|at| at.block == bb && at.statement_index < here.statement_index) {
                return false;
            }
            continue;
        }
        if places.iter().any(|at| at.block == bb) {
            return false;
        }
        stack.extend(machine.successors_across_polls(body, bb));
    }
    true
}

/// `((*coroutine_ref) as v).f`, exactly: the saved local it names.
fn saved_local_of(place: &Place<'_>, coroutine_ref: Local, layout: &rustc_middle::mir::CoroutineLayout<'_>) -> Option<CoroutineSavedLocal> {
    if place.local != coroutine_ref {
        return None;
    }
    let [ProjectionElem::Deref, ProjectionElem::Downcast(_, v), ProjectionElem::Field(f, _)] = place.projection.as_slice() else {
        return None;
    };
    layout.variant_fields.get(*v)?.get(*f).copied()
}

/// Follows `source` back to an upvar: `(*coroutine_ref).u` itself, or a local whose only
/// definition moves it from one, through locals used only by their definition and the
/// next move. Returns the upvar and the moves in order (without the one at `use_at`).
fn trace_to_upvar<'tcx>(
    body: &Body<'tcx>,
    coroutine_ref: Local,
    source: &Place<'tcx>,
    use_at: Location,
    places: &Places,
) -> Option<(FieldIdx, Vec<Location>)> {
    let mut moves = Vec::new();
    let mut source = *source;
    let mut at = use_at;
    for _ in 0..8 {
        if source.local == coroutine_ref {
            let [ProjectionElem::Deref, ProjectionElem::Field(u, _)] = source.projection.as_slice() else { return None };
            moves.reverse();
            return Some((*u, moves));
        }
        let local = source.as_local()?;
        let definition = match places.locals[local].as_slice() {
            [a, b] if *b == at => a,
            [a, b] if *a == at => b,
            _ => return None,
        };
        let StatementKind::Assign(assign) = &body.basic_blocks[definition.block].statements.get(definition.statement_index)?.kind else {
            return None;
        };
        if assign.0.as_local() != Some(local) {
            return None;
        }
        let Rvalue::Use(Operand::Move(from) | Operand::Copy(from), _) = &assign.1 else { return None };
        moves.push(*definition);
        source = *from;
        at = *definition;
    }
    None
}

/// Where the body names each saved local, each upvar and each local (debug info and
/// storage markers aside).
struct Places {
    saved: IndexVec<CoroutineSavedLocal, Vec<Location>>,
    upvars: Vec<Vec<Location>>,
    locals: IndexVec<Local, Vec<Location>>,
}

impl Places {
    fn collect<'tcx>(body: &Body<'tcx>, coroutine_ref: Local, layout: &rustc_middle::mir::CoroutineLayout<'tcx>) -> Places {
        struct Collect<'a, 'tcx> {
            coroutine_ref: Local,
            layout: &'a rustc_middle::mir::CoroutineLayout<'tcx>,
            places: Places,
        }
        impl<'tcx> Visitor<'tcx> for Collect<'_, 'tcx> {
            fn visit_place(&mut self, place: &Place<'tcx>, context: PlaceContext, location: Location) {
                if matches!(context, PlaceContext::NonUse(_)) {
                    return;
                }
                if place.local == self.coroutine_ref {
                    match place.projection.as_slice() {
                        [ProjectionElem::Deref, ProjectionElem::Downcast(_, v), ProjectionElem::Field(f, _), ..] => {
                            if let Some(&s) = self.layout.variant_fields.get(*v).and_then(|fields| fields.get(*f)) {
                                self.places.saved[s].push(location);
                            }
                        }
                        [ProjectionElem::Deref, ProjectionElem::Field(u, _), ..] => {
                            let u = u.as_usize();
                            if self.places.upvars.len() <= u {
                                self.places.upvars.resize(u + 1, Vec::new());
                            }
                            self.places.upvars[u].push(location);
                        }
                        _ => {}
                    }
                }
                self.super_place(place, context, location);
            }

            fn visit_local(&mut self, local: Local, context: PlaceContext, location: Location) {
                if !matches!(context, PlaceContext::NonUse(_)) {
                    self.places.locals[local].push(location);
                }
            }
        }
        let mut collect = Collect {
            coroutine_ref,
            layout,
            places: Places {
                saved: IndexVec::from_elem_n(Vec::new(), layout.field_tys.len()),
                upvars: Vec::new(),
                locals: IndexVec::from_elem_n(Vec::new(), body.local_decls.len()),
            },
        };
        collect.visit_body(body);
        collect.places
    }
}

/// Forwards one saved local: its places become the upvar's in both bodies, the moves go,
/// and the layout loses it.
fn apply<'tcx>(
    cx: &PassCx<'tcx>,
    body: &mut Body<'tcx>,
    coroutine_ref: Local,
    drop_ref: Option<Local>,
    forward: &Forward,
) -> Result<(), String> {
    for at in &forward.moves {
        body.basic_blocks.as_mut()[at.block].statements[at.statement_index].make_nop(true);
    }
    let layout = body.coroutine.as_mut().unwrap().coroutine_layout.as_mut().unwrap();
    let old_fields = layout.variant_fields.clone();
    let mut edit = LayoutEdit::new(layout);
    edit.remove_from_variants(forward.saved);
    let renumbering = edit.finish(layout);
    let map = |v: VariantIdx, f: Option<FieldIdx>| -> Option<VariantTarget> {
        let Some(f) = f else { return renumbering.variant(v).map(VariantTarget::Variant) };
        if old_fields.get(v)?.get(f) == Some(&forward.saved) {
            return Some(VariantTarget::Upvar(forward.upvar));
        }
        renumbering.field(v, f).map(|(v, f)| VariantTarget::Field(v, f))
    };
    VariantRewrite::new(cx.tcx, coroutine_ref, &map).apply(body).map_err(|why| format!("resume body: {why}"))?;
    if let Some(drop_ref) = drop_ref {
        let drop_body = body.coroutine.as_mut().unwrap().coroutine_drop.as_mut().unwrap();
        VariantRewrite::new(cx.tcx, drop_ref, &map).apply(drop_body).map_err(|why| format!("drop body: {why}"))?;
    }
    Ok(())
}
