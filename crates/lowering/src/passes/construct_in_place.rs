//! Child futures built where they end up: the call of an async fn (or any function whose
//! body only builds a coroutine from its arguments) becomes that coroutine aggregate,
//! written straight into the place the future is moved to.
//!
//! Every `f(x).await` first calls `f`, which returns the child coroutine by value, and the
//! future then travels through a temporary or two before it lands in the parent's saved
//! field:
//!
//! ```text
//! // before (after await_calls turned into_future into a move)
//! bb1: { _5 = copy _3; _4 = l15(move _5) -> [return: bb2, unwind: bb11]; }
//! bb2: { _6 = move _4; goto -> bb3; }
//! bb3: { StorageDead(_5); (((*_13) as variant#3).0: {async fn body of l15()}) = move _6; ... }
//!
//! // after
//! bb1: { _5 = copy _3; (((*_13) as variant#3).0: {async fn body of l15()}) = {coroutine@l15}(move _5); goto -> bb2; }
//! bb2: { nop; goto -> bb3; }
//! bb3: { StorageDead(_5); nop; ... }
//! ```
//!
//! cg_clif compiles the call as a call, its result as a cast through a stack slot, and each
//! move as a copy of the whole future through another slot; a spliced chain repeats that at
//! every level. Written as the aggregate, the future's fields are stored once, where they
//! stay. rustc's MIR inliner would do the first half if it were allowed into coroutine
//! bodies; it is not (FACTS.md).
//!
//! The pass reads the callee's own MIR, as `await_calls` does, for a callee that returns
//! a coroutine of its own (an async fn, or a fn that returns an async block) and only when
//! the parent holds that coroutine across a suspension: the child's layout then comes
//! before the parent's, so asking for the constructor's MIR (which needs the child's
//! layout) cannot lead back to the parent's body, a query cycle that a boxed recursive
//! call would otherwise close. It rewrites the call only if that body is one block that assigns `_0` a coroutine aggregate whose operands are its
//! arguments, each at most once, and returns. Such a body cannot panic, so the unwind edge
//! goes. The aggregate is then forwarded through the moves that follow it, along a chain of
//! blocks that each have one predecessor and end in `goto`, where every other statement is
//! a storage marker or a `nop`: each moved-from local is used by nothing else (its
//! definition and the move), and the place at the end mentions none of them and no local
//! whose storage marker is on the way. The write then happens where the call was, which
//! changes nothing for the place at the end: no statement between reads or writes it, and
//! its storage does not begin or end in between. Debug info that named a moved-from local
//! names the place at the end (when debug info can describe that place).
//!
//! Why MIR: the call disappears for every consumer, and the layout does not change (the
//! moved-from locals are never saved across a suspension; their values are in the
//! destination before any).

use rustc_middle::mir::{
    AggregateKind, BasicBlock, Body, Local, Operand, Place, ProjectionElem, RETURN_PLACE, Rvalue,
    START_BLOCK, Statement, StatementKind, TerminatorKind, VarDebugInfoContents,
};
use rustc_middle::ty::{self, EarlyBinder, Instance, Ty, TyCtxt, TypingEnv};

use super::{PassCx, PassOutcome};
use crate::body_edit::use_counts;

pub fn run<'tcx>(cx: &PassCx<'tcx>, body: &mut Body<'tcx>) -> PassOutcome {
    let tcx = cx.tcx;
    let typing_env = TypingEnv::post_analysis(tcx, cx.def_id);
    // The coroutines this one holds across a suspension: their layouts come before this
    // one's, so reading their constructors' MIR (which needs their layout) cannot lead back
    // to this body. Any other constructor (a boxed recursive call, say) is left alone.
    let Some(layout) = body.coroutine_layout_raw() else {
        return PassOutcome::Declined("the body has no coroutine layout".into());
    };
    let held: Vec<Ty<'tcx>> = layout.field_tys.iter().map(|saved| saved.ty).collect();
    let mut built = 0;
    let mut forwarded = 0;
    let mut kept = Vec::new();
    let calls: Vec<BasicBlock> = body
        .basic_blocks
        .iter_enumerated()
        .filter(|(_, data)| matches!(data.terminator().kind, TerminatorKind::Call { target: Some(_), .. }))
        .map(|(bb, _)| bb)
        .collect();
    for bb in calls {
        let TerminatorKind::Call { func, args, destination, target: Some(target), .. } = &body.basic_blocks[bb].terminator().kind
        else {
            continue;
        };
        let Some((def_id, generic_args)) = func.const_fn_def() else { continue };
        let built_ty = destination.ty(&body.local_decls, tcx).ty;
        let ty::Coroutine(coroutine_def, _) = *built_ty.kind() else { continue };
        if tcx.parent(coroutine_def) != def_id {
            continue;
        }
        if !held.contains(&built_ty) {
            kept.push(format!("{bb:?}: {built_ty} is not held across a suspension"));
            continue;
        }
        let Ok(Some(instance)) = Instance::try_resolve(tcx, typing_env, def_id, generic_args) else { continue };
        let Some((kind, operands)) = coroutine_built_by(tcx, typing_env, instance, args) else { continue };
        let aggregate_ty = match kind {
            AggregateKind::Coroutine(def, coroutine_args) => Ty::new_coroutine(tcx, def, coroutine_args),
            _ => continue,
        };
        if aggregate_ty != built_ty {
            kept.push(format!("{bb:?}: the coroutine {aggregate_ty} is not the destination's type"));
            continue;
        }
        let (destination, target) = (*destination, *target);
        let source_info = body.basic_blocks[bb].terminator().source_info;
        let data = &mut body.basic_blocks.as_mut()[bb];
        data.statements.push(Statement::new(
            source_info,
            StatementKind::Assign(Box::new((destination, Rvalue::Aggregate(Box::new(kind), operands.into_iter().collect())))),
        ));
        data.terminator_mut().kind = TerminatorKind::Goto { target };
        built += 1;
        if let Some(moves) = forward(tcx, body, bb, target) {
            forwarded += moves;
        }
    }
    if built == 0 {
        return PassOutcome::Declined(if kept.is_empty() {
            "no call of a function that only builds a coroutine from its arguments".into()
        } else {
            kept.join("; ")
        });
    }
    PassOutcome::Applied(format!(
        "{built} call(s) of a function whose MIR only builds a coroutine from its arguments written as that \
         aggregate; {forwarded} move(s) of the new future forwarded, so it is built where it ends up{}",
        if kept.is_empty() { String::new() } else { format!(" (kept: {})", kept.join("; ")) }
    ))
}

/// The coroutine aggregate `instance`'s body builds from its arguments, in the caller's
/// terms (`args` are the call's operands), if that is all the body does.
fn coroutine_built_by<'tcx>(
    tcx: TyCtxt<'tcx>,
    typing_env: TypingEnv<'tcx>,
    instance: Instance<'tcx>,
    args: &[rustc_span::Spanned<Operand<'tcx>>],
) -> Option<(AggregateKind<'tcx>, Vec<Operand<'tcx>>)> {
    let ty::InstanceKind::Item(def_id) = instance.def else { return None };
    if tcx.is_coroutine(def_id) || !tcx.is_mir_available(def_id) {
        return None;
    }
    let callee = tcx.optimized_mir(def_id);
    if callee.basic_blocks.len() != 1 || callee.arg_count != args.len() || callee.spread_arg.is_some() {
        return None;
    }
    let block = &callee.basic_blocks[START_BLOCK];
    if !matches!(block.terminator().kind, TerminatorKind::Return) {
        return None;
    }
    let mut built = None;
    for statement in &block.statements {
        match &statement.kind {
            StatementKind::StorageLive(_) | StatementKind::StorageDead(_) | StatementKind::Nop => {}
            StatementKind::Assign(assign) if assign.0.as_local() == Some(RETURN_PLACE) && built.is_none() => {
                let Rvalue::Aggregate(kind, fields) = &assign.1 else { return None };
                let AggregateKind::Coroutine(..) = **kind else { return None };
                built = Some((kind.clone(), fields.clone()));
            }
            _ => return None,
        }
    }
    let (kind, fields) = built?;
    let mut operands = Vec::with_capacity(fields.len());
    let mut taken = vec![false; args.len()];
    for field in fields.iter() {
        let (Operand::Move(place) | Operand::Copy(place)) = field else { return None };
        let argument = place.as_local()?.as_usize();
        if argument == 0 || argument > args.len() || std::mem::replace(&mut taken[argument - 1], true) {
            return None;
        }
        let operand = args[argument - 1].node.clone();
        // A place behind a pointer could overlap the destination.
        if let Operand::Move(place) | Operand::Copy(place) = &operand
            && !place.projection.is_empty()
        {
            return None;
        }
        operands.push(operand);
    }
    let kind = instance.instantiate_mir_and_normalize_erasing_regions(tcx, typing_env, EarlyBinder::bind(*kind));
    Some((kind, operands))
}

/// Forwards the aggregate just written at the end of `block` through the moves that take
/// it on from `target`: it is written to the last place instead, and the moves go.
/// Returns how many moves went, or `None` when none could.
fn forward<'tcx>(tcx: TyCtxt<'tcx>, body: &mut Body<'tcx>, block: BasicBlock, target: BasicBlock) -> Option<usize> {
    let uses = use_counts(body);
    let predecessors = body.basic_blocks.predecessors();
    let last = body.basic_blocks[block].statements.len() - 1;
    let StatementKind::Assign(assign) = &body.basic_blocks[block].statements[last].kind else { return None };
    let mut value = assign.0.as_local()?;
    let mut chain: Vec<Local> = Vec::new();
    let mut moves: Vec<(BasicBlock, usize)> = Vec::new();
    let mut destination: Option<Place<'tcx>> = None;
    // Storage markers on the way: the write moves above them, so none may be of a local the
    // place at the end names (its `StorageLive` would make the value uninitialised).
    let mut marked: Vec<Local> = Vec::new();
    let mut bb = target;
    'walk: loop {
        if predecessors[bb].len() != 1 {
            break;
        }
        let data = &body.basic_blocks[bb];
        for (index, statement) in data.statements.iter().enumerate() {
            match &statement.kind {
                StatementKind::StorageLive(l) | StatementKind::StorageDead(l) if *l != value => marked.push(*l),
                StatementKind::Nop => {}
                StatementKind::Assign(assign)
                    if matches!(&assign.1, Rvalue::Use(Operand::Move(from), _) if from.as_local() == Some(value)) =>
                {
                    if uses[value] != 2 || body.local_decls[value].ty != assign.0.ty(&body.local_decls, tcx).ty {
                        break 'walk;
                    }
                    chain.push(value);
                    moves.push((bb, index));
                    match assign.0.as_local() {
                        Some(next) => value = next,
                        None => {
                            destination = Some(assign.0);
                            break 'walk;
                        }
                    }
                }
                _ => break 'walk,
            }
        }
        match data.terminator().kind {
            TerminatorKind::Goto { target } => bb = target,
            _ => break,
        }
    }
    if moves.is_empty() {
        return None;
    }
    // The place everything ends in: a non-local place that mentions no local of the chain,
    // or the last local moved into.
    let destination = destination.unwrap_or_else(|| Place::from(value));
    let mentions = |locals: &[Local]| {
        locals.contains(&destination.local)
            || destination.projection.iter().any(|p| matches!(p, ProjectionElem::Index(i) if locals.contains(&i)))
    };
    if mentions(&chain) || mentions(&marked) {
        return None;
    }
    let StatementKind::Assign(assign) = &mut body.basic_blocks.as_mut()[block].statements[last].kind else { unreachable!() };
    assign.0 = destination;
    for &(bb, index) in &moves {
        body.basic_blocks.as_mut()[bb].statements[index].make_nop(true);
    }
    // Debug info may name places through dereferences, fields and downcasts only.
    let describable = destination.projection.iter().enumerate().all(|(i, p)| match p {
        ProjectionElem::Deref => i == 0,
        ProjectionElem::Field(..) | ProjectionElem::Downcast(..) => true,
        _ => false,
    });
    for info in &mut body.var_debug_info {
        if let VarDebugInfoContents::Place(place) = &mut info.value
            && describable
            && place.projection.is_empty()
            && chain.contains(&place.local)
        {
            *place = destination;
        }
    }
    Some(moves.len())
}
