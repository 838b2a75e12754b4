//! The await desugaring's two wrapper calls, written as the moves they are.
//!
//! Every `x.await` in a coroutine body starts with two calls to tiny library functions:
//!
//! ```text
//! // before
//! bb4: { _4 = <{async fn body of send_response()} as IntoFuture>::into_future(move _5) -> [return: bb5, unwind: bb26]; }
//! bb6: { ...; _8 = &mut (((*_18) as variant#3).0: {async fn body of send_response()});
//!        _7 = Pin::<&mut {async fn body of send_response()}>::new_unchecked(move _8) -> [return: bb7, unwind: bb25]; }
//!
//! // after
//! bb4: { _4 = move _5; goto -> bb5; }
//! bb6: { ...; _8 = &mut (((*_18) as variant#3).0: {async fn body of send_response()});
//!        _7 = Pin::<&mut {async fn body of send_response()}> { pointer: move _8 }; goto -> bb7; }
//! ```
//!
//! rustc's MIR inliner never inlines into a coroutine body (the body feeds the layout
//! query, see FACTS.md), so the calls stay. LLVM inlines them later; Cranelift does not,
//! and each await then pays a call that copies the whole child future in and out
//! (`into_future` takes and returns it by value) and a second call per poll.
//!
//! The pass does not assume what the library functions do: it resolves each call to its
//! instance and reads the callee's own MIR. It rewrites the call only if that body is a
//! single block that does exactly `_0 = move _1` (`into_future` of a `Future`, the
//! blanket `impl<F: Future> IntoFuture for F`) or `_0 = Pin { pointer: move _1 }`
//! (`Pin::new_unchecked`), so the rewrite is the callee's body itself, and it cannot
//! panic, which is why the unwind edge can go.
//!
//! Why MIR: the call disappears for every consumer, and the coroutine layout does not
//! change (the locals involved are not saved across a suspension).

use rustc_abi::FIRST_VARIANT;
use rustc_hir::LangItem;
use rustc_middle::mir::{
    AggregateKind, Body, Operand, RETURN_PLACE, Rvalue, Statement, StatementKind, TerminatorKind,
    WithRetag,
};
use rustc_middle::ty::{self, Instance, TyCtxt, TypingEnv};

use super::{PassCx, PassOutcome};

/// What a wrapper's callee body must be, and what replaces the call.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Wrapper {
    /// `_0 = move _1`.
    IntoFuture,
    /// `_0 = Pin { pointer: move _1 }`.
    PinNewUnchecked,
}

pub fn run<'tcx>(cx: &PassCx<'tcx>, body: &mut Body<'tcx>) -> PassOutcome {
    let tcx = cx.tcx;
    let (Some(into_future), Some(new_unchecked), Some(pin)) = (
        tcx.lang_items().get(LangItem::IntoFutureIntoFuture),
        tcx.lang_items().get(LangItem::PinNewUnchecked),
        tcx.lang_items().get(LangItem::Pin),
    ) else {
        return PassOutcome::Declined("the IntoFuture/Pin lang items are missing".into());
    };
    let typing_env = TypingEnv::post_analysis(tcx, cx.def_id);
    let mut rewrites = Vec::new();
    let mut kept = Vec::new();
    for (bb, data) in body.basic_blocks.iter_enumerated() {
        let TerminatorKind::Call { func, args, destination, target: Some(target), .. } = &data.terminator().kind
        else {
            continue;
        };
        let Some((def_id, generic_args)) = func.const_fn_def() else { continue };
        let wrapper = if def_id == into_future {
            Wrapper::IntoFuture
        } else if def_id == new_unchecked {
            Wrapper::PinNewUnchecked
        } else {
            continue;
        };
        let [arg] = &args[..] else { continue };
        let arg = arg.node.clone();
        let instance = match Instance::try_resolve(tcx, typing_env, def_id, generic_args) {
            Ok(Some(instance)) => instance,
            _ => {
                kept.push(format!("{bb:?}: the callee does not resolve here"));
                continue;
            }
        };
        if let Err(why) = callee_is(tcx, instance, wrapper, pin) {
            kept.push(format!("{bb:?}: {why}"));
            continue;
        }
        let destination_ty = destination.ty(&body.local_decls, tcx).ty;
        let rvalue = match wrapper {
            Wrapper::IntoFuture => {
                if arg.ty(&body.local_decls, tcx) != destination_ty {
                    kept.push(format!("{bb:?}: into_future changes the type"));
                    continue;
                }
                Rvalue::Use(arg, WithRetag::Yes)
            }
            Wrapper::PinNewUnchecked => {
                let ty::Adt(adt, pin_args) = destination_ty.kind() else { continue };
                if adt.did() != pin {
                    continue;
                }
                Rvalue::Aggregate(
                    Box::new(AggregateKind::Adt(pin, FIRST_VARIANT, pin_args, None, None)),
                    [arg].into_iter().collect(),
                )
            }
        };
        rewrites.push((bb, *destination, rvalue, *target, wrapper));
    }
    if rewrites.is_empty() {
        return PassOutcome::Declined(if kept.is_empty() {
            "no into_future or Pin::new_unchecked call".into()
        } else {
            kept.join("; ")
        });
    }
    let count = |w| rewrites.iter().filter(|r| r.4 == w).count();
    let evidence = format!(
        "the callees' MIR is `_0 = move _1` / `_0 = Pin {{ pointer: move _1 }}`: {} into_future and {} \
         Pin::new_unchecked calls written as moves{}",
        count(Wrapper::IntoFuture),
        count(Wrapper::PinNewUnchecked),
        if kept.is_empty() { String::new() } else { format!(" (kept: {})", kept.join("; ")) }
    );
    let blocks = body.basic_blocks.as_mut();
    for (bb, destination, rvalue, target, _) in rewrites {
        let data = &mut blocks[bb];
        let source_info = data.terminator().source_info;
        data.statements.push(Statement::new(source_info, StatementKind::Assign(Box::new((destination, rvalue)))));
        data.terminator_mut().kind = TerminatorKind::Goto { target };
    }
    PassOutcome::Applied(evidence)
}

/// Is the callee's MIR exactly the body `wrapper` stands for?
fn callee_is<'tcx>(tcx: TyCtxt<'tcx>, instance: Instance<'tcx>, wrapper: Wrapper, pin: rustc_hir::def_id::DefId) -> Result<(), String> {
    let ty::InstanceKind::Item(def_id) = instance.def else {
        return Err("the callee is not a plain function".into());
    };
    if !tcx.is_mir_available(def_id) {
        return Err(format!("no MIR for {}", tcx.def_path_str(def_id)));
    }
    let callee = tcx.optimized_mir(def_id);
    let (1, Some(block)) = (callee.basic_blocks.len(), callee.basic_blocks.iter().next()) else {
        return Err(format!("{} has more than one block", tcx.def_path_str(def_id)));
    };
    if !matches!(block.terminator().kind, TerminatorKind::Return) || callee.arg_count != 1 {
        return Err(format!("{} is not a one-block function of one argument", tcx.def_path_str(def_id)));
    }
    let mut assigns = block.statements.iter().filter(|s| {
        !matches!(s.kind, StatementKind::StorageLive(_) | StatementKind::StorageDead(_) | StatementKind::Nop)
    });
    let (Some(only), None) = (assigns.next(), assigns.next()) else {
        return Err(format!("{} does more than one thing", tcx.def_path_str(def_id)));
    };
    let StatementKind::Assign(assign) = &only.kind else {
        return Err(format!("{} does not just assign its result", tcx.def_path_str(def_id)));
    };
    let moves_arg = |op: &Operand<'_>| matches!(op, Operand::Move(p) | Operand::Copy(p) if p.as_local().is_some_and(|l| l.as_usize() == 1));
    let matches = assign.0.as_local() == Some(RETURN_PLACE)
        && match (wrapper, &assign.1) {
            (Wrapper::IntoFuture, Rvalue::Use(op, _)) => moves_arg(op),
            (Wrapper::PinNewUnchecked, Rvalue::Aggregate(kind, fields)) => {
                matches!(**kind, AggregateKind::Adt(adt, v, _, None, None) if adt == pin && v == FIRST_VARIANT)
                    && fields.len() == 1
                    && moves_arg(&fields.raw[0])
            }
            _ => false,
        };
    if matches { Ok(()) } else { Err(format!("{} is not the identity this pass expects", tcx.def_path_str(def_id))) }
}
