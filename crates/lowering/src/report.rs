//! What corolift tells about each coroutine: `corolift-report` lines and `corolift-dump` files.
//!
//! `corolift-report=<file>` appends one JSON object per line for every coroutine resume
//! function that reaches Cranelift, written once its machine code exists (the code size
//! is only known then), one line per compiled copy: rustc puts a coroutine's body in
//! every codegen unit that uses it. Several rustc processes (a cargo build) may append to one file:
//! each line goes out in a single `write` on a file opened for appending.
//!
//! `corolift-dump=<dir>` writes, per coroutine, `<name>.before.mir`, `<name>.after.mir`,
//! `<name>.machine` (the recovered machine before and after, and what each pass said),
//! and `<name>.step<NN>.<pass>.mir`, the MIR after each pass that changed it, in pipeline
//! order; the snapshot tests read these.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use rustc_hir::def_id::DefId;
use rustc_middle::mir::Body;
use rustc_middle::mir::pretty::MirWriter;
use rustc_middle::ty::TyCtxt;
use rustc_middle::ty::print::with_no_trimmed_paths;

use crate::machine::{Decline, StateMachine};
use crate::passes::PassOutcome;
use crate::LoweringSummary;

/// One line of `corolift-report`.
pub struct ReportLine<'a> {
    /// The crate being compiled, where the resume function is codegened.
    pub crate_name: &'a str,
    /// The crate whose MIR this is: where corolift lowered it.
    pub mir_crate: &'a str,
    pub symbol: &'a str,
    pub function: &'a str,
    pub opt_level: &'a str,
    pub summary: &'a LoweringSummary,
    pub size_before: Option<u64>,
    pub size_after: u64,
    /// The resume function's machine-code bytes (`None`: the backend did not say).
    pub resume_bytes: Option<usize>,
    /// The compiled function's stack frame (`None`: the backend did not say).
    pub frame_bytes: Option<u64>,
    /// The coroutines whose code was spliced into this resume function, at any depth.
    pub absorbed: &'a [String],
}

impl ReportLine<'_> {
    /// The line as one JSON object (serde_json's compact form: no newline inside).
    pub fn to_json(&self) -> String {
        let s = self.summary;
        let passes: Vec<serde_json::Value> = s
            .passes
            .iter()
            .map(|record| {
                let (applied, why) = match &record.outcome {
                    PassOutcome::Applied(why) => (true, why),
                    PassOutcome::Declined(why) => (false, why),
                };
                serde_json::json!({ "pass": record.pass, "applied": applied, "why": why })
            })
            .collect();
        serde_json::json!({
            "crate": self.crate_name,
            "mir_crate": self.mir_crate,
            "symbol": self.symbol,
            "function": self.function,
            "kind": s.kind,
            "opt_level": self.opt_level,
            "states_before": s.states_before,
            "states_after": s.states_after,
            "suspend_states_before": s.suspend_states_before,
            "suspend_states_after": s.suspend_states_after,
            "size_before": self.size_before,
            "size_after": self.size_after,
            "resume_bytes": self.resume_bytes,
            "frame_bytes": self.frame_bytes,
            "absorbed": self.absorbed,
            "unrecognised": s.unrecognised,
            "passes": passes,
        })
        .to_string()
    }

    /// Appends the line to `path` in one write.
    pub fn append_to(&self, path: &Path) -> std::io::Result<()> {
        let mut line = self.to_json();
        line.push('\n');
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        file.write_all(line.as_bytes())
    }
}

/// A coroutine's def path as the report and the dumps name it: untrimmed, so that a
/// coroutine from another crate carries its crate's name.
pub fn coroutine_path(tcx: TyCtxt<'_>, def_id: DefId) -> String {
    with_no_trimmed_paths!(tcx.def_path_str(def_id))
}

/// The coroutines whose code was spliced into `body`, at any depth, by def path: the
/// callees of its inlined scopes that are coroutines (a spliced child arrives with its own
/// children's scopes).
pub fn absorbed_coroutines(tcx: TyCtxt<'_>, body: &Body<'_>) -> Vec<String> {
    let mut absorbed: Vec<String> = body
        .source_scopes
        .iter()
        .filter_map(|scope| scope.inlined.map(|(instance, _)| instance.def_id()))
        .filter(|&def_id| tcx.is_coroutine(def_id))
        .map(|def_id| coroutine_path(tcx, def_id))
        .collect();
    absorbed.sort();
    absorbed.dedup();
    absorbed
}

/// A file name for a coroutine: its def path with the punctuation that file systems or
/// shells dislike replaced.
pub fn file_stem(tcx: TyCtxt<'_>, def_id: DefId) -> String {
    let path = coroutine_path(tcx, def_id);
    path.chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '#' { c } else { '.' })
        .collect::<String>()
        .replace("..", ".")
}

/// The resume body, then the coroutine drop body (the drop glue's view of the states).
pub fn mir_text<'tcx>(tcx: TyCtxt<'tcx>, body: &Body<'tcx>) -> String {
    let mut buf = Vec::new();
    let _ = MirWriter::new(tcx).write_mir_fn(body, &mut buf);
    if let Some(drop_body) = body.coroutine_drop() {
        buf.extend_from_slice(b"\n// coroutine_drop\n");
        let _ = MirWriter::new(tcx).write_mir_fn(drop_body, &mut buf);
    }
    String::from_utf8_lossy(&buf).into_owned()
}

fn machine_text(machine: &Result<StateMachine, Decline>) -> String {
    match machine {
        Ok(machine) => machine.describe(),
        Err(why) => format!("not recognised: {why}\n"),
    }
}

#[allow(clippy::too_many_arguments)]
pub fn dump_coroutine<'tcx>(
    tcx: TyCtxt<'tcx>,
    def_id: DefId,
    dir: &Path,
    before: &Body<'tcx>,
    machine_before: &Result<StateMachine, Decline>,
    after: &Body<'tcx>,
    machine_after: &Result<StateMachine, Decline>,
    summary: &LoweringSummary,
    steps: &[(&str, String)],
) {
    let stem = file_stem(tcx, def_id);
    let mut machine = format!("{} {}\n== before ==\n", summary.kind, coroutine_path(tcx, def_id));
    machine.push_str(&machine_text(machine_before));
    machine.push_str("== passes ==\n");
    for record in &summary.passes {
        let _ = match &record.outcome {
            PassOutcome::Applied(why) => writeln!(machine, "{}: applied: {why}", record.pass),
            PassOutcome::Declined(why) => writeln!(machine, "{}: declined: {why}", record.pass),
        };
    }
    machine.push_str("== after ==\n");
    if machine_after.is_err() && summary.applied("await_free") {
        machine.push_str("no dispatch switch: the body runs from its start on every poll (await_free)\n");
        if let Some(layout) = after.coroutine_layout_raw() {
            let _ = writeln!(machine, "layout: {} saved locals, {} variants", layout.field_tys.len(), layout.variant_fields.len());
        }
    } else {
        machine.push_str(&machine_text(machine_after));
    }
    let mut files = vec![
        (format!("{stem}.before.mir"), mir_text(tcx, before)),
        (format!("{stem}.after.mir"), mir_text(tcx, after)),
        (format!("{stem}.machine"), machine),
    ];
    // The MIR after each pass that changed it, numbered in pipeline order.
    for (index, (pass, text)) in steps.iter().enumerate() {
        files.push((format!("{stem}.step{:02}.{pass}.mir", index + 1), text.clone()));
    }
    let written = std::fs::create_dir_all(dir)
        .and_then(|()| files.iter().try_for_each(|(name, text)| std::fs::write(dir.join(name), text)));
    if let Err(err) = written {
        tcx.dcx().warn(format!("corolift-dump: cannot write into {}: {err}", dir.display()));
    }
}
