//! The hooks the patched cg_clif calls, and nothing else.
//!
//! `build_system/src/patch.rs` inserts one call of each function below into the staged
//! cg_clif source:
//!
//! | hook | cg_clif site | what it does |
//! | --- | --- | --- |
//! | [`check_knob`] | `BackendConfig::from_opts` (`src/config.rs`) | accepts and checks the `corolift*` words of `-Cllvm-args` |
//! | [`provide`] | `CodegenBackend::provide` (`src/lib.rs`) | overrides `optimized_mir`, where the lowering runs |
//! | [`locals_kept_in_registers`] | `abi::codegen_fn_prelude`, after cg_clif's SSA analysis | names the locals `self_in_register` keeps out of memory |
//! | [`inlined_frames::tag_column`], [`inlined_frames::untag`], [`inlined_frames::add_inlined_subroutines`], [`inlined_frames::line_tables_subprogram`] | `FunctionCx::set_debug_loc`, `create_debug_lines`, `FunctionDebugContext::finalize`, `DebugContext::define_function` | inlined frames in the DWARF of resume functions |
//! | [`function_lowered`] | `base::codegen_fn`, after the CLIF is finalized | sees the Cranelift `Function` of every body; notes resume functions for the report, and under `corolift-dump` writes their `.frame` ([`frame`]) |
//! | [`function_compiled`] | `base::compile_fn`, after `define_function` | learns the machine-code size and writes the report line |
//!
//! This crate owns the Cranelift backend's reporting: what `function_lowered` notes waits
//! in one state, `REPORTING`, until `function_compiled` writes the report line and the
//! `.frame` section. It is a static because the hooks are free functions called with
//! cg_clif's arguments only. `inlined_frames` keeps its own interning, which carries
//! nothing to the report.

#![feature(rustc_private)]

extern crate rustc_codegen_ssa;
extern crate rustc_hir;
extern crate rustc_index;
extern crate rustc_middle;
extern crate rustc_span;

mod frame;
pub mod inlined_frames;
mod self_in_register;
mod shared_slots;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use corolift_host::{CoroutineFacts, knobs, resume_function_of};
use corolift_lowering::knobs::{Knobs, is_corolift_word};
use corolift_lowering::passes::PassOutcome;
use corolift_lowering::report::file_stem;
use corolift_lowering::{PassRecord, optimizing};
use cranelift_codegen::CompiledCode;
use rustc_middle::mir::{Body, Local};
use rustc_middle::ty::{self, Instance, InstanceKind, TyCtxt};
use rustc_middle::ty::print::with_no_trimmed_paths;
use rustc_middle::util::Providers;

/// What the report and the dump wait for between `function_lowered` and
/// `function_compiled`, for the whole compilation.
#[derive(Default)]
struct Reporting {
    /// Resume functions waiting for their machine code, by symbol: their report line and
    /// `.frame` section are finished once the code size and the frame are known. rustc
    /// instantiates a coroutine's resume function in every codegen unit that uses it, and
    /// cg_clif translates the next unit while the previous one compiles, so one symbol can
    /// have several entries waiting: each compiled copy takes one.
    pending: HashMap<String, Vec<Pending>>,
    /// The `.frame` files written so far, which each new section rewrites.
    frame_files: frame::FrameFiles,
}

/// The reporting state of the compilation, shared by cg_clif's codegen-unit threads.
static REPORTING: Mutex<Option<Reporting>> = Mutex::new(None);

struct Pending {
    report: Option<CoroutineFacts>,
    /// Under `corolift-dump`: the directory, the file stem, the instance and its section.
    frame: Option<(PathBuf, String, String, String)>,
}

/// Hook in `BackendConfig::from_opts`: `None` when `word` is cg_clif's, else whether
/// corolift accepts it.
pub fn check_knob(word: &str) -> Option<Result<(), String>> {
    is_corolift_word(word).then(|| Knobs::parse([&word.to_string()]).map(|_| ()))
}

/// Hook in `CodegenBackend::provide`: corolift's `optimized_mir` (`corolift_host`).
pub fn provide(providers: &mut Providers) {
    corolift_host::provide(providers)
}

/// Hook in `abi::codegen_fn_prelude`, after cg_clif's SSA analysis: the locals of a
/// resume function that cg_clif put in memory and that may stay in variables, when
/// `self_in_register` is enabled (see that step for why this is sound).
pub fn locals_kept_in_registers<'tcx>(tcx: TyCtxt<'tcx>, instance: Instance<'tcx>, mir: &Body<'tcx>) -> Vec<Local> {
    if !step_runs(tcx, instance, "self_in_register") {
        return Vec::new();
    }
    self_in_register::borrowed_only_through_deref(mir)
}

/// Hook in `abi::make_local_place`, after cg_clif made the stack slot of `local` (none for a
/// zero-sized one): the slots created since there were `first` are `local`'s. Marked only
/// where `share_stack_slots` will read the mark.
pub fn local_slot_created<'tcx>(
    tcx: TyCtxt<'tcx>,
    instance: Instance<'tcx>,
    func: &mut cranelift_codegen::ir::Function,
    first: usize,
    local: Local,
) {
    if func.sized_stack_slots.len() > first && step_runs(tcx, instance, "share_stack_slots") {
        shared_slots::mark_local_slots(func, first, local);
    }
}

/// Is `instance` the drop glue of a coroutine? Its body is the coroutine's drop body,
/// into which `flatten_child` splices the drop code of every child it flattened.
fn coroutine_drop_glue(instance: Instance<'_>) -> bool {
    matches!(instance.def, InstanceKind::DropGlue(_, Some(ty)) if matches!(ty.kind(), ty::Coroutine(..)))
}

/// Does the codegen step `name` run on `instance`? The steps act on a coroutine's code:
/// its resume function and its drop glue.
fn step_runs(tcx: TyCtxt<'_>, instance: Instance<'_>, name: &str) -> bool {
    (resume_function_of(tcx, instance).is_some() || coroutine_drop_glue(instance))
        && knobs(tcx).runs(name, optimizing(tcx))
}

/// Hook in `base::codegen_fn`, once the Cranelift function of `instance` is complete:
/// runs the codegen steps on resume functions and keeps what the report and the dump
/// will need once the function is compiled.
pub fn function_lowered<'tcx>(
    tcx: TyCtxt<'tcx>,
    instance: Instance<'tcx>,
    symbol: &str,
    func: &mut cranelift_codegen::ir::Function,
) {
    if coroutine_drop_glue(instance) && step_runs(tcx, instance, "share_stack_slots") {
        // Not reported: the report is about resume functions. Declining leaves the slots as
        // cg_clif made them.
        let _ = shared_slots::share(tcx, tcx.instance_mir(instance.def), func);
        return;
    }
    let Some(def_id) = resume_function_of(tcx, instance) else { return };
    let knobs = knobs(tcx);
    let mir = tcx.instance_mir(instance.def);
    let mut steps = Vec::new();
    if knobs.runs("self_in_register", optimizing(tcx)) {
        steps.push(PassRecord { pass: "self_in_register", outcome: self_in_register::outcome(mir) });
    }
    if knobs.runs("share_stack_slots", optimizing(tcx)) {
        let outcome = match shared_slots::share(tcx, mir, func) {
            Ok(sharing) => PassOutcome::Applied(sharing.evidence()),
            Err(why) => PassOutcome::Declined(why),
        };
        steps.push(PassRecord { pass: "share_stack_slots", outcome });
    }
    let frame = knobs.dump.as_ref().map(|dir| {
        let name = with_no_trimmed_paths!(instance.to_string());
        let section = frame::summarise(&name, func);
        (dir.clone(), file_stem(tcx, def_id), name, section)
    });
    let report = corolift_host::coroutine_facts(tcx, instance, &knobs).map(|mut facts| {
        facts.summary.passes.extend(steps);
        facts
    });
    if report.is_none() && frame.is_none() {
        return;
    }
    let pending = Pending { report, frame };
    let mut reporting = REPORTING.lock().unwrap();
    reporting.get_or_insert_default().pending.entry(symbol.to_string()).or_default().push(pending);
}

/// Hook in `base::compile_fn`, after `define_function` compiled `symbol` into `code`.
pub fn function_compiled(symbol: &str, code: Option<&CompiledCode>) {
    let pending = {
        let mut reporting = REPORTING.lock().unwrap();
        let waiting = &mut reporting.get_or_insert_default().pending;
        let pending = waiting.get_mut(symbol).and_then(Vec::pop);
        if waiting.get(symbol).is_some_and(Vec::is_empty) {
            waiting.remove(symbol);
        }
        pending
    };
    let Some(pending) = pending else { return };
    let code_bytes = code.map_or(0, |code| code.code_buffer().len());
    let frame_bytes = code.and_then(frame_bytes);
    if let Some((dir, stem, instance, mut section)) = pending.frame {
        section.push_str(&frame::frame_line(frame_bytes));
        // Under the lock: two units rewriting one file must not interleave.
        let mut reporting = REPORTING.lock().unwrap();
        if let Err(err) = reporting.get_or_insert_default().frame_files.write(&dir, &stem, &instance, section) {
            eprintln!("warning: corolift-dump: cannot write into {}: {err}", dir.display());
        }
    }
    if let Some(facts) = pending.report {
        facts.append(symbol, Some(code_bytes), frame_bytes);
    }
}

/// The stack frame of a compiled function, from Cranelift's frame layout: the bytes
/// between the frame pointer and the stack pointer while the body runs (stack slots, spill
/// slots, saved registers and outgoing arguments; on x86-64 the prologue's `sub rsp`).
fn frame_bytes(code: &CompiledCode) -> Option<u64> {
    code.buffer.frame_layout().map(|layout| u64::from(layout.frame_to_fp_offset))
}
