//! `./y.sh bench --dev`: debug builds as `cargo build` makes them (the dev profile:
//! debug-assertions on, incremental on, `debug = true`) of `benches/compare/tokio_app`, a
//! tokio (`full`) and futures application with four modules of async code, under LLVM,
//! `corolift=off` (stock cg_clif's lowering) and corolift's default:
//! - the whole dependency graph from clean, and an incremental rebuild after one async fn
//!   of the application changed: CPU time of cargo and everything it runs, medians of
//!   interleaved rounds;
//! - rustc's instructions compiling the application crate alone (callgrind, through a
//!   `RUSTC_WRAPPER` that runs only that crate's rustc under valgrind), which repeat
//!   exactly;
//! - the debug binary's instructions (callgrind) and the sizes of its futures, which it
//!   prints;
//! - which passes applied to the application's coroutines in the dev build, from the
//!   report (with debug-assertions on, `returned_arm` and `await_free` decline), and what
//!   each of them buys there: the dev build without it (`corolift=-<pass>`), in the
//!   application crate's resume bytes and frames, the debug binary's instructions and the
//!   futures' sizes.
//!
//! Targets (the research issue): corolift's full-graph CPU time at most `corolift=off`'s
//! × 1.03, and its application-crate instructions at most `corolift=off`'s. Results go to
//! `build/bench/dev/dev.json`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::compile::fresh_dir;
use crate::toolchain::{Dirs, Toolchain};
use crate::util::{Error, Result, callgrind_instructions, median};

/// The application's async fn the incremental rebuild edits: its first statement,
/// and the same statement changed without changing what it computes.
const EDITED_FILE: &str = "src/pipeline.rs";
const ORIGINAL: &str = "let mut rng = Rng::new(0x51_7e ^ seq.wrapping_mul(0x1000_0000_01b3));";
const EDITED: &str = "let mut rng = Rng::new(0x51_7e ^ seq.wrapping_mul(0x1000_0000_01b3) ^ std::hint::black_box(0));";

struct Build {
    name: &'static str,
    cargo: PathBuf,
    rustflags: &'static str,
}

fn copy_project(from: &Path, to: &Path) -> Result<()> {
    for rel in crate::util::files_below(from)? {
        if rel.starts_with("target") {
            continue;
        }
        let dest = to.join(&rel);
        crate::util::create_dir(dest.parent().unwrap())?;
        std::fs::copy(from.join(&rel), &dest).map_err(|e| Error(format!("cannot copy {}: {e}", rel.display())))?;
    }
    Ok(())
}

/// Runs cargo in `project` with `target`; returns the CPU seconds it and its children took.
fn timed_cargo(build: &Build, project: &Path, target: &Path, extra_env: &[(&str, String)]) -> Result<f64> {
    let mut cmd = Command::new(&build.cargo);
    cmd.current_dir(project)
        .args(["build", "--quiet", "--locked", "--offline"])
        .env("CARGO_TARGET_DIR", target)
        .env("RUSTFLAGS", build.rustflags)
        .env_remove("CARGO_INCREMENTAL")
        .env_remove("RUSTC_WRAPPER");
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let before = crate::bench::children_cpu_seconds()?;
    let out = cmd.output().map_err(|e| Error(format!("cannot run cargo: {e}")))?;
    if !out.status.success() {
        return Err(Error(format!("{}: the dev build of tokio_app failed:\n{}", build.name, String::from_utf8_lossy(&out.stderr))));
    }
    Ok(crate::bench::children_cpu_seconds()? - before)
}

fn set_edit(project: &Path, edited: bool) -> Result<()> {
    let path = project.join(EDITED_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| Error(e.to_string()))?;
    let (from, to) = if edited { (ORIGINAL, EDITED) } else { (EDITED, ORIGINAL) };
    if !text.contains(from) && !text.contains(to) {
        return Err(Error(format!("{EDITED_FILE} no longer has the line the incremental rebuild edits: {ORIGINAL}")));
    }
    std::fs::write(&path, text.replace(from, to)).map_err(|e| Error(e.to_string()))
}

/// The instructions of the application crate's rustc, from clean for that crate: a
/// wrapper runs only `--crate-name tokio_app` under callgrind and leaves the count in a file.
fn app_crate_instructions(build: &Build, project: &Path, target: &Path, out: &Path, env: &[(&str, String)]) -> Result<u64> {
    let wrapper = out.join("callgrind-app-wrapper.sh");
    let counts = out.join(format!("app-rustc-{}.txt", build.name.replace(['=', '+'], "_")));
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\n# RUSTC_WRAPPER: the application crate's rustc under callgrind, the rest as they are.\n\
             rustc=\"$1\"; shift\n\
             case \" $* \" in\n\
             *\" --crate-name tokio_app \"*) exec valgrind --tool=callgrind --trace-children=yes --trace-children-skip='*/cc,*/ld,*/ld.*,*/collect2' --callgrind-out-file=/dev/null --log-file=\"{}.%p\" \"$rustc\" \"$@\" ;;\n\
             esac\n\
             exec \"$rustc\" \"$@\"\n",
            counts.display()
        ),
    )
    .map_err(|e| Error(e.to_string()))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).map_err(|e| Error(e.to_string()))?;
    // From clean for the application crate: its artifacts and its incremental state go.
    let clean = Command::new(&build.cargo)
        .envs(env.iter().map(|(k, v)| (*k, v)))
        .current_dir(project)
        .args(["clean", "--quiet", "-p", "tokio_app"])
        .env("CARGO_TARGET_DIR", target)
        .env("RUSTFLAGS", build.rustflags)
        .status()
        .map_err(|e| Error(e.to_string()))?;
    if !clean.success() {
        return Err(Error("cargo clean -p tokio_app failed".into()));
    }
    let _ = std::fs::remove_dir_all(target.join("debug/incremental"));
    let mut env = env.to_vec();
    env.push(("RUSTC_WRAPPER", wrapper.display().to_string()));
    timed_cargo(build, project, target, &env)?;
    // The wrappers in dist/ are scripts that exec rustc: valgrind follows the exec (and not
    // the linker); every process's count is summed.
    let prefix = format!("{}.", counts.file_name().unwrap().to_string_lossy());
    let mut total = 0;
    for entry in std::fs::read_dir(out).map_err(|e| Error(e.to_string()))?.flatten() {
        if !entry.file_name().to_string_lossy().starts_with(&prefix) {
            continue;
        }
        let log = std::fs::read_to_string(entry.path()).unwrap_or_default();
        total += log
            .lines()
            .filter_map(|l| l.split_once("Collected :").and_then(|(_, n)| n.trim().parse::<u64>().ok()))
            .sum::<u64>();
        let _ = std::fs::remove_file(entry.path());
    }
    if total == 0 {
        return Err(Error(format!("no instruction count in {}", counts.display())));
    }
    Ok(total)
}

/// Runs the debug binary in `target` under callgrind: its instructions, the future sizes
/// it prints (`size_of <name> <bytes>`) and the rest of its output.
fn run_debug_binary(name: &str, target: &Path) -> Result<(Option<u64>, BTreeMap<String, u64>, String)> {
    let run = Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(target.join("debug/tokio_app"))
        .output()
        .map_err(|e| Error(format!("cannot run valgrind: {e}")))?;
    if !run.status.success() {
        return Err(Error(format!("{name}: the debug binary failed: {}", String::from_utf8_lossy(&run.stderr))));
    }
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    let sizes = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("size_of ").and_then(|r| r.split_once(' ')).and_then(|(n, b)| Some((n.to_string(), b.parse().ok()?))))
        .collect();
    let summary = stdout.lines().filter(|l| !l.starts_with("size_of ")).collect::<Vec<_>>().join("\n");
    Ok((callgrind_instructions(&String::from_utf8_lossy(&run.stderr)), sizes, summary))
}

/// A dev build of the whole graph with corolift and `flags` (a report among them), not
/// timed; returns the application crate's resume bytes and frames from the report.
fn reported_build(cargo: &Path, project: &Path, target: &Path, report: &Path, flags: &str) -> Result<(u64, u64)> {
    let _ = std::fs::remove_file(report);
    let rustflags = format!("{flags} -Cllvm-args=corolift-report={}", report.display());
    let status = Command::new(cargo)
        .current_dir(project)
        .args(["build", "--quiet", "--locked", "--offline"])
        .env("CARGO_TARGET_DIR", target)
        .env("RUSTFLAGS", rustflags.trim())
        .env_remove("RUSTC_WRAPPER")
        .status()
        .map_err(|e| Error(e.to_string()))?;
    if !status.success() {
        return Err(Error(format!("the dev build with `{flags}` failed")));
    }
    let lines = crate::report_lines::read(report).map_err(Error)?;
    let app = lines.iter().filter(|v| v["crate"] == "tokio_app");
    let (bytes, frames) = app.fold((0, 0), |(b, f), v| (b + v["resume_bytes"].as_u64().unwrap_or(0), f + v["frame_bytes"].as_u64().unwrap_or(0)));
    Ok((bytes, frames))
}

/// What each pass that applied in the dev build buys there: the dev build without it
/// (`corolift=-<pass>`) against the default, in the application crate's resume bytes and
/// frames, the debug binary's instructions and the futures' sizes.
fn without_each_pass(cargo: &Path, project: &Path, out: &Path, passes: &[String], default: &Value) -> Result<Vec<Value>> {
    let mut rows = Vec::new();
    for (i, pass) in passes.iter().enumerate() {
        eprintln!("[dev] ({}/{}) the dev build without {pass}", i + 1, passes.len());
        let target = out.join("target-without");
        let (bytes, frames) = reported_build(cargo, project, &target, &out.join("report-without.jsonl"), &format!("-Cllvm-args=corolift=-{pass}"))?;
        let (instructions, sizes, summary) = run_debug_binary(pass, &target)?;
        if summary != default["output"].as_str().unwrap_or_default() {
            return Err(Error(format!("the dev build without {pass} prints something else than the default's")));
        }
        rows.push(json!({
            "without": pass, "app_resume_bytes": bytes, "app_frame_bytes": frames,
            "debug_binary_instructions": instructions, "size_of_sum": sizes.values().sum::<u64>(),
        }));
    }
    Ok(rows)
}

pub fn dev_builds(dirs: &Dirs, toolchain: &Toolchain, rounds: usize) -> Result<()> {
    let out = fresh_dir(dirs.build.join("bench/dev"));
    let project = out.join("tokio_app");
    copy_project(&dirs.root.join("benches/compare/tokio_app"), &project)?;
    let builds = [
        Build { name: "llvm", cargo: toolchain.cargo.clone(), rustflags: "" },
        Build { name: "corolift=off", cargo: dirs.dist.join("cargo-corolift"), rustflags: "-Cllvm-args=corolift=off" },
        Build { name: "corolift", cargo: dirs.dist.join("cargo-corolift"), rustflags: "" },
    ];
    // cargo from the toolchain for LLVM: RUSTC and the library path as `llvm_cargo` sets them.
    let llvm_env: Vec<(&str, String)> = vec![
        ("RUSTC", toolchain.rustc.display().to_string()),
        ("LD_LIBRARY_PATH", toolchain.sysroot.join("lib").display().to_string()),
    ];
    let env_of = |b: &Build| if b.name == "llvm" { llvm_env.clone() } else { Vec::new() };
    let target_of = |b: &Build| out.join(format!("target-{}", b.name.replace('=', "_")));

    let mut clean: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut incremental: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    eprintln!("[dev] tokio_app, dev profile: {rounds} rounds x {} builds (clean graph, then one async fn edited)", builds.len());
    for round in 0..rounds {
        let mut order: Vec<&Build> = builds.iter().collect();
        order.rotate_left(round % builds.len());
        for build in order {
            let target = target_of(build);
            let _ = std::fs::remove_dir_all(&target);
            set_edit(&project, false)?;
            let full = timed_cargo(build, &project, &target, &env_of(build))?;
            set_edit(&project, true)?;
            let rebuild = timed_cargo(build, &project, &target, &env_of(build))?;
            set_edit(&project, false)?;
            eprintln!("[dev] round {}/{rounds}: {}: clean {full:.2} s CPU, after the edit {rebuild:.2} s CPU", round + 1, build.name);
            clean.entry(build.name).or_default().push(full);
            incremental.entry(build.name).or_default().push(rebuild);
        }
    }

    let mut rows = Vec::new();
    for build in &builds {
        let target = target_of(build);
        eprintln!("[dev] {}: the application crate's rustc under callgrind, the debug binary under callgrind", build.name);
        let app_instructions = app_crate_instructions(build, &project, &target, &out, &env_of(build))?;
        let (run_instructions, sizes, summary) = run_debug_binary(build.name, &target)?;
        rows.push(json!({
            "build": build.name,
            "clean_cpu_seconds": clean[build.name],
            "clean_cpu_median": median(&clean[build.name]),
            "incremental_cpu_seconds": incremental[build.name],
            "incremental_cpu_median": median(&incremental[build.name]),
            "app_crate_rustc_instructions": app_instructions,
            "debug_binary_instructions": run_instructions,
            "future_sizes": sizes,
            "output": summary,
        }));
    }
    let outputs: Vec<&str> = rows.iter().filter_map(|r| r["output"].as_str()).collect();
    if outputs.windows(2).any(|w| w[0] != w[1]) {
        return Err(Error(format!("the debug binaries print different things:\n{}", outputs.join("\n----\n"))));
    }

    // Which passes applied to the application's coroutines in the dev build.
    let report = out.join("report.jsonl");
    let corolift_cargo = builds[2].cargo.clone();
    let (app_bytes, app_frames) = reported_build(&corolift_cargo, &project, &out.join("target-report"), &report, "")?;
    let mut applied: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for v in crate::report_lines::read(&report).map_err(Error)? {
        if v["crate"] != "tokio_app" {
            continue;
        }
        for p in v["passes"].as_array().into_iter().flatten() {
            let entry = applied.entry(p["pass"].as_str().unwrap_or_default().to_string()).or_default();
            if p["applied"] == true { entry.0 += 1 } else { entry.1 += 1 }
        }
    }

    let row = |name: &str| rows.iter().find(|r| r["build"] == name).cloned().unwrap_or(Value::Null);
    let applied_passes: Vec<String> = applied.iter().filter(|(_, (yes, _))| *yes > 0).map(|(p, _)| p.clone()).collect();
    let without = without_each_pass(&corolift_cargo, &project, &out, &applied_passes, &row("corolift"))?;
    let (llvm, off, ours) = (row("llvm"), row("corolift=off"), row("corolift"));
    let f = |v: &Value, k: &str| v[k].as_f64().unwrap_or(f64::NAN);
    println!("\ndev profile, benches/compare/tokio_app (tokio full + futures), CPU medians of {rounds} interleaved rounds");
    println!("{:<14} {:>10} {:>13} {:>16} {:>16} {:>16}", "build", "clean s", "after edit s", "app rustc instr", "debug run instr", "size_of sum/max");
    for r in &rows {
        let sizes: Vec<u64> = r["future_sizes"].as_object().into_iter().flatten().filter_map(|(_, v)| v.as_u64()).collect();
        println!(
            "{:<14} {:>10.2} {:>13.2} {:>16} {:>16} {:>16}",
            r["build"].as_str().unwrap_or_default(),
            f(r, "clean_cpu_median"),
            f(r, "incremental_cpu_median"),
            r["app_crate_rustc_instructions"],
            r["debug_binary_instructions"],
            format!("{}/{}", sizes.iter().sum::<u64>(), sizes.iter().max().unwrap_or(&0)),
        );
    }
    println!("size_of per future: {}", rows.iter().map(|r| format!("{} {}", r["build"].as_str().unwrap_or_default(), r["future_sizes"])).collect::<Vec<_>>().join("; "));
    println!("passes on the application's coroutines in the dev build (applied / declined):");
    for (pass, (yes, no)) in &applied {
        println!("  {pass:<20} {yes:>4} / {no}");
    }
    let clean_ratio = f(&ours, "clean_cpu_median") / f(&off, "clean_cpu_median");
    let instr_ratio = f(&ours, "app_crate_rustc_instructions") / f(&off, "app_crate_rustc_instructions");
    let default_instructions = row("corolift")["debug_binary_instructions"].as_f64().unwrap_or(f64::NAN);
    let default_sizes: u64 = row("corolift")["future_sizes"].as_object().into_iter().flatten().filter_map(|(_, v)| v.as_u64()).sum();
    println!(
        "what each pass buys in the dev build (the default without it; the default: app resume bytes {app_bytes}, frames {app_frames}, \
         debug-binary instructions {default_instructions}, size_of sum {default_sizes}):"
    );
    println!("  {:<20} {:>18} {:>16} {:>26} {:>12}", "without", "app resume B", "app frames B", "debug run instructions", "size_of sum");
    let pct = |v: &Value, base: f64| if base > 0.0 { format!("{v} ({:+.1}%)", 100.0 * (v.as_f64().unwrap_or(0.0) - base) / base) } else { v.to_string() };
    for w in &without {
        println!(
            "  {:<20} {:>18} {:>16} {:>26} {:>12}",
            w["without"].as_str().unwrap_or_default(),
            pct(&w["app_resume_bytes"], app_bytes as f64),
            pct(&w["app_frame_bytes"], app_frames as f64),
            pct(&w["debug_binary_instructions"], default_instructions),
            w["size_of_sum"],
        );
    }
    println!(
        "corolift against LLVM: clean {:.3}×, after the edit {:.3}× (CPU); against corolift=off: clean {clean_ratio:.3}×, after the edit {:.3}×, app crate instructions {instr_ratio:.4}×",
        f(&ours, "clean_cpu_median") / f(&llvm, "clean_cpu_median"),
        f(&ours, "incremental_cpu_median") / f(&llvm, "incremental_cpu_median"),
        f(&ours, "incremental_cpu_median") / f(&off, "incremental_cpu_median"),
    );
    let checks = [
        (clean_ratio <= 1.03, format!("full-graph CPU {clean_ratio:.3}× corolift=off's (want <= 1.03)")),
        (instr_ratio <= 1.0, format!("application crate's rustc instructions {instr_ratio:.4}× corolift=off's (want <= 1)")),
    ];
    println!("targets:");
    for (ok, text) in &checks {
        println!("  [{}] {text}", if *ok { "ok" } else { "MISSED" });
    }
    let path = out.join("dev.json");
    std::fs::write(&path, serde_json::to_string_pretty(&json!({ "rounds": rounds, "builds": rows, "passes": applied, "without_each_pass": without, "default_app_resume_bytes": app_bytes, "default_app_frame_bytes": app_frames })).unwrap())
        .map_err(|e| Error(e.to_string()))?;
    println!("\nwritten: {}", path.display());
    let missed = checks.iter().filter(|(ok, _)| !ok).count();
    if missed > 0 {
        return Err(Error(format!("{missed} target(s) missed")));
    }
    Ok(())
}
