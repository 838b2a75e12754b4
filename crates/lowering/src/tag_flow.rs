//! What a coroutine's tag (its state's discriminant, in `(*self)`) can be at each point
//! of its resume or drop body: a forward dataflow over sets of variant indices, run by
//! rustc's dataflow engine (`rustc_mir_dataflow::Analysis`).
//!
//! A `discriminant((*self)) = v` write makes the set `{v}`; a `switchInt` on a value just
//! read by `discriminant((*self))` narrows the set on each edge to what that edge allows
//! (the engine's switch-edge effects, as rustc's own `MaybeInitializedPlaces` narrows an
//! enum's variants); everything else passes the set on, unwind edges included. This is sound only when the
//! tag changes by those writes alone: `flatten_child` checks that the coroutine reference
//! is used only through projections before it relies on the sets.
//!
//! The sets are `rustc_index`'s `DenseBitSet`s over the variants: a flattened chain has a
//! few hundred variants and a few thousand blocks, and the engine copies and joins the
//! set at every block, several times per flattened child.

use rustc_abi::VariantIdx;
use rustc_index::IndexVec;
use rustc_index::bit_set::DenseBitSet;
use rustc_middle::mir::{BasicBlock, Body, Local, Location, Operand, Place, ProjectionElem, Rvalue, Statement, StatementKind, SwitchTargets, TerminatorKind};
use rustc_middle::ty::TyCtxt;
use rustc_mir_dataflow::fmt::DebugWithContext;
use rustc_mir_dataflow::{Analysis, JoinSemiLattice, MaybeReachable, SwitchTargetIndex};

/// Tag values: the variants the tag may be.
pub type TagSet = DenseBitSet<VariantIdx>;

/// The tag values each block may start with: `None` where no path reaches it.
pub type TagSets = IndexVec<BasicBlock, Option<TagSet>>;

/// The dataflow domain: a [`TagSet`], joined by union.
#[derive(Clone, Debug, PartialEq, Eq)]
struct PossibleTags(TagSet);

impl JoinSemiLattice for PossibleTags {
    fn join(&mut self, other: &Self) -> bool {
        self.0.union(&other.0)
    }
}

impl<C> DebugWithContext<C> for PossibleTags {}

/// The variant a switch value names, if the set has room for it.
pub fn variant_of(value: u128, set: &TagSet) -> Option<VariantIdx> {
    usize::try_from(value).ok().filter(|&v| v < set.domain_size()).map(VariantIdx::from_usize)
}

/// The analysis for rustc's dataflow engine. Blocks no path reaches stay `Unreachable`.
struct TagFlow<'a, 'tcx> {
    coroutine_ref: Local,
    entry: &'a TagSet,
    /// Tag writes to treat as no-ops.
    ignored: &'a [(BasicBlock, usize)],
    body: &'a Body<'tcx>,
}

/// A switch on the tag just read: the value of each of its arms, in order.
struct SwitchOnTag(Vec<u128>);

impl<'tcx> Analysis<'tcx> for TagFlow<'_, 'tcx> {
    type Domain = MaybeReachable<PossibleTags>;
    type SwitchIntData = SwitchOnTag;
    const NAME: &'static str = "corolift_tag_flow";

    fn bottom_value(&self, _: &Body<'tcx>) -> Self::Domain {
        MaybeReachable::Unreachable
    }

    fn initialize_start_block(&self, _: &Body<'tcx>, state: &mut Self::Domain) {
        *state = MaybeReachable::Reachable(PossibleTags(self.entry.clone()));
    }

    fn apply_primary_statement_effect(&self, state: &mut Self::Domain, statement: &Statement<'tcx>, location: Location) {
        if let MaybeReachable::Reachable(tags) = state {
            let ignored = self.ignored.contains(&(location.block, location.statement_index));
            step(statement, self.coroutine_ref, (!ignored).then_some(&mut tags.0), &mut None);
        }
    }

    fn get_switch_int_data(&self, block: BasicBlock, targets: &SwitchTargets, discr: &Operand<'tcx>) -> Option<SwitchOnTag> {
        let (Operand::Move(place) | Operand::Copy(place)) = discr else { return None };
        let mut tag_local = None;
        for statement in &self.body.basic_blocks[block].statements {
            step(statement, self.coroutine_ref, None, &mut tag_local);
        }
        (tag_local.is_some() && place.as_local() == tag_local).then(|| SwitchOnTag(targets.iter().map(|(value, _)| value).collect()))
    }

    /// An arm's edge keeps only its value; the otherwise edge keeps all but the arms'.
    fn apply_switch_int_edge_effect(&self, state: &mut Self::Domain, arms: &mut SwitchOnTag, edge: SwitchTargetIndex) {
        let MaybeReachable::Reachable(PossibleTags(tags)) = state else { return };
        match edge {
            SwitchTargetIndex::Normal(arm) => {
                let kept = variant_of(arms.0[arm], tags).filter(|&v| tags.contains(v));
                tags.clear();
                if let Some(v) = kept {
                    tags.insert(v);
                }
            }
            SwitchTargetIndex::Otherwise => {
                for &value in &arms.0 {
                    if let Some(v) = variant_of(value, tags) {
                        tags.remove(v);
                    }
                }
            }
        }
    }
}

/// The possible tag values at each block's entry: a forward dataflow (rustc's engine)
/// whose switch edges are refined by the values they test. The parent's writes of `k`
/// that the rewrite will remove (`ignored`) are treated as the no-ops they become.
pub fn tag_sets<'tcx>(tcx: TyCtxt<'tcx>, body: &Body<'tcx>, coroutine_ref: Local, entry: &TagSet, ignored: &[(BasicBlock, usize)]) -> TagSets {
    let analysis = TagFlow { coroutine_ref, entry, ignored, body };
    // A forward analysis's entry states are the blocks' start states.
    analysis
        .iterate_to_fixpoint(tcx, body, None)
        .entry_states
        .into_iter()
        .map(|state| match state {
            MaybeReachable::Reachable(PossibleTags(tags)) => Some(tags),
            MaybeReachable::Unreachable => None,
        })
        .collect()
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

/// One statement's effect on the possible tag values, and on which local holds the tag
/// just read. `state: None` follows only the local (a tag write treated as a no-op).
pub fn step(stmt: &Statement<'_>, coroutine_ref: Local, state: Option<&mut TagSet>, tag_local: &mut Option<Local>) {
    if let StatementKind::SetDiscriminant { place, variant_index } = &stmt.kind
        && is_coroutine(place, coroutine_ref)
    {
        if let Some(state) = state {
            state.clear();
            if variant_index.index() < state.domain_size() {
                state.insert(*variant_index);
            }
        }
        *tag_local = None;
        return;
    }
    track_tag_local(stmt, coroutine_ref, tag_local);
}

/// The tag values at one statement.
pub fn tag_set_at(body: &Body<'_>, sets: &TagSets, coroutine_ref: Local, location: Location, ignored: &[(BasicBlock, usize)]) -> Option<TagSet> {
    let mut state = sets[location.block].clone()?;
    let mut tag_local = None;
    for (index, stmt) in body.basic_blocks[location.block].statements[..location.statement_index].iter().enumerate() {
        let ignored = ignored.contains(&(location.block, index));
        step(stmt, coroutine_ref, (!ignored).then_some(&mut state), &mut tag_local);
    }
    Some(state)
}

/// The tag values a poll can end with, and so the next poll and the drop glue start
/// from: the least set holding Unresumed that is closed under "a poll that starts in one
/// of them returns or unwinds in". Nothing but this body's own writes changes the tag
/// (`machine::self_reached_only_by_projection`), and a pinned coroutine is not moved.
pub fn observable_states<'tcx>(tcx: TyCtxt<'tcx>, body: &Body<'tcx>, coroutine_ref: Local, variant_count: usize) -> TagSet {
    let mut observable = TagSet::new_empty(variant_count);
    observable.insert(VariantIdx::ZERO);
    loop {
        let sets = tag_sets(tcx, body, coroutine_ref, &observable, &[]);
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
            next.union(&exit);
        }
        if next == observable {
            return observable;
        }
        observable = next;
    }
}

