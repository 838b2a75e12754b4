//! Futures that never suspend: the resume function is the body plus `Poll::Ready`.
//!
//! rustc gives `async fn foo(blah: bool) -> i32 { if blah { 7 } else { 3 } }` a dispatch
//! on its state, a Returned arm and a Poisoned arm, and a state write on every exit:
//!
//! ```text
//! // before
//! bb0: { _5 = copy (_1.0: &mut {async fn body of foo()}); _4 = discriminant((*_5));
//!        switchInt(move _4) -> [0: bb1, 1: bb6, 2: bb5, otherwise: bb4]; }
//! bb1: { _3 = copy ((*_5).0: bool); switchInt(copy _3) -> [0: bb3, otherwise: bb2]; }
//! ...
//! bb7: { _0 = Poll::<i32>::Ready(move _6); discriminant((*_5)) = 1; return; }
//! bb5: { _0 = Poll::<i32>::Pending; return; }   // Poisoned, after returned_arm
//! bb6: { _0 = Poll::<i32>::Pending; return; }   // Returned, after returned_arm
//!
//! // after
//! bb0: { _5 = copy (_1.0: &mut {async fn body of foo()}); _4 = discriminant((*_5)); goto -> bb1; }
//! bb1: { _3 = copy ((*_5).0: bool); switchInt(copy _3) -> [0: bb3, otherwise: bb2]; }
//! ...
//! bb7: { _0 = Poll::<i32>::Ready(move _6); nop; return; }
//! bb5: { unreachable; }
//! bb6: { unreachable; }
//! ```
//!
//! Without the dispatch, a second poll runs the body again, and the state is never
//! written, so it stays Unresumed for the drop glue too. That is memory-safe only if
//! running the body twice, and dropping the future in any state, cannot double-drop or
//! double-move anything. The body's only inputs that outlive a poll are the upvars
//! (for an async fn, its arguments), so the pass requires every upvar to be `Copy`:
//! nothing needs dropping, and a "move" out of an upvar is a copy that leaves it intact.
//! That argument holds for safe code only: unsafe code may rely on rustc's guarantee
//! that the body runs once, for instance to take ownership through a raw-pointer (Copy)
//! upvar (`tests/corpus/c_regress_await_free_raw_pointer_upvar.rs` double-frees if the
//! body runs twice). So the body must contain no `unsafe` block, nor any closure or item
//! nested in it, and the enclosing function must not be an `unsafe fn`. Safe code the
//! body calls must be sound however often it is called, which is what makes it safe.
//! Polling a finished future is a contract violation whose outcome the `Future` docs
//! leave open short of undefined behaviour; with debug-assertions on, rustc's panic is
//! what users expect, so the pass then declines and `returned_arm` keeps the panic.
//!
//! It also helps a parent: once this body has no Pending return, `ready_child` can cut
//! the suspend site of an await on it, and `dead_states` removes that state.
//!
//! Why MIR: the dispatch and the state writes disappear for every consumer, and the
//! proof (the upvars' types) is a question to the type system, which MIR has at hand.
//!
//! Preconditions (otherwise the pass declines): debug-assertions off; an async (Future)
//! coroutine; no suspend state in the dispatch, no saved locals, no async drop body; every
//! upvar `Copy`; no unsafe code in the body or its enclosing function.

use rustc_hir::def::DefKind;
use rustc_hir::def_id::DefId;
use rustc_hir::intravisit::{self, Visitor as _};
use rustc_hir as hir;
use rustc_middle::hir::nested_filter;
use rustc_middle::mir::{Body, StatementKind, TerminatorKind};
use rustc_middle::ty::{self, TyCtxt, TypingEnv};

use super::{PassCx, PassOutcome};
use crate::body_edit::clear_unreachable_blocks;
use crate::machine::{ArmKind, StateMachine};

pub fn run<'tcx>(cx: &PassCx<'tcx>, body: &mut Body<'tcx>) -> PassOutcome {
    let tcx = cx.tcx;
    if let Err(why) = super::may_change_repoll(cx, "a second poll must panic as rustc's does") {
        return PassOutcome::Declined(why);
    }
    let machine = match StateMachine::recover(body) {
        Ok(machine) => machine,
        Err(why) => return PassOutcome::Declined(why.0),
    };
    if machine.suspend_states().next().is_some() {
        return PassOutcome::Declined(format!(
            "the body suspends ({} suspend states)",
            machine.suspend_states().count()
        ));
    }
    if machine.saved_locals != 0 {
        return PassOutcome::Declined(format!("the layout keeps {} saved locals", machine.saved_locals));
    }
    let info = body.coroutine.as_ref().expect("a recovered machine has coroutine info");
    if info.coroutine_drop_async.is_some() {
        return PassOutcome::Declined("the coroutine has an async drop body".into());
    }
    let ty::Coroutine(_, args) = *tcx.type_of(cx.def_id).instantiate_identity().skip_norm_wip().kind() else {
        return PassOutcome::Declined("the coroutine's type is not a coroutine".into());
    };
    let typing_env = TypingEnv::post_analysis(tcx, cx.def_id);
    let upvars = args.as_coroutine().upvar_tys();
    if let Some(not_copy) = upvars.iter().find(|ty| !tcx.type_is_copy_modulo_regions(typing_env, *ty)) {
        return PassOutcome::Declined(format!(
            "upvar of type `{not_copy}` is not Copy: running the body twice could move or drop it twice"
        ));
    }
    if let Some(why) = unsafe_code(tcx, cx.def_id) {
        return PassOutcome::Declined(format!("{why}: unsafe code may rely on the body running once"));
    }
    let Some(unresumed) = machine.arm(ArmKind::Unresumed) else {
        return PassOutcome::Declined("the dispatch has no Unresumed arm".into());
    };

    let coroutine_ref = machine.dispatch.coroutine_ref;
    let blocks = body.basic_blocks.as_mut();
    blocks[machine.dispatch.block].terminator_mut().kind = TerminatorKind::Goto { target: unresumed.target };
    let mut writes = 0;
    for data in blocks.iter_mut() {
        for stmt in &mut data.statements {
            if let StatementKind::SetDiscriminant { place, .. } = &stmt.kind
                && place.local == coroutine_ref
                && place.projection.len() == 1
            {
                stmt.make_nop(true);
                writes += 1;
            }
        }
    }
    let cleared = clear_unreachable_blocks(body);
    PassOutcome::Applied(format!(
        "no suspend state, no saved local, {} upvars all Copy, debug-assertions off; \
         dispatch removed, {writes} state writes removed, {cleared} arm blocks cleared",
        upvars.len()
    ))
}

/// Why the coroutine's source is not free of unsafe code, if it is not (or cannot be
/// checked: a body from another crate has no HIR here).
fn unsafe_code(tcx: TyCtxt<'_>, coroutine: DefId) -> Option<String> {
    // A synthetic body (the by-move body of an async closure) has no HIR of its own: its
    // source is that of the closure it was made from, which the walk up reaches.
    let mut source = coroutine;
    while tcx.def_kind(source) == DefKind::SyntheticCoroutineBody {
        source = tcx.parent(source);
    }
    let Some(local) = source.as_local() else {
        return Some("the body is from another crate".into());
    };
    let Some(hir_body) = tcx.hir_maybe_body_owned_by(local) else {
        return Some("the body's source cannot be inspected".into());
    };
    // Closures and coroutines inherit the unsafe context of the function they are in.
    let mut parent = tcx.parent(source);
    while matches!(tcx.def_kind(parent), DefKind::Closure | DefKind::SyntheticCoroutineBody) {
        parent = tcx.parent(parent);
    }
    if matches!(tcx.def_kind(parent), DefKind::Fn | DefKind::AssocFn)
        && tcx.fn_sig(parent).skip_binder().skip_binder().safety().is_unsafe()
    {
        return Some("the enclosing function is an `unsafe fn`".into());
    }
    let mut finder = UnsafeBlocks { tcx, found: false };
    finder.visit_body(hir_body);
    finder.found.then(|| "the body contains an `unsafe` block".into())
}

/// Looks for user-written `unsafe` blocks, in nested closures and items too.
struct UnsafeBlocks<'tcx> {
    tcx: TyCtxt<'tcx>,
    found: bool,
}

impl<'tcx> intravisit::Visitor<'tcx> for UnsafeBlocks<'tcx> {
    type NestedFilter = nested_filter::All;

    fn maybe_tcx(&mut self) -> Self::MaybeTyCtxt {
        self.tcx
    }

    fn visit_block(&mut self, block: &'tcx hir::Block<'tcx>) {
        // The compiler's own unsafe blocks (the `Pin::new_unchecked` of every `.await`)
        // are sound for each run of the body on their own; a user's (macros included) may not be.
        if matches!(block.rules, hir::BlockCheckMode::UnsafeBlock(hir::UnsafeSource::UserProvided)) {
            self.found = true;
        }
        intravisit::walk_block(self, block);
    }
}
