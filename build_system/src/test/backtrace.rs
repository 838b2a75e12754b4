//! Backtraces through spliced code: `tests/backtrace/*.rs`, built with `-g` at -O3 under
//! LLVM, stock cg_clif's lowering (`corolift=off`) and corolift's default, and run with
//! `RUST_BACKTRACE=1`.
//!
//! Each program panics in a child future that `inline_child` splices into its caller, on
//! the line marked `// PANIC_LINE`. Under every build the panic message and a backtrace
//! frame must point at that line of the child. Under corolift the suite also checks,
//! from the report, that the child really was spliced (its resume function is gone), and
//! that the frame carries the caller's name: cg_clif emits no inlined-subroutine debug
//! info, for rustc's own MIR inlining as for corolift's splice, so the child's name is
//! lost while its file and line are kept (README, "Using it"). If cg_clif ever emits
//! inlined frames, this check fails and the README's note is to be updated.

use std::path::Path;
use std::process::Command;

use super::Env;
use crate::compile::{Backend, BuildConfig, Directives, compile_program};
use crate::util::{Result, files_below};

/// The backtrace frame that carries `location`: the function name printed on the line
/// before `at <file>:<line>:<column>`.
fn frame_at<'a>(stderr: &'a str, location: &str) -> Option<&'a str> {
    let lines: Vec<&str> = stderr.lines().collect();
    let at = lines.iter().position(|line| line.trim_start().starts_with("at ") && line.contains(location))?;
    let name = lines.get(at.checked_sub(1)?)?.trim();
    // "2: spliced_panic::parent::{closure#0}"
    Some(name.split_once(": ").map_or(name, |(_, function)| function))
}

fn check_program(env: &Env, dir: &Path, program: &Path, config: &BuildConfig) -> std::result::Result<String, String> {
    let source = std::fs::read_to_string(program).map_err(|e| e.to_string())?;
    let stem = program.file_stem().unwrap().to_string_lossy().into_owned();
    let line = source
        .lines()
        .position(|l| l.contains("// PANIC_LINE"))
        .ok_or("the program has no `// PANIC_LINE` marker")?
        + 1;
    let location = format!("{stem}.rs:{line}:");
    let exe = dir.join(format!("{stem}-{}", config.name));
    let report = dir.join(format!("{stem}-{}.jsonl", config.name));
    let _ = std::fs::remove_file(&report);
    let mut extra = vec!["-g".to_string(), "-Cdebug-assertions=off".to_string()];
    if matches!(config.backend, Backend::Corolift(_)) {
        extra.push(format!("-Cllvm-args=corolift-report={}", report.display()));
    }
    compile_program(env.dirs, env.toolchain, config, program, &Directives::read(&source), &exe, &extra)?;
    let out = Command::new(&exe).env("RUST_BACKTRACE", "1").output().map_err(|e| e.to_string())?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() != Some(101) {
        return Err(format!("{} exited with {} (want a panic, 101):\n{stderr}", exe.display(), out.status));
    }
    if !stderr.lines().any(|l| l.contains("panicked at") && l.contains(&location)) {
        return Err(format!("the panic message does not name {location}:\n{stderr}"));
    }
    let frame = frame_at(&stderr, &location).ok_or_else(|| format!("no backtrace frame at {location}:\n{stderr}"))?;
    if config.name != "corolift-O3" {
        return Ok(format!("frame at {location} is {frame}"));
    }
    // corolift's default: the child must have been spliced, and the frame is the caller's.
    let lines = std::fs::read_to_string(&report).map_err(|e| format!("no report {}: {e}", report.display()))?;
    let functions: Vec<serde_json::Value> =
        lines.lines().map(serde_json::from_str).collect::<std::result::Result<_, _>>().map_err(|e| e.to_string())?;
    let spliced = functions.iter().find(|f| {
        f["passes"].as_array().is_some_and(|passes| passes.iter().any(|p| p["pass"] == "inline_child" && p["applied"] == true))
    });
    let Some(caller) = spliced.and_then(|f| f["function"].as_str()) else {
        return Err(format!("no resume function reports inline_child applied: the test no longer covers spliced code\n{lines}"));
    };
    if !frame.ends_with(caller) {
        return Err(format!(
            "the frame at {location} is `{frame}`, not the caller `{caller}` that the child was spliced into; \
             if cg_clif now emits inlined frames, update the README's note on backtraces"
        ));
    }
    Ok(format!("frame at {location} is {frame}"))
}

pub fn run(env: &Env) -> Result<()> {
    let dir = env.dirs.root.join("tests/backtrace");
    let out_dir = env.scratch("backtrace");
    let configs = [
        BuildConfig::new("llvm-O3", Backend::Llvm, "3"),
        BuildConfig::corolift("corolift-off-O3", &["corolift=off"], "3"),
        BuildConfig::corolift("corolift-O3", &[], "3"),
    ];
    for rel in files_below(&dir)? {
        let program = dir.join(&rel);
        if program.extension().is_none_or(|x| x != "rs") {
            continue;
        }
        for config in &configs {
            let result = check_program(env, &out_dir, &program, config);
            if let Ok(what) = &result {
                eprintln!("[backtrace] {}: {what}", config.name);
            }
            env.tally.record("backtrace", &format!("{} {}", rel.display(), config.name), result.map(|_| ()));
        }
    }
    Ok(())
}
