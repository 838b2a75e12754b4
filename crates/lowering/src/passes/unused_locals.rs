//! Locals nothing uses any more are removed, from the resume body and the drop body.
//!
//! The splices copy every local of the child's body into the parent, and the rewrites that
//! follow (`construct_in_place`'s forwarding, `flatten_child`'s accesses, `known_variant`'s
//! jumps) leave many of them with no use but their storage markers:
//!
//! ```text
//! // before                                   // after
//! let mut _4: {async fn body of l15()};       // (gone, and every local after it renumbered)
//! bb1: { StorageLive(_4); StorageLive(_5);    bb1: { StorageLive(_4);
//!        _6463 = move _3; goto -> bb2; }             _39 = move _3; goto -> bb2; }
//! ```
//!
//! A body of a 16-deep flattened chain kept 6,463 locals of which about 40 were used. Each
//! costs where bodies are copied (a parent splices its child's lowered body, so the next
//! level copies them all again), where analyses size their sets by the local count, and
//! where cg_clif gives every local in memory a stack slot. rustc's `SimplifyLocals` does the
//! same for other bodies, but it is private to rustc_mir_transform and runs before
//! corolift's override sees the body.
//!
//! A local is used when a statement or terminator mentions it other than in a storage
//! marker, or debug info names it (a debugger may still show it). The return place and the
//! arguments always stay. Unused locals lose their storage markers; the others keep their
//! order and are numbered densely.
//!
//! Why MIR: the removal is of MIR locals, and every backend and the metadata then carry
//! the smaller body.

use rustc_index::IndexVec;
use rustc_index::bit_set::DenseBitSet;
use rustc_middle::mir::visit::{MutVisitor, PlaceContext};
use rustc_middle::mir::{Body, Local, Location, StatementKind, VarDebugInfoContents};
use rustc_middle::ty::TyCtxt;

use super::{PassCx, PassOutcome};
use crate::body_edit::Mentions;

pub fn run<'tcx>(cx: &PassCx<'tcx>, body: &mut Body<'tcx>) -> PassOutcome {
    let resume = remove_unused_locals(cx.tcx, body);
    let drop = match body.coroutine.as_mut().and_then(|info| info.coroutine_drop.as_mut()) {
        Some(drop_body) => remove_unused_locals(cx.tcx, drop_body),
        None => (0, 0),
    };
    if resume.0 + drop.0 == 0 {
        return PassOutcome::Declined("every local is used".into());
    }
    PassOutcome::Applied(format!(
        "{} of {} locals of the resume body and {} of {} of the drop body were used by nothing but their storage markers, and went",
        resume.0, resume.1, drop.0, drop.1
    ))
}

/// Removes the unused locals of `body`; returns how many went, of how many.
fn remove_unused_locals<'tcx>(tcx: TyCtxt<'tcx>, body: &mut Body<'tcx>) -> (usize, usize) {
    let count = body.local_decls.len();
    let mut used = DenseBitSet::new_empty(count);
    for local in Mentions::uses().of_body(body) {
        used.insert(local);
    }
    for info in &body.var_debug_info {
        match &info.value {
            VarDebugInfoContents::Place(place) => {
                used.insert(place.local);
                for local in place.projection.iter().filter_map(|elem| match elem {
                    rustc_middle::mir::ProjectionElem::Index(local) => Some(local),
                    _ => None,
                }) {
                    used.insert(local);
                }
            }
            VarDebugInfoContents::Const(_) => {}
        }
    }
    for local in (0..=body.arg_count).map(Local::from_usize) {
        used.insert(local);
    }
    let removed = count - used.count();
    if removed == 0 {
        return (0, count);
    }

    for data in body.basic_blocks.as_mut_preserves_cfg() {
        data.statements.retain(|statement| match statement.kind {
            StatementKind::StorageLive(local) | StatementKind::StorageDead(local) => used.contains(local),
            _ => true,
        });
    }
    let mut map: IndexVec<Local, Option<Local>> = IndexVec::from_elem_n(None, count);
    let mut next = 0;
    for local in used.iter() {
        map[local] = Some(Local::from_usize(next));
        next += 1;
    }
    let decls = std::mem::take(&mut body.local_decls);
    body.local_decls = decls.into_iter_enumerated().filter(|(local, _)| used.contains(*local)).map(|(_, decl)| decl).collect();
    Renumber { tcx, map }.visit_body_preserves_cfg(body);
    (removed, count)
}

struct Renumber<'tcx> {
    tcx: TyCtxt<'tcx>,
    map: IndexVec<Local, Option<Local>>,
}

impl<'tcx> MutVisitor<'tcx> for Renumber<'tcx> {
    fn tcx(&self) -> TyCtxt<'tcx> {
        self.tcx
    }

    fn visit_local(&mut self, local: &mut Local, _: PlaceContext, _: Location) {
        *local = self.map[*local].expect("a removed local is still mentioned");
    }
}
