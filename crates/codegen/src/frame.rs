//! `<coroutine>.frame`: the shape of a resume function's CLIF, for `corolift-dump`.
//!
//! The MIR dumps show what the passes changed; some act on what cg_clif makes of the MIR
//! instead (`self_in_register`, `share_stack_slots`, and `single_return`'s one epilogue):
//! which locals live in stack slots and how large they are, how many `return`s there are,
//! and how large the frame ends up.
//! This file records that from the Cranelift `Function` as cg_clif hands it over (after
//! `share_stack_slots`), before Cranelift optimises it, so the snapshot suite can diff it
//! between `corolift=off` and corolift:
//!
//! ```text
//! // tests/corpus/a_loop_await.rs, corolift -O3
//! loop_break::{closure#0}
//!   stack slots: 4 (48 bytes): 8 8 16 16 (and 2 emptied)
//!   instructions: 112
//!   return 1, call 2, call_indirect 0, load 8, store 9, stack_load 6, stack_store 8, stack_addr 4
//!   frame: 64 bytes
//! ```
//!
//! The last line is Cranelift's frame layout once the function is compiled (the bytes
//! between the frame pointer and the stack pointer: slots, spills, saved registers and
//! outgoing arguments), which is why the section is written then.
//!
//! One section per monomorphic instance, sorted, so that the file is the same whatever the
//! order in which codegen units are translated. The sections written so far are kept in
//! the caller's [`FrameFiles`] (in the hooks' reporting state), and each new one rewrites
//! its file.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use cranelift_codegen::ir::{Function, Opcode};

/// The instructions the summary counts: epilogues, calls, and memory traffic.
const COUNTED: &[(Opcode, &str)] = &[
    (Opcode::Return, "return"),
    (Opcode::Call, "call"),
    (Opcode::CallIndirect, "call_indirect"),
    (Opcode::Load, "load"),
    (Opcode::Store, "store"),
    (Opcode::StackLoad, "stack_load"),
    (Opcode::StackStore, "stack_store"),
    (Opcode::StackAddr, "stack_addr"),
];

/// The sections written so far, by file, then by instance.
#[derive(Default)]
pub struct FrameFiles(BTreeMap<String, BTreeMap<String, String>>);

/// The summary of one function.
pub fn summarise(instance: &str, func: &Function) -> String {
    let slots: Vec<u32> = func.sized_stack_slots.values().map(|slot| slot.size).collect();
    let mut counts = vec![0usize; COUNTED.len()];
    let mut total = 0;
    for block in func.layout.blocks() {
        for inst in func.layout.block_insts(block) {
            total += 1;
            let opcode = func.dfg.insts[inst].opcode();
            if let Some(at) = COUNTED.iter().position(|(counted, _)| *counted == opcode) {
                counts[at] += 1;
            }
        }
    }
    let mut text = format!("{instance}\n");
    // A slot that `share_stack_slots` emptied (nothing names it, or its local moved into
    // another's slot) is counted, not listed.
    let sizes: Vec<String> = slots.iter().filter(|&&size| size > 0).map(u32::to_string).collect();
    let empty = slots.len() - sizes.len();
    let _ = writeln!(
        text,
        "  stack slots: {} ({} bytes): {}{}",
        sizes.len(),
        slots.iter().sum::<u32>(),
        sizes.join(" "),
        if empty > 0 { format!(" (and {empty} emptied)") } else { String::new() }
    );
    let _ = writeln!(text, "  instructions: {total}");
    let counted: Vec<String> = COUNTED.iter().zip(&counts).map(|((_, name), n)| format!("{name} {n}")).collect();
    let _ = writeln!(text, "  {}", counted.join(", "));
    text
}

/// The section's last line, once the function is compiled.
pub fn frame_line(frame_bytes: Option<u64>) -> String {
    match frame_bytes {
        Some(bytes) => format!("  frame: {bytes} bytes\n"),
        None => "  frame: unknown\n".to_string(),
    }
}

impl FrameFiles {
    /// Adds `section` for `instance` to `<dir>/<stem>.frame` and rewrites the file. A
    /// resume function compiled in several codegen units gives the same section each time.
    pub fn write(&mut self, dir: &Path, stem: &str, instance: &str, section: String) -> std::io::Result<()> {
        let key = dir.join(format!("{stem}.frame")).display().to_string();
        let file = self.0.entry(key.clone()).or_default();
        file.insert(instance.to_string(), section);
        std::fs::create_dir_all(dir)?;
        std::fs::write(key, file.values().map(String::as_str).collect::<String>())
    }
}
