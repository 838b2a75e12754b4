//! Switches whose `otherwise` is unreachable: the last arm becomes the `otherwise`.
//!
//! A resume function switches on values with a known range: every await's `Poll`
//! result, and the user's own enum matches. rustc
//! writes these switches with an `unreachable` otherwise, and cg_clif lowers such a
//! switch to a bounds check plus a jump table, even for two arms:
//!
//! ```text
//! // before
//! bb8: { _9 = discriminant(_6); switchInt(move _9) -> [0: bb11, 1: bb10, otherwise: bb9]; }
//! bb9: { unreachable; }
//!
//! // after: one compare and branch
//! bb8: { _9 = discriminant(_6); switchInt(move _9) -> [0: bb11, otherwise: bb10]; }
//! ```
//!
//! The rewrite only changes where values outside the listed ones go, and those values
//! cannot occur: reaching `unreachable` is undefined behaviour, so MIR already promises
//! it never happens. The state dispatch is left as it is, because the report and the
//! snapshots read the states off its arms.
//!
//! Why MIR: it is where `unreachable` carries that promise; at the Cranelift level the
//! jump table is already built.
//!
//! Preconditions (otherwise a switch is left alone): its `otherwise` block is
//! `unreachable` with no statements, and it has at least one arm.

use rustc_middle::mir::{Body, SwitchTargets, TerminatorKind};

use super::{PassCx, PassOutcome};
use crate::machine::find_dispatch;

pub fn run<'tcx>(_cx: &PassCx<'tcx>, body: &mut Body<'tcx>) -> PassOutcome {
    // The state dispatch keeps its arms: the report and the other passes read its states.
    let dispatch = find_dispatch(body).ok().map(|(block, _)| block);
    let unreachable_blocks: Vec<bool> = body
        .basic_blocks
        .iter()
        .map(|data| data.statements.is_empty() && matches!(data.terminator().kind, TerminatorKind::Unreachable))
        .collect();
    let mut rewritten = 0;
    for (bb, data) in body.basic_blocks.as_mut().iter_enumerated_mut() {
        if Some(bb) == dispatch {
            continue;
        }
        let TerminatorKind::SwitchInt { targets, .. } = &mut data.terminator_mut().kind else { continue };
        if !unreachable_blocks[targets.otherwise().as_usize()] {
            continue;
        }
        let arms: Vec<_> = targets.iter().collect();
        let Some((&(_, last), rest)) = arms.split_last() else { continue };
        *targets = SwitchTargets::new(rest.iter().copied(), last);
        rewritten += 1;
    }
    if rewritten == 0 {
        PassOutcome::Declined("no switch with an unreachable otherwise".into())
    } else {
        PassOutcome::Applied(format!(
            "{rewritten} switches had an unreachable otherwise: their last arm became it"
        ))
    }
}
