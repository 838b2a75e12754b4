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
//! The integrator is written here (rustc's MIR inliner is private, and it refuses coroutine
//! callers because their MIR feeds the layout query; that concern does not apply, because
//! the splice adds no saved local: every child local is dead when the child returns,
//! which is before the parent can suspend). It maps, for the spliced copy:
//! - locals: fresh parent locals; `_0` is the call's destination, the two arguments are
//!   assigned from the call's operands at the entry;
//! - blocks: appended; `return` goes to the call's target; `resume` and every
//!   `unwind continue` of the child take the call's unwind action;
//! - scopes: appended under the call's scope; the child's outermost scope is marked as
//!   inlined from the child's instance at the call's span, so debuggers and symbolised
//!   backtraces can still name the child;
//! - debug info: the child's variables, in the mapped scopes;
//! - `required_consts` and `mentioned_items`: the child's join the parent's, and the call
//!   leaves `mentioned_items`.
//!
//! Why MIR: the splice has to see the child's MIR (types, places, scopes); at the
//! Cranelift level only the compiled child exists, as a call target.
//!
//! Preconditions (otherwise a call is left alone): `<C as Future>::poll` where `C` is a
//! coroutine and the call resolves to a body other than this one, with MIR available;
//! the call returns to a block and writes a whole local; the child body has two
//! arguments, no spread argument, no inline assembly, and stays within the size budget
//! (per child, and for everything spliced into one parent).

use rustc_hir::LangItem;
use rustc_index::IndexVec;
use rustc_middle::mir::visit::{MutVisitor, PlaceContext};
use rustc_middle::mir::{
    BasicBlock, Body, Local, Location, MentionedItem, OUTERMOST_SOURCE_SCOPE,
    Operand, RETURN_PLACE, Rvalue, SourceScope, SourceScopeData, Statement,
    StatementKind, Terminator, TerminatorKind, UnwindAction, WithRetag,
};
use rustc_middle::ty::{self, EarlyBinder, Instance, TyCtxt, TypingEnv};

use super::{PassCx, PassOutcome};

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
        match prepare_child(tcx, typing_env, cx.def_id, body, call, poll_fn) {
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
    let child = instance
        .try_instantiate_mir_and_normalize_erasing_regions(tcx, typing_env, EarlyBinder::bind(generic.clone()))
        .map_err(|_| format!("{} does not normalize for this call", tcx.def_path_str(def_id)))?;
    let destination_ty = body.local_decls[destination.as_local().unwrap()].ty;
    if child.local_decls[RETURN_PLACE].ty != destination_ty {
        return Err("the child's return type is not the call's destination type".into());
    }
    Ok((instance, child))
}

/// Replaces the call ending `call` by `child`'s code.
fn splice<'tcx>(tcx: TyCtxt<'tcx>, body: &mut Body<'tcx>, call: BasicBlock, instance: Instance<'tcx>, mut child: Body<'tcx>) -> Result<(), String> {
    let terminator = body.basic_blocks[call].terminator().clone();
    let TerminatorKind::Call { func, args, destination, target: Some(target), unwind, .. } = terminator.kind else {
        return Err("not a returning call".into());
    };
    let destination = destination.as_local().ok_or("the destination is not a local")?;
    let call_scope = terminator.source_info.scope;
    let call_span = terminator.source_info.span;

    // Locals: `_0` is the destination, every other child local is a fresh one.
    let mut locals: IndexVec<Local, Local> = IndexVec::with_capacity(child.local_decls.len());
    for (local, decl) in child.local_decls.iter_enumerated() {
        if local == RETURN_PLACE {
            locals.push(destination);
        } else {
            locals.push(body.local_decls.push(decl.clone()));
        }
    }
    let scope_base = body.source_scopes.len();
    let block_base = body.basic_blocks.len();
    let callsite_scope = body.source_scopes[call_scope].clone();
    let mut map = SpliceMap {
        tcx,
        locals: &locals,
        scope_base,
        block_base,
        return_to: target,
        unwind,
        instance,
        call_scope,
        call_span,
        callsite_inlined: callsite_scope.inlined.is_some(),
        callsite_inlined_parent: callsite_scope.inlined_parent_scope,
        cleanup: false,
        unmappable: None,
    };

    // Scopes, in order, so that a scope's index is `scope_base + its child index`.
    for mut data in std::mem::take(&mut child.source_scopes) {
        map.visit_source_scope_data(&mut data);
        body.source_scopes.push(data);
    }
    // The fresh locals' declarations name child scopes.
    for (local, &new) in locals.iter_enumerated() {
        if local != RETURN_PLACE {
            let decl = &mut body.local_decls[new];
            decl.source_info.scope = SourceScope::from_usize(scope_base + decl.source_info.scope.as_usize());
        }
    }
    for mut info in std::mem::take(&mut child.var_debug_info) {
        map.visit_var_debug_info(&mut info);
        info.argument_index = None;
        body.var_debug_info.push(info);
    }
    let mut blocks = Vec::with_capacity(child.basic_blocks.len());
    for (bb, mut data) in std::mem::take(child.basic_blocks.as_mut()).into_iter_enumerated() {
        map.cleanup = data.is_cleanup;
        map.visit_basic_block_data(bb, &mut data);
        blocks.push(data);
    }
    if let Some(why) = map.unmappable {
        return Err(why);
    }
    let entry = BasicBlock::from_usize(block_base);
    for data in blocks {
        body.basic_blocks.as_mut().push(data);
    }

    // The call becomes: the arguments into the child's argument locals, then its entry.
    let call_data = &mut body.basic_blocks.as_mut()[call];
    for (index, arg) in args.iter().enumerate() {
        let place = locals[Local::from_usize(index + 1)].into();
        let operand: Operand<'tcx> = arg.node.clone();
        call_data.statements.push(Statement::new(
            terminator.source_info,
            StatementKind::Assign(Box::new((place, Rvalue::Use(operand, WithRetag::Yes)))),
        ));
    }
    call_data.terminator = Some(Terminator { source_info: terminator.source_info, kind: TerminatorKind::Goto { target: entry } });

    // The child's constants and mentioned items are the parent's now; the call is gone.
    let required: Vec<_> = child.required_consts().iter().filter(|c| c.const_.is_required_const()).cloned().collect();
    body.required_consts.as_mut().unwrap().extend(required);
    let callee = MentionedItem::Fn(func.ty(&body.local_decls, tcx));
    let mentioned = body.mentioned_items.as_mut().unwrap();
    if let Some(index) = mentioned.iter().position(|item| item.node == callee) {
        mentioned.remove(index);
    }
    mentioned.extend(child.mentioned_items().iter().cloned());
    Ok(())
}

/// Maps one child body's locals, scopes, blocks and exits into the parent.
struct SpliceMap<'a, 'tcx> {
    tcx: TyCtxt<'tcx>,
    locals: &'a IndexVec<Local, Local>,
    scope_base: usize,
    block_base: usize,
    return_to: BasicBlock,
    unwind: UnwindAction,
    instance: Instance<'tcx>,
    call_scope: SourceScope,
    call_span: rustc_span::Span,
    callsite_inlined: bool,
    callsite_inlined_parent: Option<SourceScope>,
    /// Set while visiting a cleanup block.
    cleanup: bool,
    unmappable: Option<String>,
}

impl SpliceMap<'_, '_> {
    fn block(&self, bb: BasicBlock) -> BasicBlock {
        BasicBlock::from_usize(self.block_base + bb.as_usize())
    }
    fn scope(&self, scope: SourceScope) -> SourceScope {
        SourceScope::from_usize(self.scope_base + scope.as_usize())
    }
    /// An unwind action of a child terminator, seen from the parent.
    fn unwind_action(&mut self, action: UnwindAction) -> UnwindAction {
        match action {
            UnwindAction::Cleanup(bb) => UnwindAction::Cleanup(self.block(bb)),
            // Unwinding out of the child continues where the call would have.
            UnwindAction::Continue if !self.cleanup => self.unwind,
            UnwindAction::Continue => {
                self.unmappable.get_or_insert("`unwind continue` inside a cleanup block".into());
                action
            }
            other => other,
        }
    }
}

impl<'tcx> MutVisitor<'tcx> for SpliceMap<'_, 'tcx> {
    fn tcx(&self) -> TyCtxt<'tcx> {
        self.tcx
    }

    fn visit_local(&mut self, local: &mut Local, _: PlaceContext, _: Location) {
        *local = self.locals[*local];
    }

    fn visit_source_scope(&mut self, scope: &mut SourceScope) {
        *scope = self.scope(*scope);
    }

    fn visit_source_scope_data(&mut self, data: &mut SourceScopeData<'tcx>) {
        let outermost = data.parent_scope.is_none();
        self.super_source_scope_data(data);
        if outermost {
            // The child's outermost scope hangs under the call, marked as inlined.
            data.parent_scope = Some(self.call_scope);
            data.inlined = Some((self.instance, self.call_span));
            data.inlined_parent_scope =
                if self.callsite_inlined { Some(self.call_scope) } else { self.callsite_inlined_parent };
        } else if data.inlined_parent_scope.is_none() {
            // Inner scopes find their inlined frame through the outermost one.
            data.inlined_parent_scope = Some(self.scope(OUTERMOST_SOURCE_SCOPE));
        }
    }

    fn visit_terminator(&mut self, terminator: &mut Terminator<'tcx>, location: Location) {
        if !matches!(terminator.kind, TerminatorKind::Return) {
            self.super_terminator(terminator, location);
        } else {
            self.visit_source_info(&mut terminator.source_info);
        }
        let kind = &mut terminator.kind;
        match kind {
            TerminatorKind::Return => *kind = TerminatorKind::Goto { target: self.return_to },
            TerminatorKind::UnwindResume => {
                *kind = match self.unwind {
                    UnwindAction::Cleanup(bb) => TerminatorKind::Goto { target: bb },
                    UnwindAction::Continue => TerminatorKind::UnwindResume,
                    UnwindAction::Unreachable => TerminatorKind::Unreachable,
                    UnwindAction::Terminate(reason) => TerminatorKind::UnwindTerminate(reason),
                }
            }
            TerminatorKind::Goto { target } => *target = self.block(*target),
            TerminatorKind::SwitchInt { targets, .. } => {
                for t in targets.all_targets_mut() {
                    *t = self.block(*t);
                }
            }
            TerminatorKind::Drop { target, unwind, .. } | TerminatorKind::Assert { target, unwind, .. } => {
                *target = self.block(*target);
                *unwind = self.unwind_action(*unwind);
            }
            TerminatorKind::Call { target, unwind, .. } => {
                if let Some(t) = target {
                    *t = self.block(*t);
                }
                *unwind = self.unwind_action(*unwind);
            }
            TerminatorKind::UnwindTerminate(_) | TerminatorKind::Unreachable => {}
            _ => {
                self.unmappable.get_or_insert(format!("cannot map `{kind:?}`"));
            }
        }
    }
}
