//! `./y.sh compare`: corolift against rustc's LLVM path and stock cg_clif, side by side.
//!
//! Every benchmark of `benches/compare/` is built under eight configurations from one
//! backend build: LLVM at -O0, -O3 and -Oz, stock cg_clif (`corolift=off`) at -O0 and -O3,
//! corolift's default at -O0 and -O3, and every corolift pass (`corolift=all`, which adds
//! `inline_child`) at -O3, all with debug-assertions off. For each build it records:
//! - per coroutine: resume-function bytes (symbol sizes), dispatch states and `size_of`
//!   (from `corolift-report`; rustc's layout does not depend on the backend, so LLVM's
//!   figures are stock cg_clif's, and LLVM's bytes are its symbol's size or "inlined");
//! - the `.text` bytes of the executable;
//! - the instructions the benchmark executes (callgrind, exact run to run), with the
//!   ratio to LLVM -O3 and to the hand-written state machine built the same way; the
//!   two must print the same output;
//! - compile time: the median of several runs, and ratios taken within this run.
//! The tokio application (a cargo project) is measured for size and compile time (one
//! build of the whole graph, and the median of five rebuilds of the application crate),
//! and its coroutines are counted over every crate of its dependency graph.
//!
//! Output: a table on stdout, progress on stderr, `build/compare/report.json` and
//! `build/compare/report.html` (SVG bar charts, no network needed). A build that fails is
//! reported in its row and the others go on.

mod ablation;
pub mod firmware;
mod html;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use serde_json::{Value, json};

use crate::compile::{Backend, BuildConfig, Directives, compile_program, fresh_dir, run_program, symbol_sizes};
use crate::toolchain::{Dirs, Toolchain};
use crate::util::{Error, Result, callgrind_instructions, describe, median};

pub struct Options {
    pub quick: bool,
    /// `--ablation`: each pass without and alone instead of the comparison ([`ablation`]).
    pub ablation: bool,
    /// Where the report goes (`build/compare` unless a test suite says otherwise).
    pub out_dir: Option<std::path::PathBuf>,
}

impl Options {
    pub fn parse(args: &[String]) -> Result<Options> {
        let mut options = Options { quick: false, ablation: false, out_dir: None };
        for arg in args {
            match arg.as_str() {
                "--quick" => options.quick = true,
                "--ablation" => options.ablation = true,
                other => return Err(Error(format!("unknown compare option `{other}` (see ./y.sh help)"))),
            }
        }
        Ok(options)
    }
}

/// The eight builds, in table order.
fn configurations() -> Vec<BuildConfig> {
    vec![
        BuildConfig::new("llvm-O0", Backend::Llvm, "0"),
        BuildConfig::new("llvm-O3", Backend::Llvm, "3"),
        BuildConfig::new("llvm-Oz", Backend::Llvm, "z"),
        BuildConfig::corolift("stock-O0", &["corolift=off"], "0"),
        BuildConfig::corolift("stock-O3", &["corolift=off"], "3"),
        BuildConfig::corolift("corolift-O0", &[], "0"),
        BuildConfig::corolift("corolift-O3", &[], "3"),
        // Every pass, inline_child on every child.
        BuildConfig::corolift("corolift-all-O3", &["corolift=all"], "3"),
        // corolift's lowering with LLVM's code generation (dist/rustc-corolift-llvm).
        BuildConfig::corolift_llvm("llvm+corolift-O0", &[], "0"),
        BuildConfig::corolift_llvm("llvm+corolift-O3", &[], "3"),
        BuildConfig::corolift_llvm("llvm+corolift-Oz", &[], "z"),
    ]
}

/// Is `name` a build by plain rustc with LLVM (no report: its coroutines are rustc's, the
/// same as stock cg_clif's)?
fn plain_llvm(name: &str) -> bool {
    name.starts_with("llvm-")
}

/// A runtime benchmark: an async program and its hand-written twin.
struct Benchmark {
    name: &'static str,
    iterations: u32,
}

fn benchmarks(quick: bool) -> Vec<Benchmark> {
    let n = if quick { 1_000 } else { 10_000 };
    // `sizes` copies megabytes per run under rustc's layout (it is what it measures): a few
    // runs give its instruction counts.
    let sizes_runs = if quick { 5 } else { 20 };
    // chain16 and chain48 mark every level `#[inline(never)]`, which LLVM honours and
    // corolift's splicing does not: the `_plain` chains, without inline attributes, are the
    // fair comparison, and the marked ones a separately labelled variant.
    let all = [
        ("seed", n),
        ("chain16_plain", n),
        ("chain48_plain", n),
        ("chain16", n),
        ("chain48", n),
        ("protocol", n),
        ("select_join", n),
        ("sizes", sizes_runs),
    ];
    all.into_iter()
        .filter(|(name, _)| !quick || matches!(*name, "seed" | "chain16"))
        .map(|(name, iterations)| Benchmark { name, iterations })
        .collect()
}

/// What one build of one program gave.
#[derive(Default)]
struct BuildFigures {
    error: Option<String>,
    compile_seconds: Vec<f64>,
    text_bytes: Option<u64>,
    coroutines: Vec<Value>,
    instructions: Option<u64>,
    manual_instructions: Option<u64>,
    output: Option<String>,
    /// Symbol sizes of the executable (for LLVM's resume functions).
    symbols: BTreeMap<String, u64>,
    /// LLVM's stack frames of the resume functions it kept, read from their prologues.
    llvm_frames: BTreeMap<String, u64>,
    /// `size_of <name>: <bytes>` lines the program printed (the `sizes` benchmark), and its
    /// hand-written twin's.
    printed_sizes: Vec<(String, u64)>,
    manual_printed_sizes: Vec<(String, u64)>,
}

impl BuildFigures {
    fn failed(why: String) -> BuildFigures {
        BuildFigures { error: Some(why), ..Default::default() }
    }

    fn median_seconds(&self) -> Option<f64> {
        median(&self.compile_seconds)
    }

    fn resume_bytes(&self) -> Option<u64> {
        (!self.coroutines.is_empty()).then(|| self.coroutines.iter().filter_map(|c| c["resume_bytes"].as_u64()).sum())
    }
}

pub fn compare(dirs: &Dirs, toolchain: &Toolchain, options: &Options) -> Result<()> {
    // The ablation's own folder: a full comparison, which empties build/compare, includes
    // the latest ablation of the same compilers from there.
    let ablation_dir = options.out_dir.as_ref().map_or_else(|| dirs.build.join("ablation"), |d| d.join("ablation"));
    if options.ablation {
        return ablation::ablation(dirs, toolchain, &ablation_dir, &ablation::AblationOptions { quick: options.quick });
    }
    let out = fresh_dir(options.out_dir.clone().unwrap_or_else(|| dirs.build.join("compare")));
    let bench_dir = dirs.root.join("benches/compare");
    let configs = configurations();
    // One untimed build writes the report; the rest are timed (five in a full run).
    let compile_runs = if options.quick { 2 } else { 6 };
    let started = Instant::now();
    // The checkout as the run starts, which its compilers were built from.
    let commit = commit();
    let mut results: Vec<(String, Vec<(String, BuildFigures)>)> = Vec::new();

    for bench in benchmarks(options.quick) {
        let mut rows = Vec::new();
        for config in &configs {
            let label = format!("{} {}", bench.name, config.name);
            eprintln!("[compare] {label} ({:.0} s)", started.elapsed().as_secs_f64());
            let figures = measure_program(dirs, toolchain, &bench_dir, &out, &bench, config, compile_runs)
                .unwrap_or_else(|why| {
                    eprintln!("[compare] {label}: FAILED: {}", why.lines().next().unwrap_or_default());
                    BuildFigures::failed(why)
                });
            rows.push((config.name.to_string(), figures));
        }
        check_same_output(&mut rows);
        results.push((bench.name.to_string(), rows));
    }

    let tokio = if options.quick {
        None
    } else {
        Some(measure_tokio(dirs, toolchain, &bench_dir.join("tokio_echo"), &out, &configs, &started))
    };

    let firmware = if options.quick { None } else { Some(firmware::measure(dirs, toolchain, &out, &started)) };

    let mut report = build_report(&results, tokio.as_ref(), options);
    report["commit"] = json!(commit);
    if let Some(rows) = &firmware {
        report["firmware"] = Value::Array(
            rows.iter()
                .map(|(label, v)| {
                    let mut v = v.clone();
                    v["build"] = json!(label);
                    v
                })
                .collect(),
        );
        for (label, v) in rows {
            if let Some(err) = v["error"].as_str() {
                report["failures"].as_array_mut().unwrap().push(json!(format!("firmware {label}: {}", err.lines().next().unwrap_or_default())));
            }
        }
    }
    let mut tables = tables(&report);
    if !options.quick {
        tables.push_str(&include_ablation(dirs, &ablation_dir, &mut report));
    }
    print!("{tables}");
    write_results(&out, &report, &tables)?;
    let json_path = out.join("report.json");
    std::fs::write(&json_path, serde_json::to_string_pretty(&report).unwrap())
        .map_err(|e| Error(format!("cannot write {}: {e}", json_path.display())))?;
    let html_path = out.join("report.html");
    std::fs::write(&html_path, html::render(&report)).map_err(|e| Error(format!("cannot write {}: {e}", html_path.display())))?;
    println!("\nwritten: {}\n         {}", json_path.display(), html_path.display());
    eprintln!("[compare] done in {:.0} s", started.elapsed().as_secs_f64());
    let failed: Vec<String> = report["failures"].as_array().into_iter().flatten().filter_map(|v| v.as_str().map(String::from)).collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Error(format!("{} build(s) or check(s) failed: {}", failed.len(), failed.join("; "))))
    }
}

/// Builds `<bench>.rs` and `<bench>_manual.rs` under `config` and measures them.
fn measure_program(
    dirs: &Dirs,
    toolchain: &Toolchain,
    bench_dir: &Path,
    out: &Path,
    bench: &Benchmark,
    config: &BuildConfig,
    compile_runs: usize,
) -> std::result::Result<BuildFigures, String> {
    let source = bench_dir.join(format!("{}.rs", bench.name));
    let manual = bench_dir.join(format!("{}_manual.rs", bench.name));
    let directives = Directives::of_file(&source)?;
    let exe = out.join(format!("{}-{}", bench.name, config.name));
    let manual_exe = out.join(format!("{}_manual-{}", bench.name, config.name));
    let report = exe.with_extension("jsonl");
    let lowers_with_report = config.reports();
    let mut figures = BuildFigures::default();

    for run in 0..compile_runs {
        let mut extra = vec!["-Cdebug-assertions=off".to_string()];
        if run == 0 && lowers_with_report {
            let _ = std::fs::remove_file(&report);
            extra.push(format!("-Cllvm-args=corolift-report={}", report.display()));
        }
        let start = Instant::now();
        compile_program(dirs, toolchain, config, &source, &directives, &exe, &extra)?;
        // The first build also writes the report; only the later ones are timed when
        // there are several, so the report's file writes are not in the figures.
        if run > 0 || compile_runs == 1 {
            figures.compile_seconds.push(start.elapsed().as_secs_f64());
        }
    }
    compile_program(dirs, toolchain, config, &manual, &Directives::default(), &manual_exe, &["-Cdebug-assertions=off".to_string()])?;

    figures.text_bytes = Some(text_bytes(&exe)?);
    let symbols: BTreeMap<String, u64> = symbol_sizes(&exe)?.into_iter().collect();
    figures.symbols = symbols;
    if matches!(config.backend, Backend::Llvm | Backend::CoroliftLlvm(_)) {
        // LLVM reports no frames: they are read off the prologues of the resume functions it
        // kept.
        figures.llvm_frames = prologue_frames(&exe)?;
    }
    if lowers_with_report {
        if !report.exists() {
            return Err(format!("no report at {}", report.display()));
        }
        for v in crate::report_lines::read(&report)? {
            let (resume_bytes, frame_bytes) = code_figures(&v, &figures.symbols, &figures.llvm_frames);
            figures.coroutines.push(json!({
                "symbol": v["symbol"], "function": v["function"], "kind": v["kind"],
                "states": v["states_after"], "suspend_states": v["suspend_states_after"],
                "size_of": v["size_after"], "resume_bytes": resume_bytes,
                "frame_bytes": frame_bytes, "absorbed": v["absorbed"],
            }));
        }
    }

    let args = vec![bench.iterations.to_string()];
    let (output, instructions) = callgrind(&exe, &args, out)?;
    let (manual_output, manual_instructions) = callgrind(&manual_exe, &args, out)?;
    figures.printed_sizes = printed_sizes(&output);
    figures.manual_printed_sizes = printed_sizes(&manual_output);
    let (output, manual_output) = (without_sizes(&output), without_sizes(&manual_output));
    if output != manual_output {
        return Err(format!(
            "{} and {} print different output:\n{output}\nvs\n{manual_output}",
            source.display(),
            manual.display()
        ));
    }
    figures.output = Some(output);
    figures.instructions = Some(instructions);
    figures.manual_instructions = Some(manual_instructions);
    Ok(figures)
}

/// A report line's resume bytes and frame. The LLVM driver's lines carry neither: then the
/// symbol's size in the executable (none when LLVM inlined it) and its prologue's frame.
pub(super) fn code_figures(line: &Value, symbols: &BTreeMap<String, u64>, llvm_frames: &BTreeMap<String, u64>) -> (Value, Value) {
    let symbol = line["symbol"].as_str().unwrap_or_default();
    let or_else = |field: &str, fallback: &BTreeMap<String, u64>| match &line[field] {
        Value::Null => fallback.get(symbol).map_or(Value::Null, |&b| json!(b)),
        known => known.clone(),
    };
    (or_else("resume_bytes", symbols), or_else("frame_bytes", llvm_frames))
}

/// The `size_of <name>: <bytes>` lines of a program's output.
fn printed_sizes(output: &str) -> Vec<(String, u64)> {
    output
        .lines()
        .filter_map(|line| {
            let (name, bytes) = line.strip_prefix("size_of ")?.split_once(": ")?;
            Some((name.to_string(), bytes.trim().parse().ok()?))
        })
        .collect()
}

/// A program's output without its `size_of` lines, which legitimately differ between
/// compilers (the rest must not).
pub(super) fn without_sizes(output: &str) -> String {
    output.lines().filter(|l| !l.starts_with("size_of ")).map(|l| format!("{l}\n")).collect()
}

/// Every configuration of one benchmark must print what LLVM -O0 printed.
fn check_same_output(rows: &mut [(String, BuildFigures)]) {
    let reference = rows.iter().find_map(|(_, f)| f.output.clone());
    let Some(reference) = reference else { return };
    for (name, figures) in rows.iter_mut() {
        if let Some(output) = &figures.output
            && *output != reference
        {
            figures.error = Some(format!("{name} printed something else than the first build:\n{output}\nvs\n{reference}"));
        }
    }
}

/// Frame and size figures over a build's coroutines (each symbol once).
struct MemoryFigures {
    frame_total: Option<u64>,
    frame_max: Option<u64>,
    size_total: Option<u64>,
    size_max: Option<u64>,
}

fn memory_figures(coroutines: &[Value]) -> MemoryFigures {
    let frames: Vec<u64> = coroutines.iter().filter_map(|c| c["frame_bytes"].as_u64()).collect();
    let sizes: Vec<u64> = coroutines.iter().filter_map(|c| c["size_of"].as_u64()).collect();
    MemoryFigures {
        frame_total: (!frames.is_empty()).then(|| frames.iter().sum()),
        frame_max: frames.iter().copied().max(),
        size_total: (!sizes.is_empty()).then(|| sizes.iter().sum()),
        size_max: sizes.iter().copied().max(),
    }
}

/// The stack frame of every function of an LLVM-built executable whose symbol holds a
/// coroutine's resume function (`{closure` in its demangled name), read off its prologue:
/// 8 bytes per `push` and the `sub $N,%rsp` (x86-64; a `push %rbp` that sets up the frame
/// pointer is not counted, as Cranelift's frame layout does not count it). Cranelift
/// builds report their frames from Cranelift's frame layout instead.
pub(super) fn prologue_frames(exe: &Path) -> std::result::Result<BTreeMap<String, u64>, String> {
    let out = Command::new("objdump")
        .args(["-d", "--no-show-raw-insn", "--no-addresses"])
        .arg(exe)
        .output()
        .map_err(|e| format!("cannot run objdump: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut frames = BTreeMap::new();
    let mut current: Option<(String, u64, usize, bool)> = None;
    let finish = |current: &mut Option<(String, u64, usize, bool)>, frames: &mut BTreeMap<String, u64>| {
        if let Some((symbol, bytes, _, _)) = current.take() {
            frames.insert(symbol, bytes);
        }
    };
    for line in text.lines() {
        if let Some(name) = line.strip_prefix('<').and_then(|l| l.strip_suffix(">:")) {
            finish(&mut current, &mut frames);
            current = Some((name.to_string(), 0, 0, false));
            continue;
        }
        let Some((_, bytes, seen, done)) = current.as_mut() else { continue };
        let instruction = line.trim();
        if *done || instruction.is_empty() {
            continue;
        }
        *seen += 1;
        let mut words = instruction.split_whitespace();
        match (words.next(), words.next()) {
            (Some("push"), Some(_)) => *bytes += 8,
            // `push %rbp; mov %rsp,%rbp`: the frame pointer's setup, not frame.
            (Some("mov"), Some("%rsp,%rbp")) => *bytes = bytes.saturating_sub(8),
            (Some("sub"), Some(operand)) if operand.ends_with(",%rsp") => {
                let n = operand.trim_start_matches("$0x").trim_end_matches(",%rsp");
                *bytes += u64::from_str_radix(n, 16).unwrap_or(0);
                *done = true;
            }
            _ => *done = *seen > 8,
        }
    }
    finish(&mut current, &mut frames);
    Ok(frames)
}

/// The `.text` section size of an executable (`size -A`).
pub(super) fn text_bytes(exe: &Path) -> std::result::Result<u64, String> {
    let out = Command::new("size").arg("-A").arg(exe).output().map_err(|e| format!("cannot run size: {e}"))?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| {
            let parts: Vec<&str> = l.split_whitespace().collect();
            (parts.first() == Some(&".text")).then(|| parts.get(1).and_then(|n| n.parse().ok())).flatten()
        })
        .ok_or_else(|| format!("no .text section in {}", exe.display()))
}

/// Runs `exe` under callgrind; returns its stdout and the instructions it executed.
pub(super) fn callgrind(exe: &Path, args: &[String], out: &Path) -> std::result::Result<(String, u64), String> {
    let counts = out.join("callgrind.out");
    let mut cmd = Command::new("valgrind");
    cmd.arg("--tool=callgrind").arg(format!("--callgrind-out-file={}", counts.display())).arg(exe).args(args);
    let output = cmd.output().map_err(|e| format!("cannot run valgrind (is it installed?): {e}"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(format!("`{}` failed ({}):\n{stderr}", describe(&cmd), output.status));
    }
    let collected =
        callgrind_instructions(&stderr).ok_or_else(|| format!("no instruction count from callgrind:\n{stderr}"))?;
    Ok((String::from_utf8_lossy(&output.stdout).into_owned(), collected))
}

/// The tokio application, as a cargo project: sizes, compile time, coroutines per crate.
fn measure_tokio(
    dirs: &Dirs,
    toolchain: &Toolchain,
    project: &Path,
    out: &Path,
    configs: &[BuildConfig],
    started: &Instant,
) -> Vec<(String, Value)> {
    let mut rows = Vec::new();
    let mut reference_output: Option<String> = None;
    for config in configs {
        eprintln!("[compare] tokio_echo {} ({:.0} s)", config.name, started.elapsed().as_secs_f64());
        let result = (|| -> std::result::Result<Value, String> {
            let target = out.join(format!("tokio-{}", config.name));
            let report = out.join(format!("tokio-{}.jsonl", config.name));
            let _ = std::fs::remove_file(&report);
            let cargo_for = |extra_flags: &[String]| {
                let mut cmd = config.cargo(dirs, toolchain, extra_flags);
                cmd.current_dir(project)
                    .args(["build", "--release", "--locked", "--quiet"])
                    .env("CARGO_TARGET_DIR", &target)
                    .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", config.opt_level)
                    .env("CARGO_PROFILE_RELEASE_DEBUG_ASSERTIONS", "false")
                    .env("CARGO_PROFILE_RELEASE_INCREMENTAL", "false");
                cmd
            };
            let report_flag = match config.backend {
                Backend::Llvm => Vec::new(),
                _ => vec![format!("-Cllvm-args=corolift-report={}", report.display())],
            };
            // The whole graph once (with the report), then the application crate alone.
            let start = Instant::now();
            let status = cargo_for(&report_flag).output().map_err(|e| format!("cannot run cargo: {e}"))?;
            if !status.status.success() {
                return Err(format!("cargo build failed:\n{}", String::from_utf8_lossy(&status.stderr)));
            }
            let full_seconds = start.elapsed().as_secs_f64();
            let mut app_seconds = Vec::new();
            for _ in 0..5 {
                let main_rs = project.join("src/main.rs");
                let text = std::fs::read(&main_rs).map_err(|e| e.to_string())?;
                std::fs::write(&main_rs, text).map_err(|e| e.to_string())?;
                let start = Instant::now();
                let status = cargo_for(&report_flag).output().map_err(|e| format!("cannot run cargo: {e}"))?;
                if !status.status.success() {
                    return Err(format!("cargo rebuild failed:\n{}", String::from_utf8_lossy(&status.stderr)));
                }
                app_seconds.push(start.elapsed().as_secs_f64());
            }
            let exe = target.join("release/tokio_echo");
            let run = run_program(&exe, &[])?;
            if run.status != "exit 0" {
                return Err(format!("the echo application ended with {}:\n{}", run.status, run.stdout));
            }
            match &reference_output {
                None => reference_output = Some(run.stdout.clone()),
                Some(reference) if *reference != run.stdout => {
                    return Err(format!("output differs from the first build:\n{}\nvs\n{reference}", run.stdout));
                }
                Some(_) => {}
            }
            let mut per_crate: BTreeMap<String, (u64, u64)> = BTreeMap::new();
            let mut coroutines = Vec::new();
            // Rebuilds of the application crate append its lines again: each symbol once.
            for v in crate::report_lines::read(&report)? {
                let entry = per_crate.entry(v["crate"].as_str().unwrap_or_default().to_string()).or_default();
                entry.0 += 1;
                entry.1 += v["resume_bytes"].as_u64().unwrap_or(0);
                coroutines.push(json!({ "frame_bytes": v["frame_bytes"], "size_of": v["size_after"] }));
            }
            let memory = memory_figures(&coroutines);
            Ok(json!({
                "text_bytes": text_bytes(&exe)?,
                "full_build_seconds": full_seconds,
                "app_rebuild_seconds_median": median(&app_seconds),
                "app_rebuild_seconds": app_seconds,
                "coroutines": per_crate.values().map(|v| v.0).sum::<u64>(),
                // The LLVM driver's report has no code figures (LLVM inlines most of them).
                "resume_bytes": if config.reports() && !matches!(config.backend, Backend::CoroliftLlvm(_)) {
                    json!(per_crate.values().map(|v| v.1).sum::<u64>())
                } else {
                    Value::Null
                },
                "frame_bytes_total": memory.frame_total,
                "frame_bytes_max": memory.frame_max,
                "size_of_total": memory.size_total,
                "size_of_max": memory.size_max,
                "crates": per_crate.iter().map(|(k, v)| json!({"crate": k, "coroutines": v.0, "resume_bytes": v.1})).collect::<Vec<_>>(),
            }))
        })();
        let value = result.unwrap_or_else(|why| {
            eprintln!("[compare] tokio_echo {}: FAILED: {}", config.name, why.lines().next().unwrap_or_default());
            json!({ "error": why })
        });
        rows.push((config.name.to_string(), value));
    }
    rows
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Value {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => json!(a / b),
        _ => Value::Null,
    }
}

fn build_report(results: &[(String, Vec<(String, BuildFigures)>)], tokio: Option<&Vec<(String, Value)>>, options: &Options) -> Value {
    let mut failures = Vec::new();
    let mut benches = Vec::new();
    for (bench, rows) in results {
        let get = |name: &str| rows.iter().find(|(n, _)| n == name).map(|(_, f)| f);
        let llvm_o3_instr = get("llvm-O3").and_then(|f| f.instructions).map(|n| n as f64);
        let llvm_o0_secs = get("llvm-O0").and_then(BuildFigures::median_seconds);
        // LLVM's coroutines are rustc's: take the functions from stock cg_clif's report
        // at the same opt-level, and LLVM's bytes from its own symbols.
        let stock_for = |config: &str| match config {
            "llvm-O0" => get("stock-O0"),
            _ => get("stock-O3"),
        };
        let mut configs = Vec::new();
        for (name, figures) in rows {
            if let Some(err) = &figures.error {
                failures.push(format!("{bench} {name}: {}", err.lines().next().unwrap_or_default()));
            }
            let coroutines: Vec<Value> = if plain_llvm(name) {
                stock_for(name)
                    .map(|stock| {
                        stock
                            .coroutines
                            .iter()
                            .map(|c| {
                                let mut c = c.clone();
                                // LLVM's own symbol, if it kept one (it often inlines them).
                                let symbol = c["symbol"].as_str().unwrap_or_default().to_string();
                                c["resume_bytes"] = figures.symbols.get(&symbol).map_or(Value::Null, |&b| json!(b));
                                c["frame_bytes"] = figures.llvm_frames.get(&symbol).map_or(Value::Null, |&b| json!(b));
                                c["absorbed"] = json!([]);
                                c
                            })
                            .collect()
                    })
                    .unwrap_or_default()
            } else {
                figures.coroutines.clone()
            };
            let resume_bytes = if name.starts_with("llvm") {
                // LLVM keeps few resume functions (it inlines them): the ones it kept.
                let kept: Vec<u64> = coroutines.iter().filter_map(|c| c["resume_bytes"].as_u64()).collect();
                (!kept.is_empty()).then(|| kept.iter().sum::<u64>())
            } else {
                figures.resume_bytes()
            };
            let memory = memory_figures(&coroutines);
            configs.push(json!({
                "config": name,
                "error": figures.error,
                "frame_bytes_total": memory.frame_total,
                "frame_bytes_max": memory.frame_max,
                "size_of_total": memory.size_total,
                "size_of_max": memory.size_max,
                "compile_seconds": figures.compile_seconds,
                "compile_seconds_median": figures.median_seconds(),
                "compile_ratio_to_llvm_O0": ratio(figures.median_seconds(), llvm_o0_secs),
                "text_bytes": figures.text_bytes,
                "resume_bytes": resume_bytes,
                "coroutines": coroutines,
                "instructions": figures.instructions,
                "instructions_ratio_to_llvm_O3": ratio(figures.instructions.map(|n| n as f64), llvm_o3_instr),
                "manual_instructions": figures.manual_instructions,
                "printed_sizes": figures.printed_sizes.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<String, Value>>(),
                "manual_printed_sizes": figures.manual_printed_sizes.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<String, Value>>(),
                "instructions_ratio_to_manual": ratio(figures.instructions.map(|n| n as f64), figures.manual_instructions.map(|n| n as f64)),
            }));
        }
        benches.push(json!({ "benchmark": bench, "configs": configs }));
    }
    let tokio_value = tokio.map(|rows| {
        for (name, v) in rows {
            if let Some(err) = v["error"].as_str() {
                failures.push(format!("tokio_echo {name}: {}", err.lines().next().unwrap_or_default()));
            }
        }
        // LLVM builds write no report; their coroutines are rustc's, the same as stock
        // cg_clif's at the same opt-level, but their bytes are unknown (often inlined).
        let stock = |name: &str| rows.iter().find(|(n, _)| n == name).map(|(_, v)| v["coroutines"].clone());
        Value::Array(
            rows.iter()
                .map(|(name, v)| {
                    let mut v = v.clone();
                    v["config"] = json!(name);
                    if plain_llvm(name) && v["error"].is_null() {
                        let same = if name == "llvm-O0" { "stock-O0" } else { "stock-O3" };
                        v["coroutines"] = stock(same).unwrap_or(Value::Null);
                        v["resume_bytes"] = Value::Null;
                        // rustc's layouts do not depend on the backend: stock's sizes.
                        for field in ["size_of_total", "size_of_max"] {
                            v[field] = rows.iter().find(|(n, _)| n == same).map_or(Value::Null, |(_, s)| s[field].clone());
                        }
                    }
                    v
                })
                .collect(),
        )
    });
    json!({
        "date": today(),
        "commit": commit(),
        "machine": machine(),
        "rustc": rustc_version(),
        "quick": options.quick,
        "benchmarks": benches,
        "tokio_echo": tokio_value,
        "failures": failures,
    })
}

pub(super) fn today() -> String {
    Command::new("date").arg("+%Y-%m-%d").output().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()).unwrap_or_default()
}

/// The commit the comparison ran on, marked when the working tree had changes.
pub(super) fn commit() -> String {
    let out = |args: &[&str]| Command::new("git").args(args).output().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()).unwrap_or_default();
    let hash = out(&["rev-parse", "--short", "HEAD"]);
    let dirty = !out(&["status", "--porcelain", "--untracked-files=no"]).is_empty();
    if dirty { format!("{hash} with uncommitted changes") } else { hash }
}

/// Cores, CPU model and system of this machine.
pub(super) fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo.lines().find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, m)| m.trim().to_string()));
    let system = Command::new("uname").args(["-sm"]).output().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()).unwrap_or_default();
    format!("{cores} cores, {}, {system}", model.unwrap_or_else(|| "unknown CPU".into()))
}

/// The one-screen summary, per benchmark at -O3: corolift's instructions against LLVM's
/// and stock cg_clif's, the LLVM driver's against LLVM's, and resume bytes, the largest
/// frame and the futures' total size, stock cg_clif against corolift. The first row is
/// the header.
pub(crate) fn summary(report: &Value) -> Vec<Vec<String>> {
    let mut rows = vec![
        [
            "benchmark",
            "corolift / LLVM -O3",
            "corolift / stock",
            "LLVM+corolift / LLVM -O3",
            "resume B stock → corolift",
            "largest frame stock → corolift",
            "size_of total stock → corolift",
        ]
        .map(String::from)
        .to_vec(),
    ];
    let ratio = |a: &Value, b: &Value| match (a.as_f64(), b.as_f64()) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
        _ => "-".into(),
    };
    for bench in report["benchmarks"].as_array().into_iter().flatten() {
        let configs = bench["configs"].as_array().cloned().unwrap_or_default();
        let find = |name: &str| configs.iter().find(|c| c["config"] == name).cloned().unwrap_or(Value::Null);
        let (llvm, stock, ours, driver) = (find("llvm-O3"), find("stock-O3"), find("corolift-O3"), find("llvm+corolift-O3"));
        let arrow = |field: &str| format!("{} → {}", cell(&stock[field]), cell(&ours[field]));
        rows.push(vec![
            bench["benchmark"].as_str().unwrap_or_default().to_string(),
            ratio(&ours["instructions"], &llvm["instructions"]),
            ratio(&ours["instructions"], &stock["instructions"]),
            ratio(&driver["instructions"], &llvm["instructions"]),
            arrow("resume_bytes"),
            arrow("frame_bytes_max"),
            arrow("size_of_total"),
        ]);
    }
    rows
}

/// The latest `./y.sh compare --ablation` (it takes about an hour, six times this
/// run) goes into the full run's report.json, HTML and results.md when it measured the
/// same compilers (the backend's and the driver's content hashes); otherwise the results
/// say that it is missing or stale and how to make it. Returns its tables, or that note.
fn include_ablation(dirs: &Dirs, ablation_dir: &Path, report: &mut Value) -> String {
    let path = ablation_dir.join("report.json");
    let found: Option<Value> = std::fs::read_to_string(&path).ok().and_then(|text| serde_json::from_str(&text).ok());
    let current = ablation::compilers(dirs);
    match found {
        Some(ablation) if ablation["compilers"] == current && ablation["quick"] == false => {
            let text = ablation::tables(&ablation);
            report["ablation"] = ablation;
            text
        }
        found => {
            let why = match found {
                Some(a) if a["quick"] == true => "the latest ablation is a --quick one".to_string(),
                Some(a) => format!("the latest ablation ({}, commit {}) measured other compilers", a["date"].as_str().unwrap_or("?"), a["commit"].as_str().unwrap_or("?")),
                None => format!("no ablation in {}", ablation_dir.display()),
            };
            report["ablation"] = json!({ "missing": why });
            format!("\n== ablation ==\n{why}: run ./y.sh compare --ablation (about an hour), then this comparison again\n")
        }
    }
}

/// `results.md` beside report.json: where and when the comparison ran, the summary, and
/// every table the run printed, whole. The README's figures are pasted from it.
fn write_results(out: &Path, report: &Value, tables: &str) -> Result<()> {
    let mut text = format!(
        "# corolift: `./y.sh compare`\n\n\
         - date: {}\n- commit: {}\n- toolchain: {}\n- machine: {}\n\n\
         Instructions are callgrind's counts (exact); compile times are medians within this run.\n\n\
         ## Summary (-O3, debug-assertions off)\n\n",
        report["date"].as_str().unwrap_or_default(),
        report["commit"].as_str().unwrap_or_default(),
        report["rustc"].as_str().unwrap_or_default(),
        report["machine"].as_str().unwrap_or_default(),
    );
    for (i, row) in summary(report).iter().enumerate() {
        text.push_str(&format!("| {} |\n", row.join(" | ")));
        if i == 0 {
            text.push_str(&format!("|{}\n", " --- |".repeat(row.len())));
        }
    }
    text.push_str(&format!("\n## Tables\n\n```\n{}\n```\n", tables.trim_matches('\n')));
    let path = out.join("results.md");
    std::fs::write(&path, text).map_err(|e| Error(format!("cannot write {}: {e}", path.display())))?;
    println!("         {}", path.display());
    Ok(())
}

pub(super) fn rustc_version() -> String {
    Command::new("rustc").args(["+nightly", "--version"]).output().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()).unwrap_or_default()
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::Number(n) if n.is_f64() => format!("{:.2}", n.as_f64().unwrap()),
        other => other.to_string(),
    }
}

/// The coroutine of `config` that `function` was spliced into, if one absorbed it.
pub(crate) fn absorbed_by(config: &Value, function: &str) -> Option<String> {
    config["coroutines"].as_array()?.iter().find_map(|c| {
        c["absorbed"]
            .as_array()?
            .iter()
            .any(|a| a.as_str() == Some(function))
            .then(|| c["function"].as_str().unwrap_or_default().to_string())
    })
}

/// The comparison's tables as text: what `./y.sh compare` prints and `results.md` holds.
fn tables(report: &Value) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for bench in report["benchmarks"].as_array().into_iter().flatten() {
        let _ = writeln!(out, "\n== {} ==", bench["benchmark"].as_str().unwrap_or_default());
        let _ = writeln!(
            out,
            "{:<16} {:>9} {:>8} {:>12} {:>8} {:>8} {:>13} {:>15} {:>9} {:>8}",
            "build", "resume B", ".text B", "instructions", "/llvm-O3", "/manual", "frame B sum/max", "size_of sum/max", "compile s", "/llvm-O0"
        );
        for c in bench["configs"].as_array().into_iter().flatten() {
            if let Some(err) = c["error"].as_str() {
                let _ = writeln!(out, "{:<12} FAILED: {}", c["config"].as_str().unwrap_or_default(), err.lines().next().unwrap_or_default());
                continue;
            }
            let _ = writeln!(
            out,
                "{:<16} {:>9} {:>8} {:>12} {:>8} {:>8} {:>15} {:>15} {:>9} {:>8}",
                c["config"].as_str().unwrap_or_default(),
                cell(&c["resume_bytes"]),
                cell(&c["text_bytes"]),
                cell(&c["instructions"]),
                cell(&c["instructions_ratio_to_llvm_O3"]),
                cell(&c["instructions_ratio_to_manual"]),
                format!("{}/{}", cell(&c["frame_bytes_total"]), cell(&c["frame_bytes_max"])),
                format!("{}/{}", cell(&c["size_of_total"]), cell(&c["size_of_max"])),
                cell(&c["compile_seconds_median"]),
                cell(&c["compile_ratio_to_llvm_O0"]),
            );
        }
        // The sizes a benchmark printed itself (`size_of <name>: <bytes>`), per build.
        let configs_list = bench["configs"].as_array().cloned().unwrap_or_default();
        let names: Vec<String> = configs_list
            .iter()
            .find_map(|c| c["printed_sizes"].as_object().filter(|m| !m.is_empty()).map(|m| m.keys().cloned().collect()))
            .unwrap_or_default();
        if !names.is_empty() {
            let _ = writeln!(out, "  {:<26} {}", "size_of (printed)", names.iter().map(|n| format!("{n:>24}")).collect::<String>());
            for c in &configs_list {
                let row: String = names.iter().map(|n| format!("{:>24}", cell(&c["printed_sizes"][n]))).collect();
                let _ = writeln!(out, "  {:<26} {row}", c["config"].as_str().unwrap_or_default());
            }
            if let Some(manual) = configs_list.iter().find(|c| c["manual_printed_sizes"].as_object().is_some_and(|m| !m.is_empty())) {
                let row: String = names.iter().map(|n| format!("{:>24}", cell(&manual["manual_printed_sizes"][n]))).collect();
                let _ = writeln!(out, "  {:<26} {row}", "hand-written");
            }
        }
        // Per coroutine: states, size_of and bytes under stock and corolift at -O3.
        let configs = bench["configs"].as_array().cloned().unwrap_or_default();
        let find = |name: &str| configs.iter().find(|c| c["config"] == name).cloned().unwrap_or(Value::Null);
        let (stock, corolift) = (find("stock-O3"), find("corolift-O3"));
        if let Some(stock_coroutines) = stock["coroutines"].as_array() {
            let _ = writeln!(out, "  {:<40} {:>14} {:>12} {:>16} {:>12}", "coroutine (-O3)", "states", "size_of", "resume bytes", "frame B");
            for sc in stock_coroutines {
                let function = sc["function"].as_str().unwrap_or_default();
                let cc = corolift["coroutines"].as_array().and_then(|cs| cs.iter().find(|c| c["symbol"] == sc["symbol"]).cloned()).unwrap_or(Value::Null);
                if cc.is_null()
                    && let Some(parent) = absorbed_by(&corolift, function)
                {
                    let _ = writeln!(out, "  {:<40} spliced into {parent}", function);
                    continue;
                }
                let _ = writeln!(
            out,
                    "  {:<40} {:>14} {:>12} {:>16} {:>12}",
                    function,
                    format!("{} → {}", cell(&sc["states"]), cell(&cc["states"])),
                    format!("{} → {}", cell(&sc["size_of"]), cell(&cc["size_of"])),
                    format!("{} → {}", cell(&sc["resume_bytes"]), cell(&cc["resume_bytes"])),
                    format!("{} → {}", cell(&sc["frame_bytes"]), cell(&cc["frame_bytes"])),
                );
            }
        }
    }
    if let Some(rows) = report["firmware"].as_array() {
        let _ = writeln!(out, "\n== firmware ({}, size only; the pass rows vary the firmware crate alone) ==", firmware::TARGET);
        let _ = writeln!(out, "{:<44} {:>8} {:>8} {:>6} {:>6} {:>14}", "build", ".text", ".rodata", ".data", ".bss", "task statics");
        for r in rows {
            if let Some(why) = r["skipped"].as_str().or(r["error"].as_str()) {
                let _ = writeln!(out, "{:<44} {}", r["build"].as_str().unwrap_or_default(), why.lines().next().unwrap_or_default());
                continue;
            }
            let _ = writeln!(
            out,
                "{:<44} {:>8} {:>8} {:>6} {:>6} {:>14}",
                r["build"].as_str().unwrap_or_default(),
                cell(&r["text"]),
                cell(&r["rodata"]),
                cell(&r["data"]),
                cell(&r["bss"]),
                cell(&r["task_statics_total"]),
            );
        }
    }
    if let Some(rows) = report["tokio_echo"].as_array() {
        let _ = writeln!(out, "\n== tokio_echo (cargo, whole dependency graph) ==");
        let _ = writeln!(
            out,
            "{:<16} {:>9} {:>11} {:>9} {:>15} {:>15} {:>13} {:>13}",
            "build", ".text B", "coroutines", "resume B", "frame B sum/max", "size_of sum/max", "full build s", "app rebuild s"
        );
        for r in rows {
            if let Some(err) = r["error"].as_str() {
                let _ = writeln!(out, "{:<12} FAILED: {}", r["config"].as_str().unwrap_or_default(), err.lines().next().unwrap_or_default());
                continue;
            }
            let _ = writeln!(
            out,
                "{:<16} {:>9} {:>11} {:>9} {:>15} {:>15} {:>13} {:>13}",
                r["config"].as_str().unwrap_or_default(),
                cell(&r["text_bytes"]),
                cell(&r["coroutines"]),
                cell(&r["resume_bytes"]),
                format!("{}/{}", cell(&r["frame_bytes_total"]), cell(&r["frame_bytes_max"])),
                format!("{}/{}", cell(&r["size_of_total"]), cell(&r["size_of_max"])),
                cell(&r["full_build_seconds"]),
                cell(&r["app_rebuild_seconds_median"]),
            );
        }
    }
    out
}
