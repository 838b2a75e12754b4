//! Every corpus program, built by corolift (default passes at -O0 and -O3, every pass at
//! -O3), run under `valgrind --tool=memcheck`: no invalid read or write, no use of
//! uninitialised memory, no invalid free. Leaks are not errors here (some programs leak
//! on purpose, e.g. `mem::forget` of a future). The program's own exit status must be
//! what it is natively.

use std::path::Path;
use std::process::Command;

use super::{Env, parallel};
use crate::compile::{BuildConfig, Directives, compile_program, run_program};
use crate::util::Result;

/// The exit code valgrind reports when it found an error.
const MEMCHECK_ERROR: i32 = 86;

fn configs() -> Vec<BuildConfig> {
    vec![
        BuildConfig::corolift("corolift-O0", &[], "0"),
        BuildConfig::corolift("corolift-O3", &[], "3"),
        BuildConfig::corolift("corolift-all-O3", &["corolift=all"], "3"),
    ]
}

fn check(env: &Env, config: &BuildConfig, program: &Path, out_dir: &Path) -> std::result::Result<(), String> {
    let directives = Directives::of_file(program)?;
    let stem = program.file_stem().unwrap().to_string_lossy().into_owned();
    let exe = out_dir.join(format!("{stem}-{}", config.name));
    compile_program(env.dirs, env.toolchain, config, program, &directives, &exe, &[])?;
    let native = run_program(&exe, &directives.run_args)?;
    let output = Command::new("valgrind")
        .args(["--tool=memcheck", "--leak-check=no", "--track-origins=no", "--quiet"])
        .arg(format!("--error-exitcode={MEMCHECK_ERROR}"))
        .arg(&exe)
        .args(&directives.run_args)
        .output()
        .map_err(|e| format!("cannot run valgrind (is it installed?): {e}"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.code() == Some(MEMCHECK_ERROR) {
        let report: String = stderr.lines().filter(|l| l.starts_with("==")).take(40).collect::<Vec<_>>().join("\n");
        return Err(format!("memcheck found errors:\n{report}"));
    }
    let status = crate::compile::describe_status(output.status);
    if native.status.starts_with("exit") && status != native.status {
        return Err(format!("under valgrind the program ended with {status}, natively with {}", native.status));
    }
    if String::from_utf8_lossy(&output.stdout) != native.stdout {
        return Err("under valgrind the program printed something else than natively".into());
    }
    Ok(())
}

pub fn run(env: &Env) -> Result<()> {
    let programs = env.corpus()?;
    let out_dir = env.scratch("memcheck");
    eprintln!("[memcheck] {} programs x {} configurations under valgrind", programs.len(), configs().len());
    parallel(&programs, |program| {
        let name = program.file_stem().unwrap().to_string_lossy().into_owned();
        for config in configs() {
            let result = check(env, &config, program, &out_dir);
            env.tally.record("memcheck", &format!("{name} {}", config.name), result);
        }
    });
    Ok(())
}
