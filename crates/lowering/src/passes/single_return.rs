//! One exit block for the resume function.
//!
//! A resume function returns from every suspend site, from its completion and from the
//! Returned/Poisoned arm. cg_clif emits a full epilogue (restore the stack, load the
//! `Poll` result into registers, `ret`) for each MIR `return`:
//!
//! ```text
//! // before
//! bb10: { _0 = Poll::<u32>::Pending; ...; discriminant((*_18)) = 3; return; }
//! bb21: { _0 = Poll::<u32>::Ready(move _16); discriminant((*_18)) = 1; return; }
//! bb32: { _0 = Poll::<u32>::Pending; return; }
//!
//! // after
//! bb10: { _0 = Poll::<u32>::Pending; ...; discriminant((*_18)) = 3; goto -> bb33; }
//! bb21: { _0 = Poll::<u32>::Ready(move _16); discriminant((*_18)) = 1; goto -> bb33; }
//! bb32: { _0 = Poll::<u32>::Pending; goto -> bb33; }
//! bb33: { nop; return; }
//! ```
//!
//! `return` reads nothing but `_0`, which every path has written before it jumps, so a
//! `goto` to a block that only returns does the same. The pass runs late: the others
//! look for suspend sites as "state write, then `return`" in one block.
//!
//! The exit block holds one `nop`. cg_clif lowers a `goto` to a block that holds nothing
//! but `StorageDead`s and `return` as a return of its own (base.rs, `TerminatorKind::Goto`),
//! which would copy the epilogue back into every predecessor; any other statement keeps
//! the jump, and a `nop` generates no code.
//!
//! Why MIR: one block is all it takes, and the Cranelift function then has one epilogue.
//!
//! Under the LLVM driver (from opt-level 1) it pays for another reason: with one `return`,
//! `_0` is one alloca that SROA turns into a phi of the Poll discriminant, and JumpThreading
//! follows that phi into a caller that inlined the resume function, so the Ready edge
//! leaves the caller's poll loop directly. With several `return`s LLVM merges them itself,
//! into a phi of the whole Poll pair, which it does not thread through, and the loop stays
//! (benches/compare/chain16_plain at -O3: 598,639 instructions without the pass, 356,116
//! with it; callgrind, 2026-11-30).
//!
//! Precondition: at least two reachable `return`s.

use rustc_middle::mir::{BasicBlockData, Body, Statement, StatementKind, Terminator, TerminatorKind};

use super::{PassCx, PassOutcome};
use crate::body_edit::reachable_blocks;

pub fn run<'tcx>(_cx: &PassCx<'tcx>, body: &mut Body<'tcx>) -> PassOutcome {
    let reachable = reachable_blocks(body);
    let returns: Vec<_> = body
        .basic_blocks
        .iter_enumerated()
        .filter(|(bb, data)| reachable.contains(*bb) && matches!(data.terminator().kind, TerminatorKind::Return))
        .map(|(bb, _)| bb)
        .collect();
    if returns.len() < 2 {
        return PassOutcome::Declined(format!("{} reachable return(s): nothing to share", returns.len()));
    }
    let source_info = body.basic_blocks[returns[0]].terminator().source_info;
    let mut exit_data =
        BasicBlockData::new(Some(Terminator { source_info, kind: TerminatorKind::Return }), false);
    exit_data.statements.push(Statement::new(source_info, StatementKind::Nop));
    let exit = body.basic_blocks.as_mut().push(exit_data);
    for &bb in &returns {
        body.basic_blocks.as_mut()[bb].terminator_mut().kind = TerminatorKind::Goto { target: exit };
    }
    PassOutcome::Applied(format!("{} returns now jump to one exit block {exit:?}", returns.len()))
}
