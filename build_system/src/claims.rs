//! `./y.sh bench --claims`: the seed article's five claims ("Async Rust never left the MVP
//! state", Tweede golf, 2026), each measured the way the research issue asks, beside the
//! article's figure.
//!
//! | claim | measured as |
//! | --- | --- |
//! | Returned/Poisoned panic arms cost 2–5% of embedded firmware size | `returned_arm` alone against `corolift=off`: the firmware's `.text` and `.rodata` (thumbv7em, `-Copt-level=z`, LLVM driver), and the corpus's resume bytes (Cranelift, -O3) |
//! | state machines of await-free futures cost about 0.2% | `await_free` with `ready_child`, the same way |
//! | collapsing duplicate await states takes a MIR dump from 456 to 302 lines | the MIR of the seed's `dispatch` (the same child awaited in two match arms) in rustc's own `--emit=mir` form, under `corolift=off` and with `merge_states` and `dead_states` |
//! | about 3% runtime on x86 | callgrind instructions of the seed and protocol benchmarks at -O3 with the state passes alone (`returned_arm`, `ready_child`, `merge_states`, `dead_states`, `await_free`) against `corolift=off`, on Cranelift and on the LLVM driver (there also without `returned_arm`, as LLVM's default at -O3 runs them) |
//! | LLVM struggles with nested async code when optimising for size | the await chains (16 and 48 deep, with and without inline attributes) under LLVM -Oz against LLVM -O3, and under the LLVM driver at -Oz |
//!
//! Everything is printed as one table and written to `build/bench/claims.json`.

use std::path::Path;

use serde_json::{Value, json};

use crate::compare::firmware;
use crate::compile::{BuildConfig, compile_file, fresh_dir};
use crate::toolchain::{Dirs, Toolchain};
use crate::util::{Error, Result, callgrind_instructions};

/// The state passes: what the article's "MVP" critique is about.
const STATE_PASSES: &str = "corolift=returned_arm,ready_child,merge_states,dead_states,await_free";
/// The same without `returned_arm`, which LLVM's default at -O3 leaves out (its inlining
/// of a chain of polls uses the panicking Returned arm).
const STATE_PASSES_KEEPING_PANIC: &str = "corolift=ready_child,merge_states,dead_states,await_free";

fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

/// Compiles `program` under `config` (debug-assertions off), with a report; returns the
/// executable's path and the resume bytes the report counts.
fn compile(dirs: &Dirs, toolchain: &Toolchain, config: &BuildConfig, program: &Path, out: &Path) -> Result<(std::path::PathBuf, u64)> {
    let exe = out.join(format!("{}.{}", program.file_stem().unwrap().to_string_lossy(), config.name.replace(['=', ','], "_")));
    let report = exe.with_extension("jsonl");
    let _ = std::fs::remove_file(&report);
    let mut extra = vec!["-Cdebug-assertions=off".to_string()];
    if config.reports() {
        extra.push(format!("-Cllvm-args=corolift-report={}", report.display()));
    }
    compile_file(dirs, toolchain, config, program, &exe, &extra).map_err(Error)?;
    let bytes = crate::report_lines::read(&report).map_err(Error)?.iter().filter_map(|v| v["resume_bytes"].as_u64()).sum();
    Ok((exe, bytes))
}

fn instructions(exe: &Path) -> Result<u64> {
    let out = std::process::Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(exe)
        .output()
        .map_err(|e| Error(format!("cannot run valgrind: {e}")))?;
    callgrind_instructions(&String::from_utf8_lossy(&out.stderr)).ok_or_else(|| Error(format!("no callgrind count for {}", exe.display())))
}

fn percent(part: f64, whole: f64) -> String {
    if whole == 0.0 { "-".into() } else { format!("{:.2}%", 100.0 * part / whole) }
}

/// The corpus's resume bytes at -O3 on Cranelift under `knob`.
fn corpus_bytes(dirs: &Dirs, toolchain: &Toolchain, knob: &str, out: &Path) -> Result<u64> {
    let config = BuildConfig::corolift(leak(format!("corpus-{knob}")), &[knob], "3");
    let mut total = 0;
    for program in &crate::util::corpus_programs(&dirs.root)? {
        total += compile(dirs, toolchain, &config, program, out)?.1;
    }
    Ok(total)
}

/// Lines of `function`'s body in an `--emit=mir` file (from its `fn` line to the closing
/// brace at the start of a line).
fn mir_lines(mir: &str, function: &str) -> Option<usize> {
    let start = mir.lines().position(|l| l.starts_with(&format!("fn {function}(")))?;
    let len = mir.lines().skip(start).position(|l| l == "}")?;
    Some(len + 1)
}

pub fn claims(dirs: &Dirs, toolchain: &Toolchain) -> Result<()> {
    let out = fresh_dir(dirs.build.join("bench/claims"));
    let mut rows: Vec<Value> = Vec::new();

    // 1 and 2: firmware and corpus shares.
    eprintln!("[claims] firmware (thumbv7em, z): LLVM alone, returned_arm alone, await_free with ready_child");
    firmware::ensure_target(toolchain).map_err(Error)?;
    let project = dirs.root.join("benches/firmware");
    let fw = |label: &str, knob: Option<&str>| -> Result<Value> {
        firmware::build(dirs, toolchain, &project, &out.join(format!("firmware-{label}")), knob.is_some(), "z", knob).map_err(Error)
    };
    let llvm = fw("llvm", None)?;
    let returned = fw("returned_arm", Some("corolift=returned_arm"))?;
    let await_free = fw("await_free", Some("corolift=await_free,ready_child"))?;
    let code = |v: &Value| (v["text"].as_u64().unwrap_or(0) + v["rodata"].as_u64().unwrap_or(0)) as f64;
    eprintln!("[claims] corpus (Cranelift, -O3): corolift=off, returned_arm alone, await_free with ready_child");
    let corpus_off = corpus_bytes(dirs, toolchain, "corolift=off", &out)? as f64;
    let corpus_returned = corpus_bytes(dirs, toolchain, "corolift=returned_arm", &out)? as f64;
    let corpus_await_free = corpus_bytes(dirs, toolchain, "corolift=await_free,ready_child", &out)? as f64;
    rows.push(json!({
        "claim": "Returned/Poisoned panic arms cost 2-5% of embedded firmware size",
        "article": "2-5%",
        "measured": format!(
            "firmware .text+.rodata {} ({} B of {} B); .text alone {}; corpus resume bytes {}",
            percent(code(&llvm) - code(&returned), code(&llvm)),
            code(&llvm) - code(&returned),
            code(&llvm),
            percent(llvm["text"].as_f64().unwrap_or(0.0) - returned["text"].as_f64().unwrap_or(0.0), llvm["text"].as_f64().unwrap_or(0.0)),
            percent(corpus_off - corpus_returned, corpus_off),
        ),
    }));
    rows.push(json!({
        "claim": "state machines of await-free futures cost about 0.2%",
        "article": "about 0.2%",
        "measured": format!(
            "firmware .text+.rodata {} ({} B); corpus resume bytes {}",
            percent(code(&llvm) - code(&await_free), code(&llvm)),
            code(&llvm) - code(&await_free),
            percent(corpus_off - corpus_await_free, corpus_off),
        ),
    }));

    // 3: the MIR of the seed's match-arm example, in rustc's --emit=mir form.
    eprintln!("[claims] MIR lines of seed.rs's dispatch");
    let seed = dirs.root.join("tests/snapshots/seed.rs");
    let mut mir = Vec::new();
    for knob in ["corolift=off", "corolift=merge_states,dead_states"] {
        let config = BuildConfig::corolift(leak(format!("mir-{knob}")), &[knob], "3");
        let path = out.join(format!("seed.{}.mir", knob.replace(['=', ','], "_")));
        compile_file(dirs, toolchain, &config, &seed, &path, &["--emit=mir".into(), "-Cdebug-assertions=off".into()]).map_err(Error)?;
        let text = std::fs::read_to_string(&path).map_err(|e| Error(e.to_string()))?;
        mir.push((mir_lines(&text, "dispatch::{closure#0}"), text.lines().count()));
    }
    rows.push(json!({
        "claim": "collapsing duplicate await states takes a MIR dump from 456 to 302 lines",
        "article": "456 -> 302 lines",
        "measured": format!(
            "dispatch::{{closure#0}}: {} -> {} lines (the whole --emit=mir file {} -> {})",
            mir[0].0.map_or("-".into(), |n| n.to_string()),
            mir[1].0.map_or("-".into(), |n| n.to_string()),
            mir[0].1,
            mir[1].1,
        ),
    }));

    // 4: runtime share of the state passes, on both backends.
    eprintln!("[claims] instructions of the seed and protocol benchmarks with the state passes alone");
    let mut runtime = Vec::new();
    for bench in ["seed", "protocol"] {
        let program = dirs.root.join(format!("benches/compare/{bench}.rs"));
        for (backend, off, state) in [
            ("Cranelift", BuildConfig::corolift("cl-off", &["corolift=off"], "3"), BuildConfig::corolift("cl-state", &[STATE_PASSES], "3")),
            ("LLVM", BuildConfig::corolift_llvm("llvm-off", &["corolift=off"], "3"), BuildConfig::corolift_llvm("llvm-state", &[STATE_PASSES], "3")),
            (
                "LLVM without returned_arm",
                BuildConfig::corolift_llvm("llvm-off", &["corolift=off"], "3"),
                BuildConfig::corolift_llvm("llvm-state-keeping-panic", &[STATE_PASSES_KEEPING_PANIC], "3"),
            ),
        ] {
            let before = instructions(&compile(dirs, toolchain, &off, &program, &out)?.0)? as f64;
            let after = instructions(&compile(dirs, toolchain, &state, &program, &out)?.0)? as f64;
            runtime.push(format!("{bench} on {backend} {}", percent(before - after, before)));
        }
    }
    rows.push(json!({
        "claim": "about 3% runtime on x86",
        "article": "about 3%",
        "measured": format!("instructions saved by the state passes alone: {}", runtime.join(", ")),
    }));

    // 5: nested async code at -Oz.
    eprintln!("[claims] the await chains under LLVM -Oz and -O3, and the LLVM driver at -Oz");
    let mut nested = Vec::new();
    for bench in ["chain16", "chain48", "chain16_plain", "chain48_plain"] {
        let program = dirs.root.join(format!("benches/compare/{bench}.rs"));
        let count = |config: BuildConfig| -> Result<f64> { Ok(instructions(&compile(dirs, toolchain, &config, &program, &out)?.0)? as f64) };
        let o3 = count(BuildConfig::new("llvm-O3", crate::compile::Backend::Llvm, "3"))?;
        let oz = count(BuildConfig::new("llvm-Oz", crate::compile::Backend::Llvm, "z"))?;
        let driver_oz = count(BuildConfig::corolift_llvm("llvm+corolift-Oz", &[], "z"))?;
        nested.push(format!("{bench}: LLVM -Oz {:.2}× LLVM -O3, LLVM+corolift -Oz {:.2}×", oz / o3, driver_oz / o3));
    }
    rows.push(json!({
        "claim": "LLVM struggles with nested async code when optimising for size",
        "article": "qualitative",
        "measured": nested.join("; "),
    }));

    println!("\nthe seed article's claims, re-measured");
    for row in &rows {
        println!("- {}\n    article: {}\n    here:    {}", row["claim"].as_str().unwrap(), row["article"].as_str().unwrap(), row["measured"].as_str().unwrap());
    }
    let path = out.join("claims.json");
    std::fs::write(&path, serde_json::to_string_pretty(&Value::Array(rows)).unwrap()).map_err(|e| Error(e.to_string()))?;
    println!("\nwritten: {}", path.display());
    Ok(())
}
