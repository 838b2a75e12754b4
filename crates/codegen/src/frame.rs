//! `<coroutine>.frame`: the shape of a resume function's CLIF, for `corolift-dump`.
//!
//! The MIR dumps show what the passes changed; two of them (`self_in_register`,
//! `single_return`) change no MIR shape that matters and act on what cg_clif makes of it:
//! which locals live in stack slots, how many `return`s (each an epilogue) there are.
//! This file records that from the Cranelift `Function` as cg_clif hands it over, before
//! Cranelift optimises it, so the snapshot suite can diff it between `corolift=off` and
//! corolift:
//!
//! ```text
//! // tests/corpus/a_loop_await.rs, corolift -O3
//! loop_break::{closure#0}
//!   stack slots: 6 (64 bytes): 8 8 16 16 8 8
//!   instructions: 112
//!   return 1, call 2, call_indirect 0, load 8, store 9, stack_load 6, stack_store 8, stack_addr 4
//! ```
//!
//! One section per monomorphic instance, sorted, so that the file is the same whatever the
//! order in which codegen units are translated.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;
use std::sync::Mutex;

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
static SECTIONS: Mutex<BTreeMap<String, BTreeMap<String, String>>> = Mutex::new(BTreeMap::new());

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
    let sizes: Vec<String> = slots.iter().map(u32::to_string).collect();
    let _ = writeln!(text, "  stack slots: {} ({} bytes): {}", slots.len(), slots.iter().sum::<u32>(), sizes.join(" "));
    let _ = writeln!(text, "  instructions: {total}");
    let counted: Vec<String> = COUNTED.iter().zip(&counts).map(|((_, name), n)| format!("{name} {n}")).collect();
    let _ = writeln!(text, "  {}", counted.join(", "));
    text
}

/// Adds `section` for `instance` to `<dir>/<stem>.frame` and rewrites the file. A resume
/// function compiled in several codegen units gives the same section each time.
pub fn write(dir: &Path, stem: &str, instance: &str, section: String) -> std::io::Result<()> {
    let mut sections = SECTIONS.lock().unwrap();
    let key = dir.join(format!("{stem}.frame")).display().to_string();
    let file = sections.entry(key.clone()).or_default();
    file.insert(instance.to_string(), section);
    std::fs::create_dir_all(dir)?;
    std::fs::write(key, file.values().map(String::as_str).collect::<String>())
}
