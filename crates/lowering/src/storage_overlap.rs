//! Which locals can hold a value someone still needs at the same time: the conflicts
//! that decide which locals may share one stack slot.
//!
//! cg_clif gives every local in memory a slot of its own for the whole function; the
//! codegen step `share_stack_slots` (crates/codegen/src/shared_slots.rs) uses these
//! conflicts to give it fewer. A local's bytes matter at a point when it holds a value and
//! that value may still be read. Three of rustc's analyses (rustc_mir_dataflow) say so:
//! - `MaybeRequiresStorage`, the analysis rustc's coroutine transform overlaps saved
//!   locals with: a local holds a value from an assignment to it or a borrow of it, until
//!   its `StorageDead` or until it is moved out whole while never borrowed;
//! - `MaybeLiveLocals`: the value may be read later, directly;
//! - `MaybeBorrowedLocals`: a pointer to it exists, so it may be read through that.
//!
//! A local is *needed* at a statement or terminator when it requires storage there (after
//! the early effect, where an assignment's or a call's destination already does and the
//! operands it reads still do) and it is live before or after that point, or borrowed, or
//! mentioned by the statement itself: a write occupies the bytes it writes even when
//! nothing reads them afterwards, so the destination of a statement always conflicts with
//! its operands. Two locals conflict when both are needed at one point. A local needed at
//! no point at all conflicts with nothing.
//!
//! Why that is enough: at any point, the bytes of a shared slot are read or written only
//! for the locals the statement mentions, and must be kept only for the locals whose
//! value may still be read; each of those is needed at that point, so no two of them
//! share a slot.
//!
//! Where this differs from rustc's own use:
//! - the arguments conflict with every other local (`MaybeRequiresStorage` does not count
//!   the first argument at all, since a coroutine's `self` never moves into its layout);
//! - locals without storage markers take part: rustc keeps them out of overlap in a
//!   coroutine layout, where a value must survive a suspension, but in one function's frame
//!   such a local requires storage from its first assignment or borrow, like any other.
//!   rustc removes every marker at opt-level 0 (`RemoveStorageMarkers`: no lifetime
//!   markers are emitted there), so at -O0 the assignments are all there is to go on;
//! - every mention of a candidate local (a read, a write, a borrow, a drop) must be at a
//!   point where it may require storage. Sound MIR always is, and a local mentioned
//!   elsewhere is treated as conflicting with every other one and keeps a slot of its own.
//!   This catches a pass that leaves a use where no path gives the local a value; it cannot
//!   catch one that reads a local after moving it out on one path while another path keeps
//!   it (the analysis joins paths), which is invalid MIR (`Operand::Move` forbids it) that
//!   rustc's MIR validator rejects. corolift's passes must not produce such MIR, and the
//!   differential corpus and the fuzzer are what would show it.
//!
//! Blocks that end in `unreachable` are skipped, as rustc skips them: reaching one is
//! undefined behaviour already.

use rustc_index::bit_set::DenseBitSet;
use rustc_middle::mir::{Body, Local, Location, TerminatorKind};
use rustc_middle::ty::TyCtxt;
use rustc_mir_dataflow::impls::{MaybeBorrowedLocals, MaybeLiveLocals, MaybeRequiresStorage};
use rustc_mir_dataflow::{Analysis, ResultsCursor};

use crate::body_edit::Mentions;

/// The storage conflicts among a set of candidate locals.
pub struct StorageOverlap {
    /// Per candidate local: the candidates it may require storage together with.
    conflicts: Vec<DenseBitSet<Local>>,
    /// Per candidate local: the first point (in reverse postorder) where it is needed.
    first_needed: Vec<Option<usize>>,
    /// The position of each candidate in `conflicts`.
    index: Vec<Option<usize>>,
    /// Candidates mentioned where they do not require storage: they conflict with all.
    pub unmarked_uses: Vec<Local>,
}

impl StorageOverlap {
    /// The conflicts among `candidates` in `body`.
    pub fn compute<'tcx>(tcx: TyCtxt<'tcx>, body: &Body<'tcx>, candidates: &[Local]) -> StorageOverlap {
        let locals = body.local_decls.len();
        let mut index = vec![None; locals];
        let mut wanted = DenseBitSet::new_empty(locals);
        for (at, &local) in candidates.iter().enumerate() {
            index[local.as_usize()] = Some(at);
            wanted.insert(local);
        }
        let mut overlap = StorageOverlap {
            conflicts: vec![DenseBitSet::new_empty(locals); candidates.len()],
            first_needed: vec![None; candidates.len()],
            index,
            unmarked_uses: Vec::new(),
        };
        if candidates.is_empty() {
            return overlap;
        }

        let borrowed_results = MaybeBorrowedLocals.iterate_to_fixpoint(tcx, body, None);
        let mut requires = MaybeRequiresStorage::new(ResultsCursor::new_borrowing(body, &borrowed_results))
            .iterate_to_fixpoint(tcx, body, None)
            .into_results_cursor(body);
        let mut borrowed = ResultsCursor::new_borrowing(body, &borrowed_results);
        let mut live = MaybeLiveLocals.iterate_to_fixpoint(tcx, body, None).into_results_cursor(body);

        let mut misused = DenseBitSet::new_empty(locals);
        let mut last_needed = DenseBitSet::new_empty(locals);
        // Points are numbered in reverse postorder, so that a local's first point says
        // roughly where its value starts, as in a linear scan.
        let mut point = 0;
        for &block in body.basic_blocks.reverse_postorder() {
            let data = &body.basic_blocks[block];
            if let TerminatorKind::Unreachable = data.terminator().kind {
                continue;
            }
            let end = data.statements.len();
            // Liveness runs backward: walk the block from its terminator up, and keep, per
            // point, the candidates live before or after it.
            let mut read_around = vec![DenseBitSet::new_empty(locals); end + 1];
            for statement_index in (0..=end).rev() {
                let location = Location { block, statement_index };
                live.seek_before_primary_effect(location);
                read_around[statement_index].union(live.get());
                live.seek_after_primary_effect(location);
                read_around[statement_index].union(live.get());
                read_around[statement_index].intersect(&wanted);
            }
            for (statement_index, mut needed) in read_around.into_iter().enumerate() {
                let location = Location { block, statement_index };
                // The locals this statement or terminator uses (no storage markers).
                let mut mentioned = DenseBitSet::new_empty(locals);
                let uses = match data.statements.get(statement_index) {
                    Some(statement) => Mentions::uses().of_statement(statement),
                    None => Mentions::uses().of_terminator(data.terminator()),
                };
                for local in uses {
                    mentioned.insert(local);
                }
                requires.seek_before_primary_effect(location);
                borrowed.seek_before_primary_effect(location);
                let mut outside = mentioned.clone();
                outside.subtract(requires.get());
                misused.union(&outside);
                needed.union(&mentioned);
                needed.union(borrowed.get());
                needed.intersect(requires.get());
                needed.intersect(&wanted);
                point += 1;
                if needed != last_needed {
                    for local in needed.iter() {
                        overlap.record(local, &needed);
                        let at = overlap.index[local.as_usize()].unwrap();
                        overlap.first_needed[at].get_or_insert(point);
                    }
                    last_needed = needed;
                }
            }
        }

        let mut everywhere = DenseBitSet::new_empty(locals);
        for arg in body.args_iter() {
            everywhere.insert(arg);
        }
        misused.subtract(&everywhere);
        misused.intersect(&wanted);
        overlap.unmarked_uses = misused.iter().collect();
        everywhere.union(&misused);
        everywhere.intersect(&wanted);
        for local in everywhere.iter() {
            overlap.record(local, &wanted);
        }
        overlap
    }

    /// `local` conflicts with every local of `live` (and they with it).
    fn record(&mut self, local: Local, live: &DenseBitSet<Local>) {
        let at = self.index[local.as_usize()].unwrap();
        self.conflicts[at].union(live);
        for other in live.iter() {
            let other_at = self.index[other.as_usize()].unwrap();
            self.conflicts[other_at].insert(local);
        }
    }

    /// The first point, in reverse postorder, where candidate `local` is needed (`None`:
    /// nowhere). Colouring locals in this order is a linear scan over the body.
    pub fn first_needed(&self, local: Local) -> Option<usize> {
        self.first_needed[self.index[local.as_usize()].expect("not a candidate local")]
    }

    /// The candidates that may require storage together with candidate `local` (including
    /// `local` itself, wherever it requires storage at all).
    pub fn conflicts_of(&self, local: Local) -> &DenseBitSet<Local> {
        &self.conflicts[self.index[local.as_usize()].expect("not a candidate local")]
    }
}
