//! `./y.sh compare --ablation`: what each pass buys, measured two ways on the same
//! programs in one run:
//! - **without**: the default with that pass removed (`-Cllvm-args=corolift=-<pass>`);
//! - **alone**: that pass on top of `corolift=off` (`-Cllvm-args=corolift=<pass>`, which
//!   runs it in full: `inline_child` on every child, not only single-use ones).
//!
//! `inline_child` and `flatten_child` only pay off together (and `flatten_child` needs
//! `await_calls` before it; `one_dispatch` cleans up after each of its children), so the
//! three and the four have both rows too.
//! The reference rows are `corolift=off` (stock cg_clif's lowering) and the default.
//!
//! Every row is measured for both backends (Cranelift through the backend, LLVM through
//! `dist/rustc-corolift-llvm`) at -O0 and -O3, debug-assertions off (unless a corpus
//! program turns them on), over two program sets:
//! - the benchmarks of `benches/compare` (the async programs, not their hand-written
//!   twins): resume-function bytes, `.text`, callgrind instructions of one short run each,
//!   `size_of` of the futures (total and largest), resume frames (total and largest);
//! - the differential corpus `tests/corpus`: the same figures without instructions.
//!
//! and rustc's own instructions (callgrind) compiling one program, `PROBE`, per -O3 row.
//!
//! Resume bytes and frames come from `corolift-report` under Cranelift; under LLVM the
//! report has none, so bytes are the symbols' sizes in the executable (a resume function
//! LLVM inlined counts 0) and frames are read off the prologues, as `./y.sh compare` does.
//! `size_of` is the report's `size_after`. Report lines are read by `report_lines`.
//!
//! A pass that a backend never runs (the report says "not run for LLVM") has no rows there.
//!
//! Every row's programs must print what the default row's print (or what `corolift=off`'s
//! print, for a program that documents a `corolift=off` failure): an ablation row is a
//! pipeline nobody else tests, so a difference is reported as a failure and fails the
//! command.
//!
//! The run takes about an hour on 2 cores (3,444 s and, shared with a fuzz run, 4,320 s
//! on 2026-11-30), six times the full
//! comparison's target of 10 minutes, so it has its own command. Results go to `build/ablation/`: `report.json`
//! (with the content hashes of the backend and the driver it measured), `report.html`
//! (tables and a chart per backend and opt-level) and `results.md`. The full
//! `./y.sh compare` includes the latest of them in its own report.json, HTML and
//! results.md when they measured the same compilers, and says so when they did not.
//! `--quick` measures Cranelift at -O3 on the `seed` benchmark and four corpus programs,
//! for the test suite.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::{Value, json};

use crate::compile::{BuildConfig, Directives, compile_program, fresh_dir, run_program, symbol_sizes};
use crate::toolchain::{Dirs, Toolchain};
use crate::util::{Error, Result, callgrind_instructions};

/// The program whose compilation rustc's instructions are counted on: the benchmark with
/// every kind of await the passes handle (nested, match arms, select/join of children).
const PROBE: &str = "benches/compare/protocol.rs";

/// The benchmarks' argument for the instruction count: a short run (the instructions are
/// the figure, not the time). `sizes` copies megabytes per run (that is what it measures
/// under rustc's layout): a few runs.
fn bench_iterations(name: &str) -> &'static str {
    if name == "sizes" { "5" } else { "1000" }
}

/// Passes that only pay off together, measured as a group too: `inline_child` splices a
/// child's poll and `flatten_child` then merges its states into the parent's, which it
/// only does once `await_calls` has turned the await's `into_future` and
/// `Pin::new_unchecked` calls (which take the child's address) into moves.
/// `one_dispatch` runs only after each child `flatten_child` keeps, so it joins them.
const GROUPS: [&[&str]; 2] =
    [&["inline_child", "flatten_child", "one_dispatch"], &["await_calls", "inline_child", "flatten_child", "one_dispatch"]];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Group {
    Benchmarks,
    Corpus,
}

struct Program {
    name: String,
    source: PathBuf,
    directives: Directives,
    group: Group,
}

/// One row of the ablation: a pass selection on a backend at an opt-level.
struct Row {
    backend: &'static str,
    opt_level: &'static str,
    /// `off`, `default`, `without`, `alone`.
    kind: &'static str,
    passes: Vec<&'static str>,
}

impl Row {
    fn knob(&self) -> Option<String> {
        match self.kind {
            "off" => Some("corolift=off".into()),
            "default" => None,
            "without" => Some(format!("corolift={}", self.passes.iter().map(|p| format!("-{p}")).collect::<Vec<_>>().join(","))),
            _ => Some(format!("corolift={}", self.passes.join(","))),
        }
    }

    fn label(&self) -> String {
        match self.kind {
            "off" | "default" => self.kind.to_string(),
            "without" => format!("without {}", self.passes.join("+")),
            _ => format!("{} alone", self.passes.join("+")),
        }
    }

    fn config(&self) -> BuildConfig {
        // BuildConfig names are static: a row's name lives as long as the run.
        let name: &'static str = Box::leak(format!("{}-O{} {}", self.backend, self.opt_level, self.label()).into_boxed_str());
        let knobs: Vec<&str> = self.knob().into_iter().map(|k| &*Box::leak(k.into_boxed_str())).collect();
        if self.backend == "llvm" {
            BuildConfig::corolift_llvm(name, &knobs, self.opt_level)
        } else {
            BuildConfig::corolift(name, &knobs, self.opt_level)
        }
    }
}

/// What one program gave under one row.
#[derive(Default)]
struct ProgramFigures {
    resume_bytes: u64,
    text_bytes: u64,
    instructions: Option<u64>,
    sizes: Vec<u64>,
    frames: Vec<u64>,
    /// Exit status and output (without `size_of` lines).
    run: (String, String),
    /// Per pass: on how many of the program's coroutines it applied, and whether the
    /// backend said it does not run it.
    applied: BTreeMap<String, u64>,
    not_run_by_backend: Vec<String>,
}

pub struct AblationOptions {
    pub quick: bool,
}

/// The passes the backend knows, in pipeline order, from its own error message for an
/// unknown pass (so this list cannot drift from the compiler's).
fn pass_names(dirs: &Dirs, toolchain: &Toolchain, out: &Path) -> Result<Vec<&'static str>> {
    let probe = out.join("empty.rs");
    std::fs::write(&probe, "fn main() {}\n").map_err(|e| Error(e.to_string()))?;
    let config = BuildConfig::corolift("pass list", &["corolift=?"], "0");
    let output = config.rustc(dirs, toolchain).arg(&probe).arg("-o").arg(out.join("empty")).output().map_err(|e| Error(format!("cannot run rustc: {e}")))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let list = stderr
        .lines()
        .find_map(|l| l.split_once("valid passes: ").map(|(_, rest)| rest.trim().to_string()))
        .ok_or_else(|| Error(format!("the backend did not list its passes for an unknown pass:\n{stderr}")))?;
    Ok(list.split(", ").map(|p| &*Box::leak(p.to_string().into_boxed_str())).collect())
}

fn programs(dirs: &Dirs, quick: bool) -> Result<Vec<Program>> {
    let mut programs = Vec::new();
    let benchmarks: &[&str] =
        if quick { &["seed"] } else { &["seed", "chain16_plain", "chain48_plain", "chain16", "chain48", "protocol", "select_join", "sizes"] };
    for name in benchmarks {
        programs.push((name.to_string(), dirs.root.join(format!("benches/compare/{name}.rs")), Group::Benchmarks));
    }
    let mut corpus = crate::util::corpus_programs(&dirs.root)?;
    if quick {
        corpus.truncate(4);
    }
    for path in corpus {
        programs.push((path.file_stem().unwrap().to_string_lossy().into_owned(), path, Group::Corpus));
    }
    programs
        .into_iter()
        .map(|(name, source, group)| Ok(Program { name, directives: Directives::of_file(&source).map_err(Error)?, source, group }))
        .collect()
}

fn measure_program(dirs: &Dirs, toolchain: &Toolchain, row: &Row, config: &BuildConfig, program: &Program, dir: &Path) -> std::result::Result<ProgramFigures, String> {
    let exe = dir.join(&program.name);
    let report = dir.join(format!("{}.jsonl", program.name));
    let mut extra = vec![format!("-Cllvm-args=corolift-report={}", report.display())];
    // Debug assertions off, unless the program asks for them: the corpus's programs about
    // polling after completion test the panic that only debug assertions promise.
    if !program.directives.compile_flags.iter().any(|f| f.contains("debug-assertions")) {
        extra.push("-Cdebug-assertions=off".to_string());
    }
    compile_program(dirs, toolchain, config, &program.source, &program.directives, &exe, &extra)?;
    let mut figures = ProgramFigures { text_bytes: super::text_bytes(&exe)?, ..Default::default() };
    let symbols: BTreeMap<String, u64> = symbol_sizes(&exe)?.into_iter().collect();
    let frames = if row.backend == "llvm" { super::prologue_frames(&exe)? } else { BTreeMap::new() };
    for v in crate::report_lines::read(&report)? {
        let (resume_bytes, frame_bytes) = super::code_figures(&v, &symbols, &frames);
        figures.resume_bytes += resume_bytes.as_u64().unwrap_or(0);
        if let Some(frame) = frame_bytes.as_u64() {
            figures.frames.push(frame);
        }
        figures.sizes.push(v["size_after"].as_u64().unwrap_or(0));
        for record in v["passes"].as_array().into_iter().flatten() {
            let pass = record["pass"].as_str().unwrap_or_default().to_string();
            if record["applied"] == true {
                *figures.applied.entry(pass).or_default() += 1;
            } else if record["why"].as_str().unwrap_or_default().starts_with("not run for LLVM") && !figures.not_run_by_backend.contains(&pass) {
                figures.not_run_by_backend.push(pass);
            }
        }
    }
    let run_args = if program.group == Group::Benchmarks { vec![bench_iterations(&program.name).to_string()] } else { program.directives.run_args.clone() };
    if program.group == Group::Benchmarks {
        let (stdout, instructions) = super::callgrind(&exe, &run_args, dir)?;
        figures.run = ("exit 0".into(), super::without_sizes(&stdout));
        figures.instructions = Some(instructions);
    } else {
        let result = run_program(&exe, &run_args)?;
        figures.run = (result.status, super::without_sizes(&result.stdout));
    }
    // Executables are large and there are thousands: only the figures stay.
    let _ = std::fs::remove_file(&exe);
    Ok(figures)
}

/// Measures every program under `row`, on all cores.
fn measure_row(dirs: &Dirs, toolchain: &Toolchain, row: &Row, programs: &[Program], dir: &Path) -> Vec<std::result::Result<ProgramFigures, String>> {
    crate::util::create_dir(dir).ok();
    let config = row.config();
    crate::util::parallel_map(programs, |program| measure_program(dirs, toolchain, row, &config, program, dir))
}

/// rustc's instructions compiling `PROBE` under `row` (callgrind).
fn rustc_instructions(dirs: &Dirs, toolchain: &Toolchain, row: &Row, dir: &Path) -> std::result::Result<u64, String> {
    let source = dirs.root.join(PROBE);
    let directives = Directives::of_file(&source)?;
    let rustc = row.config().rustc(dirs, toolchain);
    let mut cmd = Command::new("valgrind");
    cmd.arg("--tool=callgrind").arg("--callgrind-out-file=/dev/null");
    // The LLVM driver's wrapper is a shell script that runs the driver: follow it.
    // The linker rustc runs is not rustc's work: skipped.
    cmd.args(["--read-inline-info=no", "--trace-children=yes", "--trace-children-skip=*/cc,*/ld,*collect2*,*/ld.*"]);
    cmd.arg(rustc.get_program()).args(rustc.get_args());
    cmd.arg("--edition").arg(directives.edition.as_deref().unwrap_or("2024"));
    // The same output path in every row: the path is hashed into what rustc builds, and
    // rows in different folders differed by up to 2% for that alone.
    let probe_dir = dir.parent().unwrap_or(dir).join("probe");
    crate::util::create_dir(&probe_dir).map_err(|e| e.0)?;
    cmd.current_dir(&probe_dir);
    cmd.args(&directives.compile_flags).arg("-Cdebug-assertions=off").arg(&source).arg("-o").arg(probe_dir.join("probe"));
    let output = cmd.output().map_err(|e| format!("cannot run valgrind: {e}"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(format!("rustc under callgrind failed:\n{stderr}"));
    }
    // With --trace-children every traced process prints its own total; rustc's is the
    // largest (the wrappers' shell is counted apart).
    stderr
        .lines()
        .filter_map(callgrind_instructions)
        .max()
        .ok_or_else(|| format!("no instruction count in callgrind's output:\n{stderr}"))
}

/// Totals of one program group under one row.
fn group_figures(programs: &[Program], results: &[std::result::Result<ProgramFigures, String>], group: Group) -> Value {
    let mut resume = 0;
    let mut text = 0;
    let mut instructions: Option<u64> = None;
    let (mut size_total, mut size_max, mut frame_total, mut frame_max) = (0u64, 0u64, 0u64, 0u64);
    for (program, result) in programs.iter().zip(results) {
        let Ok(f) = result else { continue };
        if program.group != group {
            continue;
        }
        resume += f.resume_bytes;
        text += f.text_bytes;
        if let Some(n) = f.instructions {
            *instructions.get_or_insert(0) += n;
        }
        size_total += f.sizes.iter().sum::<u64>();
        size_max = size_max.max(f.sizes.iter().copied().max().unwrap_or(0));
        frame_total += f.frames.iter().sum::<u64>();
        frame_max = frame_max.max(f.frames.iter().copied().max().unwrap_or(0));
    }
    json!({
        "resume_bytes": resume, "text_bytes": text, "instructions": instructions,
        "size_of_total": size_total, "size_of_max": size_max,
        "frame_bytes_total": frame_total, "frame_bytes_max": frame_max,
    })
}

fn rows_for(backend: &'static str, opt_level: &'static str, passes: &[&'static str]) -> Vec<Row> {
    let mut rows = vec![
        Row { backend, opt_level, kind: "off", passes: vec![] },
        Row { backend, opt_level, kind: "default", passes: vec![] },
    ];
    let mut sets: Vec<Vec<&'static str>> = passes.iter().map(|p| vec![*p]).collect();
    sets.extend(GROUPS.iter().map(|g| g.to_vec()));
    for set in sets {
        rows.push(Row { backend, opt_level, kind: "without", passes: set.clone() });
        rows.push(Row { backend, opt_level, kind: "alone", passes: set });
    }
    rows
}

/// The compilers an ablation measured: the backend's and the LLVM driver's content hashes.
/// `./y.sh compare` includes an ablation only when they are the ones it measures.
pub fn compilers(dirs: &Dirs) -> Value {
    let hash = |path: std::path::PathBuf| crate::toolchain::sha256_of(&path).ok();
    json!({ "backend_sha256": hash(dirs.backend_so()), "driver_sha256": hash(dirs.driver_binary()) })
}

pub fn ablation(dirs: &Dirs, toolchain: &Toolchain, out: &Path, options: &AblationOptions) -> Result<()> {
    let out = fresh_dir(out.to_path_buf());
    let started = Instant::now();
    // The checkout as the run starts (what its compilers were built from): a commit made
    // while the run goes on must not be credited with its figures.
    let commit = super::commit();
    let passes = pass_names(dirs, toolchain, &out)?;
    let programs = programs(dirs, options.quick)?;
    let sections: Vec<(&'static str, &'static str)> =
        if options.quick { vec![("cranelift", "3")] } else { vec![("cranelift", "0"), ("cranelift", "3"), ("llvm", "0"), ("llvm", "3")] };
    eprintln!(
        "[ablation] {} passes (+ the groups {}), {} programs ({} benchmarks), {} backend/opt-level sections",
        passes.len(),
        GROUPS.iter().map(|g| g.join("+")).collect::<Vec<_>>().join(", "),
        programs.len(),
        programs.iter().filter(|p| p.group == Group::Benchmarks).count(),
        sections.len()
    );
    let mut report_rows = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    let mut index = 0;
    for (backend, opt_level) in sections {
        let rows = rows_for(backend, opt_level, &passes);
        let mut reference: BTreeMap<&str, Vec<Option<(String, String)>>> = BTreeMap::new();
        let mut not_run: Vec<String> = Vec::new();
        for (r, row) in rows.iter().enumerate() {
            if row.passes.iter().any(|p| not_run.iter().any(|n| n == p)) {
                eprintln!("[ablation] {backend} -O{opt_level}: {} skipped: the backend does not run it", row.label());
                continue;
            }
            index += 1;
            eprintln!("[ablation] {backend} -O{opt_level} ({}/{}) {} ({:.0} s)", r + 1, rows.len(), row.label(), started.elapsed().as_secs_f64());
            let dir = out.join(format!("row{index}"));
            let results = measure_row(dirs, toolchain, row, &programs, &dir);
            let mut row_failures = Vec::new();
            let runs: Vec<Option<(String, String)>> = results.iter().map(|r| r.as_ref().ok().map(|f| f.run.clone())).collect();
            for (p, (program, result)) in programs.iter().zip(&results).enumerate() {
                match result {
                    Err(why) => row_failures.push(format!("{}: {}", program.name, why.lines().next().unwrap_or_default())),
                    Ok(f) if row.kind != "off" => {
                        let expected = [reference.get("default"), reference.get("off")];
                        let matches = expected.iter().flatten().any(|runs| runs[p].as_ref() == Some(&f.run));
                        if reference.contains_key("default") && !matches {
                            row_failures.push(format!("{}: {} printed something else than the default and corolift=off", program.name, f.run.0));
                        }
                    }
                    Ok(_) => {}
                }
            }
            if row.kind == "off" || row.kind == "default" {
                reference.insert(row.kind, runs);
            }
            if row.kind == "default" {
                for f in results.iter().flatten() {
                    for pass in &f.not_run_by_backend {
                        if !not_run.contains(pass) {
                            not_run.push(pass.clone());
                        }
                    }
                }
            }
            let mut applied_by_pass: BTreeMap<String, u64> = BTreeMap::new();
            for f in results.iter().flatten() {
                for (pass, count) in &f.applied {
                    *applied_by_pass.entry(pass.clone()).or_default() += count;
                }
            }
            // The row's own passes: on how many coroutines they applied (the most of the
            // pair's two); a "without" row ran none of them.
            let applied = (row.kind == "alone").then(|| row.passes.iter().map(|p| applied_by_pass.get(*p).copied().unwrap_or(0)).max().unwrap_or(0));
            // rustc's instructions at -O3 only: one count costs about 10 s of valgrind's
            // start-up, and the -O0 compile cost is what `./y.sh bench --dev` measures.
            let rustc = if options.quick || opt_level != "3" {
                Value::Null
            } else {
                match rustc_instructions(dirs, toolchain, row, &dir) {
                    Ok(n) => json!(n),
                    Err(why) => {
                        row_failures.push(format!("rustc instructions: {}", why.lines().next().unwrap_or_default()));
                        Value::Null
                    }
                }
            };
            for f in &row_failures {
                eprintln!("[ablation] {backend} -O{opt_level} {}: FAILED: {f}", row.label());
                failures.push(format!("{backend} -O{opt_level} {}: {f}", row.label()));
            }
            report_rows.push(json!({
                "backend": backend, "opt_level": opt_level, "row": row.label(), "kind": row.kind,
                "passes": row.passes, "knob": row.knob(),
                "coroutines_applied": applied, "applied_by_pass": applied_by_pass,
                "benchmarks": group_figures(&programs, &results, Group::Benchmarks),
                "corpus": group_figures(&programs, &results, Group::Corpus),
                "rustc_instructions": rustc,
                "failures": row_failures,
            }));
            let _ = std::fs::remove_dir_all(&dir);
        }
        for pass in not_run {
            report_rows.push(json!({"backend": backend, "opt_level": opt_level, "row": format!("{pass}: not run by this backend"), "kind": "not_run", "passes": [pass]}));
        }
    }
    let report = json!({
        "date": super::today(), "commit": commit, "rustc": super::rustc_version(), "machine": super::machine(),
        "quick": options.quick, "compilers": compilers(dirs), "passes": passes, "probe": PROBE, "bench_iterations": programs.iter().filter(|p| p.group == Group::Benchmarks).map(|p| (p.name.clone(), bench_iterations(&p.name))).collect::<BTreeMap<_, _>>(),
        "benchmarks": programs.iter().filter(|p| p.group == Group::Benchmarks).map(|p| p.name.clone()).collect::<Vec<_>>(),
        "corpus_programs": programs.iter().filter(|p| p.group == Group::Corpus).count(),
        "rows": report_rows, "failures": failures,
    });
    let tables = tables(&report);
    print!("{tables}");
    let write = |name: &str, contents: String| -> Result<PathBuf> {
        let path = out.join(name);
        std::fs::write(&path, contents).map_err(|e| Error(format!("cannot write {}: {e}", path.display())))?;
        Ok(path)
    };
    let json_path = write("report.json", serde_json::to_string_pretty(&report).unwrap())?;
    let html_path = write("report.html", html(&report, &tables))?;
    let md_path = write("results.md", results_md(&report, &tables))?;
    println!("\nwritten: {}\n         {}\n         {}", json_path.display(), html_path.display(), md_path.display());
    eprintln!("[ablation] done in {:.0} s", started.elapsed().as_secs_f64());
    if failures.is_empty() { Ok(()) } else { Err(Error(format!("{} ablation failure(s): {}", failures.len(), failures.join("; ")))) }
}

fn n(v: &Value) -> String {
    v.as_u64().map_or("-".into(), |n| n.to_string())
}

/// The row `kind` of a section, for the deltas.
fn reference<'a>(report: &'a Value, backend: &str, opt_level: &str, kind: &str) -> Option<&'a Value> {
    report["rows"].as_array()?.iter().find(|r| r["backend"] == backend && r["opt_level"] == opt_level && r["kind"] == kind)
}

/// How much a row changes `field` of `group` against its reference (the default for
/// "without" rows, `corolift=off` for "alone" rows), in percent; positive: the row is
/// larger.
fn delta(report: &Value, row: &Value, group: &str, field: &str) -> Option<f64> {
    let against = match row["kind"].as_str()? {
        "without" => "default",
        "alone" => "off",
        _ => return None,
    };
    let base = reference(report, row["backend"].as_str()?, row["opt_level"].as_str()?, against)?;
    let (b, v) = (base[group][field].as_f64()?, row[group][field].as_f64()?);
    (b > 0.0).then(|| 100.0 * (v - b) / b)
}

fn pct(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:+.1}%"))
}

/// The (backend, opt-level) sections of the rows, in run order.
fn sections(rows: &[Value]) -> Vec<(String, String)> {
    let mut sections: Vec<(String, String)> = Vec::new();
    for r in rows {
        let key = (r["backend"].as_str().unwrap_or_default().to_string(), r["opt_level"].as_str().unwrap_or_default().to_string());
        if !sections.contains(&key) {
            sections.push(key);
        }
    }
    sections
}

/// The ablation as text tables, one per backend and opt-level.
pub(super) fn tables(report: &Value) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let rows = report["rows"].as_array().cloned().unwrap_or_default();
    let sections = sections(&rows);
    for (backend, opt) in sections {
        let _ = writeln!(
            out,
            "\n== ablation: {} -O{opt} (benchmarks: {}; corpus: {} programs; rustc instructions compiling {}) ==",
            if backend == "llvm" { "LLVM + corolift" } else { "Cranelift (corolift backend)" },
            report["benchmarks"].as_array().map(|b| b.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join(" ")).unwrap_or_default(),
            report["corpus_programs"],
            report["probe"].as_str().unwrap_or_default()
        );
        let _ = writeln!(
            out,
            "{:<34} {:>7} {:>9} {:>7} {:>9} {:>12} {:>7} {:>15} {:>13} {:>9} {:>7} {:>9} {:>15} {:>15} {:>13}",
            "row", "applied", "resume B", "Δ", ".text B", "instructions", "Δ", "size_of sum/max", "frame sum/max",
            "corpus B", "Δ", ".text B", "size_of sum/max", "frame sum/max", "rustc instr"
        );
        for r in rows.iter().filter(|r| r["backend"] == backend.as_str() && r["opt_level"] == opt.as_str()) {
            if r["kind"] == "not_run" {
                let _ = writeln!(out, "{}", r["row"].as_str().unwrap_or_default());
                continue;
            }
            let (b, c) = (&r["benchmarks"], &r["corpus"]);
            let _ = writeln!(
                out,
                "{:<34} {:>7} {:>9} {:>7} {:>9} {:>12} {:>7} {:>15} {:>13} {:>9} {:>7} {:>9} {:>15} {:>13} {:>13}",
                r["row"].as_str().unwrap_or_default(),
                n(&r["coroutines_applied"]),
                n(&b["resume_bytes"]),
                pct(delta(report, r, "benchmarks", "resume_bytes")),
                n(&b["text_bytes"]),
                n(&b["instructions"]),
                pct(delta(report, r, "benchmarks", "instructions")),
                format!("{}/{}", n(&b["size_of_total"]), n(&b["size_of_max"])),
                format!("{}/{}", n(&b["frame_bytes_total"]), n(&b["frame_bytes_max"])),
                n(&c["resume_bytes"]),
                pct(delta(report, r, "corpus", "resume_bytes")),
                n(&c["text_bytes"]),
                format!("{}/{}", n(&c["size_of_total"]), n(&c["size_of_max"])),
                format!("{}/{}", n(&c["frame_bytes_total"]), n(&c["frame_bytes_max"])),
                n(&r["rustc_instructions"]),
            );
        }
    }
    let _ = writeln!(
        out,
        "\n(Δ: against the default for \"without\" rows, against corolift=off for \"alone\" rows; \
         applied: coroutines the row's pass applied to, summed over the programs)"
    );
    out
}

fn results_md(report: &Value, tables: &str) -> String {
    format!(
        "# corolift: `./y.sh compare --ablation{}`\n\n- date: {}\n- commit: {}\n- toolchain: {}\n- machine: {}\n\n\
         Instructions are callgrind's counts (exact); debug-assertions off.\n\n```\n{}\n```\n",
        if report["quick"] == true { " --quick" } else { "" },
        report["date"].as_str().unwrap_or_default(),
        report["commit"].as_str().unwrap_or_default(),
        report["rustc"].as_str().unwrap_or_default(),
        report["machine"].as_str().unwrap_or_default(),
        tables.trim_matches('\n')
    )
}

/// A chart of signed percentages: one bar pair per pass, left of the axis smaller, right
/// larger.
fn delta_chart(title: &str, bars: &[(String, Option<f64>, Option<f64>)]) -> String {
    let (row, label_width, half) = (30.0, 190.0, 180.0);
    let height = 40.0 + row * bars.len() as f64;
    let max = bars.iter().flat_map(|(_, a, b)| [a.unwrap_or(0.0).abs(), b.unwrap_or(0.0).abs()]).fold(1.0f64, f64::max);
    let axis = label_width + half;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\" role=\"img\" aria-label=\"{t}\">\
         <text x=\"0\" y=\"16\" font-weight=\"bold\">{t}</text>\
         <line x1=\"{axis}\" y1=\"24\" x2=\"{axis}\" y2=\"{height}\" stroke=\"#444\"/>",
        axis + half + 70.0,
        t = super::html::escape(title)
    );
    for (i, (label, without, alone)) in bars.iter().enumerate() {
        let y = 28.0 + row * i as f64;
        svg.push_str(&format!("<text x=\"0\" y=\"{}\">{}</text>", y + 17.0, super::html::escape(label)));
        for (k, (value, colour)) in [(without, "#c07a2c"), (alone, "#2a7f62")].into_iter().enumerate() {
            let Some(v) = value else { continue };
            let width = half * v.abs() / max;
            let x = if *v < 0.0 { axis - width } else { axis };
            let ty = y + 11.0 + 12.0 * k as f64;
            svg.push_str(&format!(
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{width:.1}\" height=\"11\" fill=\"{colour}\"/>\
                 <text x=\"{:.1}\" y=\"{ty:.1}\" font-size=\"10\">{v:+.1}%</text>",
                y + 2.0 + 12.0 * k as f64,
                if *v < 0.0 { axis + 4.0 } else { axis - 44.0 },
            ));
        }
    }
    svg.push_str("</svg>");
    svg
}

fn html(report: &Value, tables: &str) -> String {
    let esc = super::html::escape;
    let mut page = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>corolift: ablation</title>\
         <style>body{{font-family:sans-serif;margin:2em}}svg{{font-size:12px;margin:0.5em 1em}}\
         .charts{{display:flex;flex-wrap:wrap}}pre{{font-size:11px}}.failed{{color:#a00}}</style></head><body>\
         <h1>corolift: what each pass buys</h1><p>{} &middot; {} &middot; {} &middot; {} &middot; made by <code>./y.sh compare --ablation{}</code>. \
         Orange: the default without the pass, against the default. Green: the pass alone, against corolift=off. \
         Negative: the row is smaller or faster.</p>",
        esc(report["date"].as_str().unwrap_or_default()),
        esc(report["commit"].as_str().unwrap_or_default()),
        esc(report["machine"].as_str().unwrap_or_default()),
        esc(report["rustc"].as_str().unwrap_or_default()),
        if report["quick"] == true { " --quick" } else { "" },
    );
    if let Some(failures) = report["failures"].as_array().filter(|f| !f.is_empty()) {
        page.push_str("<h2 class=\"failed\">Failures</h2><ul>");
        for f in failures {
            page.push_str(&format!("<li class=\"failed\">{}</li>", esc(f.as_str().unwrap_or_default())));
        }
        page.push_str("</ul>");
    }
    page.push_str(&charts(report));
    page.push_str(&format!("<h2>Tables</h2><pre>{}</pre></body></html>", esc(tables)));
    page
}

/// The ablation's charts, a section per backend and opt-level (also in compare's page).
pub(super) fn charts(report: &Value) -> String {
    let mut page = String::new();
    let rows = report["rows"].as_array().cloned().unwrap_or_default();
    let sections = sections(&rows);
    for (backend, opt) in sections {
        page.push_str(&format!("<h3>{backend} -O{opt}</h3><div class=\"charts\">"));
        let section: Vec<&Value> = rows.iter().filter(|r| r["backend"] == backend.as_str() && r["opt_level"] == opt.as_str()).collect();
        let mut names: Vec<String> = Vec::new();
        for r in &section {
            let name = r["passes"].as_array().map(|p| p.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join("+")).unwrap_or_default();
            if !name.is_empty() && r["kind"] != "not_run" && !names.contains(&name) {
                names.push(name);
            }
        }
        for (group, field, title) in [
            ("benchmarks", "resume_bytes", "benchmarks: resume bytes"),
            ("benchmarks", "instructions", "benchmarks: instructions"),
            ("corpus", "resume_bytes", "corpus: resume bytes"),
            ("corpus", "size_of_total", "corpus: size_of total"),
        ] {
            let bars: Vec<(String, Option<f64>, Option<f64>)> = names
                .iter()
                .map(|name| {
                    let find = |kind: &str| {
                        section
                            .iter()
                            .find(|r| r["kind"] == kind && r["passes"].as_array().map(|p| p.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join("+")).as_deref() == Some(name.as_str()))
                            .and_then(|r| delta(report, r, group, field))
                    };
                    (name.clone(), find("without"), find("alone"))
                })
                .collect();
            page.push_str(&delta_chart(title, &bars));
        }
        page.push_str("</div>");
    }
    page
}
