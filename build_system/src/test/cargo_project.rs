//! `dist/cargo-corolift` (the Cranelift backend) and `dist/cargo-corolift-llvm` (the LLVM
//! driver) on a cargo workspace (tests/cargo): a proc-macro and a build script compiled by
//! corolift too, and generic async fns of one crate codegened in another from their
//! metadata MIR, and awaits of another crate's await-free async fns (ready_child reads
//! their lowered MIR from metadata). The binary's output must equal the LLVM build's, and
//! the report of each must cover the coroutines of both crates.

use std::path::Path;
use std::process::Command;

use super::Env;
use crate::report_lines;
use crate::util::{Result, describe};

fn cargo_run(
    cmd: &mut Command,
    project: &Path,
    target: &Path,
    profile_args: &[&str],
    rustflags: Option<&str>,
) -> std::result::Result<String, String> {
    cmd.current_dir(project)
        .args(["run", "--quiet", "--locked", "--offline"])
        .args(profile_args)
        .env("CARGO_TARGET_DIR", target)
        .env_remove("RUSTFLAGS");
    if let Some(flags) = rustflags {
        cmd.env("RUSTFLAGS", flags);
    }
    let out = cmd.output().map_err(|e| format!("cannot run `{}`: {e}", describe(cmd)))?;
    if !out.status.success() {
        return Err(format!("`{}` failed ({}):\n{}", describe(cmd), out.status, String::from_utf8_lossy(&out.stderr)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

pub fn run(env: &Env) -> Result<()> {
    let project = env.dirs.root.join("tests/cargo");
    let out_dir = env.scratch("cargo");
    let reference = cargo_run(&mut env.toolchain.llvm_cargo(), &project, &out_dir.join("llvm"), &[], None);
    let expected = match reference {
        Ok(stdout) => stdout,
        Err(why) => {
            env.tally.record("cargo", "llvm build (reference)", Err(why));
            return Ok(());
        }
    };
    let cranelift = env.dirs.dist.join("cargo-corolift");
    let llvm = env.dirs.dist.join("cargo-corolift-llvm");
    let report = out_dir.join("report.jsonl");
    let all_report = out_dir.join("report-all.jsonl");
    let llvm_report = out_dir.join("report-llvm.jsonl");
    for file in [&report, &all_report, &llvm_report] {
        let _ = std::fs::remove_file(file);
    }
    let runs: &[(&str, &Path, &[&str], Option<String>)] = &[
        ("corolift dev", &cranelift, &[], None),
        ("corolift release", &cranelift, &["--release"], Some(format!("-Cllvm-args=corolift-report={}", report.display()))),
        ("corolift=off release", &cranelift, &["--release"], Some("-Cllvm-args=corolift=off".into())),
        // Every pass: inline_child splices the other crate's children from their metadata
        // MIR, and flatten_child makes them part of the parent (their layout and drop code
        // from metadata too).
        (
            "corolift=all release",
            &cranelift,
            &["--release"],
            Some(format!("-Cllvm-args=corolift=all -Cllvm-args=corolift-report={}", all_report.display())),
        ),
        // The same lowering on the LLVM path: cargo-corolift-llvm.
        ("llvm+corolift dev", &llvm, &[], None),
        ("llvm+corolift release", &llvm, &["--release"], Some(format!("-Cllvm-args=corolift-report={}", llvm_report.display()))),
        ("llvm+corolift=all release", &llvm, &["--release"], Some("-Cllvm-args=corolift=all".into())),
    ];
    for (name, wrapper, args, rustflags) in runs {
        let mut cmd = Command::new(wrapper);
        let target = out_dir.join(name.replace([' ', '='], "-"));
        let result = (|| {
            let stdout = cargo_run(&mut cmd, &project, &target, args, rustflags.as_deref())?;
            if stdout != expected {
                return Err(format!("output differs from the LLVM build:\nexpected:\n{expected}got:\n{stdout}"));
            }
            Ok(())
        })();
        env.tally.record("cargo", name, result);
    }
    for (label, file) in [("report covers both crates", &report), ("LLVM driver's report covers both crates", &llvm_report)] {
        env.tally.record("cargo", label, check_report(file));
    }
    let result = (|| {
        let lines = report_lines::read(&all_report)?;
        let line = report_lines::of_function(&lines, "wraps_doubled::{closure#0}").ok_or("no report line for wraps_doubled::{closure#0} under corolift=all")?;
        if !report_lines::applied_why(line, "flatten_child").is_some_and(|why| why.starts_with("corolift_test_child::doubled::{closure#0}")) {
            return Err(format!("flatten_child did not flatten the other crate's child:\n{line}"));
        }
        Ok(())
    })();
    env.tally.record("cargo", "corolift=all flattens another crate's child", result);
    Ok(())
}

/// The report of a release build covers the coroutines of both crates, and the upstream
/// crate's lowered MIR (read from its metadata) proves its await-free children Ready.
fn check_report(report: &Path) -> std::result::Result<(), String> {
    if !report.exists() {
        return Err(format!("no report at {}", report.display()));
    }
    // Every line: a coroutine codegened in several crates has a line in each.
    let text = std::fs::read_to_string(report).map_err(|e| e.to_string())?;
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).map_err(|e| format!("not a report line: {e}"))).collect::<std::result::Result<_, String>>()?;
    let has = |krate: &str, mir_crate: &str, function: &str| {
        lines.iter().any(|l| l["crate"] == krate && l["mir_crate"] == mir_crate && l["function"] == function)
    };
    for (krate, mir_crate, function) in [
        // codegened where it is defined
        ("corolift_test_child", "corolift_test_child", "checksum::{closure#0}"),
        ("corolift_test_app", "corolift_test_app", "total::{closure#0}"),
        // generic: codegened downstream from the MIR corolift lowered upstream
        ("corolift_test_app", "corolift_test_child", "corolift_test_child::describe::{closure#0}"),
    ] {
        if !has(krate, mir_crate, function) {
            return Err(format!("no report line for {function} ({mir_crate}'s MIR) codegened in {krate}:\n{text}"));
        }
    }
    // The upstream crate's lowered MIR (from metadata) proves its children Ready.
    let ready = report_lines::of_function(&lines, "ready_children::{closure#0}").ok_or("no report line for ready_children::{closure#0}")?;
    let proven = "every return of corolift_test_child::scaled::{closure#0}, corolift_test_child::tagged::{closure#0} builds";
    if !report_lines::applied_why(ready, "ready_child").is_some_and(|why| why.starts_with(proven)) {
        return Err(format!("ready_child did not use the upstream crate's MIR:\n{ready}"));
    }
    Ok(())
}
