//! A spliced child's states become the parent's: one dispatch per poll of a nested chain.
//!
//! After `inline_child`, the parent still holds the child as one value of the child's
//! coroutine type (a field of the await's suspend state `k`), and each poll switches
//! twice: on the parent's state, then, in the spliced code, on the child's.
//! `middle` awaiting `leaf` (which awaits a `YieldOnce`), at -O3:
//!
//! ```text
//! // before (leaf spliced by inline_child)
//! bb0:  _12 = discriminant((*_13)); switchInt(move _12) -> [0: bb1, 1: bb16, 2: bb15, 3: bb14, otherwise: bb7];
//! bb1:  ... _5 = leaf(move _3) -> bb2; bb2: _4 = move _5; ... (((*_13) as variant#3).0: {leaf}) = move _4;
//! bb14: goto -> ...;  // state 3: back into the await loop, then
//! bb17: _26 = copy (_14.0: &mut {leaf}); _25 = discriminant((*_26)); switchInt(move _25) -> [...];
//! ...   (((*_26) as variant#3).0: u32) = copy ((*_26).0: u32); ...   // leaf's own code
//! ...   discriminant((*_26)) = 3; ... discriminant((*_13)) = 3; return   // both suspend
//! /* variant_fields: { 0: [], 1: [], 2: [], 3: [{leaf}] } */
//!
//! // after: leaf's states are middle's variants 3 (Unresumed), 4, 5 and 6 (its suspend)
//! bb0:  _12 = discriminant((*_13)); switchInt(move _12) -> [0: bb1, 1: bb12, 2: bb12, 6: bb28, otherwise: bb6];
//! bb1:  ... _79 = move _3; (((*_13) as variant#3).0: u32) = move _79; discriminant((*_13)) = 3; ...
//! ...   (((*_13) as variant#6).0: u32) = copy (((*_13) as variant#3).0: u32); ...
//! ...   discriminant((*_13)) = 6; ... return                 // the child's write is the parent's
//! bb28: ... goto -> (leaf's code for its state 3)             // no second switch
//! /* variant_fields: { 0: [], 1: [], 2: [], 3: [x], 4: [x], 5: [], 6: [x', YieldOnce] } */
//! ```
//!
//! The rewrite, on a copy of the body that replaces it only if every step and check
//! worked:
//! - **States.** The child's state `c` becomes the parent's variant `V(c)`: `V(0)` is `k`
//!   itself and holds the child's upvars (listed in `V(1)` too, so that the layout puts
//!   them in the prefix, as the child's own layout does), the others are appended. The
//!   other saved locals `k` held lead every `V(c)`, in their order: held by several
//!   variants, they stay in the prefix, where `k`'s projections still reach them.
//! - **Other switches.** Every switch on the tag that was already there and has an arm
//!   for `k` (the dispatches, and the code of children flattened before) gets an arm for
//!   each `V(c)` to the same place: the tag now says "`k`, with the child in `c`".
//! - **Accesses.** Every access the spliced code makes through its pointer to the child
//!   becomes one to the parent: `discriminant(child)` reads the parent's tag (the
//!   switch's values mapped through `V`), `discriminant(child) = c` writes `V(c)`, and
//!   `(child as c).i` is a field of `V(c)`.
//! - **Construction.** `((*self) as k).0 = {coroutine}(a, b)`, the child built in place
//!   by `construct_in_place`, becomes its operands written to the upvars of `V(0)`, and
//!   the tag set to `V(0)`: no copy of the whole future. A child moved in from a local
//!   (`((*self) as k).0 = move child`) has its upvars moved out of that local.
//! - **Drops.** Every drop of the child, in the resume body and in the drop glue, becomes
//!   the child's own drop code (its `coroutine_drop` body, spliced), which reads the
//!   parent's tag in the same way.
//! - **Suspends.** The parent's own write of `k` when the await suspends goes: the child
//!   has just written `V(c)` for the state it suspended in.
//! - **One dispatch.** A poll ends only in some states (the fixpoint of "a poll that
//!   starts in one of them ends in", from Unresumed): the child's Unresumed, Returned and
//!   Poisoned states are passed through within a poll, and their dispatch arms go. Each
//!   remaining arm for a child state is threaded through the goto-only path into the
//!   child's switch, straight to the child's code for it. A `Poll` match right after the
//!   child's return is jumped past (`known_variant`), and every switch on the tag whose
//!   outcome the dataflow decides becomes a jump, which removes the child's drop code
//!   where the child has already returned.
//!   This clean-up is the pass `one_dispatch`, which the pipeline runs after each child
//!   this pass keeps (`PassCx::step_done`), before the next child is looked for.
//!
//! In the code: [`FlattenPlan`] is worked out once per child (the state map, the child's
//! layout and drop body, the checks that need no rewriting); each rewrite of a body is
//! then a small function applied to the resume body and to the drop body alike through
//! `on_both`, and the layout (one for both bodies) is rebuilt once in between.
//!
//! Why MIR: the layout is the `CoroutineLayout` of `optimized_mir`; the parent's size,
//! its drop glue and what downstream crates see all follow from the same body.
//!
//! Preconditions (otherwise the body is left as it was):
//! - the child is an async fn or async block coroutine whose MIR, layout and (sync) drop
//!   body are available, held by one suspend variant `k` and no other;
//! - every use of the child's place is its construction from a local, a drop, or a
//!   `&mut` whose pointer only flows through moves, `Pin { pointer }` and `.0` into
//!   places `(*ptr)...` (the spliced code): no pointer to the child escapes, and no call
//!   (an unspliced poll) receives one;
//! - the parent's `self` is read once, into the coroutine reference, which is used only
//!   through projections: the tag changes only by `discriminant(..) = v` writes;
//! - a dataflow of the possible tag values (entry: anything; writes set it; switches on
//!   the tag narrow it per edge) shows the tag is some `V(c)` wherever the child's code
//!   reads it and wherever the parent wrote `k`, and exactly `V(0)` wherever the child's
//!   upvars are read;
//! - every `(self as v).i: T` in either body names a field of the new layout of type `T`;
//! - rustc's layout computation, run on both layouts, gives the future no more bytes than
//!   before, under every knob (so a generic parent, whose size is not known before
//!   monomorphization, is left alone): a flattening that would grow the future trades
//!   memory for speed, and corolift's futures never grow.

use rustc_abi::{FieldIdx, VariantIdx};
use rustc_hir::def_id::DefId;
use rustc_hir::{CoroutineDesugaring, CoroutineKind, CoroutineSource};
use rustc_index::IndexVec;
use rustc_middle::mir::visit::{MutVisitor, PlaceContext, Visitor};
use rustc_middle::mir::{
    AggregateKind, BasicBlock, Body, BorrowKind, CoroutineLayout, CoroutineSavedLocal, CoroutineSavedTy, Local, LocalDecl,
    Location, MutBorrowKind, Operand, Place, PlaceElem, ProjectionElem, Rvalue, Statement, StatementKind, TerminatorKind,
    VarDebugInfoContents,
};
use rustc_middle::ty::{self, EarlyBinder, Instance, Ty, TyCtxt, TypingEnv};

use super::{PassCx, PassOutcome};
use crate::body_edit::{rebuild_arms, use_counts};
use crate::layout_edit::{LayoutEdit, check, computed_size};
use crate::machine::{FIRST_SUSPEND_STATE, find_dispatch, self_reached_only_by_projection, states_editable, tag_reads_feed_switches};
use crate::splice::{SpliceSite, instantiated_body, splice_body};
use crate::tag_flow::{TagSet, is_coroutine, tag_set_at, tag_sets, track_tag_local};

/// Blocks of child drop code spliced into one body, in all.
const DROP_SPLICE_BUDGET: usize = 1200;

/// The pass's name in `PASSES`, which `one_dispatch` follows.
pub const NAME: &str = "flatten_child";

pub fn run<'tcx>(cx: &PassCx<'tcx>, body: &mut Body<'tcx>) -> PassOutcome {
    let mut flattened = Vec::new();
    let mut kept: Vec<String> = Vec::new();
    let mut refused: Vec<Ty<'tcx>> = Vec::new();
    loop {
        let Some(layout) = body.coroutine_layout_raw() else {
            return PassOutcome::Declined("the body has no coroutine layout".into());
        };
        let candidate = layout.variant_fields.iter_enumerated().find_map(|(variant, fields)| {
            if variant.as_u32() < FIRST_SUSPEND_STATE {
                return None;
            }
            fields.iter_enumerated().find_map(|(field, saved)| {
                let ty = layout.field_tys[*saved].ty;
                let held_once = layout.variant_fields.iter().filter(|fs| fs.raw.contains(saved)).count() == 1;
                (held_once && matches!(ty.kind(), ty::Coroutine(..)) && !refused.contains(&ty))
                    .then_some((variant, field, *saved, ty))
            })
        });
        let Some((variant, field, saved, child_ty)) = candidate else { break };
        let mut candidate_body = body.clone();
        match flatten(cx, &mut candidate_body, variant, field, saved, child_ty) {
            Ok(evidence) => {
                *body = candidate_body;
                flattened.push(evidence);
                cx.step_done(NAME, body);
            }
            Err(why) => {
                kept.push(format!("{child_ty}: {why}"));
                refused.push(child_ty);
            }
        }
    }
    if flattened.is_empty() {
        return PassOutcome::Declined(if kept.is_empty() {
            "no suspend state holds a child coroutine".into()
        } else {
            kept.join("; ")
        });
    }
    PassOutcome::Applied(format!(
        "{}{}",
        flattened.join("; "),
        if kept.is_empty() { String::new() } else { format!(" (kept: {})", kept.join("; ")) }
    ))
}

/// Where the child's states go in the parent.
#[derive(Clone, Copy)]
struct StateMap {
    /// The parent's variant that held the child: the child's Unresumed state.
    holder: VariantIdx,
    /// The parent's variant count before; the child's states 1.. are appended from here.
    base: u32,
    child_states: u32,
    upvars: usize,
    /// The child's field in the holder variant, before.
    child_field: FieldIdx,
    /// The holder's other fields: first in every `V(c)`, in their order.
    kept_fields: usize,
}

impl StateMap {
    fn variant(&self, child_state: u32) -> VariantIdx {
        if child_state == 0 { self.holder } else { VariantIdx::from_u32(self.base + child_state - 1) }
    }
    fn is_child_variant(&self, v: u32) -> bool {
        v == self.holder.as_u32() || (v >= self.base && v < self.base + self.child_states - 1)
    }
    /// A field `i` of the child's state `c`, in the parent's variant `V(c)`.
    fn field(&self, child_state: u32, field: FieldIdx) -> FieldIdx {
        let after_upvars = if child_state == 0 { self.upvars } else { 0 };
        FieldIdx::from_usize(self.kept_fields + after_upvars + field.as_usize())
    }
    /// The child's upvar `u`, in `V(0)`.
    fn upvar(&self, upvar: FieldIdx) -> FieldIdx {
        FieldIdx::from_usize(self.kept_fields + upvar.as_usize())
    }
    /// One of the holder's other fields, once the child's is gone from between them.
    fn kept(&self, field: FieldIdx) -> FieldIdx {
        if field > self.child_field { FieldIdx::from_usize(field.as_usize() - 1) } else { field }
    }
}

/// What flattening one child needs, worked out once before either body changes.
struct FlattenPlan<'tcx> {
    tcx: TyCtxt<'tcx>,
    map: StateMap,
    /// The child's saved local in the parent's layout (in the holder variant only).
    saved: CoroutineSavedLocal,
    child_def: DefId,
    child_ty: Ty<'tcx>,
    /// The child's coroutine with the arguments its type has in the parent's layout (its
    /// bodies and saved types are normalised under the parent's `typing_env`).
    instance: Instance<'tcx>,
    upvar_tys: Vec<Ty<'tcx>>,
    child_layout: &'tcx CoroutineLayout<'tcx>,
    /// The child's drop body, instantiated: spliced at each drop of the child.
    child_drop: Body<'tcx>,
    /// The parent's layout before the flattening (for the size check).
    parent_layout: CoroutineLayout<'tcx>,
    typing_env: TypingEnv<'tcx>,
}

impl<'tcx> FlattenPlan<'tcx> {
    /// The plan for the child `child_ty` in field `child_field` of the parent's variant
    /// `holder`, or why this child cannot be flattened.
    fn new(
        cx: &PassCx<'tcx>,
        body: &Body<'tcx>,
        holder: VariantIdx,
        child_field: FieldIdx,
        saved: CoroutineSavedLocal,
        child_ty: Ty<'tcx>,
    ) -> Result<Self, String> {
        let tcx = cx.tcx;
        let ty::Coroutine(child_def, child_args) = *child_ty.kind() else { return Err("not a coroutine".into()) };
        if !matches!(
            tcx.coroutine_kind(child_def),
            Some(CoroutineKind::Desugared(CoroutineDesugaring::Async, CoroutineSource::Fn | CoroutineSource::Block))
        ) {
            return Err("not an async fn or async block".into());
        }
        if !tcx.is_mir_available(child_def) {
            return Err("no MIR".into());
        }
        states_editable(body)?;
        let info = body.coroutine.as_ref().ok_or("no coroutine info")?;
        if info.coroutine_drop_async.is_some() || info.coroutine_drop.is_none() {
            return Err("the parent has an async drop body or none".into());
        }
        let child_mir = tcx.optimized_mir(child_def);
        let child_info = child_mir.coroutine.as_ref().ok_or("the child has no coroutine info")?;
        if child_info.coroutine_drop_async.is_some() {
            return Err("the child has an async drop body".into());
        }
        let child_layout = child_mir.coroutine_layout_raw().ok_or("the child has no layout")?;
        let child_drop = child_mir.coroutine_drop().ok_or("the child has no drop body")?;
        let typing_env = TypingEnv::post_analysis(tcx, cx.def_id);
        let instance = Instance::new_raw(child_def, child_args);
        let child_drop =
            instantiated_body(tcx, typing_env, instance, child_drop).ok_or("the child's drop body does not normalize here")?;
        let upvar_tys: Vec<Ty<'tcx>> = child_args.as_coroutine().upvar_tys().iter().collect();
        let parent_layout = body.coroutine_layout_raw().ok_or("no coroutine layout")?.clone();
        let map = StateMap {
            holder,
            base: parent_layout.variant_fields.len() as u32,
            child_states: child_layout.variant_fields.len() as u32,
            upvars: upvar_tys.len(),
            child_field,
            kept_fields: parent_layout.variant_fields[holder].len() - 1,
        };
        if map.child_states < FIRST_SUSPEND_STATE {
            return Err("the child has fewer than three states".into());
        }
        Ok(FlattenPlan { tcx, map, saved, child_def, child_ty, instance, upvar_tys, child_layout, child_drop, parent_layout, typing_env })
    }

    /// The parent's variant count once the child's states are appended.
    fn variant_count(&self) -> usize {
        (self.map.base + self.map.child_states - 1) as usize
    }

    /// `((*self) as k).j`: the child, whole.
    fn child_place(&self, coroutine_ref: Local) -> Place<'tcx> {
        Place {
            local: coroutine_ref,
            projection: self.tcx.mk_place_elems(&[
                ProjectionElem::Deref,
                ProjectionElem::Downcast(None, self.map.holder),
                ProjectionElem::Field(self.map.child_field, self.child_ty),
            ]),
        }
    }

    /// Is `place` the child whole (`deeper: false`), or the child or a part of it
    /// (`deeper: true`)?
    fn names_child(&self, place: &Place<'tcx>, coroutine_ref: Local, deeper: bool) -> bool {
        place.local == coroutine_ref
            && match place.projection.as_slice() {
                [ProjectionElem::Deref, ProjectionElem::Downcast(_, v), ProjectionElem::Field(f, ty), rest @ ..] => {
                    *v == self.map.holder && *f == self.map.child_field && *ty == self.child_ty && (deeper || rest.is_empty())
                }
                _ => false,
            }
    }
}

/// One of the two bodies every rewrite is applied to, with where its dispatch is.
#[derive(Clone, Copy)]
struct Side {
    is_resume: bool,
    dispatch: BasicBlock,
    coroutine_ref: Local,
}

impl Side {
    fn name(self) -> &'static str {
        if self.is_resume { "resume body" } else { "drop body" }
    }
}

/// The drop body (`coroutine_drop`) of a body `states_editable` accepted.
fn drop_body_mut<'b, 'tcx>(body: &'b mut Body<'tcx>) -> &'b mut Body<'tcx> {
    body.coroutine.as_mut().and_then(|info| info.coroutine_drop.as_mut()).expect("checked by FlattenPlan::new")
}

/// The resume body's and the drop body's dispatch and coroutine reference.
fn sides(body: &mut Body<'_>) -> Result<[Side; 2], String> {
    let (dispatch, coroutine_ref) = find_dispatch(body).map_err(|why| format!("resume body: {}", why.0))?;
    let (drop_dispatch, drop_ref) = find_dispatch(drop_body_mut(body)).map_err(|why| format!("drop body: {}", why.0))?;
    Ok([
        Side { is_resume: true, dispatch, coroutine_ref },
        Side { is_resume: false, dispatch: drop_dispatch, coroutine_ref: drop_ref },
    ])
}

/// Applies `rewrite` to the resume body, then to the drop body; an error names the body.
fn on_both<'tcx, T>(
    body: &mut Body<'tcx>,
    [resume, drop]: [Side; 2],
    mut rewrite: impl FnMut(&mut Body<'tcx>, Side) -> Result<T, String>,
) -> Result<[T; 2], String> {
    let named = |side: Side| move |why: String| format!("{}: {why}", side.name());
    let in_resume = rewrite(body, resume).map_err(named(resume))?;
    let in_drop = rewrite(drop_body_mut(body), drop).map_err(named(drop))?;
    Ok([in_resume, in_drop])
}

fn flatten<'tcx>(
    cx: &PassCx<'tcx>,
    body: &mut Body<'tcx>,
    holder: VariantIdx,
    child_field: FieldIdx,
    saved: CoroutineSavedLocal,
    child_ty: Ty<'tcx>,
) -> Result<String, String> {
    let tcx = cx.tcx;
    let plan = FlattenPlan::new(cx, body, holder, child_field, saved, child_ty)?;
    let map = plan.map;
    let sides = sides(body)?;

    // 1. Both bodies: the child's drops become its drop code, then every access through
    //    a pointer to the child is an access to the parent.
    let mut budget = DROP_SPLICE_BUDGET;
    let edits = on_both(body, sides, |b, side| edit_body(&plan, b, side, &mut budget))?;

    // 2. Every switch on the tag that was there before (the dispatches first, and the
    //    switches of children flattened earlier) sends each child state where it sent `k`.
    on_both(body, sides, |b, side| {
        has_holder_arm(b, side.dispatch, map)?;
        extend_holder_arms(b, side.coroutine_ref, map, &edits[usize::from(!side.is_resume)].tag_reads);
        Ok(())
    })?;
    // Every tag read must be the one the switch ending its block uses: a switch reached
    // otherwise would not have been given the child's states.
    on_both(body, sides, |b, side| tag_reads_feed_switches(b, side.coroutine_ref))?;

    // 3. The layout; every field named in either body must exist in it, with its type.
    rebuild_layout(&plan, body)?;
    let new_layout = body.coroutine_layout_raw().unwrap().clone();
    on_both(body, sides, |b, side| check(&new_layout, b, side.coroutine_ref))?;
    // The future may not grow, under any knob: both layouts are computed as rustc will.
    let (before, after) = computed_size(tcx, plan.typing_env, cx.def_id, &plan.parent_layout)
        .zip(computed_size(tcx, plan.typing_env, cx.def_id, &new_layout))
        .ok_or("the future's size cannot be computed here (generic)")?;
    if after > before {
        return Err(format!("the future would grow from {before} to {after} bytes"));
    }

    // 4. The tag is known where it has to be. Proven: the parent's own writes of `k`
    //    repeat what the child wrote, and go.
    on_both(body, sides, |b, side| check_tags(&plan, b, side.coroutine_ref, &edits[usize::from(!side.is_resume)]))?;
    on_both(body, sides, |b, side| {
        for &(bb, index) in &edits[usize::from(!side.is_resume)].parent_writes {
            b.basic_blocks.as_mut()[bb].statements[index].make_nop(true);
        }
        Ok(())
    })?;

    Ok(format!(
        "{}: size {before} -> {after} bytes, its {} states are variants {} and {}..{} of this body, {} drop(s) spliced",
        tcx.def_path_str(plan.child_def),
        map.child_states,
        holder.as_u32(),
        map.base,
        map.base + map.child_states - 2,
        edits[0].drops + edits[1].drops,
    ))
}

/// What `edit_body` changed, for the tag checks.
struct BodyEdit {
    /// Statements reading the tag for the child's code.
    tag_reads: Vec<Location>,
    /// The parent's own writes of `k` (to go once proven redundant).
    parent_writes: Vec<(BasicBlock, usize)>,
    /// How many drops of the child became its spliced drop code (for the report).
    drops: usize,
}

/// Step 1 on one body: the child stops being a value. Its drops become its drop code, its
/// construction writes its upvars into `V(0)`, and every access through a pointer to it
/// becomes one to the parent's variants.
fn edit_body<'tcx>(
    plan: &FlattenPlan<'tcx>,
    body: &mut Body<'tcx>,
    side: Side,
    budget: &mut usize,
) -> Result<BodyEdit, String> {
    let tcx = plan.tcx;
    let coroutine_ref = side.coroutine_ref;
    self_reached_only_by_projection(body, coroutine_ref, side.is_resume)?;
    // The holder's other fields close the gap the child leaves (code and debug info).
    if plan.map.kept_fields > 0 {
        KeptFields { tcx, coroutine_ref, map: plan.map }.visit_body(body);
    }
    // Cheap first: a child still polled through a call (not spliced) stays a value.
    let early_pointers = child_pointers(body, &|place| plan.names_child(place, coroutine_ref, false))?;
    let polled_by_call = body.basic_blocks.iter().any(|data| {
        matches!(&data.terminator().kind, TerminatorKind::Call { args, .. }
            if args.iter().any(|arg| arg.node.place().is_some_and(|p| early_pointers.contains(&p.local))))
    });
    if polled_by_call {
        return Err("a pointer to the child is passed to a call (its poll was not spliced)".into());
    }
    let drops = splice_child_drops(plan, body, coroutine_ref, budget)?;
    let construction_writes = build_child_in_place(plan, body, coroutine_ref)?;
    if side.is_resume && construction_writes.is_empty() {
        return Err("no construction of the child from a local".into());
    }
    if !side.is_resume && !construction_writes.is_empty() {
        return Err("the drop body builds the child".into());
    }
    // The parent's own writes of `k` (the suspend of the await): every one that is not a
    // construction write just added. Removed once proven redundant (statement positions
    // do not move from here on).
    let mut parent_writes = Vec::new();
    for (bb, data) in body.basic_blocks.iter_enumerated() {
        for (index, stmt) in data.statements.iter().enumerate() {
            if let StatementKind::SetDiscriminant { place, variant_index } = &stmt.kind
                && is_coroutine(place, coroutine_ref)
                && *variant_index == plan.map.holder
                && !construction_writes.contains(&(bb, index))
            {
                parent_writes.push((bb, index));
            }
        }
    }
    let tag_reads = redirect_child_accesses(plan, body, coroutine_ref)?;
    renumber_child_switches(plan.map, body, &tag_reads)?;
    Ok(BodyEdit { tag_reads, parent_writes, drops })
}

/// Each drop of the child becomes its drop body, spliced, reached through a fresh `&mut`
/// to it. Returns how many.
fn splice_child_drops<'tcx>(
    plan: &FlattenPlan<'tcx>,
    body: &mut Body<'tcx>,
    coroutine_ref: Local,
    budget: &mut usize,
) -> Result<usize, String> {
    let tcx = plan.tcx;
    let child_ty = plan.child_ty;
    let drop_sites: Vec<BasicBlock> = body
        .basic_blocks
        .iter_enumerated()
        .filter(|(_, data)| {
            matches!(&data.terminator().kind, TerminatorKind::Drop { place, .. } if plan.names_child(place, coroutine_ref, false))
        })
        .map(|(bb, _)| bb)
        .collect();
    // What the spliced scopes name: the child's drop glue (`drop_glue::<Child>`).
    let drop_glue = tcx.require_lang_item(rustc_hir::LangItem::DropGlue, body.span);
    let drop_instance = Instance::new_raw(drop_glue, tcx.mk_args(&[child_ty.into()]));
    for &site in &drop_sites {
        if plan.child_drop.basic_blocks.len() > *budget {
            return Err("the child's drop code exceeds the budget".into());
        }
        *budget -= plan.child_drop.basic_blocks.len();
        let terminator = body.basic_blocks[site].terminator().clone();
        let TerminatorKind::Drop { target, unwind, drop: None, async_fut: None, .. } = terminator.kind else {
            return Err("an async drop of the child".into());
        };
        let span = terminator.source_info.span;
        let pointer = body.local_decls.push(LocalDecl::new(Ty::new_mut_ref(tcx, tcx.lifetimes.re_erased, child_ty), span));
        let unit = body.local_decls.push(LocalDecl::new(tcx.types.unit, span));
        let borrow = Rvalue::Ref(
            tcx.lifetimes.re_erased,
            BorrowKind::Mut { kind: MutBorrowKind::Default },
            plan.child_place(coroutine_ref),
        );
        body.basic_blocks.as_mut()[site]
            .statements
            .push(Statement::new(terminator.source_info, StatementKind::Assign(Box::new((pointer.into(), borrow)))));
        let site = SpliceSite {
            block: site,
            args: vec![Operand::Move(pointer.into())],
            destination: unit,
            return_to: target,
            unwind,
            source_info: terminator.source_info,
            instance: drop_instance,
        };
        splice_body(tcx, body, site, plan.child_drop.clone())?;
    }
    Ok(drop_sites.len())
}

/// The child's construction (`((*self) as k).j = {coroutine}(a, b)` from
/// `construct_in_place`, or `= move child` from a local) becomes its upvars written to
/// `V(0)` and the tag set to `V(0)`. Returns where those tag writes are.
fn build_child_in_place<'tcx>(
    plan: &FlattenPlan<'tcx>,
    body: &mut Body<'tcx>,
    coroutine_ref: Local,
) -> Result<Vec<(BasicBlock, usize)>, String> {
    let tcx = plan.tcx;
    let mut construction_writes: Vec<(BasicBlock, usize)> = Vec::new();
    for bb in body.basic_blocks.indices() {
        let mut index = 0;
        while index < body.basic_blocks[bb].statements.len() {
            let stmt = &body.basic_blocks[bb].statements[index];
            let StatementKind::Assign(assign) = &stmt.kind else {
                index += 1;
                continue;
            };
            if !plan.names_child(&assign.0, coroutine_ref, false) {
                index += 1;
                continue;
            }
            let source_info = stmt.source_info;
            let sources = upvar_sources(plan, &assign.1)?;
            let mut replacement = Vec::new();
            for (u, (&ty, from)) in plan.upvar_tys.iter().zip(sources).enumerate() {
                let to = Place {
                    local: coroutine_ref,
                    projection: tcx.mk_place_elems(&[
                        ProjectionElem::Deref,
                        ProjectionElem::Downcast(None, plan.map.holder),
                        ProjectionElem::Field(plan.map.upvar(FieldIdx::from_usize(u)), ty),
                    ]),
                };
                replacement.push(Statement::new(
                    source_info,
                    StatementKind::Assign(Box::new((to, Rvalue::Use(from, rustc_middle::mir::WithRetag::Yes)))),
                ));
            }
            replacement.push(Statement::new(
                source_info,
                StatementKind::SetDiscriminant {
                    place: Box::new(Place { local: coroutine_ref, projection: tcx.mk_place_elems(&[ProjectionElem::Deref]) }),
                    variant_index: plan.map.holder,
                },
            ));
            let added = replacement.len();
            body.basic_blocks.as_mut()[bb].statements.splice(index..=index, replacement);
            index += added;
            construction_writes.push((bb, index - 1));
        }
    }
    Ok(construction_writes)
}

/// Each upvar of the child, from the value assigned to the child's place: the aggregate
/// that builds it in place, or the local it is moved in from.
fn upvar_sources<'tcx>(plan: &FlattenPlan<'tcx>, value: &Rvalue<'tcx>) -> Result<Vec<Operand<'tcx>>, String> {
    let tcx = plan.tcx;
    match value {
        Rvalue::Aggregate(kind, operands)
            if matches!(**kind, AggregateKind::Coroutine(def, _) if def == plan.child_def)
                && operands.len() == plan.upvar_tys.len() =>
        {
            Ok(operands.iter().cloned().collect())
        }
        Rvalue::Use(Operand::Move(value) | Operand::Copy(value), _) => {
            let Some(value) = value.as_local() else {
                return Err("the child is moved in from a projection".into());
            };
            let field = |(u, &ty): (usize, &Ty<'tcx>)| {
                Operand::Move(Place {
                    local: value,
                    projection: tcx.mk_place_elems(&[ProjectionElem::Field(FieldIdx::from_usize(u), ty)]),
                })
            };
            Ok(plan.upvar_tys.iter().enumerate().map(field).collect())
        }
        _ => Err("the child is built some other way than from its upvars or a local".into()),
    }
}

/// Every access through a pointer to the child becomes one to the parent's variants: tag
/// reads and writes, fields, upvars. Debug info naming the child whole goes, and nothing
/// may name it whole afterwards. Returns the statements that now read the tag for the
/// child's code.
fn redirect_child_accesses<'tcx>(
    plan: &FlattenPlan<'tcx>,
    body: &mut Body<'tcx>,
    coroutine_ref: Local,
) -> Result<Vec<Location>, String> {
    let tcx = plan.tcx;
    let map = plan.map;
    // Pointers to the child: `&mut child`, then moves, `Pin { pointer }` and `.0`.
    let pointers = child_pointers(body, &|place| plan.names_child(place, coroutine_ref, false))?;
    // Debug info naming the child as a whole goes (it no longer exists as one value).
    body.var_debug_info.retain(|info| match &info.value {
        VarDebugInfoContents::Place(place) => {
            !(plan.names_child(place, coroutine_ref, true) || (pointers.contains(&place.local) && place.projection.len() <= 1))
        }
        VarDebugInfoContents::Const(_) => true,
    });
    let mut tag_reads = Vec::new();
    for (bb, data) in body.basic_blocks.as_mut().iter_enumerated_mut() {
        for (index, stmt) in data.statements.iter_mut().enumerate() {
            match &mut stmt.kind {
                StatementKind::Assign(assign) if pointers.contains(&assign.0.local) && assign.0.projection.is_empty() => {
                    // The pointer's own definition: nothing left to point to.
                    stmt.make_nop(true);
                }
                StatementKind::Assign(assign) => {
                    if let Rvalue::Discriminant(place) = &mut assign.1
                        && pointers.contains(&place.local)
                        && place.projection.as_slice() == [ProjectionElem::Deref]
                    {
                        place.local = coroutine_ref;
                        tag_reads.push(Location { block: bb, statement_index: index });
                    }
                }
                StatementKind::SetDiscriminant { place, variant_index }
                    if pointers.contains(&place.local) && place.projection.as_slice() == [ProjectionElem::Deref] =>
                {
                    place.local = coroutine_ref;
                    *variant_index = map.variant(variant_index.as_u32());
                }
                _ => {}
            }
        }
    }
    let mut rewrite = ChildAccess { tcx, coroutine_ref, pointers: &pointers, map, error: None };
    rewrite.visit_body(body);
    if let Some(why) = rewrite.error {
        return Err(why);
    }
    // Nothing may name the child as a whole any more.
    let mut leftover = ChildPlaceUse { plan, coroutine_ref, pointers: &pointers, found: None };
    leftover.visit_body(body);
    if let Some(why) = leftover.found {
        return Err(why);
    }
    Ok(tag_reads)
}

/// The child's switches on its tag: their values are the parent's variants now.
fn renumber_child_switches(map: StateMap, body: &mut Body<'_>, tag_reads: &[Location]) -> Result<(), String> {
    let uses = use_counts(body);
    for location in tag_reads {
        let data = &body.basic_blocks[location.block];
        let StatementKind::Assign(assign) = &data.statements[location.statement_index].kind else { unreachable!() };
        let Some(read) = assign.0.as_local() else { return Err("the child's tag is read into a projection".into()) };
        let switch_reads = matches!(&data.terminator().kind,
            TerminatorKind::SwitchInt { discr: Operand::Move(p) | Operand::Copy(p), .. } if p.as_local() == Some(read));
        let later_writes = data.statements[location.statement_index + 1..]
            .iter()
            .any(|s| matches!(&s.kind, StatementKind::Assign(a) if a.0.local == read));
        if !switch_reads || later_writes || uses[read] != 2 {
            return Err("the child's tag is used other than by its switch".into());
        }
        let TerminatorKind::SwitchInt { targets, .. } = &mut body.basic_blocks.as_mut()[location.block].terminator_mut().kind else {
            unreachable!()
        };
        let renumbered = |value: u128| map.variant(value as u32).as_u32() as u128;
        if targets.iter().any(|(value, _)| renumbered(value) >= (map.base + map.child_states - 1) as u128) {
            return Err("the child's switch has a value outside its states".into());
        }
        rebuild_arms(targets, |arms| arms.into_iter().map(|(value, target)| (renumbered(value), target)).collect());
    }
    Ok(())
}

/// Locals that point to the child: `p = &mut child`, `q = move p`, `q = Pin { pointer: p }`,
/// `q = copy (p.0)`, each the only assignment of its local.
fn child_pointers<'tcx>(body: &Body<'tcx>, is_child_place: &dyn Fn(&Place<'tcx>) -> bool) -> Result<Vec<Local>, String> {
    let mut assignments: IndexVec<Local, u32> = IndexVec::from_elem_n(0, body.local_decls.len());
    for data in body.basic_blocks.iter() {
        for stmt in &data.statements {
            if let StatementKind::Assign(assign) = &stmt.kind
                && let Some(local) = assign.0.as_local()
            {
                assignments[local] += 1;
            }
        }
        if let TerminatorKind::Call { destination, .. } = &data.terminator().kind
            && let Some(local) = destination.as_local()
        {
            assignments[local] += 1;
        }
    }
    let mut pointers: Vec<Local> = Vec::new();
    loop {
        let mut grew = false;
        for data in body.basic_blocks.iter() {
            for stmt in &data.statements {
                let StatementKind::Assign(assign) = &stmt.kind else { continue };
                let Some(lhs) = assign.0.as_local() else { continue };
                if pointers.contains(&lhs) {
                    continue;
                }
                let from_pointer = |operand: &Operand<'tcx>| match operand {
                    Operand::Move(p) | Operand::Copy(p) => {
                        pointers.contains(&p.local)
                            && (p.projection.is_empty() || matches!(p.projection.as_slice(), [ProjectionElem::Field(f, _)] if *f == FieldIdx::ZERO))
                    }
                    _ => false,
                };
                let derived = match &assign.1 {
                    Rvalue::Ref(_, BorrowKind::Mut { .. }, place) => is_child_place(place),
                    Rvalue::RawPtr(_, place) => is_child_place(place),
                    Rvalue::Use(operand, _) => from_pointer(operand),
                    Rvalue::Aggregate(_, operands) => operands.len() == 1 && operands.iter().all(from_pointer),
                    _ => false,
                };
                if derived {
                    if assignments[lhs] != 1 {
                        return Err(format!("the pointer {lhs:?} to the child is assigned more than once"));
                    }
                    pointers.push(lhs);
                    grew = true;
                }
            }
        }
        if !grew {
            break;
        }
    }
    Ok(pointers)
}

/// `(*ptr) as c).i` -> `((*self) as V(c)).i'`; `(*ptr).u` -> `((*self) as V(0)).u`.
struct ChildAccess<'a, 'tcx> {
    tcx: TyCtxt<'tcx>,
    coroutine_ref: Local,
    pointers: &'a [Local],
    map: StateMap,
    error: Option<String>,
}

impl<'tcx> MutVisitor<'tcx> for ChildAccess<'_, 'tcx> {
    fn tcx(&self) -> TyCtxt<'tcx> {
        self.tcx
    }

    fn visit_place(&mut self, place: &mut Place<'tcx>, _: PlaceContext, _: Location) {
        if !self.pointers.contains(&place.local) {
            return;
        }
        let elems: Vec<PlaceElem<'tcx>> = place.projection.to_vec();
        let new: Vec<PlaceElem<'tcx>> = match elems.as_slice() {
            // The pointer's own (now dead) definitions and storage markers.
            [] | [ProjectionElem::Field(..)] => return,
            [ProjectionElem::Deref, ProjectionElem::Downcast(name, state), ProjectionElem::Field(field, ty), rest @ ..] => {
                let mut new = vec![
                    ProjectionElem::Deref,
                    ProjectionElem::Downcast(*name, self.map.variant(state.as_u32())),
                    ProjectionElem::Field(self.map.field(state.as_u32(), *field), *ty),
                ];
                new.extend_from_slice(rest);
                new
            }
            [ProjectionElem::Deref, ProjectionElem::Field(upvar, ty), rest @ ..] => {
                // In any of the child's states (a child whose arguments `forward_upvars` left
                // in its upvars reads them after its first suspension): the upvars are saved
                // locals held by `V(0)` and `V(1)`, so rustc's layout puts them in the prefix,
                // which no variant overlaps, and `V(0)`'s projection reaches them from any
                // state, as rustc's own transform reaches a saved local held by several
                // variants through one of them.
                let mut new = vec![
                    ProjectionElem::Deref,
                    ProjectionElem::Downcast(None, self.map.holder),
                    ProjectionElem::Field(self.map.upvar(*upvar), *ty),
                ];
                new.extend_from_slice(rest);
                new
            }
            _ => {
                self.error.get_or_insert(format!("cannot map the child access {place:?}"));
                return;
            }
        };
        place.local = self.coroutine_ref;
        place.projection = self.tcx.mk_place_elems(&new);
    }
}

/// `((*self) as k).j` for the holder's fields other than the child's: their index once the
/// child's field is gone (they come first in every `V(c)`, in the same order).
struct KeptFields<'tcx> {
    tcx: TyCtxt<'tcx>,
    coroutine_ref: Local,
    map: StateMap,
}

impl<'tcx> MutVisitor<'tcx> for KeptFields<'tcx> {
    fn tcx(&self) -> TyCtxt<'tcx> {
        self.tcx
    }

    fn visit_place(&mut self, place: &mut Place<'tcx>, _: PlaceContext, _: Location) {
        if place.local != self.coroutine_ref {
            return;
        }
        let mut elems: Vec<PlaceElem<'tcx>> = place.projection.to_vec();
        if let [ProjectionElem::Deref, ProjectionElem::Downcast(_, v), ProjectionElem::Field(field, _), ..] = elems.as_mut_slice()
            && *v == self.map.holder
            && *field != self.map.child_field
        {
            *field = self.map.kept(*field);
            place.projection = self.tcx.mk_place_elems(&elems);
        }
    }
}

/// Finds what still names the child whole, a part of it, or a pointer to it.
struct ChildPlaceUse<'a, 'tcx> {
    plan: &'a FlattenPlan<'tcx>,
    coroutine_ref: Local,
    pointers: &'a [Local],
    found: Option<String>,
}

impl<'tcx> Visitor<'tcx> for ChildPlaceUse<'_, 'tcx> {
    fn visit_place(&mut self, place: &Place<'tcx>, context: PlaceContext, location: Location) {
        if matches!(context, PlaceContext::NonUse(_)) {
            return;
        }
        // Into the child's old place, deeper than the whole (`child.x`): any field of the
        // holder with the child's type.
        let inside_child = place.local == self.coroutine_ref
            && matches!(place.projection.as_slice(),
                [ProjectionElem::Deref, ProjectionElem::Downcast(_, v), ProjectionElem::Field(_, ty), ..]
                    if *v == self.plan.map.holder && *ty == self.plan.child_ty);
        if self.plan.names_child(place, self.coroutine_ref, false) || self.pointers.contains(&place.local) || inside_child {
            self.found.get_or_insert(format!("{place:?} is still used at {location:?}"));
        }
    }
}

/// The dispatch resumes the holder `k`: its arm is where the child's states will go.
fn has_holder_arm(body: &Body<'_>, dispatch: BasicBlock, map: StateMap) -> Result<(), String> {
    let TerminatorKind::SwitchInt { targets, .. } = &body.basic_blocks[dispatch].terminator().kind else {
        return Err("the dispatch is not a switch".into());
    };
    let holder = map.holder.as_u32() as u128;
    if !targets.iter().any(|(value, _)| value == holder) {
        return Err(format!("the dispatch has no arm for state {holder}"));
    }
    Ok(())
}

/// Every switch on a tag read, other than the child's own (`child_reads`), that has an
/// arm for the holder `k` gets one for each new variant `V(c)`, `c >= 1`, to the same
/// target: the tag now says "`k`, with the child in state `c`".
fn extend_holder_arms(body: &mut Body<'_>, coroutine_ref: Local, map: StateMap, child_reads: &[Location]) {
    let holder = map.holder.as_u32() as u128;
    for (bb, data) in body.basic_blocks.as_mut().iter_enumerated_mut() {
        let mut tag_local: Option<Local> = None;
        let mut read_at = 0;
        for (index, stmt) in data.statements.iter().enumerate() {
            if track_tag_local(stmt, coroutine_ref, &mut tag_local) {
                read_at = index;
            }
        }
        let Some(local) = tag_local else { continue };
        if child_reads.contains(&Location { block: bb, statement_index: read_at }) {
            continue;
        }
        let TerminatorKind::SwitchInt { discr: Operand::Move(p) | Operand::Copy(p), targets } = &mut data.terminator_mut().kind else {
            continue;
        };
        if p.as_local() != Some(local) {
            continue;
        }
        let Some(arm) = targets.iter().find(|(value, _)| *value == holder).map(|(_, t)| t) else { continue };
        rebuild_arms(targets, |mut arms| {
            arms.extend((1..map.child_states).map(|state| (map.variant(state).as_u32() as u128, arm)));
            arms
        });
    }
}

/// Step 3: the parent's layout without the child's saved local, with the child's upvars
/// and saved locals appended, the holder as `V(0)` and a variant per other child state.
fn rebuild_layout<'tcx>(plan: &FlattenPlan<'tcx>, body: &mut Body<'tcx>) -> Result<(), String> {
    let tcx = plan.tcx;
    let FlattenPlan { map, saved, instance, typing_env, child_layout, .. } = *plan;
    let upvar_tys = &plan.upvar_tys;
    let layout = body.coroutine.as_mut().unwrap().coroutine_layout.as_mut().unwrap();
    let mut edit = LayoutEdit::new(layout);
    let holder_info = edit.source_info(map.holder).ok_or("the holder variant is gone")?;
    let saved_info = edit.saved_ty(saved).source_info;
    let old_locals: Vec<CoroutineSavedLocal> = layout.field_tys.indices().filter(|&s| s != saved).collect();
    // The parent's saved locals stay, without the child; then the upvars; then the child's.
    edit.remove_from_variants(saved);
    let upvars: Vec<CoroutineSavedLocal> = upvar_tys
        .iter()
        .map(|&ty| edit.append_saved(CoroutineSavedTy { ty, source_info: saved_info, ignore_for_traits: false }, None))
        .collect();
    let mut child_locals: IndexVec<CoroutineSavedLocal, CoroutineSavedLocal> = IndexVec::new();
    for (s, saved_ty) in child_layout.field_tys.iter_enumerated() {
        let ty = instance
            .try_instantiate_mir_and_normalize_erasing_regions(tcx, typing_env, EarlyBinder::bind(saved_ty.ty))
            .map_err(|_| "a saved local of the child does not normalize here".to_string())?;
        let ty = CoroutineSavedTy { ty, source_info: saved_info, ignore_for_traits: saved_ty.ignore_for_traits };
        child_locals.push(edit.append_saved(ty, child_layout.field_names[s]));
    }

    // The holder's other fields lead every `V(c)`: held by several variants, they are laid
    // out in the prefix, where any variant's projection reaches them.
    let kept_holder_fields: IndexVec<FieldIdx, CoroutineSavedLocal> = edit.fields(map.holder).ok_or("the holder variant is gone")?.clone();
    debug_assert_eq!(kept_holder_fields.len(), map.kept_fields);
    let mut holder_fields = kept_holder_fields.clone();
    holder_fields.extend(upvars.iter().copied());
    holder_fields.extend(child_layout.variant_fields[VariantIdx::from_u32(0)].iter().map(|&s| child_locals[s]));
    edit.set_fields(map.holder, holder_fields);
    for state in 1..map.child_states {
        let mut fields = kept_holder_fields.clone();
        fields.extend(child_layout.variant_fields[VariantIdx::from_u32(state)].iter().map(|&s| child_locals[s]));
        if state == 1 {
            // The upvars are named by the Returned state too (after its own fields, which
            // it has none of): held by two variants, they are laid out in the prefix, as
            // in the child's own layout, and the child's parts stay free to overlap.
            fields.extend(upvars.iter().copied());
        }
        let v = edit.append_variant(fields, holder_info);
        debug_assert_eq!(v, map.variant(state));
    }

    // Conflicts: the parent's among themselves (kept by the edit); the child's among
    // themselves as in its own layout, and its upvars with all of its saved locals; and
    // everything the child conflicted with conflicts with all of the child's parts.
    let parts: Vec<CoroutineSavedLocal> = upvars.iter().chain(child_locals.iter()).copied().collect();
    for &a in &old_locals {
        if edit.old_conflict(a, saved) {
            for &part in &parts {
                edit.add_conflict(a, part);
            }
        }
    }
    for &u in &upvars {
        for &part in &parts {
            edit.add_conflict(u, part);
        }
    }
    for a in child_layout.field_tys.indices() {
        for b in child_layout.field_tys.indices() {
            if child_layout.storage_conflicts.contains(a, b) {
                edit.add_conflict(child_locals[a], child_locals[b]);
            }
        }
    }
    let renumbering = edit.finish(layout);
    debug_assert_eq!(renumbering.variant(map.variant(1)), Some(map.variant(1)));
    Ok(())
}

/// Step 4: wherever the child's code reads the tag, and wherever the parent wrote `k`,
/// the tag is one of the child's states.
fn check_tags<'tcx>(plan: &FlattenPlan<'tcx>, body: &Body<'tcx>, coroutine_ref: Local, edit: &BodyEdit) -> Result<(), String> {
    let tcx = plan.tcx;
    let map = plan.map;
    let sets = tag_sets(tcx, body, coroutine_ref, &TagSet::new_filled(plan.variant_count()), &edit.parent_writes);
    let only_child = |set: &TagSet| set.iter().all(|v| map.is_child_variant(v.as_u32()));
    for &location in &edit.tag_reads {
        if let Some(set) = tag_set_at(body, &sets, coroutine_ref, location, &edit.parent_writes)
            && !only_child(&set)
        {
            return Err(format!("the tag may not be a child state where the child reads it ({location:?})"));
        }
    }
    for &(block, statement_index) in &edit.parent_writes {
        let location = Location { block, statement_index };
        if let Some(set) = tag_set_at(body, &sets, coroutine_ref, location, &edit.parent_writes)
            && !only_child(&set)
        {
            return Err(format!("the parent suspends at {location:?} where the tag may not be a child state"));
        }
    }
    Ok(())
}

