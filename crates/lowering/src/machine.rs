//! Recovers the state machine that rustc's coroutine transform left in a resume body.
//!
//! After `StateTransform`, every coroutine's `optimized_mir` is its resume function.
//! It opens with a dispatch on the state that lives in the coroutine's discriminant:
//!
//! ```text
//! bb0: {
//!     _18 = copy (_1.0: &mut {async fn body of dispatch()});   // Pin<&mut Self> -> &mut Self
//!     _17 = discriminant((*_18));
//!     switchInt(move _17) -> [0: bb1, 1: bb32, 2: bb31, 3: bb29, 4: bb30, otherwise: bb9];
//! }
//! ```
//!
//! Values 0, 1 and 2 are rustc's reserved states (Unresumed, Returned, Poisoned); every
//! value from 3 up is a suspend state, and is also the index of a layout variant that
//! holds the locals live across that suspension. A suspension is a block that writes the
//! state and returns:
//!
//! ```text
//! bb10: { _0 = Poll::<u32>::Pending; discriminant((*_18)) = 3; return; }
//! ```
//!
//! The Returned and Poisoned arms lead to `assert(const false, "`async fn` resumed after
//! completion")` (and `... after panicking`). [`StateMachine::recover`] finds all of this
//! and declines, with a reason, on any body whose shape it does not recognise; every
//! transform starts from a recovered machine, so an unexpected shape means no rewrite.

use rustc_abi::VariantIdx;
use rustc_middle::mir::visit::{MutatingUseContext, NonMutatingUseContext, PlaceContext, Visitor};
use rustc_middle::mir::{
    AssertKind, BasicBlock, Body, Local, Location, Operand, Place, ProjectionElem, Rvalue, START_BLOCK,
    StatementKind, TerminatorKind,
};

use crate::body_edit::{count_uses, use_counts};
use crate::tag_flow::tag_read_into;

/// rustc's reserved state numbers (`rustc_mir_transform/src/coroutine.rs`).
pub const UNRESUMED: u32 = 0;
pub const RETURNED: u32 = 1;
pub const POISONED: u32 = 2;
pub const FIRST_SUSPEND_STATE: u32 = 3;

/// What one arm of the dispatch switch resumes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArmKind {
    /// State 0: the body runs from its start.
    Unresumed,
    /// State 1: polled after completion.
    Returned,
    /// State 2: polled after a panic unwound out of it.
    Poisoned,
    /// State 3 and up: continue after a suspension.
    Suspended,
}

/// One `value -> block` arm of the dispatch switch.
#[derive(Clone, Debug)]
pub struct ResumeArm {
    pub state: u32,
    pub target: BasicBlock,
    pub kind: ArmKind,
    /// For Returned and Poisoned: the arm is rustc's `assert(const false, ResumedAfter..)`.
    pub panics_on_resume: bool,
}

/// The switch on the coroutine's state at the top of the resume function.
#[derive(Clone, Debug)]
pub struct DispatchSwitch {
    /// The block holding the `switchInt`.
    pub block: BasicBlock,
    /// The local that points at the coroutine: rustc reads the state as
    /// `discriminant((*coroutine_ref))`.
    pub coroutine_ref: Local,
    pub arms: Vec<ResumeArm>,
    /// Where unknown state values go (rustc makes it `unreachable`).
    pub otherwise: BasicBlock,
}

/// A block that stores a new state into the coroutine: a suspension (state >= 3), or the
/// Returned / Poisoned marking.
#[derive(Clone, Debug)]
pub struct StateWrite {
    pub block: BasicBlock,
    pub state: u32,
    /// Does the block end in `return` right after the write (a suspend site)?
    pub then_returns: bool,
}

/// One variant of the coroutine's layout.
#[derive(Clone, Debug)]
pub struct LayoutVariant {
    pub index: u32,
    /// How many saved locals live in this variant.
    pub saved_locals: usize,
}

/// A resume body's state machine, as far as corolift needs to know it.
#[derive(Clone, Debug)]
pub struct StateMachine {
    pub dispatch: DispatchSwitch,
    pub state_writes: Vec<StateWrite>,
    pub variants: Vec<LayoutVariant>,
    /// Saved locals in the whole layout (the `field_tys` of `CoroutineLayout`).
    pub saved_locals: usize,
}

/// Why a body is not a resume function corolift can work on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decline(pub String);

impl std::fmt::Display for Decline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn decline<T>(why: impl Into<String>) -> Result<T, Decline> {
    Err(Decline(why.into()))
}

/// The `_n` of a place `(*_n)`.
fn is_deref_of_local(place: &Place<'_>) -> Option<Local> {
    match place.projection.as_slice() {
        [ProjectionElem::Deref] => Some(place.local),
        _ => None,
    }
}

impl StateMachine {
    /// Finds the dispatch, the state writes and the layout variants of `body`.
    pub fn recover(body: &Body<'_>) -> Result<StateMachine, Decline> {
        let Some(layout) = body.coroutine_layout_raw() else {
            return decline("the body has no coroutine layout (not a lowered coroutine)");
        };

        let (block, coroutine_local) = find_dispatch(body)?;
        let TerminatorKind::SwitchInt { targets, .. } = &body.basic_blocks[block].terminator().kind
        else {
            unreachable!("find_dispatch returns a switch block")
        };

        let mut arms = Vec::new();
        for (value, target) in targets.iter() {
            let Ok(state) = u32::try_from(value) else {
                return decline(format!("state value {value} does not fit a u32"));
            };
            let kind = match state {
                UNRESUMED => ArmKind::Unresumed,
                RETURNED => ArmKind::Returned,
                POISONED => ArmKind::Poisoned,
                _ => ArmKind::Suspended,
            };
            let panics_on_resume = matches!(kind, ArmKind::Returned | ArmKind::Poisoned)
                && is_resumed_after_assert(body, target);
            arms.push(ResumeArm { state, target, kind, panics_on_resume });
        }
        if !arms.iter().any(|arm| arm.kind == ArmKind::Unresumed) {
            return decline("the state switch has no Unresumed arm");
        }

        let mut state_writes = Vec::new();
        for (bb, data) in body.basic_blocks.iter_enumerated() {
            for (index, stmt) in data.statements.iter().enumerate() {
                let StatementKind::SetDiscriminant { place, variant_index } = &stmt.kind else {
                    continue;
                };
                if is_deref_of_local(place) != Some(coroutine_local) {
                    continue;
                }
                let rest_is_inert = data.statements[index + 1..].iter().all(|s| {
                    matches!(s.kind, StatementKind::StorageDead(_) | StatementKind::Nop)
                });
                let then_returns =
                    rest_is_inert && matches!(data.terminator().kind, TerminatorKind::Return);
                state_writes.push(StateWrite { block: bb, state: variant_index.as_u32(), then_returns });
            }
        }

        let variants = layout
            .variant_fields
            .iter_enumerated()
            .map(|(index, fields): (VariantIdx, _)| LayoutVariant {
                index: index.as_u32(),
                saved_locals: fields.len(),
            })
            .collect();

        Ok(StateMachine {
            dispatch: DispatchSwitch {
                block,
                coroutine_ref: coroutine_local,
                arms,
                otherwise: targets.otherwise(),
            },
            state_writes,
            variants,
            saved_locals: layout.field_tys.len(),
        })
    }

    /// Number of arms in the dispatch switch: the figure the report calls "states".
    /// The blocks that follow `block` in the coroutine's life: its successors in the
    /// resume body, and, for every state it writes, the block the dispatch resumes that
    /// state at (the next poll starts there). From the Unresumed arm's target, these edges
    /// give every order in which the body's blocks can run over all of the coroutine's polls.
    pub fn successors_across_polls(&self, body: &Body<'_>, block: BasicBlock) -> Vec<BasicBlock> {
        let data = &body.basic_blocks[block];
        let mut next: Vec<BasicBlock> = data.terminator().successors().collect();
        for stmt in &data.statements {
            if let StatementKind::SetDiscriminant { place, variant_index } = &stmt.kind
                && is_deref_of_local(place) == Some(self.dispatch.coroutine_ref)
            {
                match self.dispatch.arms.iter().find(|arm| arm.state == variant_index.as_u32()) {
                    Some(arm) => next.push(arm.target),
                    None => next.push(self.dispatch.otherwise),
                }
            }
        }
        next
    }

    /// Where the coroutine's life starts: the target of the Unresumed arm.
    pub fn start(&self) -> Option<BasicBlock> {
        self.dispatch.arms.iter().find(|arm| arm.state == UNRESUMED).map(|arm| arm.target)
    }

    pub fn state_count(&self) -> usize {
        self.dispatch.arms.len()
    }

    pub fn suspend_states(&self) -> impl Iterator<Item = &ResumeArm> {
        self.dispatch.arms.iter().filter(|arm| arm.kind == ArmKind::Suspended)
    }

    pub fn arm(&self, kind: ArmKind) -> Option<&ResumeArm> {
        self.dispatch.arms.iter().find(|arm| arm.kind == kind)
    }

    /// Suspend sites: state writes of a state >= 3 that return right away.
    pub fn suspend_sites(&self) -> impl Iterator<Item = &StateWrite> {
        self.state_writes.iter().filter(|w| w.state >= FIRST_SUSPEND_STATE && w.then_returns)
    }

    /// A stable, human-readable summary, used by `corolift-dump` and the snapshots.
    pub fn describe(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let d = &self.dispatch;
        let _ = writeln!(out, "dispatch: {:?} switches on discriminant((*{:?}))", d.block, d.coroutine_ref);
        for arm in &d.arms {
            let note = if arm.panics_on_resume { " (panics: resumed after ...)" } else { "" };
            let _ = writeln!(out, "  state {} -> {:?} {:?}{}", arm.state, arm.target, arm.kind, note);
        }
        let _ = writeln!(out, "  otherwise -> {:?}", d.otherwise);
        let _ = writeln!(out, "state writes:");
        for w in &self.state_writes {
            let _ = writeln!(
                out,
                "  {:?}: state = {}{}",
                w.block,
                w.state,
                match (w.then_returns, w.state >= FIRST_SUSPEND_STATE) {
                    (true, true) => "; return (suspend site)",
                    (true, false) => "; return",
                    (false, _) => "",
                }
            );
        }
        let _ = writeln!(out, "layout: {} saved locals", self.saved_locals);
        for v in &self.variants {
            let _ = writeln!(out, "  variant {}: {} saved locals", v.index, v.saved_locals);
        }
        out
    }
}

/// Finds the switch on `discriminant((*coroutine))` that opens a resume body or a
/// coroutine drop body: its block, and the local that points at the coroutine.
pub fn find_dispatch(body: &Body<'_>) -> Result<(BasicBlock, Local), Decline> {
    // The dispatch sits in the first block, possibly behind `goto`s.
    let mut block = START_BLOCK;
    for _ in 0..4 {
        match &body.basic_blocks[block].terminator().kind {
            TerminatorKind::Goto { target } => block = *target,
            _ => break,
        }
    }
    let data = &body.basic_blocks[block];
    let TerminatorKind::SwitchInt { discr, .. } = &data.terminator().kind else {
        return decline(format!("{block:?} does not end in the state switch"));
    };
    let Some(discr_local) = discr.place().and_then(|p| p.as_local()) else {
        return decline("the state switch is not on a local");
    };
    let coroutine_local = data.statements.iter().rev().find_map(|stmt| match &stmt.kind {
        StatementKind::Assign(assign) if assign.0.as_local() == Some(discr_local) => match &assign.1 {
            Rvalue::Discriminant(place) => Some(is_deref_of_local(place)),
            _ => Some(None),
        },
        _ => None,
    });
    let Some(Some(coroutine_local)) = coroutine_local else {
        return decline("the switched value is not the discriminant of `*self`");
    };
    Ok((block, coroutine_local))
}

/// Is `block` rustc's `assert(const false, ResumedAfterReturn | ResumedAfterPanic)`?
fn is_resumed_after_assert(body: &Body<'_>, block: BasicBlock) -> bool {
    let TerminatorKind::Assert { cond, expected, msg, .. } = &body.basic_blocks[block].terminator().kind
    else {
        return false;
    };
    let cond_is_false = match cond {
        Operand::Constant(c) => c.const_.try_to_bool() == Some(!*expected),
        _ => false,
    };
    cond_is_false
        && matches!(**msg, AssertKind::ResumedAfterReturn(_) | AssertKind::ResumedAfterPanic(_))
}

/// The precondition every pass that rewrites places of the coroutine relies on: the body
/// reaches the coroutine only through `coroutine_ref`, and only through projections of
/// `(*coroutine_ref)`. `(*self)` is used whole only to read or write its tag, the reference
/// itself only where it is defined, and in a resume body `self` (`_1`) is read once, as
/// `self.0`, into `coroutine_ref`. So no second alias of the coroutine exists, and every
/// access to a field, an upvar or the tag is a place the pass can see and rewrite.
pub fn self_reached_only_by_projection(body: &Body<'_>, coroutine_ref: Local, is_resume: bool) -> Result<(), String> {
    struct Uses {
        coroutine_ref: Local,
        self_arg: Option<Local>,
        bad: Option<String>,
    }
    impl<'tcx> Visitor<'tcx> for Uses {
        fn visit_place(&mut self, place: &Place<'tcx>, context: PlaceContext, location: Location) {
            let whole_deref = place.projection.as_slice() == [ProjectionElem::Deref];
            if context.is_use()
                && place.local == self.coroutine_ref
                && whole_deref
                && !matches!(context,
                    PlaceContext::NonMutatingUse(NonMutatingUseContext::Inspect)
                    | PlaceContext::MutatingUse(MutatingUseContext::SetDiscriminant))
            {
                self.bad.get_or_insert(format!("the coroutine is used whole at {location:?}"));
            }
            if context.is_use() && place.local == self.coroutine_ref && place.projection.first() != Some(&ProjectionElem::Deref) {
                // The definition `ref = copy (_1.0)` writes it; nothing else may use it whole.
                if !matches!(context, PlaceContext::MutatingUse(MutatingUseContext::Store)) {
                    self.bad.get_or_insert(format!("the coroutine reference is used whole at {location:?}"));
                }
            }
            if let Some(self_arg) = self.self_arg
                && place.local == self_arg
                && context.is_use()
                && !matches!(place.projection.as_slice(), [ProjectionElem::Field(..)])
            {
                self.bad.get_or_insert(format!("`self` is used other than as `self.0` at {location:?}"));
            }
        }
    }
    let self_arg = if is_resume && coroutine_ref != Local::from_u32(1) { Some(Local::from_u32(1)) } else { None };
    let mut uses = Uses { coroutine_ref, self_arg, bad: None };
    uses.visit_body(body);
    if let Some(self_arg) = self_arg {
        // One copy of the reference, and it is `coroutine_ref`: no second alias of `*self`.
        let copies = count_uses(body, self_arg);
        let defines_ref = body.basic_blocks.iter().flat_map(|data| &data.statements).any(|stmt| {
            matches!(&stmt.kind, StatementKind::Assign(assign)
                if assign.0.as_local() == Some(coroutine_ref)
                    && matches!(&assign.1, Rvalue::Use(Operand::Copy(p), _) if p.local == self_arg))
        });
        if copies != 1 || !defines_ref {
            return Err("`self.0` is read other than once, into the coroutine reference".into());
        }
    }
    match uses.bad {
        Some(why) => Err(why),
        None => Ok(()),
    }
}

/// Every tag read feeds the switch ending its block, and nothing else: the switches on the
/// tag are then all the places it is looked at, and a pass that renumbers or adds states
/// can find them all.
pub fn tag_reads_feed_switches(body: &Body<'_>, coroutine_ref: Local) -> Result<(), String> {
    let uses = use_counts(body);
    for (bb, data) in body.basic_blocks.iter_enumerated() {
        let mut pending: Option<Local> = None;
        for stmt in &data.statements {
            if let Some(into) = tag_read_into(stmt, coroutine_ref) {
                if pending.is_some() {
                    return Err(format!("{bb:?} reads the tag twice"));
                }
                pending = Some(into.as_local().ok_or_else(|| format!("{bb:?} reads the tag into a projection"))?);
                continue;
            }
            let StatementKind::Assign(assign) = &stmt.kind else { continue };
            if pending.is_some_and(|local| assign.0.local == local) {
                return Err(format!("{bb:?} overwrites its tag read"));
            }
        }
        if let Some(local) = pending {
            let feeds = matches!(&data.terminator().kind,
                TerminatorKind::SwitchInt { discr: Operand::Move(p) | Operand::Copy(p), .. } if p.as_local() == Some(local));
            if !feeds || uses[local] != 2 {
                return Err(format!("the tag read in {bb:?} is not (only) its switch's"));
            }
        }
    }
    Ok(())
}

/// The shape every pass that edits states, variants or the layout relies on
/// (`forward_upvars`, `merge_states`, `dead_states`, `flatten_child`, `one_dispatch`), checked on the
/// resume body and on the drop body: each opens with a dispatch on the tag, reaches the
/// coroutine only through projections of `(*self)` ([`self_reached_only_by_projection`]),
/// and reads the tag only for switches ([`tag_reads_feed_switches`]). rustc's
/// StateTransform output has this shape, and so has every pass's output; a pass run on a
/// body without it (a reordered pipeline, another rustc) declines instead of editing what
/// it cannot see.
pub fn states_editable(body: &Body<'_>) -> Result<(), String> {
    let drop_body = body.coroutine.as_ref().and_then(|info| info.coroutine_drop.as_ref());
    for (which, b, is_resume) in [("resume body", Some(body), true), ("drop body", drop_body, false)] {
        let Some(b) = b else { continue };
        let (_, coroutine_ref) = find_dispatch(b).map_err(|why| format!("{which}: {}", why.0))?;
        self_reached_only_by_projection(b, coroutine_ref, is_resume).map_err(|why| format!("{which}: {why}"))?;
        tag_reads_feed_switches(b, coroutine_ref).map_err(|why| format!("{which}: {why}"))?;
    }
    Ok(())
}

/// The blocks of `body` that end in a switch on the tag read in the same block: the
/// dispatch, and any switch a pass added (a flattened child's). With
/// [`tag_reads_feed_switches`], these are all the places the tag is looked at.
pub fn tag_switches(body: &Body<'_>, coroutine_ref: Local) -> Vec<BasicBlock> {
    body.basic_blocks
        .iter_enumerated()
        .filter(|(_, data)| {
            let mut tag_local = None;
            for statement in &data.statements {
                crate::tag_flow::step(statement, coroutine_ref, None, &mut tag_local);
            }
            matches!(&data.terminator().kind,
                TerminatorKind::SwitchInt { discr: Operand::Move(p) | Operand::Copy(p), .. }
                    if tag_local.is_some() && p.as_local() == tag_local)
        })
        .map(|(block, _)| block)
        .collect()
}
