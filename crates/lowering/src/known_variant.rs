//! Jumps past a switch on an enum that the jumping block has just built.
//!
//! A spliced child returns by writing `Poll::Pending` or `Poll::Ready(v)` into the await's
//! result local and jumping to one shared block, which switches on that result again:
//!
//! ```text
//! // before
//! bb22: { _6 = Poll::<u64>::Pending; discriminant((*_13)) = 6; goto -> bb29; }
//! bb29: { goto -> bb6; }
//! bb6:  { StorageDead(_8); _9 = discriminant(_6); switchInt(move _9) -> [0: bb9, otherwise: bb8]; }
//! // after
//! bb22: { _6 = Poll::<u64>::Pending; discriminant((*_13)) = 6; StorageDead(_8); goto -> bb8; }
//! ```
//!
//! Each return path then keeps its own facts (`flatten_child`'s dataflow of the tag no
//! longer merges the Pending path's state with the Ready path's), and a poll runs one
//! switch fewer. The jump is taken only when the path from the aggregate to the switch is
//! `goto`s through blocks that hold nothing but storage markers, the enum local is not
//! mentioned after it is built nor borrowed anywhere (rustc's `borrowed_locals`, which also
//! counts a drop), and the switch is the only reader of its discriminant.

use rustc_middle::mir::{
    AggregateKind, BasicBlock, Body, Local, Operand, Rvalue, StatementKind,
    TerminatorKind,
};
use rustc_middle::ty::TyCtxt;

use crate::body_edit::{Mentions, use_counts};
use rustc_index::IndexVec;
use rustc_mir_dataflow::impls::borrowed_locals;

/// Blocks followed from the aggregate to the switch.
const PATH_LIMIT: usize = 8;

/// Returns how many jumps were redirected.
pub fn thread_known_variants<'tcx>(tcx: TyCtxt<'tcx>, body: &mut Body<'tcx>) -> usize {
    // rustc's own borrow scan (a drop counts, as it takes `&mut`): once, for every local.
    let borrowed = borrowed_locals(body);
    let uses = use_counts(body);
    let mut edits = Vec::new();
    for (bb, data) in body.basic_blocks.iter_enumerated() {
        if data.is_cleanup {
            continue;
        }
        let TerminatorKind::Goto { target } = data.terminator().kind else { continue };
        // The last statement that mentions its local must build an enum value whole.
        let Some((index, local, discriminant)) = data.statements.iter().enumerate().rev().find_map(|(index, stmt)| {
            let StatementKind::Assign(assign) = &stmt.kind else { return None };
            let local = assign.0.as_local()?;
            let Rvalue::Aggregate(kind, _) = &assign.1 else { return None };
            let AggregateKind::Adt(def_id, variant, ..) = **kind else { return None };
            let adt = tcx.adt_def(def_id);
            if !adt.is_enum() {
                return None;
            }
            Some((index, local, adt.discriminant_for_variant(tcx, variant).val))
        }) else {
            continue;
        };
        // Nothing else may write it: not a later statement, not a pointer to it.
        if data.statements[index + 1..].iter().any(|stmt| Mentions::all().of_statement(stmt).contains(&local)) || borrowed.contains(local) {
            continue;
        }
        let Some((carried, switch_target)) = follow(body, &uses, target, local, discriminant) else { continue };
        edits.push((bb, carried, switch_target));
    }
    for (bb, carried, target) in &edits {
        let data = &mut body.basic_blocks.as_mut()[*bb];
        data.statements.extend(carried.iter().cloned());
        data.terminator_mut().kind = TerminatorKind::Goto { target: *target };
    }
    edits.len()
}

/// From `start`, the storage markers on the way and the switch's target for `value`.
fn follow<'tcx>(
    body: &Body<'tcx>,
    uses: &IndexVec<Local, u32>,
    start: BasicBlock,
    local: Local,
    value: u128,
) -> Option<(Vec<rustc_middle::mir::Statement<'tcx>>, BasicBlock)> {
    let mut carried = Vec::new();
    let mut block = start;
    for _ in 0..PATH_LIMIT {
        let data = &body.basic_blocks[block];
        if data.is_cleanup {
            return None;
        }
        let mut read = None;
        for stmt in &data.statements {
            match &stmt.kind {
                StatementKind::StorageLive(l) | StatementKind::StorageDead(l) if *l != local => carried.push(stmt.clone()),
                StatementKind::Nop => {}
                StatementKind::Assign(assign)
                    if read.is_none()
                        && matches!(&assign.1, Rvalue::Discriminant(p) if p.as_local() == Some(local)) =>
                {
                    read = Some(assign.0.as_local()?);
                }
                _ => return None,
            }
        }
        match (&data.terminator().kind, read) {
            (TerminatorKind::Goto { target }, None) => block = *target,
            (TerminatorKind::SwitchInt { discr: Operand::Move(p) | Operand::Copy(p), targets }, Some(read))
                if p.as_local() == Some(read) && uses[read] == 2 =>
            {
                return Some((carried, targets.target_for_value(value)));
            }
            _ => return None,
        }
    }
    None
}

