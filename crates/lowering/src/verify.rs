//! The verifier that runs between passes, as Cranelift's verifier runs between its own: it
//! checks that a pass left a body every later pass, and codegen, can rely on. It runs in a
//! backend built with debug assertions, and in any build given the knob `corolift-verify`
//! (the corpus suite and the fuzzer pass it). A failure is a bug of corolift's: compilation
//! stops with an error that names the pass and the coroutine, so no code is ever built
//! from a broken body.
//!
//! What it checks, on the resume body and on the coroutine drop body:
//! - **cleanup edges**: unwinding enters cleanup blocks, normal edges stay in normal code,
//!   cleanup code stays cleanup (rustc's MIR validator's rule);
//! - **state numbers**: each arm of the body's dispatch, and each write of the tag
//!   (`discriminant((*self)) = v`), names a variant the layout has;
//! - **layout**: the layout agrees with itself and with every projection into a variant
//!   (`layout_edit::check`, the post-condition of the layout-changing passes);
//! - **storage**: no local is used where its storage may be dead, and no `StorageLive`
//!   meets a local whose storage may already be live. These are the rules rustc's own MIR
//!   lint (`-Zlint-mir`) holds its passes to, decided by the same analyses of
//!   `rustc_mir_dataflow` (`MaybeStorageDead`, `MaybeStorageLive`). rustc's output obeys
//!   them; where an input body does not, the storage rules are not applied to that
//!   coroutine (there is nothing to hold the passes to).
//!
//! A body without a dispatch (`await_free` removed it) has no states to check.

use std::borrow::Cow;

use rustc_middle::mir::visit::{PlaceContext, Visitor};
use rustc_middle::mir::{Body, Local, Location, Statement, StatementKind, UnwindAction, traversal};
use rustc_middle::ty::TyCtxt;
use rustc_mir_dataflow::impls::{MaybeStorageDead, MaybeStorageLive, always_storage_live_locals};
use rustc_mir_dataflow::{Analysis, ResultsCursor};

use crate::layout_edit;
use crate::machine::find_dispatch;
use crate::tag_flow::is_coroutine;

/// What the verifier holds a coroutine's bodies to.
pub struct Verifier {
    storage_rules: bool,
}

impl Verifier {
    /// A verifier for a coroutine whose input (rustc's output) is `body`.
    pub fn for_input<'tcx>(tcx: TyCtxt<'tcx>, body: &Body<'tcx>) -> Verifier {
        let storage_rules = bodies(body).all(|b| storage_violations(tcx, b).is_empty());
        Verifier { storage_rules }
    }

    /// The first rule `body` (with its drop body) breaks, if any.
    pub fn check<'tcx>(&self, tcx: TyCtxt<'tcx>, body: &Body<'tcx>) -> Result<(), String> {
        for (which, b) in ["resume body", "drop body"].into_iter().zip(bodies(body)) {
            check_cleanup_edges(b).map_err(|why| format!("{which}: {why}"))?;
            check_states(body, b).map_err(|why| format!("{which}: {why}"))?;
            if self.storage_rules
                && let Some(first) = storage_violations(tcx, b).into_iter().next()
            {
                return Err(format!("{which}: {first}"));
            }
        }
        Ok(())
    }
}

/// The resume body, then the drop body if there is one.
fn bodies<'a, 'tcx>(body: &'a Body<'tcx>) -> impl Iterator<Item = &'a Body<'tcx>> {
    std::iter::once(body).chain(body.coroutine.as_ref().and_then(|c| c.coroutine_drop.as_ref()))
}

/// Cleanup code is entered only by unwinding and never left for normal code: an unwind
/// edge goes to a cleanup block, any other edge of normal code to normal code, and every
/// edge of cleanup code to cleanup code (what rustc's MIR validator requires, and what
/// backends rely on to build landing pads).
fn check_cleanup_edges(body: &Body<'_>) -> Result<(), String> {
    for (block, data) in body.basic_blocks.iter_enumerated() {
        let unwind_to = match data.terminator().unwind() {
            Some(UnwindAction::Cleanup(target)) => Some(*target),
            _ => None,
        };
        for successor in data.terminator().successors() {
            let cleanup = body.basic_blocks[successor].is_cleanup;
            let expected = data.is_cleanup || Some(successor) == unwind_to;
            if cleanup != expected {
                return Err(format!(
                    "{block:?} ({}) goes to {successor:?} ({}){}",
                    if data.is_cleanup { "cleanup" } else { "normal code" },
                    if cleanup { "cleanup" } else { "normal code" },
                    if Some(successor) == unwind_to { " as its unwind edge" } else { "" }
                ));
            }
        }
    }
    Ok(())
}

/// State numbers and the layout. `coroutine` holds the layout; `body` is one of its bodies.
fn check_states<'tcx>(coroutine: &Body<'tcx>, body: &Body<'tcx>) -> Result<(), String> {
    let Ok((dispatch, coroutine_ref)) = find_dispatch(body) else { return Ok(()) };
    let Some(layout) = coroutine.coroutine_layout_raw() else { return Ok(()) };
    let variants = layout.variant_fields.len() as u128;
    let rustc_middle::mir::TerminatorKind::SwitchInt { targets, .. } = &body.basic_blocks[dispatch].terminator().kind else {
        return Err(format!("the dispatch {dispatch:?} is not a switch"));
    };
    if let Some((value, _)) = targets.iter().find(|(value, _)| *value >= variants) {
        return Err(format!("the dispatch has an arm for state {value}, but the layout has {variants} variants"));
    }
    for (block, data) in body.basic_blocks.iter_enumerated() {
        for statement in &data.statements {
            if let StatementKind::SetDiscriminant { place, variant_index } = &statement.kind
                && is_coroutine(place, coroutine_ref)
                && variant_index.as_u32() as u128 >= variants
            {
                return Err(format!("{block:?} writes state {}, but the layout has {variants} variants", variant_index.as_u32()));
            }
        }
    }
    layout_edit::check(layout, body, coroutine_ref)
}

/// Where `body` breaks the storage rules, in reachable code.
fn storage_violations<'tcx>(tcx: TyCtxt<'tcx>, body: &Body<'tcx>) -> Vec<String> {
    let always_live = always_storage_live_locals(body);
    let mut check = StorageRules {
        maybe_live: MaybeStorageLive::new(Cow::Borrowed(&always_live)).iterate_to_fixpoint(tcx, body, None).into_results_cursor(body),
        maybe_dead: MaybeStorageDead::new(Cow::Borrowed(&always_live)).iterate_to_fixpoint(tcx, body, None).into_results_cursor(body),
        found: Vec::new(),
    };
    for (block, data) in traversal::reachable(body) {
        check.visit_basic_block_data(block, data);
    }
    check.found
}

struct StorageRules<'a, 'tcx> {
    maybe_live: ResultsCursor<'a, 'tcx, MaybeStorageLive<'a>>,
    maybe_dead: ResultsCursor<'a, 'tcx, MaybeStorageDead<'a>>,
    found: Vec<String>,
}

impl<'tcx> Visitor<'tcx> for StorageRules<'_, 'tcx> {
    fn visit_local(&mut self, local: Local, context: PlaceContext, location: Location) {
        if context.is_use() {
            self.maybe_dead.seek_after_primary_effect(location);
            if self.maybe_dead.get().contains(local) {
                self.found.push(format!("{local:?} is used at {location:?}, where its storage may be dead"));
            }
        }
    }

    fn visit_statement(&mut self, statement: &Statement<'tcx>, location: Location) {
        if let StatementKind::StorageLive(local) = statement.kind {
            self.maybe_live.seek_before_primary_effect(location);
            if self.maybe_live.get().contains(local) {
                self.found.push(format!("StorageLive({local:?}) at {location:?}, where its storage may already be live"));
            }
        }
        self.super_statement(statement, location);
    }
}
