//! Duplicate suspend states: two awaits that hold the same things and continue the same
//! way become one state, with one dispatch arm and one copy of the poll code.
//!
//! `match c { 0 => send_response(123).await, _ => send_response(456).await }` gives two
//! suspend states whose resume code differs only in local numbers and variant index:
//!
//! ```text
//! // before
//! bb0:  switchInt(move _17) -> [0: bb1, 1: bb32, 2: bb31, 3: bb29, 4: bb30, otherwise: bb9];
//! bb5:  ((*_18) as variant#3).0 = move _4; goto -> bb6;            // first await, first poll
//! bb6:  _8 = &mut (((*_18) as variant#3).0); ... poll ...          // await loop, state 3
//! bb10: _0 = Pending; ...; discriminant((*_18)) = 3; return;
//! bb14: ((*_18) as variant#4).0 = move _10; goto -> bb15;          // second await, first poll
//! bb15: _14 = &mut (((*_18) as variant#4).0); ... poll ...         // await loop, state 4
//! bb18: _0 = Pending; ...; discriminant((*_18)) = 4; return;
//! bb29: StorageLive(_3); StorageLive(_4); goto -> bb6;             // resume state 3
//! bb30: StorageLive(_3); StorageLive(_10); goto -> bb15;           // resume state 4
//!
//! // after (then dead_states drops variant 4 from the layout)
//! bb0:  switchInt(move _17) -> [0: bb1, 1: bb32, 2: bb31, 3: bb29, otherwise: bb9];
//! bb5:  ((*_18) as variant#3).0 = move _4; goto -> bb6;
//! bb14: ((*_18) as variant#3).0 = move _10; goto -> bb6;           // shares the await loop
//! bb15..bb18, bb30: unreachable;
//! ```
//!
//! States `a` and `b` (a < b) merge when all of this holds:
//! - **same saved locals**: variant `b`'s field `i` has the same type as variant `a`'s
//!   field `i`, and is either the same saved local or a saved local that only `b` holds,
//!   paired with one that only `a` holds;
//! - **no new overlap**: a `b` field and its paired `a` field are never storage-live at
//!   the same time (one slot cannot hold both values, see the regression program
//!   `tests/corpus/c_regress_merge_conflicting_locals.rs`), and every saved local a `b`
//!   field conflicts with conflicts, after the pairing, with the paired `a` field too. The
//!   merged local's conflicts are then exactly the `a` field's, so the layout that rustc
//!   computes from the edited `CoroutineLayout` keeps every field at a place nothing else
//!   live uses, and the offsets that matter are the ones that layout gives;
//! - **same continuation**: walking the resume code of `b` and of `a` in lockstep, block
//!   by block, the statements and terminators are equal (`==` on the MIR, source spans
//!   aside; printing them would not do, since two different items or NaN payloads can
//!   print alike, see `tests/corpus/c_regress_merge_debug_equal_code.rs`) once `b`'s locals are renamed
//!   through a one-to-one map to `a`'s locals of the same types, and `variant#b` reads as
//!   `variant#a`. Where both walks reach the same block, the locals live there must be
//!   mapped to themselves. Terminators that can make their source location observable
//!   (an `assert`, a `#[track_caller]` call) must also have the same span, or a panic on
//!   b's path would name a's line (`tests/corpus/c_regress_merge_panic_location.rs`);
//! - **markers of one side's own bindings aside**: an arm that binds values before its
//!   await (`let page = arg * 64; reply(page).await`) keeps them in scope, so its resume
//!   block starts their storage and its code after the await ends it, though nothing there
//!   uses them. The comparison walks twice: the first walk leaves every storage marker out
//!   and finds the code each side runs; the second leaves out only the markers of locals
//!   that one side mentions there in markers alone and the other side not at all, and
//!   compares all the rest. Each walk passes through blocks left with nothing it
//!   compares and a `goto` (so an empty `goto` block never needs a twin); such blocks are
//!   not paired. A left-out local must be storage-dead wherever the two walks meet (a
//!   block that ends in `unreachable` aside), and an edge redirected into a's code ends a
//!   left-out local's storage where it may be live
//!   (`tests/corpus/c_merge_arm_bindings.rs`: a protocol handler's command arms).
//!
//! Then every `variant#b` becomes `variant#a` (in the resume body and in the drop body),
//! every `discriminant(..) = b` becomes `= a`, the dispatch loses `b`'s arm, and each edge
//! from outside into `b`'s code (a block the walk passed through without pairing it counts
//! as outside) goes to the paired block of `a`'s code when no local with
//! a different name on the two sides is live there. Such an edge passes through a new
//! block of storage markers where the names differ in storage only: `b`'s local dies,
//! its twin in `a`'s code comes alive (rustc's `MaybeStorageLive` says where), so the
//! merged body keeps rustc's storage rules. Variant `b` is left without writes,
//! and `dead_states` removes it from the layout and the drop glue.
//!
//! Why MIR: the comparison and the renaming are about places and variants, which MIR names
//! precisely; Cranelift sees only offsets. And the layout edit must be made in MIR.

use std::cell::OnceCell;
use std::collections::{BTreeSet, HashMap, HashSet};

use rustc_abi::VariantIdx;
use rustc_hir::def::DefKind;
use rustc_index::bit_set::DenseBitSet;
use rustc_middle::mir::visit::{MutVisitor, PlaceContext};
use rustc_middle::mir::{
    BasicBlock, BasicBlockData, Body, CoroutineLayout, CoroutineSavedLocal, Local, Location,
    Statement, StatementKind, Terminator, TerminatorKind,
};
use rustc_mir_dataflow::Analysis;
use rustc_mir_dataflow::impls::{MaybeStorageLive, always_storage_live_locals};
use rustc_middle::ty::{Instance, TyCtxt, TypingEnv};
use rustc_span::{DUMMY_SP, Span};

use super::{PassCx, PassOutcome};
use crate::body_edit::{LiveLocals, Mentions, VariantRewrite, VariantTarget, clear_unreachable_blocks, edit_switch, reachable_blocks};
use crate::machine::{StateMachine, find_dispatch, states_editable, tag_switches};

pub fn run<'tcx>(cx: &PassCx<'tcx>, body: &mut Body<'tcx>) -> PassOutcome {
    let mut merged = Vec::new();
    let mut reasons = Vec::new();
    if body.coroutine.as_ref().is_some_and(|i| i.coroutine_drop_async.is_some()) {
        return PassOutcome::Declined("the coroutine has an async drop body".into());
    }
    // Merge one pair at a time, recovering the machine after each merge.
    'search: loop {
        let machine = match StateMachine::recover(body) {
            Ok(machine) => machine,
            Err(why) if merged.is_empty() => return PassOutcome::Declined(why.0),
            Err(_) => break,
        };
        // merge_states edits the dispatches only: another switch on the tag (a flattened
        // child's, were the passes reordered) could still send the merged state elsewhere.
        let only_dispatches = states_editable(body).and_then(|()| {
            let extra = tag_switches(body, machine.dispatch.coroutine_ref).len() > 1
                || body.coroutine.as_ref().and_then(|c| c.coroutine_drop.as_ref()).is_some_and(|d| {
                    find_dispatch(d).is_ok_and(|(_, drop_ref)| tag_switches(d, drop_ref).len() > 1)
                });
            if extra { Err("a switch on the tag other than the dispatch".to_string()) } else { Ok(()) }
        });
        if let Err(why) = only_dispatches {
            if merged.is_empty() {
                return PassOutcome::Declined(why);
            }
            break;
        }
        let states: Vec<_> = machine.suspend_states().map(|arm| (arm.state, arm.target)).collect();
        if states.len() < 2 {
            if merged.is_empty() {
                reasons.push(format!("{} suspend state(s): nothing to merge", states.len()));
            }
            break;
        }
        reasons.clear();
        // Liveness of this body, computed once, and only if a pair gets that far.
        let live = OnceCell::new();
        for (i, &(a, a_target)) in states.iter().enumerate() {
            for &(b, b_target) in &states[i + 1..] {
                match try_merge(cx.tcx, body, &machine, &live, (a, a_target), (b, b_target)) {
                    Ok((new_body, note)) => {
                        *body = new_body;
                        merged.push(format!("state {b} into {a} ({note})"));
                        continue 'search;
                    }
                    Err(why) => reasons.push(format!("{a}/{b}: {why}")),
                }
            }
        }
        break;
    }
    if merged.is_empty() {
        PassOutcome::Declined(reasons.join("; "))
    } else {
        PassOutcome::Applied(format!(
            "same saved locals, no new storage conflict, same continuation: merged {}",
            merged.join(", ")
        ))
    }
}

fn try_merge<'tcx>(
    tcx: TyCtxt<'tcx>,
    body: &Body<'tcx>,
    machine: &StateMachine,
    live: &OnceCell<LiveLocals>,
    (a, a_target): (u32, BasicBlock),
    (b, b_target): (u32, BasicBlock),
) -> Result<(Body<'tcx>, String), String> {
    let layout = body.coroutine_layout_raw().ok_or("no coroutine layout")?;
    let (va, vb) = (VariantIdx::from_u32(a), VariantIdx::from_u32(b));
    check_same_saved_locals(layout, va, vb)?;

    let coroutine_ref = machine.dispatch.coroutine_ref;
    let live = live.get_or_init(|| LiveLocals::compute(tcx, body));
    let walk = LockstepWalk::compare(tcx, body, live, coroutine_ref, (va, a_target), (vb, b_target))?;
    let mut storage_live = MaybeStorageLive::new(std::borrow::Cow::Owned(always_storage_live_locals(body)))
        .iterate_to_fixpoint(tcx, body, None)
        .into_results_cursor(body);
    let mut storage_live_at = |block: BasicBlock| {
        storage_live.seek_to_block_start(block);
        storage_live.get().clone()
    };
    // A local whose markers the comparison left out is not used in either copy of the
    // resume code. b's path through a's copy stops running b's markers for it and runs
    // a's, so where the copies meet its storage must be dead on every path: the code
    // after the meeting sees the same storage from both. (A block that ends in
    // `unreachable`, the `otherwise` of every `Poll` match, never runs.)
    for &meeting in &walk.meetings {
        if matches!(body.basic_blocks[meeting].terminator().kind, TerminatorKind::Unreachable) {
            continue;
        }
        let at = storage_live_at(meeting);
        if let Some(local) = walk.storage_only().find(|&l| at.contains(l)) {
            return Err(format!("{local:?} may be storage-live where the two resume paths meet at {meeting:?}"));
        }
    }

    let mut new = body.clone();
    // The dispatch loses b's arm.
    edit_switch(&mut new, machine.dispatch.block, |value, target| {
        (value != b as u128).then_some((value, target))
    });
    // Every edge from outside b's code into it goes to a's copy where the locals allow.
    let redirectable: HashMap<BasicBlock, BasicBlock> = walk
        .blocks
        .iter()
        .filter(|&(&from_b, &to_a)| from_b != to_a)
        .filter(|&(&from_b, _)| live.live_in(from_b).iter().all(|l| walk.locals.get(&l).is_none_or(|&m| m == l)))
        .map(|(&from_b, &to_a)| (from_b, to_a))
        .collect();
    // A redirected edge leaves b's storage markers behind: a renamed local of b whose
    // storage is live there dies on the edge, and its twin in a's code comes alive if a's
    // code has it live at the target (rustc's storage rules, which the verifier holds the
    // passes to).
    // A predecessor that only jumps (`goto`) takes the markers itself; any other edge goes
    // through a new block of them.
    let storage = storage_markers_for_redirects(&mut storage_live_at, &walk, &redirectable);
    let markers_of = |from_b: &BasicBlock| storage.get(from_b).filter(|m| !m.is_empty());
    let reachable = reachable_blocks(body);
    let mut marker_blocks: HashMap<BasicBlock, BasicBlock> = HashMap::new();
    let mut redirected = 0;
    for bb in body.basic_blocks.indices() {
        if walk.blocks.contains_key(&bb) || !reachable.contains(bb) || bb == machine.dispatch.block {
            continue;
        }
        let source_info = body.basic_blocks[bb].terminator().source_info;
        if let TerminatorKind::Goto { target } = body.basic_blocks[bb].terminator().kind
            && let Some(&to_a) = redirectable.get(&target)
        {
            let data = &mut new.basic_blocks.as_mut()[bb];
            for kind in markers_of(&target).into_iter().flatten() {
                data.statements.push(Statement::new(source_info, kind.clone()));
            }
            data.terminator_mut().kind = TerminatorKind::Goto { target: to_a };
            redirected += 1;
            continue;
        }
        let mut successors: Vec<BasicBlock> = body.basic_blocks[bb].terminator().successors().collect();
        for succ in &mut successors {
            let from_b = *succ;
            let Some(&to_a) = redirectable.get(&from_b) else { continue };
            *succ = match markers_of(&from_b) {
                Some(markers) => *marker_blocks.entry(from_b).or_insert_with(|| {
                    let statements = markers.iter().map(|kind| Statement::new(source_info, kind.clone())).collect();
                    let goto = Terminator { source_info, kind: TerminatorKind::Goto { target: to_a } };
                    // A cleanup block if the edge unwinds into cleanup code (as b's block was).
                    new.basic_blocks.as_mut().push(BasicBlockData::new_stmts(statements, Some(goto), body.basic_blocks[from_b].is_cleanup))
                }),
                None => to_a,
            };
            redirected += 1;
        }
        let mut next = successors.into_iter();
        new.basic_blocks.as_mut()[bb].terminator_mut().successors_mut(|succ| *succ = next.next().unwrap());
    }
    clear_unreachable_blocks(&mut new);
    // variant#b reads as variant#a everywhere, and b is written nowhere.
    let map = |v: VariantIdx, _| Some(VariantTarget::Variant(if v == vb { va } else { v }));
    VariantRewrite::new(tcx, coroutine_ref, &map).apply(&mut new)?;
    if let Some(drop_body) = new.coroutine.as_mut().and_then(|i| i.coroutine_drop.as_mut()) {
        let (_, drop_ref) = find_dispatch(drop_body).map_err(|why| format!("coroutine drop body: {why}"))?;
        // The drop body's arm for b now drops variant a's fields, which hold b's values.
        VariantRewrite::new(tcx, drop_ref, &map).apply(drop_body).map_err(|why| format!("coroutine drop body: {why}"))?;
    }
    Ok((
        new,
        format!("{} blocks paired, {redirected} entry edges into b's code redirected", walk.blocks.len()),
    ))
}

/// The storage markers each redirected edge needs (by the b block it no longer enters):
/// `StorageDead` of each renamed local of b whose storage may be live at the b block, and
/// `StorageLive` of its twin in a's code where a's code may have the twin's storage live at
/// the paired block while it is certainly dead at the b block; and `StorageDead` of each
/// local whose markers the comparison left out ([`LockstepWalk::storage_only`]) and whose
/// storage may be live at the b block: a's code may start its storage, and b's code, which
/// ended it, no longer runs. The left-out locals are never renamed ones (`compare` refuses
/// a pair where the other side mentions them), so the two kinds of markers never name the
/// same local. Storage liveness is rustc's `MaybeStorageLive`.
fn storage_markers_for_redirects<'tcx>(
    storage_live_at: &mut impl FnMut(BasicBlock) -> DenseBitSet<Local>,
    walk: &LockstepWalk,
    redirects: &HashMap<BasicBlock, BasicBlock>,
) -> HashMap<BasicBlock, Vec<StatementKind<'tcx>>> {
    let mut renamed: Vec<(Local, Local)> = walk.locals.iter().filter(|(b, a)| b != a).map(|(&b, &a)| (b, a)).collect();
    renamed.sort();
    // In local order (the two sides' sets are disjoint, so nothing comes twice).
    let mut storage_only: Vec<Local> = walk.storage_only().collect();
    storage_only.sort();
    redirects
        .iter()
        .map(|(&from_b, &to_a)| {
            let (at_b, at_a) = (storage_live_at(from_b), storage_live_at(to_a));
            let mut markers = Vec::new();
            for &(local_b, local_a) in &renamed {
                if at_b.contains(local_b) {
                    markers.push(StatementKind::StorageDead(local_b));
                }
                if at_a.contains(local_a) && !at_b.contains(local_a) {
                    markers.push(StatementKind::StorageLive(local_a));
                }
            }
            for &local in &storage_only {
                if at_b.contains(local) {
                    markers.push(StatementKind::StorageDead(local));
                }
            }
            (from_b, markers)
        })
        .collect()
}

/// Variant `b`'s fields against variant `a`'s: same types, pairable saved locals, and no
/// storage conflict that `a`'s fields do not already have.
fn check_same_saved_locals(layout: &CoroutineLayout<'_>, va: VariantIdx, vb: VariantIdx) -> Result<(), String> {
    let (fa, fb) = (&layout.variant_fields[va], &layout.variant_fields[vb]);
    if fa.len() != fb.len() {
        return Err(format!("{} saved locals against {}", fa.len(), fb.len()));
    }
    let holders = |s: CoroutineSavedLocal| layout.variant_fields.iter().filter(|fs| fs.raw.contains(&s)).count();
    let mut pairing: HashMap<CoroutineSavedLocal, CoroutineSavedLocal> = HashMap::new();
    for (&sa, &sb) in fa.iter().zip(fb.iter()) {
        if layout.field_tys[sa].ty != layout.field_tys[sb].ty {
            return Err(format!("field types differ ({} against {})", layout.field_tys[sa].ty, layout.field_tys[sb].ty));
        }
        if sa != sb {
            if holders(sa) != 1 || holders(sb) != 1 {
                return Err(format!("saved local {sa:?} or {sb:?} is held by more than one state"));
            }
            pairing.insert(sb, sa);
        }
    }
    let paired = |s: CoroutineSavedLocal| pairing.get(&s).copied().unwrap_or(s);
    for (&sb, &sa) in &pairing {
        // Both storage-live at once (say, both assigned before the branch that picks one
        // of the awaits): one slot cannot hold the two values.
        if layout.storage_conflicts.contains(sb, sa) {
            return Err(format!("{sb:?} and {sa:?} are storage-live at the same time"));
        }
        for other in layout.field_tys.indices() {
            if layout.storage_conflicts.contains(sb, other) {
                let other = paired(other);
                if other != sa && !layout.storage_conflicts.contains(sa, other) {
                    return Err(format!("merging {sb:?} into {sa:?} would add a storage conflict with {other:?}"));
                }
            }
        }
    }
    Ok(())
}

/// The pairing of `b`'s resume code with `a`'s.
struct LockstepWalk {
    /// b's block -> a's block; shared blocks map to themselves.
    blocks: HashMap<BasicBlock, BasicBlock>,
    /// b's local -> a's local.
    locals: HashMap<Local, Local>,
    /// The blocks where the two walks met (shared code from there on).
    meetings: Vec<BasicBlock>,
    /// The blocks each side's walk went through, the ones it passed through included
    /// (shared ones on the way to a meeting too); the meeting blocks themselves are not.
    region_b: HashSet<BasicBlock>,
    region_a: HashSet<BasicBlock>,
    /// The storage markers the comparison leaves out, by side.
    ignored: IgnoredMarkers,
}

/// Storage markers the lockstep comparison leaves out. A local that only one side's resume
/// code mentions, and only in `StorageLive`/`StorageDead` (an arm's binding in scope at the
/// await but not used after it, say), is not part of what that code does: two awaits in
/// different match arms often differ in such locals and in nothing else.
#[derive(Default)]
struct IgnoredMarkers {
    /// Every marker (the first walk, which finds the regions).
    all: bool,
    b: BTreeSet<Local>,
    a: BTreeSet<Local>,
}

impl IgnoredMarkers {
    fn keeps(&self, on_b: bool, statement: &Statement<'_>) -> bool {
        match statement.kind {
            StatementKind::StorageLive(local) | StatementKind::StorageDead(local) => {
                !(self.all || if on_b { self.b.contains(&local) } else { self.a.contains(&local) })
            }
            _ => true,
        }
    }
}

/// The locals `region` mentions in storage markers and nowhere else, and every local it
/// mentions at all.
fn marker_only_locals(body: &Body<'_>, region: &HashSet<BasicBlock>) -> (HashSet<Local>, HashSet<Local>) {
    let (mut marked, mut used) = (HashSet::new(), HashSet::new());
    for &block in region {
        let data = &body.basic_blocks[block];
        for statement in &data.statements {
            match statement.kind {
                StatementKind::StorageLive(local) | StatementKind::StorageDead(local) => {
                    marked.insert(local);
                }
                _ => used.extend(Mentions::uses().of_statement(statement)),
            }
        }
        used.extend(Mentions::uses().of_terminator(data.terminator()));
    }
    let only: HashSet<Local> = marked.iter().copied().filter(|local| !used.contains(local)).collect();
    used.extend(marked);
    (only, used)
}

impl LockstepWalk {
    /// Compares b's resume code with a's. A first walk leaves every storage marker out and
    /// finds the code each side runs; the markers of the locals only one side mentions
    /// there, and only in markers, are then left out of the second walk, which compares
    /// everything else, every other marker included. If the second walk reaches code that
    /// uses a local whose markers it left out, or code of the other side that mentions
    /// it, the pair is refused.
    fn compare<'tcx>(
        tcx: TyCtxt<'tcx>,
        body: &Body<'tcx>,
        live: &LiveLocals,
        coroutine_ref: Local,
        a: (VariantIdx, BasicBlock),
        b: (VariantIdx, BasicBlock),
    ) -> Result<LockstepWalk, String> {
        let all = IgnoredMarkers { all: true, ..IgnoredMarkers::default() };
        let first = LockstepWalk::run(tcx, body, live, coroutine_ref, a, b, all)?;
        // A local both sides mention (a binding in scope at both awaits, say) keeps its
        // markers in the comparison: the two copies must start and end its storage alike.
        // Only the markers of locals the other side never mentions are left out.
        let ((only_b, all_b), (only_a, all_a)) =
            (marker_only_locals(body, &first.region_b), marker_only_locals(body, &first.region_a));
        let ignored = IgnoredMarkers {
            all: false,
            b: only_b.difference(&all_a).copied().collect(),
            a: only_a.difference(&all_b).copied().collect(),
        };
        let walk = LockstepWalk::run(tcx, body, live, coroutine_ref, a, b, ignored)?;
        let ((still_b, seen_b), (still_a, seen_a)) =
            (marker_only_locals(body, &walk.region_b), marker_only_locals(body, &walk.region_a));
        for (side, left_out, still, other_sees) in
            [("b", &walk.ignored.b, &still_b, &seen_a), ("a", &walk.ignored.a, &still_a, &seen_b)]
        {
            if let Some(local) = left_out.iter().find(|l| !still.contains(l) || other_sees.contains(l)) {
                return Err(format!("{local:?}, whose markers {side}'s comparison left out, is used in the resume code"));
            }
        }
        Ok(walk)
    }

    /// The locals whose markers this walk left out, on either side.
    fn storage_only(&self) -> impl Iterator<Item = Local> + '_ {
        self.ignored.b.iter().chain(&self.ignored.a).copied()
    }

    /// From `start`, past blocks that hold nothing the comparison keeps and end in a
    /// `goto`: the first block that does something (on a cycle of such blocks, the block
    /// where the bounded walk stopped). Every block passed is `region`'s.
    fn skip_markers(
        body: &Body<'_>,
        start: BasicBlock,
        keeps: impl Fn(&Statement<'_>) -> bool,
        region: &mut HashSet<BasicBlock>,
    ) -> BasicBlock {
        let mut block = start;
        for _ in 0..body.basic_blocks.len() {
            let data = &body.basic_blocks[block];
            match data.terminator().kind {
                TerminatorKind::Goto { target } if !data.statements.iter().any(&keeps) => {
                    region.insert(block);
                    block = target;
                }
                _ => break,
            }
        }
        block
    }

    fn run<'tcx>(
        tcx: TyCtxt<'tcx>,
        body: &Body<'tcx>,
        live: &LiveLocals,
        coroutine_ref: Local,
        (va, a_start): (VariantIdx, BasicBlock),
        (vb, b_start): (VariantIdx, BasicBlock),
        ignored: IgnoredMarkers,
    ) -> Result<LockstepWalk, String> {
        let mut walk = LockstepWalk {
            blocks: HashMap::new(),
            locals: HashMap::new(),
            meetings: Vec::new(),
            region_b: HashSet::new(),
            region_a: HashSet::new(),
            ignored,
        };
        let mut work = vec![(b_start, a_start)];
        while let Some((from_b, from_a)) = work.pop() {
            let from_b = Self::skip_markers(body, from_b, |s| walk.ignored.keeps(true, s), &mut walk.region_b);
            let from_a = Self::skip_markers(body, from_a, |s| walk.ignored.keeps(false, s), &mut walk.region_a);
            if let Some(&known) = walk.blocks.get(&from_b) {
                if known != from_a {
                    return Err(format!("{from_b:?} pairs with both {known:?} and {from_a:?}"));
                }
                continue;
            }
            if walk.blocks.values().any(|&x| x == from_a) && from_a != from_b {
                return Err(format!("{from_a:?} pairs with two blocks"));
            }
            walk.blocks.insert(from_b, from_a);
            if from_b == from_a {
                walk.meetings.push(from_b);
                continue;
            }
            walk.region_b.insert(from_b);
            walk.region_a.insert(from_a);
            if walk.blocks.len() > 4096 {
                return Err("the resume code is too large to compare".into());
            }
            let (data_b, data_a) = (&body.basic_blocks[from_b], &body.basic_blocks[from_a]);
            let kept_b: Vec<&Statement<'tcx>> = data_b.statements.iter().filter(|s| walk.ignored.keeps(true, s)).collect();
            let kept_a: Vec<&Statement<'tcx>> = data_a.statements.iter().filter(|s| walk.ignored.keeps(false, s)).collect();
            if data_b.is_cleanup != data_a.is_cleanup || kept_b.len() != kept_a.len() {
                return Err(format!("{from_b:?} and {from_a:?} differ in shape"));
            }
            for (sb, sa) in kept_b.into_iter().zip(kept_a) {
                walk.compare_statement(tcx, body, coroutine_ref, (va, vb), sb, sa)
                    .map_err(|why| format!("{from_b:?} against {from_a:?}: {why}"))?;
            }
            let succs = walk
                .compare_terminator(tcx, body, coroutine_ref, (va, vb), data_b, data_a)
                .map_err(|why| format!("{from_b:?} against {from_a:?}: {why}"))?;
            work.extend(succs);
        }
        // Where the two walks meet, both sides must hold their values in the same locals.
        for &block in &walk.meetings {
            for local in live.live_in(block).iter() {
                let renamed = walk.locals.get(&local).is_some_and(|&m| m != local);
                let target_of_rename = walk.locals.iter().any(|(&from, &to)| to == local && from != local);
                if renamed || target_of_rename {
                    return Err(format!("{local:?} is live where the two resume paths meet, under two names"));
                }
            }
        }
        Ok(walk)
    }

    /// Pairs the locals two pieces of MIR mention, in visiting order.
    fn pair_locals<'tcx>(&mut self, body: &Body<'tcx>, b: Vec<Local>, a: Vec<Local>) -> Result<(), String> {
        if b.len() != a.len() {
            return Err("they mention different numbers of locals".into());
        }
        for (lb, la) in b.into_iter().zip(a) {
            match self.locals.get(&lb) {
                Some(&known) if known != la => return Err(format!("{lb:?} pairs with {known:?} and {la:?}")),
                Some(_) => {}
                None => {
                    if self.locals.values().any(|&x| x == la) {
                        return Err(format!("{la:?} pairs with two locals"));
                    }
                    if body.local_decls[lb].ty != body.local_decls[la].ty {
                        return Err(format!("{lb:?} and {la:?} have different types"));
                    }
                    self.locals.insert(lb, la);
                }
            }
        }
        Ok(())
    }

    fn compare_statement<'tcx>(
        &mut self,
        tcx: TyCtxt<'tcx>,
        body: &Body<'tcx>,
        coroutine_ref: Local,
        (va, vb): (VariantIdx, VariantIdx),
        sb: &Statement<'tcx>,
        sa: &Statement<'tcx>,
    ) -> Result<(), String> {
        let location = Location::START;
        self.pair_locals(body, Mentions::all().of_statement(sb), Mentions::all().of_statement(sa))?;
        let mut renamed = sb.clone();
        let mut rename = Rename { tcx, locals: &self.locals };
        rename.visit_statement(&mut renamed, location);
        let map = |v: VariantIdx, _| Some(VariantTarget::Variant(if v == vb { va } else { v }));
        let mut variants = VariantRewrite::new(tcx, coroutine_ref, &map);
        variants.visit_statement(&mut renamed, location);
        variants.rewrite_set_discriminant(&mut renamed);
        let mut expected = sa.clone();
        ForgetSpans { tcx }.visit_statement(&mut expected, location);
        ForgetSpans { tcx }.visit_statement(&mut renamed, location);
        if renamed.kind != expected.kind {
            return Err(format!("`{:?}` differs from `{:?}`", sb.kind, sa.kind));
        }
        Ok(())
    }

    /// Compares the terminators and returns the successor pairs to walk next.
    fn compare_terminator<'tcx>(
        &mut self,
        tcx: TyCtxt<'tcx>,
        body: &Body<'tcx>,
        coroutine_ref: Local,
        (va, vb): (VariantIdx, VariantIdx),
        data_b: &BasicBlockData<'tcx>,
        data_a: &BasicBlockData<'tcx>,
    ) -> Result<Vec<(BasicBlock, BasicBlock)>, String> {
        let (tb, ta): (&Terminator<'tcx>, &Terminator<'tcx>) = (data_b.terminator(), data_a.terminator());
        let location = Location::START;
        self.pair_locals(body, Mentions::all().of_terminator(tb), Mentions::all().of_terminator(ta))?;
        let succ_b: Vec<BasicBlock> = tb.successors().collect();
        let succ_a: Vec<BasicBlock> = ta.successors().collect();
        if succ_b.len() != succ_a.len() {
            return Err("the terminators have different successor counts".into());
        }
        let mut renamed = tb.clone();
        let mut rename = Rename { tcx, locals: &self.locals };
        rename.visit_terminator(&mut renamed, location);
        let map = |v: VariantIdx, _| Some(VariantTarget::Variant(if v == vb { va } else { v }));
        VariantRewrite::new(tcx, coroutine_ref, &map).visit_terminator(&mut renamed, location);
        let mut index = 0;
        renamed.successors_mut(|succ| {
            *succ = succ_a[index];
            index += 1;
        });
        let mut expected = ta.clone();
        ForgetSpans { tcx }.visit_terminator(&mut expected, location);
        ForgetSpans { tcx }.visit_terminator(&mut renamed, location);
        if renamed.kind != expected.kind {
            return Err(format!("`{:?}` differs from `{:?}`", tb.kind, ta.kind));
        }
        // A panic location is part of what a terminator does: after the merge, b's path
        // runs a's copy, so their spans must agree where a location can be observed.
        if tb.source_info.span != ta.source_info.span && observes_location(tcx, body, ta) {
            return Err(format!("`{:?}` reports a different source location on each side", ta.kind));
        }
        Ok(succ_b.into_iter().zip(succ_a).collect())
    }
}

/// Renames locals through a map (locals outside it stay).
struct Rename<'a, 'tcx> {
    tcx: TyCtxt<'tcx>,
    locals: &'a HashMap<Local, Local>,
}

impl<'tcx> MutVisitor<'tcx> for Rename<'_, 'tcx> {
    fn tcx(&self) -> TyCtxt<'tcx> {
        self.tcx
    }
    fn visit_local(&mut self, local: &mut Local, _: PlaceContext, _: Location) {
        if let Some(&to) = self.locals.get(local) {
            *local = to;
        }
    }
}

/// Can `terminator` make its own source location observable: an `assert` (its panic
/// message names the location), or a call that passes the caller's location
/// (`#[track_caller]`)? Calls whose callee cannot be resolved here count as observing.
fn observes_location<'tcx>(tcx: TyCtxt<'tcx>, body: &Body<'tcx>, terminator: &Terminator<'tcx>) -> bool {
    match &terminator.kind {
        TerminatorKind::Assert { .. } => true,
        TerminatorKind::Call { func, .. } | TerminatorKind::TailCall { func, .. } => {
            let Some((def_id, args)) = func.const_fn_def() else { return true };
            match tcx.def_kind(def_id) {
                DefKind::Fn | DefKind::AssocFn => {}
                // Tuple-struct and variant constructors build a value; nothing panics.
                DefKind::Ctor(..) => return false,
                _ => return true,
            }
            let typing_env = TypingEnv::post_analysis(tcx, body.source.def_id());
            match Instance::try_resolve(tcx, typing_env, def_id, args) {
                Ok(Some(instance)) => instance.def.requires_caller_location(tcx),
                _ => true,
            }
        }
        _ => false,
    }
}

/// Blanks the spans inside statements and terminators (of constants, a call's
/// `fn_span` and its arguments' spans), so that `==` compares what the code does, not where it was written. Where
/// a location is observable, `observes_location` compares the terminators' spans.
struct ForgetSpans<'tcx> {
    tcx: TyCtxt<'tcx>,
}

impl<'tcx> MutVisitor<'tcx> for ForgetSpans<'tcx> {
    fn tcx(&self) -> TyCtxt<'tcx> {
        self.tcx
    }
    fn visit_span(&mut self, span: &mut Span) {
        *span = DUMMY_SP;
    }
    fn visit_terminator(&mut self, terminator: &mut Terminator<'tcx>, location: Location) {
        if let TerminatorKind::Call { fn_span, args, .. } | TerminatorKind::TailCall { fn_span, args, .. } =
            &mut terminator.kind
        {
            *fn_span = DUMMY_SP;
            for arg in args.iter_mut() {
                arg.span = DUMMY_SP;
            }
        }
        self.super_terminator(terminator, location);
    }
}
