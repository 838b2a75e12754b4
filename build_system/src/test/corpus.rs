//! The differential corpus: every program of tests/corpus under eleven configurations, each
//! compared with rustc's LLVM debug build (stdout and exit status): LLVM -O3, corolift's
//! Cranelift backend at -O0 and -O3 (`corolift=off`, the default, `corolift=all`), and the
//! LLVM driver (corolift's lowering, LLVM's code) at -O0, -O3 and -Oz. Every build that
//! lowers runs the verifier between passes (`corolift-verify`).
//!
//! Lines that start with `size_of` print future sizes, which corolift may legitimately
//! change: they are compared only for the builds that do not lower coroutines (LLVM and
//! `corolift=off`), and dropped from the comparison for corolift's default and `all`.

use std::path::Path;

use super::{Env, parallel};
use crate::compile::{Backend, BuildConfig, Directives, RunResult, compile_program, run_program};
use crate::util::Result;

/// The reference build every other configuration is compared with.
pub fn reference() -> BuildConfig {
    BuildConfig::new("llvm-O0", Backend::Llvm, "0")
}

pub fn compared_configs() -> Vec<BuildConfig> {
    vec![
        BuildConfig::new("llvm-O3", Backend::Llvm, "3"),
        BuildConfig::corolift("corolift-off-O0", &["corolift=off"], "0"),
        BuildConfig::corolift("corolift-O0", &["corolift-verify"], "0"),
        BuildConfig::corolift("corolift-off-O3", &["corolift=off"], "3"),
        BuildConfig::corolift("corolift-O3", &["corolift-verify"], "3"),
        // Every pass, the ones not yet on by default (inline_child) included.
        BuildConfig::corolift("corolift-all-O0", &["corolift=all", "corolift-verify"], "0"),
        BuildConfig::corolift("corolift-all-O3", &["corolift=all", "corolift-verify"], "3"),
        // The lowering on the LLVM path (dist/rustc-corolift-llvm), as firmware builds use it.
        BuildConfig::corolift_llvm("llvm-corolift-O0", &["corolift-verify"], "0"),
        BuildConfig::corolift_llvm("llvm-corolift-O3", &["corolift-verify"], "3"),
        BuildConfig::corolift_llvm("llvm-corolift-Oz", &["corolift-verify"], "z"),
    ]
}

fn without_sizes(stdout: &str) -> String {
    stdout.lines().filter(|l| !l.starts_with("size_of")).map(|l| format!("{l}\n")).collect()
}

/// Compiles and runs `program` under `config`, with its outputs in `out_dir`.
pub fn build_and_run(env: &Env, config: &BuildConfig, program: &Path, out_dir: &Path) -> std::result::Result<RunResult, String> {
    let source = std::fs::read_to_string(program).map_err(|e| format!("cannot read {}: {e}", program.display()))?;
    let directives = Directives::read(&source);
    let stem = program.file_stem().unwrap().to_string_lossy();
    let exe = out_dir.join(format!("{stem}.{}", config.name));
    compile_program(env.dirs, env.toolchain, config, program, &directives, &exe, &[])?;
    run_program(&exe, &directives.run_args)
}

pub fn compare(expected: &RunResult, got: &RunResult, compare_sizes: bool) -> std::result::Result<(), String> {
    let (want, have) = if compare_sizes {
        (expected.stdout.clone(), got.stdout.clone())
    } else {
        (without_sizes(&expected.stdout), without_sizes(&got.stdout))
    };
    if want == have && expected.status == got.status {
        return Ok(());
    }
    let mut msg = String::new();
    if expected.status != got.status {
        msg.push_str(&format!("exit status: expected {}, got {}\n", expected.status, got.status));
    }
    for (i, (w, h)) in want.lines().zip(have.lines()).enumerate() {
        if w != h {
            msg.push_str(&format!("first stdout difference at line {}:\n  expected: {w}\n  got:      {h}\n", i + 1));
            break;
        }
    }
    if want.lines().count() != have.lines().count() {
        msg.push_str(&format!(
            "stdout has {} lines, expected {}\n",
            have.lines().count(),
            want.lines().count()
        ));
    }
    Err(msg)
}

pub fn run(env: &Env) -> Result<()> {
    let programs = env.corpus()?;
    let out_dir = env.scratch("corpus");
    eprintln!("[corpus] {} programs x {} configurations", programs.len(), compared_configs().len() + 1);
    parallel(&programs, |program| {
        let name = program.file_stem().unwrap().to_string_lossy().into_owned();
        let expected = match build_and_run(env, &reference(), program, &out_dir) {
            Ok(result) => result,
            Err(why) => {
                env.tally.record("corpus", &format!("{name} llvm-O0 (reference)"), Err(why));
                return;
            }
        };
        let directives = std::fs::read_to_string(program).map(|source| Directives::read(&source)).unwrap_or_default();
        for config in compared_configs() {
            if let Some(why) = directives.skips(config.name) {
                env.tally.skip("corpus", &format!("{name} {}", config.name), why);
                continue;
            }
            let result = build_and_run(env, &config, program, &out_dir)
                .and_then(|got| compare(&expected, &got, !config.lowers()));
            env.tally.record("corpus", &format!("{name} {}", config.name), result);
        }
    });
    Ok(())
}
