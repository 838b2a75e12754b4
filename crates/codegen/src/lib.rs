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
use std::sync::{Mutex, OnceLock};

use corolift_lowering::knobs::{Knobs, is_corolift_word};
use corolift_lowering::machine::StateMachine;
use corolift_lowering::passes::PassOutcome;
use corolift_lowering::report::{ReportLine, absorbed_coroutines, coroutine_path, file_stem};
use corolift_lowering::{LoweringSummary, PassRecord, kind_label, lower_coroutine, optimizing};
use cranelift_codegen::CompiledCode;
use rustc_hir::def_id::{DefId, LocalDefId};
use rustc_middle::mir::{Body, Local};
use rustc_middle::ty::{self, Instance, InstanceKind, TyCtxt};
use rustc_middle::ty::print::with_no_trimmed_paths;
use rustc_middle::util::Providers;

type OptimizedMir = for<'tcx> fn(TyCtxt<'tcx>, LocalDefId) -> &'tcx Body<'tcx>;

/// The `optimized_mir` provider that was in place before ours (rustc's own).
static UPSTREAM_OPTIMIZED_MIR: OnceLock<OptimizedMir> = OnceLock::new();

/// What lowering did to each local coroutine, kept until its resume function is codegened.
static SUMMARIES: Mutex<Option<HashMap<DefId, LoweringSummary>>> = Mutex::new(None);

/// Resume functions waiting for their machine code, by symbol: their report line and
/// `.frame` section are finished once the code size and the frame are known. rustc
/// instantiates a coroutine's resume function in every codegen unit that uses it, and
/// cg_clif translates the next unit while the previous one compiles, so one symbol can
/// have several entries waiting: each compiled copy takes one.
static PENDING: Mutex<Option<HashMap<String, Vec<Pending>>>> = Mutex::new(None);

struct Pending {
    report: Option<PendingLine>,
    /// Under `corolift-dump`: the directory, the file stem, the instance and its section.
    frame: Option<(PathBuf, String, String, String)>,
}

struct PendingLine {
    path: PathBuf,
    crate_name: String,
    mir_crate: String,
    function: String,
    opt_level: String,
    summary: LoweringSummary,
    size_before: Option<u64>,
    size_after: u64,
    absorbed: Vec<String>,
}

/// Hook in `BackendConfig::from_opts`: `None` when `word` is cg_clif's, else whether
/// corolift accepts it.
pub fn check_knob(word: &str) -> Option<Result<(), String>> {
    is_corolift_word(word).then(|| Knobs::parse([&word.to_string()]).map(|_| ()))
}

fn knobs(tcx: TyCtxt<'_>) -> Knobs {
    // The words were checked by `check_knob` when the backend was configured.
    Knobs::parse(&tcx.sess.opts.cg.llvm_args).unwrap_or_default()
}

/// Hook in `CodegenBackend::provide`.
pub fn provide(providers: &mut Providers) {
    let _ = UPSTREAM_OPTIMIZED_MIR.set(providers.queries.optimized_mir);
    providers.queries.optimized_mir = optimized_mir;
}

fn optimized_mir<'tcx>(tcx: TyCtxt<'tcx>, def: LocalDefId) -> &'tcx Body<'tcx> {
    let upstream = UPSTREAM_OPTIMIZED_MIR.get().expect("corolift: provide() was not called");
    let body = upstream(tcx, def);
    let Some(kind) = tcx.coroutine_kind(def.to_def_id()) else { return body };
    let knobs = knobs(tcx);
    if !knobs.lowering_enabled() && knobs.report.is_none() && knobs.dump.is_none() {
        return body;
    }
    let (lowered, summary) = lower_coroutine(tcx, def.to_def_id(), kind, body, &knobs);
    if knobs.report.is_some() {
        SUMMARIES.lock().unwrap().get_or_insert_default().insert(def.to_def_id(), summary);
    }
    match lowered {
        Some(lowered) => tcx.arena.alloc(lowered),
        None => body,
    }
}

/// The coroutine whose resume function `instance` is, if it is one. The codegen hooks act
/// on resume functions only.
fn resume_function_of(tcx: TyCtxt<'_>, instance: Instance<'_>) -> Option<DefId> {
    let InstanceKind::Item(def_id) = instance.def else { return None };
    tcx.is_coroutine(def_id).then_some(def_id)
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
        && knobs(tcx).passes.runs(name, optimizing(tcx))
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
    let Some(kind) = tcx.coroutine_kind(def_id) else { return };
    let knobs = knobs(tcx);
    let mir = tcx.instance_mir(instance.def);
    let mut steps = Vec::new();
    if knobs.passes.runs("self_in_register", optimizing(tcx)) {
        steps.push(PassRecord { pass: "self_in_register", outcome: self_in_register::outcome(mir) });
    }
    if knobs.passes.runs("share_stack_slots", optimizing(tcx)) {
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
    let report = knobs.report.clone().and_then(|path| {
        let typing_env = ty::TypingEnv::fully_monomorphized();
        let coroutine_ty = instance.ty(tcx, typing_env);
        let size_after = tcx.layout_of(typing_env.as_query_input(coroutine_ty)).ok()?.size.bytes();
        let local = SUMMARIES.lock().unwrap().get_or_insert_default().get(&def_id).cloned();
        let mut summary = local.unwrap_or_else(|| lowered_elsewhere(tcx, instance, kind));
        summary.passes.extend(steps);
        Some(PendingLine {
            path,
            crate_name: tcx.crate_name(rustc_span::def_id::LOCAL_CRATE).to_string(),
            mir_crate: tcx.crate_name(def_id.krate).to_string(),
            function: coroutine_path(tcx, def_id),
            opt_level: format!("{:?}", tcx.sess.opts.optimize),
            summary,
            // The stock size is only known when nothing was lowered: a coroutine whose
            // own layout is untouched still shrinks when a future it holds shrank.
            size_before: (!knobs.lowering_enabled()).then_some(size_after),
            size_after,
            absorbed: absorbed_coroutines(tcx, mir),
        })
    });
    if report.is_none() && frame.is_none() {
        return;
    }
    let pending = Pending { report, frame };
    PENDING.lock().unwrap().get_or_insert_default().entry(symbol.to_string()).or_default().push(pending);
}

/// The summary of a coroutine lowered in another crate (its MIR came from metadata,
/// already lowered there): only that body is known here, so before and after are its
/// figures.
fn lowered_elsewhere<'tcx>(tcx: TyCtxt<'tcx>, instance: Instance<'tcx>, kind: rustc_hir::CoroutineKind) -> LoweringSummary {
    let machine = StateMachine::recover(tcx.instance_mir(instance.def));
    let states = machine.as_ref().ok().map(StateMachine::state_count);
    LoweringSummary {
        kind: kind_label(kind),
        states_before: states,
        states_after: states,
        suspend_states_before: machine.as_ref().ok().map(|m| m.suspend_states().count()),
        suspend_states_after: machine.as_ref().ok().map(|m| m.suspend_states().count()),
        passes: Vec::new(),
        unrecognised: machine.err().map(|why| why.0),
    }
}

/// Hook in `base::compile_fn`, after `define_function` compiled `symbol` into `code`.
pub fn function_compiled(symbol: &str, code: Option<&CompiledCode>) {
    let pending = {
        let mut waiting = PENDING.lock().unwrap();
        let waiting = waiting.get_or_insert_default();
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
        if let Err(err) = frame::write(&dir, &stem, &instance, section) {
            eprintln!("warning: corolift-dump: cannot write into {}: {err}", dir.display());
        }
    }
    let Some(pending) = pending.report else { return };
    let line = ReportLine {
        crate_name: &pending.crate_name,
        mir_crate: &pending.mir_crate,
        symbol,
        function: &pending.function,
        opt_level: &pending.opt_level,
        summary: &pending.summary,
        size_before: pending.size_before,
        size_after: pending.size_after,
        resume_bytes: code_bytes,
        frame_bytes,
        absorbed: &pending.absorbed,
    };
    if let Err(err) = line.append_to(&pending.path) {
        eprintln!("warning: corolift-report: cannot append to {}: {err}", pending.path.display());
    }
}

/// The stack frame of a compiled function, from Cranelift's frame layout: the bytes
/// between the frame pointer and the stack pointer while the body runs (stack slots, spill
/// slots, saved registers and outgoing arguments; on x86-64 the prologue's `sub rsp`).
fn frame_bytes(code: &CompiledCode) -> Option<u64> {
    code.buffer.frame_layout().map(|layout| u64::from(layout.frame_to_fp_offset))
}
