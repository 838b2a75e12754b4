//! Small MIR editing tools the passes share: reachability, a conservative liveness of
//! locals, renumbering of coroutine variants, and demotion of a variant's fields to
//! ordinary locals.
//!
//! rustc's own `MirPatch` and `simplify_cfg` are private to rustc_mir_transform, so the
//! passes edit `Body` directly through these helpers.

use rustc_abi::{FieldIdx, VariantIdx};
use rustc_index::bit_set::DenseBitSet;
use rustc_index::IndexVec;
use rustc_middle::mir::visit::{MutVisitor, NonUseContext, PlaceContext, Visitor};
use rustc_middle::mir::{
    BasicBlock, Body, Local, Location, Place, PlaceElem, ProjectionElem, Statement,
    StatementKind, TerminatorKind, traversal,
};
use rustc_middle::ty::TyCtxt;

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

/// Locals that may be read before they are written again, at the entry of each block.
///
/// Deliberately coarse: only a whole-local `Assign`, or a call's whole-local destination
/// on the call's return edge, kills a local; any other mention (a projection write, a
/// drop, a borrow) counts as a read. Storage
/// markers and debug info do not count. Over-approximating liveness only makes the
/// passes that ask decline more often.
pub struct LiveLocals {
    live_in: IndexVec<BasicBlock, DenseBitSet<Local>>,
}

impl LiveLocals {
    pub fn compute(body: &Body<'_>) -> LiveLocals {
        let n = body.local_decls.len();
        let blocks = &body.basic_blocks;
        // Per block: locals read before any kill (gen), and locals killed (kill).
        let mut gens = IndexVec::from_elem(DenseBitSet::new_empty(n), blocks);
        let mut kills = IndexVec::from_elem(DenseBitSet::new_empty(n), blocks);
        for (bb, data) in blocks.iter_enumerated() {
            let (g, k) = (&mut gens[bb], &mut kills[bb]);
            let mut reads = LocalReads::default();
            let end = Location { block: bb, statement_index: data.statements.len() };
            match &data.terminator().kind {
                // A call writes a whole-local destination on its return edge only (see below).
                TerminatorKind::Call { func, args, destination, .. } if destination.as_local().is_some() => {
                    reads.visit_operand(func, end);
                    for arg in args.iter() {
                        reads.visit_operand(&arg.node, end);
                    }
                }
                _ => reads.visit_terminator(data.terminator(), end),
            }
            for local in reads.0.drain(..) {
                g.insert(local);
            }
            for (index, stmt) in data.statements.iter().enumerate().rev() {
                let location = Location { block: bb, statement_index: index };
                if let StatementKind::Assign(assign) = &stmt.kind
                    && let Some(local) = assign.0.as_local()
                {
                    g.remove(local);
                    k.insert(local);
                    reads.visit_rvalue(&assign.1, location);
                } else {
                    reads.visit_statement(stmt, location);
                }
                for local in reads.0.drain(..) {
                    g.insert(local);
                    k.remove(local);
                }
            }
        }
        let mut live_in = gens.clone();
        let mut changed = true;
        while changed {
            changed = false;
            for bb in blocks.indices().rev() {
                let mut out = DenseBitSet::new_empty(n);
                let call_return = match &blocks[bb].terminator().kind {
                    TerminatorKind::Call { destination, target: Some(target), .. } => {
                        destination.as_local().map(|local| (*target, local))
                    }
                    _ => None,
                };
                for succ in blocks[bb].terminator().successors() {
                    match call_return {
                        Some((target, destination)) if target == succ => {
                            let mut from_target = live_in[succ].clone();
                            from_target.remove(destination);
                            out.union(&from_target);
                        }
                        _ => {
                            out.union(&live_in[succ]);
                        }
                    }
                }
                out.subtract(&kills[bb]);
                out.union(&gens[bb]);
                if out != live_in[bb] {
                    live_in[bb] = out;
                    changed = true;
                }
            }
        }
        LiveLocals { live_in }
    }

    pub fn live_in(&self, block: BasicBlock) -> &DenseBitSet<Local> {
        &self.live_in[block]
    }
}

/// Every local a statement, rvalue or terminator mentions, except in storage markers.
#[derive(Default)]
struct LocalReads(Vec<Local>);

impl<'tcx> Visitor<'tcx> for LocalReads {
    fn visit_local(&mut self, local: Local, context: PlaceContext, _: Location) {
        if !matches!(context, PlaceContext::NonUse(NonUseContext::StorageLive | NonUseContext::StorageDead | NonUseContext::VarDebugInfo)) {
            self.0.push(local);
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
    let arms: Vec<(u128, BasicBlock)> = targets.iter().filter_map(|(v, t)| edit(v, t)).collect();
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
