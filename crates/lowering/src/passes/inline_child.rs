//! Child futures spliced into their parent: an await's `poll` call becomes the child's
//! resume code.
//!
//! Every await polls its child through a call of the child's own resume function:
//!
//! ```text
//! // before (bar awaiting foo, after await_calls)
//! bb5: { _7 = <{async fn body of foo()} as Future>::poll(move _8, move _2) -> [return: bb6, unwind: bb11]; }
//!
//! // after: the child's blocks, locals and scopes are the parent's
//! bb5:  { _20 = move _8; _21 = move _2; goto -> bb17; }
//! bb17: { _22 = copy (_20.0: &mut {async fn body of foo()}); _23 = discriminant((*_22)); switchInt(...) }
//! ...   // foo's code; its `_0` is `_7`, its `return` is `goto -> bb6`,
//!       // its `resume` (unwinding out of foo) is `goto -> bb11`
//! scope 9 (inlined foo::{closure#0}) { ... }
//! ```
//!
//! The child stays a value of its own coroutine type, in the parent's variant field, with
//! its own state and its own drop glue: only the code that polls it moves. So the layout
//! of neither changes, and the rewrite is exactly a call replaced by the callee's body.
//! The body used is the child's `optimized_mir`, which corolift has already lowered (its
//! own children inlined in turn), instantiated for the call's generic arguments. Once a
//! child's resume function has no caller left, it is not a mono item any more and is not
//! emitted.
//!
//! The integrator is written here ([`crate::splice`]; rustc's MIR inliner is private, and
//! it refuses coroutine callers because their MIR feeds the layout query; that concern
//! does not apply, because the splice adds no saved local: every child local is dead when
//! the child returns, which is before the parent can suspend). For a call site it maps
//! the child's `_0` to the call's destination and its two arguments to the call's
//! operands, and the call leaves `mentioned_items`. `flatten_child` then merges the
//! spliced child's states into the parent's.
//!
//! Why MIR: the splice has to see the child's MIR (types, places, scopes); at the
//! Cranelift level only the compiled child exists, as a call target.
//!
//! Preconditions (otherwise a call is left alone): `<C as Future>::poll` where `C` is a
//! coroutine and the call resolves to a body other than this one, with MIR available;
//! the call returns to a block and writes a whole local; the child body has two
//! arguments, no spread argument, no inline assembly, and stays within the size budget
//! (per child, and for everything spliced into one parent).
//!
//! Policy: asked for by name or by `corolift=all`, every child that meets the
//! preconditions is spliced. Under `corolift=default` (opt-level 1 and up) only a child
//! whose code then moves rather than being copied: the body of a local async fn that the
//! crate mentions once ([`crate::fn_uses`]).

use rustc_hir::LangItem;
use rustc_middle::mir::{BasicBlock, Body, MentionedItem, RETURN_PLACE, TerminatorKind, UnwindAction};
use rustc_middle::ty::{self, Instance, TyCtxt, TypingEnv};

use super::{PassCx, PassOutcome};
use crate::splice::{SpliceSite, instantiated_body, splice_body};

/// Blocks of one child body that may be spliced.
const CHILD_BLOCK_LIMIT: usize = 600;
/// Blocks spliced into one parent, in all.
const PARENT_BLOCK_BUDGET: usize = 2400;

pub fn run<'tcx>(cx: &PassCx<'tcx>, body: &mut Body<'tcx>) -> PassOutcome {
    let tcx = cx.tcx;
    let Some(poll_fn) = tcx.lang_items().get(LangItem::FuturePoll) else {
        return PassOutcome::Declined("the Future::poll lang item is missing".into());
    };
    if body.required_consts.is_none() || body.mentioned_items.is_none() {
        return PassOutcome::Declined("the body's required_consts or mentioned_items are not set".into());
    }
    let typing_env = TypingEnv::post_analysis(tcx, cx.def_id);
    let mut spliced = Vec::new();
    let mut kept = Vec::new();
    let mut budget = PARENT_BLOCK_BUDGET;
    // The call sites of the body as it was; spliced code is not searched again (a child's
    // body arrives with its own children already spliced).
    let calls: Vec<BasicBlock> = body
        .basic_blocks
        .iter_enumerated()
        .filter(|(_, data)| matches!(&data.terminator().kind,
            TerminatorKind::Call { func, .. } if func.const_fn_def().is_some_and(|(d, _)| d == poll_fn)))
        .map(|(bb, _)| bb)
        .collect();
    for call in calls {
        let prepared = prepare_child(tcx, typing_env, cx.def_id, body, call, poll_fn).and_then(|(instance, child)| {
            if cx.asked_for {
                Ok((instance, child))
            } else {
                crate::fn_uses::polled_from_one_place(tcx, &cx.census, instance.def_id()).map(|()| (instance, child))
            }
        });
        match prepared {
            Ok((instance, child)) => {
                let size = child.basic_blocks.len();
                if size > budget {
                    kept.push(format!("{call:?}: {} needs {size} blocks, {budget} left in the budget", instance));
                    continue;
                }
                budget -= size;
                // On a copy: a splice that fails half-way leaves the body as it was.
                let mut candidate = body.clone();
                match splice(tcx, &mut candidate, call, instance, child) {
                    Ok(()) => {
                        *body = candidate;
                        spliced.push(tcx.def_path_str(instance.def_id()));
                    }
                    Err(why) => kept.push(format!("{call:?}: {why}")),
                }
            }
            Err(why) => kept.push(format!("{call:?}: {why}")),
        }
    }
    if !spliced.is_empty() {
        // Splices carry the children's cleared blocks; the budgets should not count them.
        crate::body_edit::remove_unreachable_blocks(body);
    }
    if spliced.is_empty() {
        return PassOutcome::Declined(if kept.is_empty() { "no poll of a child coroutine".into() } else { kept.join("; ") });
    }
    PassOutcome::Applied(format!(
        "{} child poll(s) spliced: {}{}",
        spliced.len(),
        spliced.join(", "),
        if kept.is_empty() { String::new() } else { format!(" (kept: {})", kept.join("; ")) }
    ))
}

/// The child instance a call polls, and its body instantiated for the call, if it may be
/// spliced.
fn prepare_child<'tcx>(
    tcx: TyCtxt<'tcx>,
    typing_env: TypingEnv<'tcx>,
    parent: rustc_hir::def_id::DefId,
    body: &Body<'tcx>,
    call: BasicBlock,
    poll_fn: rustc_hir::def_id::DefId,
) -> Result<(Instance<'tcx>, Body<'tcx>), String> {
    let TerminatorKind::Call { func, args, destination, target, .. } = &body.basic_blocks[call].terminator().kind else {
        return Err("not a call".into());
    };
    let Some((_, generic_args)) = func.const_fn_def() else { return Err("not a direct call".into()) };
    let ty::Coroutine(..) = generic_args.type_at(0).kind() else {
        return Err("the polled future is not a coroutine".into());
    };
    if target.is_none() || destination.as_local().is_none() || args.len() != 2 {
        return Err("the call does not return into a local".into());
    }
    let instance = match Instance::try_resolve(tcx, typing_env, poll_fn, generic_args) {
        Ok(Some(instance @ Instance { def: ty::InstanceKind::Item(def_id), .. })) => {
            if def_id == parent {
                return Err("the coroutine polls itself".into());
            }
            instance
        }
        _ => return Err("the poll does not resolve to a coroutine body here".into()),
    };
    let def_id = instance.def_id();
    if !tcx.is_mir_available(def_id) {
        return Err(format!("no MIR for {}", tcx.def_path_str(def_id)));
    }
    let generic = tcx.optimized_mir(def_id);
    if generic.basic_blocks.len() > CHILD_BLOCK_LIMIT {
        return Err(format!("{} has {} blocks (limit {CHILD_BLOCK_LIMIT})", tcx.def_path_str(def_id), generic.basic_blocks.len()));
    }
    if generic.arg_count != 2 || generic.spread_arg.is_some() || generic.required_consts.is_none() || generic.mentioned_items.is_none() {
        return Err(format!("{} is not a plain two-argument resume body", tcx.def_path_str(def_id)));
    }
    for data in generic.basic_blocks.iter() {
        let unwind = data.terminator().unwind().copied();
        if data.is_cleanup && unwind == Some(UnwindAction::Continue) {
            return Err(format!("{} continues unwinding from a cleanup block", tcx.def_path_str(def_id)));
        }
        match data.terminator().kind {
            TerminatorKind::Drop { drop: Some(_), .. } | TerminatorKind::Drop { async_fut: Some(_), .. } => {
                return Err(format!("{} has an async drop", tcx.def_path_str(def_id)));
            }
            TerminatorKind::InlineAsm { .. }
            | TerminatorKind::TailCall { .. }
            | TerminatorKind::Yield { .. }
            | TerminatorKind::CoroutineDrop
            | TerminatorKind::FalseEdge { .. }
            | TerminatorKind::FalseUnwind { .. } => {
                return Err(format!("{} has a terminator the splice does not map", tcx.def_path_str(def_id)));
            }
            _ => {}
        }
    }
    let child = instantiated_body(tcx, typing_env, instance, generic)
        .ok_or_else(|| format!("{} does not normalize for this call", tcx.def_path_str(def_id)))?;
    let destination_ty = body.local_decls[destination.as_local().unwrap()].ty;
    if child.local_decls[RETURN_PLACE].ty != destination_ty {
        return Err("the child's return type is not the call's destination type".into());
    }
    Ok((instance, child))
}

/// Replaces the call ending `call` by `child`'s code.
fn splice<'tcx>(tcx: TyCtxt<'tcx>, body: &mut Body<'tcx>, call: BasicBlock, instance: Instance<'tcx>, child: Body<'tcx>) -> Result<(), String> {
    let terminator = body.basic_blocks[call].terminator().clone();
    let TerminatorKind::Call { func, args, destination, target: Some(target), unwind, .. } = terminator.kind else {
        return Err("not a returning call".into());
    };
    let destination = destination.as_local().ok_or("the destination is not a local")?;
    let site = SpliceSite {
        block: call,
        args: args.iter().map(|arg| arg.node.clone()).collect(),
        destination,
        return_to: target,
        unwind,
        source_info: terminator.source_info,
        instance,
    };
    splice_body(tcx, body, site, child)?;
    // The call is gone from the parent's mentioned items.
    let callee = MentionedItem::Fn(func.ty(&body.local_decls, tcx));
    let mentioned = body.mentioned_items.as_mut().unwrap();
    if let Some(index) = mentioned.iter().position(|item| item.node == callee) {
        mentioned.remove(index);
    }
    Ok(())
}
