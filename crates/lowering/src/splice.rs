//! The integrator: one body's code spliced into another at a site (a call, a drop).
//!
//! `inline_child` splices a child's resume body at the `poll` call of an await;
//! `flatten_child` splices a child's drop body at a drop of the child. For the spliced
//! copy:
//! - locals: fresh locals of the receiving body; the child's `_0` is the site's
//!   destination; an argument the site moves in whole from a local of the same type is
//!   that local, and the other arguments are assigned from the site's operands at the
//!   entry;
//! - blocks: appended; `return` goes to the site's target, after a `StorageDead` of each
//!   child local whose storage may still be live there (a return ended it); `resume` and every
//!   `unwind continue` of the child take the site's unwind action. At a site on a cleanup
//!   path, every spliced block is cleanup code and every unwind action terminates;
//! - scopes: appended under the site's scope; the child's outermost scope is marked as
//!   inlined from the child's instance at the site's span, so debuggers and symbolised
//!   backtraces can still name the child (cg_clif writes no inlined frames of its own:
//!   `crates/codegen/src/inlined_frames.rs` writes them from these scopes);
//! - debug info: the child's variables, in the mapped scopes;
//! - `required_consts` and `mentioned_items`: the child's join the receiving body's.
//!
//! A terminator the map does not know (inline assembly, yields, tail calls) makes the
//! splice fail, and the caller keeps the body it had.

use rustc_index::IndexVec;
use rustc_middle::mir::visit::{MutVisitor, PlaceContext, Visitor};
use rustc_middle::mir::{
    BasicBlock, Body, ConstOperand, Local, Location, OUTERMOST_SOURCE_SCOPE, Operand, RETURN_PLACE, Rvalue,
    SourceInfo, SourceScope, SourceScopeData, Statement, StatementKind, Terminator,
    TerminatorKind, UnwindAction, UnwindTerminateReason, WithRetag,
};
use rustc_middle::ty::{EarlyBinder, Instance, TyCtxt, TypingEnv};
use rustc_mir_dataflow::Analysis;
use rustc_mir_dataflow::impls::{MaybeStorageLive, always_storage_live_locals};

/// `body` (the MIR of `instance`'s item) for `instance`, in the receiving body's typing
/// environment: its generic parameters replaced and the result normalized. A body whose
/// item needs no monomorphization has no parameters to replace, and optimized MIR is
/// already normalized with its regions erased, so it is only copied: instantiating walks
/// and rebuilds the whole body, which for the children of a deep chain (each holding every
/// level below it) made compiling quadratic in its depth.
pub fn instantiated_body<'tcx>(
    tcx: TyCtxt<'tcx>,
    typing_env: TypingEnv<'tcx>,
    instance: Instance<'tcx>,
    body: &Body<'tcx>,
) -> Option<Body<'tcx>> {
    if !tcx.generics_of(instance.def_id()).requires_monomorphization(tcx) {
        return Some(body.clone());
    }
    instance.try_instantiate_mir_and_normalize_erasing_regions(tcx, typing_env, EarlyBinder::bind(body.clone())).ok()
}

/// Where a body is spliced, and what its arguments and exits are.
pub struct SpliceSite<'tcx> {
    /// The block whose terminator the spliced code replaces.
    pub block: BasicBlock,
    /// Assigned, in order, to the child's argument locals.
    pub args: Vec<Operand<'tcx>>,
    /// The child's `_0`.
    pub destination: Local,
    pub return_to: BasicBlock,
    pub unwind: UnwindAction,
    /// The replaced terminator's.
    pub source_info: SourceInfo,
    /// What the inlined scopes name.
    pub instance: Instance<'tcx>,
}

/// Replaces the terminator of `site.block` by `child`'s code: the arguments are
/// assigned to the child's argument locals, then control enters the child.
pub fn splice_body<'tcx>(tcx: TyCtxt<'tcx>, body: &mut Body<'tcx>, site: SpliceSite<'tcx>, mut child: Body<'tcx>) -> Result<(), String> {
    let SpliceSite { block: call, args, destination, return_to: target, unwind, source_info, instance } = site;
    if args.len() != child.arg_count || child.spread_arg.is_some() {
        return Err(format!("{} arguments for a body that takes {}", args.len(), child.arg_count));
    }
    let site_is_cleanup = body.basic_blocks[call].is_cleanup;
    if site_is_cleanup && !matches!(unwind, UnwindAction::Terminate(_) | UnwindAction::Unreachable) {
        return Err("a cleanup site must not unwind".into());
    }
    let call_scope = source_info.scope;
    let call_span = source_info.span;
    let child_required = required_consts(&child);
    let (locals, moved_in) = child_locals(body, &child, &args, destination);
    let fresh = |local: Local| local != RETURN_PLACE && !moved_in.contains(&Some(locals[local]));
    // A return ends the storage of every local of the returning function; a spliced
    // return is a jump, so the child's locals whose storage may still be live there die
    // on it explicitly (rustc's `MaybeStorageLive`, on the child's own body). Otherwise a
    // child spliced into a loop would start its next run with locals still live.
    let ended_at_return = storage_live_at_returns(tcx, &child);
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
        site_is_cleanup,
        unmappable: None,
    };

    // Room for the child's scopes, debug info and blocks at once: a spliced chain's
    // vectors are long, and this saves the reallocations (each a copy of the whole
    // vector) that growing them element by element would make during the splice.
    body.source_scopes.raw.reserve(child.source_scopes.len());
    body.var_debug_info.reserve(child.var_debug_info.len());
    body.basic_blocks.as_mut().raw.reserve(child.basic_blocks.len());
    // Scopes, in order, so that a scope's index is `scope_base + its child index`.
    for mut data in std::mem::take(&mut child.source_scopes) {
        map.visit_source_scope_data(&mut data);
        body.source_scopes.push(data);
    }
    // The fresh locals' declarations name child scopes.
    for (local, &new) in locals.iter_enumerated() {
        if fresh(local) {
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
        // Spliced into a cleanup path, every block of the child is cleanup code.
        data.is_cleanup |= site_is_cleanup;
        blocks.push(data);
    }
    if let Some(why) = map.unmappable {
        return Err(why);
    }
    let entry = BasicBlock::from_usize(block_base);
    for (bb, mut data) in blocks.into_iter().enumerate() {
        for &local in ended_at_return.get(&BasicBlock::from_usize(bb)).into_iter().flatten() {
            if fresh(local) {
                data.statements.push(Statement::new(data.terminator().source_info, StatementKind::StorageDead(locals[local])));
            }
        }
        body.basic_blocks.as_mut().push(data);
    }

    // The site becomes: the other arguments into the child's argument locals, then its entry.
    let site_data = &mut body.basic_blocks.as_mut()[call];
    for (index, operand) in args.into_iter().enumerate() {
        if moved_in[index].is_none() {
            let place = locals[Local::from_usize(index + 1)].into();
            let assign = StatementKind::Assign(Box::new((place, Rvalue::Use(operand, WithRetag::Yes))));
            site_data.statements.push(Statement::new(source_info, assign));
        }
    }
    site_data.terminator = Some(Terminator { source_info, kind: TerminatorKind::Goto { target: entry } });

    // The child's constants and mentioned items are the receiving body's now.
    if let Some(list) = body.required_consts.as_mut() {
        list.extend(child_required);
    }
    if let (Some(list), Some(items)) = (body.mentioned_items.as_mut(), child.mentioned_items.as_ref()) {
        list.extend(items.iter().cloned());
    }
    Ok(())
}

/// The child's required constants. A coroutine's drop body has no lists yet (rustc fills
/// them when it builds the drop shim): its required constants are then collected from its
/// code.
fn required_consts<'tcx>(child: &Body<'tcx>) -> Vec<ConstOperand<'tcx>> {
    match &child.required_consts {
        Some(list) => list.iter().filter(|c| c.const_.is_required_const()).cloned().collect(),
        None => {
            let mut collect = RequiredConsts(Vec::new());
            collect.visit_body(child);
            collect.0
        }
    }
}

/// The receiving body's local for each local of the child, and for each argument the
/// local of the receiving body that becomes the child's argument local, when the argument
/// qualifies. `_0` is the destination; an argument moved in whole from a local of the
/// same type (not the destination, not already taken by another argument) is that local:
/// the site gave it up to the callee, so nothing else reads it while the child runs, and
/// no copy of a `Pin` or a `&mut Context` is made at every level of a chain. Every other
/// child local is a fresh one.
fn child_locals<'tcx>(
    body: &mut Body<'tcx>,
    child: &Body<'tcx>,
    args: &[Operand<'tcx>],
    destination: Local,
) -> (IndexVec<Local, Local>, Vec<Option<Local>>) {
    let mut moved_in: Vec<Option<Local>> = vec![None; args.len()];
    for (index, operand) in args.iter().enumerate() {
        if let Operand::Move(place) = operand
            && let Some(local) = place.as_local()
            && local != destination
            && body.local_decls[local].ty == child.local_decls[Local::from_usize(index + 1)].ty
            && !moved_in.contains(&Some(local))
        {
            moved_in[index] = Some(local);
        }
    }
    let mut locals: IndexVec<Local, Local> = IndexVec::with_capacity(child.local_decls.len());
    for (local, decl) in child.local_decls.iter_enumerated() {
        let argument = local.as_usize().checked_sub(1).and_then(|index| moved_in.get(index).copied().flatten());
        if local == RETURN_PLACE {
            locals.push(destination);
        } else if let Some(argument) = argument {
            locals.push(argument);
        } else {
            locals.push(body.local_decls.push(decl.clone()));
        }
    }
    (locals, moved_in)
}

/// Per block of `body` that ends in `return`: the locals with storage markers whose
/// storage may be live there.
fn storage_live_at_returns<'tcx>(tcx: TyCtxt<'tcx>, body: &Body<'tcx>) -> std::collections::HashMap<BasicBlock, Vec<Local>> {
    let always_live = always_storage_live_locals(body);
    let mut cursor = MaybeStorageLive::new(std::borrow::Cow::Borrowed(&always_live))
        .iterate_to_fixpoint(tcx, body, None)
        .into_results_cursor(body);
    body.basic_blocks
        .iter_enumerated()
        .filter(|(_, data)| matches!(data.terminator().kind, TerminatorKind::Return))
        .map(|(block, data)| {
            cursor.seek_before_primary_effect(Location { block, statement_index: data.statements.len() });
            (block, cursor.get().iter().filter(|&l| !always_live.contains(l)).collect())
        })
        .collect()
}

/// The constants of a body that must evaluate for it to compile.
struct RequiredConsts<'tcx>(Vec<ConstOperand<'tcx>>);

impl<'tcx> Visitor<'tcx> for RequiredConsts<'tcx> {
    fn visit_const_operand(&mut self, constant: &ConstOperand<'tcx>, _: Location) {
        if constant.const_.is_required_const() {
            self.0.push(constant.clone());
        }
    }
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
    /// The site is itself on a cleanup path: nothing in the child may unwind further.
    site_is_cleanup: bool,
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
        if self.site_is_cleanup {
            // A panic while unwinding aborts; the child's own cleanup blocks are not entered.
            return UnwindAction::Terminate(UnwindTerminateReason::InCleanup);
        }
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
