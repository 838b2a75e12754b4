//! corolift's lowering inside a compiler, whichever backend compiles the result.
//!
//! Two hosts run the lowering: the Cranelift backend (`crates/codegen`, linked into the
//! patched cg_clif) and the LLVM driver (`crates/driver`, a `rustc_driver` that keeps
//! LLVM). Both need the same three things, which live here:
//! - the `optimized_mir` override ([`provide`]): rustc's own provider runs, then the
//!   lowering rewrites a coroutine's body, which the layout, the drop glue, the metadata
//!   and the backend then all read;
//! - the session's knobs ([`knobs`]): `-Cllvm-args=corolift...` words on the Cranelift
//!   backend (cg_clif hands them over, and incremental compilation tracks them as a code
//!   generation option), or, under the LLVM driver, which must not hand LLVM words it does
//!   not know, the same words moved into the crate configuration as `--cfg
//!   corolift_knob="<word>"` ([`KNOB_CFG`]), which incremental compilation tracks too;
//! - what the lowering said about each coroutine of this crate, kept until the host
//!   writes its report line, and the figures of that line that do not depend on the
//!   backend ([`CoroutineFacts`], from [`coroutine_facts`]).
//!
//! The lowering itself (`corolift_lowering`) holds no state: it takes a
//! [`LoweringSession`] and returns a body and a summary. This crate owns them, in one
//! state per compilation session (`HostSession`: the lowering's session, knobs and
//! census, and the summaries), found through one static keyed by the session's address.
//! A static is needed at all because nothing of ours reaches the code that asks: a query
//! provider is a plain `fn` that rustc calls with its `TyCtxt` alone, and the hooks cg_clif
//! calls are free functions with cg_clif's arguments. The only other static is rustc's own
//! `optimized_mir` provider, which the override calls, for the same reason.

#![feature(rustc_private)]

extern crate rustc_hir;
extern crate rustc_middle;
extern crate rustc_session;
extern crate rustc_span;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

pub use corolift_lowering as lowering;
use corolift_lowering::knobs::{Knobs, OptGoal, is_corolift_word};
use corolift_lowering::machine::StateMachine;
use corolift_lowering::report::{ReportLine, absorbed_coroutines, coroutine_path};
use corolift_lowering::{LoweringSession, LoweringSummary, kind_label, lower_coroutine};
use rustc_hir::def_id::{DefId, LocalDefId};
use rustc_middle::mir::Body;
use rustc_middle::ty::{self, Instance, InstanceKind, TyCtxt};
use rustc_middle::util::Providers;
use rustc_session::config::OptLevel;

/// The name of the `--cfg` under which the LLVM driver passes corolift's knob words
/// (`--cfg corolift_knob="corolift=all"`).
pub const KNOB_CFG: &str = "corolift_knob";

type OptimizedMir = for<'tcx> fn(TyCtxt<'tcx>, LocalDefId) -> &'tcx Body<'tcx>;

/// The `optimized_mir` provider that was in place before ours (rustc's own).
static UPSTREAM_OPTIMIZED_MIR: OnceLock<OptimizedMir> = OnceLock::new();

/// What the host keeps for one compilation session.
struct HostSession {
    /// The session's address, which identifies it (see [`SESSION`]).
    key: usize,
    /// What the lowering reads for every coroutine: the knobs, parsed once, and the
    /// crate's census.
    lowering: LoweringSession,
    /// What lowering did to each coroutine of this crate (with a report only), kept until
    /// its report line is written.
    summaries: Mutex<HashMap<DefId, LoweringSummary>>,
}

/// The state of the current session. A process normally holds one session; a new one
/// (another address) replaces the state. Locked only to find the state: the lowering runs
/// with a clone of the `Arc`, since it asks for its children's `optimized_mir`, which comes
/// back into the override and looks the state up again.
static SESSION: Mutex<Option<Arc<HostSession>>> = Mutex::new(None);

/// The state of the session of `tcx`, made on the first call for that session.
fn host_session(tcx: TyCtxt<'_>) -> Arc<HostSession> {
    let key = tcx.sess as *const _ as usize;
    let mut current = SESSION.lock().unwrap();
    match &*current {
        Some(state) if state.key == key => Arc::clone(state),
        _ => {
            // Parsing the knobs reads the session's options only: no query runs under
            // the lock.
            let state = Arc::new(HostSession {
                key,
                lowering: LoweringSession::new(parse_knobs(tcx)),
                summaries: Mutex::new(HashMap::new()),
            });
            *current = Some(Arc::clone(&state));
            state
        }
    }
}

/// The knobs of this compilation: corolift's words of `-Cllvm-args`, and those the LLVM
/// driver passed as `--cfg corolift_knob="..."`. The words were checked when the session
/// was configured (by cg_clif's option parser, or by the driver), and are parsed once per
/// session.
pub fn knobs(tcx: TyCtxt<'_>) -> Knobs {
    host_session(tcx).lowering.knobs.clone()
}

fn parse_knobs(tcx: TyCtxt<'_>) -> Knobs {
    let mut words: Vec<String> = tcx.sess.opts.cg.llvm_args.iter().filter(|w| is_corolift_word(w)).cloned().collect();
    for (name, value) in tcx.sess.config.iter() {
        if name.as_str() == KNOB_CFG
            && let Some(value) = value
        {
            words.push(value.to_string());
        }
    }
    let mut knobs = Knobs::parse(&words).unwrap_or_default();
    knobs.goal = match tcx.sess.opts.optimize {
        OptLevel::No => OptGoal::Debug,
        OptLevel::Less | OptLevel::More | OptLevel::Aggressive => OptGoal::Speed,
        OptLevel::Size | OptLevel::SizeMin => OptGoal::Size,
    };
    knobs
}

/// Installs corolift's `optimized_mir` over the one in `providers`.
pub fn provide(providers: &mut Providers) {
    let _ = UPSTREAM_OPTIMIZED_MIR.set(providers.queries.optimized_mir);
    providers.queries.optimized_mir = optimized_mir;
}

fn optimized_mir<'tcx>(tcx: TyCtxt<'tcx>, def: LocalDefId) -> &'tcx Body<'tcx> {
    let upstream = UPSTREAM_OPTIMIZED_MIR.get().expect("corolift: provide() was not called");
    let body = upstream(tcx, def);
    let Some(kind) = tcx.coroutine_kind(def.to_def_id()) else { return body };
    let session = host_session(tcx);
    let knobs = &session.lowering.knobs;
    if !knobs.lowering_enabled() && knobs.report.is_none() && knobs.dump.is_none() {
        return body;
    }
    let (lowered, summary) = lower_coroutine(tcx, def.to_def_id(), kind, body, &session.lowering);
    if knobs.report.is_some() {
        session.summaries.lock().unwrap().insert(def.to_def_id(), summary);
    }
    match lowered {
        Some(lowered) => tcx.arena.alloc(lowered),
        None => body,
    }
}

/// What the lowering said about coroutine `def_id` of this crate, if it ran with a report.
fn summary_of(tcx: TyCtxt<'_>, def_id: DefId) -> Option<LoweringSummary> {
    host_session(tcx).summaries.lock().unwrap().get(&def_id).cloned()
}

/// The coroutine whose resume function `instance` is, if it is one.
pub fn resume_function_of(tcx: TyCtxt<'_>, instance: Instance<'_>) -> Option<DefId> {
    let InstanceKind::Item(def_id) = instance.def else { return None };
    tcx.is_coroutine(def_id).then_some(def_id)
}

/// The figures of a resume function's report line that do not depend on the backend.
pub struct CoroutineFacts {
    pub path: PathBuf,
    pub crate_name: String,
    pub mir_crate: String,
    pub function: String,
    pub opt_level: String,
    pub summary: LoweringSummary,
    pub size_before: Option<u64>,
    pub size_after: u64,
    pub absorbed: Vec<String>,
}

impl CoroutineFacts {
    /// The report line of `symbol`, with what the backend knows of its code (`None`:
    /// nothing).
    pub fn line<'a>(&'a self, symbol: &'a str, resume_bytes: Option<usize>, frame_bytes: Option<u64>) -> ReportLine<'a> {
        ReportLine {
            crate_name: &self.crate_name,
            mir_crate: &self.mir_crate,
            symbol,
            function: &self.function,
            opt_level: &self.opt_level,
            summary: &self.summary,
            size_before: self.size_before,
            size_after: self.size_after,
            resume_bytes,
            frame_bytes,
            absorbed: &self.absorbed,
        }
    }

    /// Appends the line of `symbol` to the report file, warning (not failing) if it cannot.
    pub fn append(&self, symbol: &str, resume_bytes: Option<usize>, frame_bytes: Option<u64>) {
        if let Err(err) = self.line(symbol, resume_bytes, frame_bytes).append_to(&self.path) {
            eprintln!("warning: corolift-report: cannot append to {}: {err}", self.path.display());
        }
    }
}

/// The facts of resume function `instance` for the report, when the knobs ask for one.
pub fn coroutine_facts<'tcx>(tcx: TyCtxt<'tcx>, instance: Instance<'tcx>, knobs: &Knobs) -> Option<CoroutineFacts> {
    let path = knobs.report.clone()?;
    let def_id = resume_function_of(tcx, instance)?;
    let kind = tcx.coroutine_kind(def_id)?;
    let typing_env = ty::TypingEnv::fully_monomorphized();
    let coroutine_ty = instance.ty(tcx, typing_env);
    let size_after = tcx.layout_of(typing_env.as_query_input(coroutine_ty)).ok()?.size.bytes();
    let mir = tcx.instance_mir(instance.def);
    let summary = summary_of(tcx, def_id).unwrap_or_else(|| {
        // Lowered in another crate (its MIR came from metadata, already lowered there):
        // only that body is known here, so before and after are its figures.
        let machine = StateMachine::recover(mir);
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
    });
    Some(CoroutineFacts {
        path,
        crate_name: tcx.crate_name(rustc_span::def_id::LOCAL_CRATE).to_string(),
        mir_crate: tcx.crate_name(def_id.krate).to_string(),
        function: coroutine_path(tcx, def_id),
        opt_level: format!("{:?}", tcx.sess.opts.optimize),
        summary,
        // The stock size is only known when nothing was lowered: a coroutine whose own
        // layout is untouched still shrinks when a future it holds shrank.
        size_before: (!knobs.lowering_enabled()).then_some(size_after),
        size_after,
        absorbed: absorbed_coroutines(tcx, mir),
    })
}
