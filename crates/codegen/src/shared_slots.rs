//! `share_stack_slots`: locals whose storage never overlaps share a stack slot.
//!
//! cg_clif makes one Cranelift stack slot per MIR local that it keeps in memory, for the
//! whole function, and Cranelift lays out every slot it is given: neither colours nor
//! merges them. A resume function that absorbed children (`inline_child`,
//! `flatten_child`) has the locals of every level, so its frame grew with the square of a
//! chain's depth (52,432 bytes for a 16-deep chain, where stock cg_clif's largest frame
//! was 624 bytes).
//!
//! This step runs on the Cranelift function cg_clif has just built, before Cranelift
//! compiles it:
//!
//! ```text
//! ; before                                  ; after
//! ss2 = explicit_slot 144   ; _4            ss2 = explicit_slot 144   ; _4, _17, _19
//! ss7 = explicit_slot 136   ; _17           ss7 = explicit_slot 0
//! ss9 = explicit_slot 16    ; _19           ss9 = explicit_slot 0
//! v5 = stack_load.i64 ss7+8                 v5 = stack_load.i64 ss2+8
//! ```
//!
//! 1. A slot that no instruction names gets no bytes. The splices leave locals behind
//!    whose every use was rewritten (a child future built in place, say), and cg_clif
//!    still gives each a slot.
//! 2. The others are coloured: each local's slot joins the first group (largest locals
//!    first) none of whose locals may hold a value at the same time as it
//!    ([`corolift_lowering::storage_overlap`], from rustc's `MaybeRequiresStorage`, the
//!    analysis rustc's coroutine transform overlaps saved locals with). A group is
//!    one slot, as large and as aligned as its largest and most aligned member; every
//!    `stack_load`, `stack_store` and `stack_addr` of a member names the group's slot.
//!
//! Why here and not in MIR: MIR can only merge locals of one type (a MIR local has one
//! type), while a stack slot is just bytes, and a spliced chain's temporaries are of a
//! different type at every level. Why after cg_clif and not in its allocation: cg_clif's
//! places are its own types, so a hook there could only hand back a decision; here the
//! whole function is known, including which slots any instruction still names. The one
//! thing only the allocation knows, which local a slot is for, is written into the slot
//! itself as its `StackSlotKey` by the hook [`local_slot_created`].
//!
//! Why it is sound: every access cg_clif emits for a local happens where MIR accesses it,
//! and MIR accesses a local only while it requires storage (`storage_overlap` checks every
//! mention: a local mentioned elsewhere keeps its slot). Two locals in one group never
//! hold a value at the same time, so neither can see the other's bytes as its own. A slot's address, with offsets, is all Cranelift code uses of it, so
//! moving a local to the start of a larger slot changes nothing else. Slots cg_clif makes
//! for its own temporaries carry no key and are only shrunk when nothing names them.

use corolift_lowering::storage_overlap::StorageOverlap;
use cranelift_codegen::ir::function::FunctionStencil;
use cranelift_codegen::ir::{Function, InstructionData, StackSlot, StackSlotKey};
use rustc_index::bit_set::DenseBitSet;
use rustc_middle::mir::{Body, Local};
use rustc_middle::ty::TyCtxt;

/// Hook in cg_clif's `make_local_place`: the stack slots created since there were `first`
/// belong to `local`; each is marked with it as its key.
pub fn mark_local_slots(func: &mut Function, first: usize, local: Local) {
    let key = StackSlotKey::new(local.as_u32().into());
    for (slot, data) in func.sized_stack_slots.iter_mut().skip(first) {
        debug_assert!(data.key.is_none(), "{slot} already has a key");
        data.key = Some(key);
    }
}

/// What sharing did to one function's slots.
#[derive(Clone, Debug, Default)]
pub struct SlotSharing {
    pub slots_before: usize,
    pub bytes_before: u64,
    /// Slots that still have bytes after sharing.
    pub slots_after: usize,
    pub bytes_after: u64,
    /// Slots no instruction names (they keep no bytes).
    pub unreferenced: usize,
    /// Locals that moved into another local's slot.
    pub moved: usize,
    /// Locals mentioned outside their storage, kept in slots of their own.
    pub unmarked_uses: usize,
}

impl SlotSharing {
    pub fn evidence(&self) -> String {
        let mut text = format!(
            "{} stack slots of {} bytes became {} of {}: {} named by no instruction, {} locals moved into the slot of a local that never holds a value at the same time (rustc's MaybeRequiresStorage)",
            self.slots_before, self.bytes_before, self.slots_after, self.bytes_after, self.unreferenced, self.moved
        );
        if self.unmarked_uses > 0 {
            text.push_str(&format!("; {} locals mentioned where they require no storage keep their own slot", self.unmarked_uses));
        }
        text
    }
}

fn slot_bytes(func: &Function) -> u64 {
    func.sized_stack_slots.values().map(|data| u64::from(data.size)).sum()
}

/// Shares the stack slots of `func`, the Cranelift function cg_clif built from `body`.
pub fn share<'tcx>(tcx: TyCtxt<'tcx>, body: &Body<'tcx>, func: &mut Function) -> Result<SlotSharing, String> {
    let mut outcome = SlotSharing {
        slots_before: func.sized_stack_slots.len(),
        bytes_before: slot_bytes(func),
        ..SlotSharing::default()
    };
    if !func.debug_tags.is_empty() {
        return Err("the function carries debug tags, which may name stack slots".into());
    }
    if !func.dynamic_stack_slots.is_empty() {
        return Err("the function has dynamic stack slots".into());
    }

    let func = &mut func.stencil;
    let mut named = vec![false; func.sized_stack_slots.len()];
    for block in func.layout.blocks() {
        for inst in func.layout.block_insts(block) {
            if let Some(slot) = func.dfg.insts[inst].stack_slot() {
                named[slot.as_u32() as usize] = true;
            }
        }
    }

    // Checked before anything changes, so that a declined function keeps its slots as
    // cg_clif made them.
    let (slot_of, mut candidates) = local_slots(func, body, &named)?;
    for (slot, data) in func.sized_stack_slots.iter_mut() {
        if !named[slot.as_u32() as usize] {
            if data.size > 0 {
                outcome.unreferenced += 1;
            }
            data.size = 0;
            data.align_shift = 0;
        }
    }

    let overlap = StorageOverlap::compute(tcx, body, &candidates);
    outcome.unmarked_uses = overlap.unmarked_uses.len();

    // Largest first, so that a group's first member is its largest: the others fit into it.
    // Among equals, in the order their values start (a linear scan).
    let size_of = |local: Local| func.sized_stack_slots[slot_of[local.as_usize()].unwrap()].size;
    candidates.sort_by_key(|&local| (std::cmp::Reverse(size_of(local)), overlap.first_needed(local), local));
    struct Group {
        slot: StackSlot,
        /// Every local that may be live together with a member.
        conflicts: DenseBitSet<Local>,
    }
    let mut groups: Vec<Group> = Vec::new();
    let mut moved_to: Vec<Option<StackSlot>> = vec![None; func.sized_stack_slots.len()];
    for &local in &candidates {
        let slot = slot_of[local.as_usize()].unwrap();
        let conflicts = overlap.conflicts_of(local);
        match groups.iter_mut().find(|group| !group.conflicts.contains(local)) {
            Some(group) => {
                group.conflicts.union(conflicts);
                let (size, align) = {
                    let data = &func.sized_stack_slots[slot];
                    (data.size, data.align_shift)
                };
                let leader = &mut func.sized_stack_slots[group.slot];
                leader.size = leader.size.max(size);
                leader.align_shift = leader.align_shift.max(align);
                let data = &mut func.sized_stack_slots[slot];
                data.size = 0;
                data.align_shift = 0;
                moved_to[slot.as_u32() as usize] = Some(group.slot);
                outcome.moved += 1;
            }
            None => {
                let mut conflicts = conflicts.clone();
                // A local always conflicts with itself: no other member may take its place.
                conflicts.insert(local);
                groups.push(Group { slot, conflicts });
            }
        }
    }

    redirect_slot_accesses(func, &moved_to);
    outcome.slots_after = func.sized_stack_slots.values().filter(|data| data.size > 0).count();
    outcome.bytes_after = func.sized_stack_slots.values().map(|data| u64::from(data.size)).sum();
    Ok(outcome)
}

/// The stack slot of each local that has a named, keyed one (one slot per local), and
/// those locals.
fn local_slots(func: &FunctionStencil, body: &Body<'_>, named: &[bool]) -> Result<(Vec<Option<StackSlot>>, Vec<Local>), String> {
    let mut slot_of: Vec<Option<StackSlot>> = vec![None; body.local_decls.len()];
    let mut locals = Vec::new();
    for (slot, data) in func.sized_stack_slots.iter() {
        let Some(key) = data.key.filter(|_| named[slot.as_u32() as usize]) else { continue };
        let local = usize::try_from(key.bits()).ok().filter(|&l| l < body.local_decls.len());
        let Some(local) = local.map(Local::from_usize) else {
            return Err(format!("{slot} is keyed with {key:?}, which is no local of the body"));
        };
        if slot_of[local.as_usize()].replace(slot).is_some() {
            return Err(format!("{local:?} has two stack slots"));
        }
        locals.push(local);
    }
    Ok((slot_of, locals))
}

/// Every `stack_load` and `stack_store` of a slot whose local moved goes to the group's
/// slot instead.
fn redirect_slot_accesses(func: &mut FunctionStencil, moved_to: &[Option<StackSlot>]) {
    for block in func.layout.blocks() {
        for inst in func.layout.block_insts(block) {
            match &mut func.dfg.insts[inst] {
                InstructionData::StackLoad { stack_slot, .. } | InstructionData::StackStore { stack_slot, .. } => {
                    if let Some(group) = moved_to[stack_slot.as_u32() as usize] {
                        *stack_slot = group;
                    }
                }
                _ => {}
            }
        }
    }
}
