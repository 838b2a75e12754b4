//! Small MIR editing tools the passes share: reachability, liveness of locals (rustc's
//! analyses), renumbering of coroutine variants, and demotion of a variant's fields to
//! ordinary locals.
//!
//! rustc's own `MirPatch` and `simplify_cfg` are private to rustc_mir_transform, so the
//! passes edit `Body` directly through these helpers.

use rustc_abi::{FieldIdx, VariantIdx};
use rustc_index::bit_set::DenseBitSet;
use rustc_index::IndexVec;
use rustc_middle::mir::visit::{MutVisitor, PlaceContext, Visitor};
use rustc_middle::mir::{
    BasicBlock, Body, Local, Location, Place, PlaceElem, ProjectionElem, Statement,
    StatementKind, Terminator, TerminatorKind, traversal,
};
use rustc_middle::ty::TyCtxt;
use rustc_mir_dataflow::Analysis;
use rustc_mir_dataflow::impls::{MaybeBorrowedLocals, MaybeLiveLocals};

/// Blocks reachable from the start block (before monomorphization).
pub fn reachable_blocks(body: &Body<'_>) -> DenseBitSet<BasicBlock> {
    traversal::reachable_as_bitset(body)
}

/// Empties every block that the start block cannot reach: no statements, `unreachable`.
///
/// A pass that cuts edges leaves such blocks behind. cg_clif does not emit them anyway,
/// but they may still name a variant that a later edit removes, so they are cleared
/// rather than left stale for metadata and the mono-item collector.
pub fn clear_unreachable_blocks(body: &mut Body<'_>) -> usize {
    let reachable = reachable_blocks(body);
    let mut cleared = 0;
    for (bb, data) in body.basic_blocks.as_mut().iter_enumerated_mut() {
        if reachable.contains(bb) {
            continue;
        }
        if data.statements.is_empty() && matches!(data.terminator().kind, TerminatorKind::Unreachable) {
            continue;
        }
        data.statements.clear();
        data.terminator_mut().kind = TerminatorKind::Unreachable;
        cleared += 1;
    }
    cleared
}

/// Removes every block the start block cannot reach and numbers the rest densely, in
/// their old order (so the start block stays `bb0`). Returns how many went.
///
/// Splicing and threading leave cleared blocks behind; a parent that splices a child
/// would otherwise carry the child's dead blocks, and the size budgets would count them.
pub fn remove_unreachable_blocks(body: &mut Body<'_>) -> usize {
    let reachable = reachable_blocks(body);
    let count = body.basic_blocks.len();
    if reachable.count() == count {
        return 0;
    }
    let mut new_index: IndexVec<BasicBlock, Option<BasicBlock>> = IndexVec::from_elem_n(None, count);
    let mut next = 0;
    for bb in body.basic_blocks.indices() {
        if reachable.contains(bb) {
            new_index[bb] = Some(BasicBlock::from_usize(next));
            next += 1;
        }
    }
    let blocks = std::mem::take(body.basic_blocks.as_mut());
    let mut kept = IndexVec::with_capacity(next);
    for (bb, mut data) in blocks.into_iter_enumerated() {
        if new_index[bb].is_none() {
            continue;
        }
        // Every successor of a reachable block is reachable.
        data.terminator_mut().successors_mut(|target| *target = new_index[*target].unwrap());
        kept.push(data);
    }
    *body.basic_blocks.as_mut() = kept;
    count - next
}

/// Locals that may be read before they are written again, at the entry of each block:
/// rustc's `MaybeLiveLocals`, joined with `MaybeBorrowedLocals`.
///
/// `MaybeLiveLocals` sees only direct reads; rustc's documentation pairs it with
/// `MaybeBorrowedLocals` for anything that asks whether a value may still be needed,
/// because a local whose address was taken can be read through the pointer. A local that
/// may be borrowed at a block's entry therefore counts as live there.
pub struct LiveLocals {
    live_in: IndexVec<BasicBlock, DenseBitSet<Local>>,
}

impl LiveLocals {
    pub fn compute<'tcx>(tcx: TyCtxt<'tcx>, body: &Body<'tcx>) -> LiveLocals {
        let mut live = MaybeLiveLocals.iterate_to_fixpoint(tcx, body, None).into_results_cursor(body);
        let mut borrowed = MaybeBorrowedLocals.iterate_to_fixpoint(tcx, body, None).into_results_cursor(body);
        let live_in = body
            .basic_blocks
            .indices()
            .map(|block| {
                live.seek_to_block_start(block);
                let mut at_entry = live.get().clone();
                borrowed.seek_to_block_start(block);
                at_entry.union(borrowed.get());
                at_entry
            })
            .collect();
        LiveLocals { live_in }
    }

    pub fn live_in(&self, block: BasicBlock) -> &DenseBitSet<Local> {
        &self.live_in[block]
    }
}

/// The locals a piece of MIR mentions, in visiting order (a local mentioned twice is
/// listed twice). The one "which locals does this mention" walk of the passes.
pub struct Mentions {
    /// Leave out storage markers and debug info (`PlaceContext::NonUse`): only uses
    /// (reads, writes, borrows, drops).
    uses_only: bool,
    pub locals: Vec<Local>,
}

impl Mentions {
    /// Every mention, storage markers and debug info included.
    pub fn all() -> Mentions {
        Mentions { uses_only: false, locals: Vec::new() }
    }

    /// Uses only: no storage markers, no debug info.
    pub fn uses() -> Mentions {
        Mentions { uses_only: true, locals: Vec::new() }
    }

    pub fn of_statement(mut self, statement: &Statement<'_>) -> Vec<Local> {
        self.visit_statement(statement, Location::START);
        self.locals
    }

    pub fn of_terminator(mut self, terminator: &Terminator<'_>) -> Vec<Local> {
        self.visit_terminator(terminator, Location::START);
        self.locals
    }

    pub fn of_body(mut self, body: &Body<'_>) -> Vec<Local> {
        self.visit_body(body);
        self.locals
    }
}

impl<'tcx> Visitor<'tcx> for Mentions {
    fn visit_local(&mut self, local: Local, context: PlaceContext, _: Location) {
        if !(self.uses_only && matches!(context, PlaceContext::NonUse(_))) {
            self.locals.push(local);
        }
    }
}

/// Rewrites every `(*coroutine) as variant#v` projection, and every
/// `discriminant((*coroutine)) = v` write, through `map`; a place whose variant maps to
/// `Demote(local)` for its field is replaced by that local. A place `map` has no answer
/// for (`None`) is left alone and makes [`VariantRewrite::apply`] fail.
pub struct VariantRewrite<'a, 'tcx> {
    pub tcx: TyCtxt<'tcx>,
    /// The local holding `&mut Coroutine` in this body.
    pub coroutine_ref: Local,
    pub map: &'a dyn Fn(VariantIdx, Option<FieldIdx>) -> Option<VariantTarget>,
    /// The first place `map` had no answer for.
    pub unmapped: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VariantTarget {
    Variant(VariantIdx),
    /// The same saved local, held by another variant at this field.
    Field(VariantIdx, FieldIdx),
    /// The field becomes this ordinary local.
    Demote(Local),
    /// The field lives in this upvar of the coroutine (`(*coroutine).u`) now.
    Upvar(FieldIdx),
}

impl<'a, 'tcx> VariantRewrite<'a, 'tcx> {
    pub fn new(tcx: TyCtxt<'tcx>, coroutine_ref: Local, map: &'a dyn Fn(VariantIdx, Option<FieldIdx>) -> Option<VariantTarget>) -> Self {
        VariantRewrite { tcx, coroutine_ref, map, unmapped: None }
    }

    pub fn apply(&mut self, body: &mut Body<'tcx>) -> Result<(), String> {
        self.visit_body(body);
        for data in body.basic_blocks.as_mut().iter_mut() {
            for stmt in &mut data.statements {
                self.rewrite_set_discriminant(stmt);
            }
        }
        match self.unmapped.take() {
            Some(place) => Err(format!("cannot rewrite {place}")),
            None => Ok(()),
        }
    }

    pub fn rewrite_set_discriminant(&mut self, stmt: &mut Statement<'tcx>) {
        let StatementKind::SetDiscriminant { place, variant_index } = &mut stmt.kind else { return };
        if place.local != self.coroutine_ref || place.projection.as_slice() != [ProjectionElem::Deref] {
            return;
        }
        match (self.map)(*variant_index, None) {
            Some(VariantTarget::Variant(v)) => *variant_index = v,
            _ => {
                self.unmapped.get_or_insert(format!("the state write `= {}`", variant_index.as_u32()));
            }
        }
    }
}

impl<'tcx> MutVisitor<'tcx> for VariantRewrite<'_, 'tcx> {
    fn tcx(&self) -> TyCtxt<'tcx> {
        self.tcx
    }

    fn visit_place(&mut self, place: &mut Place<'tcx>, _: PlaceContext, _: Location) {
        if place.local != self.coroutine_ref {
            return;
        }
        let elems: &[PlaceElem<'tcx>] = place.projection.as_slice();
        let [ProjectionElem::Deref, ProjectionElem::Downcast(name, variant), rest @ ..] = elems else {
            return;
        };
        let field = match rest.first() {
            Some(ProjectionElem::Field(field, _)) => Some(*field),
            _ => None,
        };
        let target = match (self.map)(*variant, field) {
            Some(target) => target,
            None => {
                self.unmapped.get_or_insert(format!("{place:?}"));
                return;
            }
        };
        match target {
            VariantTarget::Variant(v) if v == *variant => {}
            VariantTarget::Variant(v) => {
                let mut new: Vec<PlaceElem<'tcx>> = elems.to_vec();
                new[1] = ProjectionElem::Downcast(*name, v);
                place.projection = self.tcx.mk_place_elems(&new);
            }
            VariantTarget::Field(v, to_field) => {
                let mut new: Vec<PlaceElem<'tcx>> = elems.to_vec();
                new[1] = ProjectionElem::Downcast(*name, v);
                let Some(ProjectionElem::Field(_, ty)) = new.get(2).copied() else {
                    self.unmapped.get_or_insert(format!("{place:?}"));
                    return;
                };
                new[2] = ProjectionElem::Field(to_field, ty);
                place.projection = self.tcx.mk_place_elems(&new);
            }
            VariantTarget::Demote(local) => {
                if field.is_none() {
                    self.unmapped.get_or_insert(format!("{place:?}"));
                    return;
                }
                place.local = local;
                place.projection = self.tcx.mk_place_elems(&rest[1..]);
            }
            VariantTarget::Upvar(upvar) => {
                let Some(ProjectionElem::Field(_, ty)) = rest.first().copied() else {
                    self.unmapped.get_or_insert(format!("{place:?}"));
                    return;
                };
                let mut new: Vec<PlaceElem<'tcx>> = vec![ProjectionElem::Deref, ProjectionElem::Field(upvar, ty)];
                new.extend_from_slice(&rest[1..]);
                place.projection = self.tcx.mk_place_elems(&new);
            }
        }
    }
}

/// Rebuilds the `switchInt` that ends `block`: each `value -> target` arm goes through
/// `edit`, which keeps it (possibly renumbered or retargeted) or drops it.
pub fn edit_switch(
    body: &mut Body<'_>,
    block: BasicBlock,
    edit: impl Fn(u128, BasicBlock) -> Option<(u128, BasicBlock)>,
) {
    let TerminatorKind::SwitchInt { targets, .. } = &mut body.basic_blocks.as_mut()[block].terminator_mut().kind
    else {
        panic!("edit_switch: {block:?} does not end in a switchInt");
    };
    rebuild_arms(targets, |arms| arms.into_iter().filter_map(|(v, t)| edit(v, t)).collect());
}

/// Replaces a switch's `value -> target` arms by what `rebuild` makes of them (in order);
/// the otherwise target stays.
pub fn rebuild_arms(targets: &mut rustc_middle::mir::SwitchTargets, rebuild: impl FnOnce(Vec<(u128, BasicBlock)>) -> Vec<(u128, BasicBlock)>) {
    let arms = rebuild(targets.iter().collect());
    *targets = rustc_middle::mir::SwitchTargets::new(arms.into_iter(), targets.otherwise());
}

/// Reads and writes of every local of `body`; storage markers and debug info do not
/// count. One walk of the body, for passes that ask about many locals.
pub fn use_counts(body: &Body<'_>) -> IndexVec<Local, u32> {
    struct Count(IndexVec<Local, u32>);
    impl<'tcx> Visitor<'tcx> for Count {
        fn visit_local(&mut self, local: Local, context: PlaceContext, _: Location) {
            if !matches!(context, PlaceContext::NonUse(_)) {
                self.0[local] += 1;
            }
        }
    }
    let mut count = Count(IndexVec::from_elem(0, &body.local_decls));
    count.visit_body(body);
    count.0
}

/// Reads and writes of `local` in `body`; storage markers and debug info do not count.
pub fn count_uses(body: &Body<'_>, local: Local) -> usize {
    struct Count(Local, usize);
    impl<'tcx> Visitor<'tcx> for Count {
        fn visit_local(&mut self, local: Local, context: PlaceContext, _: Location) {
            if local == self.0 && !matches!(context, PlaceContext::NonUse(_)) {
                self.1 += 1;
            }
        }
    }
    let mut count = Count(local, 0);
    count.visit_body(body);
    count.1
}
