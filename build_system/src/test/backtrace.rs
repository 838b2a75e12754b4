//! Backtraces through spliced code: `tests/backtrace/*.rs`, built with `-g` at -O3 under
//! LLVM, stock cg_clif's lowering (`corolift=off`), corolift's default and the LLVM driver
//! (corolift's lowering, LLVM's code and debug info), and with
//! `-Cdebuginfo=line-tables-only` under corolift, and run with `RUST_BACKTRACE=1`.
//!
//! Each program panics inside a child future that corolift splices into its caller. Its
//! lines marked `// FRAME k: <function>` are the frames the backtrace must show, innermost
//! (k = 1) first, one after the other: the function's name at that file and line. Every
//! build must show them, LLVM's through its inlined frames, stock cg_clif's as separate
//! functions, corolift's through the `DW_TAG_inlined_subroutine` entries that
//! `crates/codegen/src/inlined_frames.rs` writes for spliced code, and the LLVM driver's
//! through the inlined frames LLVM writes from the spliced code's MIR scopes. A `//@ spliced-by:
//! <pass> ...` line names the passes that must have applied to one resume function under
//! corolift (read from its report), so the program keeps covering spliced code.

use std::path::Path;
use std::process::Command;

use super::Env;
use crate::compile::{Backend, BuildConfig, compile_file};
use crate::util::{Result, files_below};

/// A frame the backtrace must show: `function` at `file:line`.
struct ExpectedFrame {
    index: u32,
    line: usize,
    function: String,
}

fn expected_frames(source: &str) -> Vec<ExpectedFrame> {
    let mut frames: Vec<ExpectedFrame> = source
        .lines()
        .enumerate()
        .filter_map(|(n, text)| {
            let marker = text.split("// FRAME ").nth(1)?;
            let (index, function) = marker.split_once(':')?;
            Some(ExpectedFrame { index: index.trim().parse().ok()?, line: n + 1, function: function.trim().to_string() })
        })
        .collect();
    frames.sort_by_key(|f| f.index);
    frames
}

/// The backtrace's frames: (function, location) for every `N: function` / `at location`.
fn backtrace_frames(stderr: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = stderr.lines().map(str::trim).collect();
    let mut frames = Vec::new();
    for pair in lines.windows(2) {
        let Some((number, function)) = pair[0].split_once(": ") else { continue };
        if number.parse::<u32>().is_err() {
            continue;
        }
        if let Some(location) = pair[1].strip_prefix("at ") {
            frames.push((function.to_string(), location.to_string()));
        }
    }
    frames
}

fn check_program(
    env: &Env,
    dir: &Path,
    program: &Path,
    config: &BuildConfig,
    debuginfo: &str,
) -> std::result::Result<(), String> {
    let source = std::fs::read_to_string(program).map_err(|e| e.to_string())?;
    let stem = program.file_stem().unwrap().to_string_lossy().into_owned();
    let expected = expected_frames(&source);
    if expected.len() < 2 {
        return Err("the program marks fewer than two `// FRAME k: <function>` lines".to_string());
    }
    let exe = dir.join(format!("{stem}-{}-{debuginfo}", config.name));
    let report = dir.join(format!("{stem}-{}-{debuginfo}.jsonl", config.name));
    let _ = std::fs::remove_file(&report);
    let mut extra = vec![format!("-Cdebuginfo={debuginfo}"), "-Cdebug-assertions=off".to_string()];
    let corolift = matches!(&config.backend, Backend::Corolift(knobs) | Backend::CoroliftLlvm(knobs) if knobs.is_empty());
    if corolift {
        extra.push(format!("-Cllvm-args=corolift-report={}", report.display()));
    }
    compile_file(env.dirs, env.toolchain, config, program, &exe, &extra)?;
    let out = Command::new(&exe).env("RUST_BACKTRACE", "1").output().map_err(|e| e.to_string())?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() != Some(101) {
        return Err(format!("{} exited with {} (want a panic, 101):\n{stderr}", exe.display(), out.status));
    }
    let frames = backtrace_frames(&stderr);
    let at = |frame: &ExpectedFrame| format!("{stem}.rs:{}:", frame.line);
    let first = frames
        .iter()
        .position(|(_, location)| location.contains(&at(&expected[0])))
        .ok_or_else(|| format!("no backtrace frame at {}:\n{stderr}", at(&expected[0])))?;
    for (k, want) in expected.iter().enumerate() {
        let Some((function, location)) = frames.get(first + k) else {
            return Err(format!("the backtrace ends before frame {} ({}):\n{stderr}", want.index, want.function));
        };
        if !location.contains(&at(want)) || function != &want.function {
            return Err(format!(
                "frame {} is `{function}` at {location}, want `{}` at {}:\n{stderr}",
                want.index,
                want.function,
                at(want)
            ));
        }
    }
    if corolift {
        let wanted: Vec<&str> = source
            .lines()
            .find_map(|l| l.trim().strip_prefix("//@ spliced-by:"))
            .map(|passes| passes.split_whitespace().collect())
            .unwrap_or_default();
        let lines = std::fs::read_to_string(&report).map_err(|e| format!("no report {}: {e}", report.display()))?;
        let applied = |line: &serde_json::Value, pass: &str| {
            line["passes"].as_array().is_some_and(|passes| passes.iter().any(|p| p["pass"] == pass && p["applied"] == true))
        };
        let covered = lines
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .any(|line| wanted.iter().all(|pass| applied(&line, pass)));
        if wanted.is_empty() || !covered {
            return Err(format!(
                "no resume function reports {wanted:?} applied (a `//@ spliced-by:` line names them): \
                 the program no longer covers spliced code\n{lines}"
            ));
        }
    }
    Ok(())
}

pub fn run(env: &Env) -> Result<()> {
    let dir = env.dirs.root.join("tests/backtrace");
    let out_dir = env.scratch("backtrace");
    let configs = [
        (BuildConfig::new("llvm-O3", Backend::Llvm, "3"), "full"),
        (BuildConfig::corolift("corolift-off-O3", &["corolift=off"], "3"), "full"),
        (BuildConfig::corolift("corolift-O3", &[], "3"), "full"),
        // cg_clif writes no DW_TAG_subprogram here; corolift adds one for resume functions.
        (BuildConfig::corolift("corolift-O3", &[], "3"), "line-tables-only"),
        // The LLVM driver: LLVM writes the inlined frames itself, from the spliced code's
        // MIR scopes. (Not with line-tables-only: LLVM then writes no linkage names, and a
        // backtrace names every frame by its short name, `{async_fn#0}`, plain rustc's too.)
        (BuildConfig::corolift_llvm("llvm-corolift-O3", &[], "3"), "full"),
    ];
    let mut programs = files_below(&dir)?;
    programs.sort();
    for rel in programs {
        let program = dir.join(&rel);
        if program.extension().is_none_or(|x| x != "rs") {
            continue;
        }
        for (config, debuginfo) in &configs {
            let result = check_program(env, &out_dir, &program, config, debuginfo);
            env.tally.record("backtrace", &format!("{} {} -Cdebuginfo={debuginfo}", rel.display(), config.name), result);
        }
    }
    forwarded_variable(env, &out_dir);
    Ok(())
}

/// `tests/debuginfo/forwarded_argument.rs` under gdb: a variable `forward_upvars` moved
/// into its upvar's bytes still shows its value. Built with `-g` at -O0 by the LLVM driver
/// (cg_clif writes no variable debug info) and by plain rustc as the reference. (At -O3
/// plain rustc's `arg` is `<optimized out>` there too.)
fn forwarded_variable(env: &Env, out_dir: &Path) {
    let case = "tests/debuginfo/forwarded_argument.rs: gdb prints the forwarded argument";
    if Command::new("gdb").arg("--version").output().is_err() {
        env.tally.skip("backtrace", case, "gdb is not installed");
        return;
    }
    let program = env.dirs.root.join("tests/debuginfo/forwarded_argument.rs");
    let configs = [
        BuildConfig::new("llvm-O0", Backend::Llvm, "0"),
        BuildConfig::corolift_llvm("llvm-corolift-O0", &[], "0"),
    ];
    for config in &configs {
        let result = (|| -> std::result::Result<(), String> {
            let exe = out_dir.join(format!("forwarded_argument.{}", config.name));
            let report = out_dir.join(format!("forwarded_argument.{}.jsonl", config.name));
            let _ = std::fs::remove_file(&report);
            let mut extra = vec!["-g".to_string()];
            if config.backend != Backend::Llvm {
                extra.push(format!("-Cllvm-args=corolift-report={}", report.display()));
            }
            compile_file(env.dirs, env.toolchain, config, &program, &exe, &extra)?;
            if config.backend != Backend::Llvm {
                let lines = crate::report_lines::read(&report)?;
                let held = crate::report_lines::of_function(&lines, "held::{closure#0}");
                if !held.is_some_and(|line| crate::report_lines::applied_why(line, "forward_upvars").is_some()) {
                    return Err(format!("forward_upvars did not apply to held::{{closure#0}}: {held:?}"));
                }
            }
            let out = Command::new("gdb")
                .args(["-batch", "-nx", "-ex", "break forwarded_argument::observe", "-ex", "run", "-ex", "frame 1", "-ex", "print arg"])
                .arg(&exe)
                .output()
                .map_err(|e| format!("cannot run gdb: {e}"))?;
            let stdout = String::from_utf8_lossy(&out.stdout);
            if !stdout.lines().any(|l| l.starts_with('$') && l.ends_with("= [7, 8, 9, 10]")) {
                return Err(format!("gdb did not print arg = [7, 8, 9, 10]:\n{stdout}{}", String::from_utf8_lossy(&out.stderr)));
            }
            Ok(())
        })();
        env.tally.record("backtrace", &format!("{case} ({})", config.name), result);
    }
}
