//! The firmware benchmark (`benches/firmware`): an embassy application for
//! `thumbv7em-none-eabihf`, built with LLVM alone and with LLVM and corolift's lowering
//! (`dist/cargo-corolift-llvm`), at `-Copt-level=z` and `s`, and measured for size only:
//! `.text`, `.rodata`, `.data` and `.bss` of the ELF (`size -A`), and the static RAM of each
//! task's future (embassy's `#[task]` puts it in a static named `POOL` inside the task
//! function; `nm -S -C`).
//!
//! At `-Copt-level=z` every pass is also measured alone (on top of `corolift=off`) and
//! removed from the default. Those variants apply to the firmware crate only (`cargo rustc
//! -- -Cllvm-args=...`): its dependencies keep the default lowering, so that each variant
//! recompiles one crate. The application's tasks are where its async code is.
//!
//! The target is installed with `rustup target add` when it is missing; where that is
//! impossible, the firmware rows say why and nothing fails.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use serde_json::{Value, json};

use crate::toolchain::{Dirs, Toolchain};

pub const TARGET: &str = "thumbv7em-none-eabihf";

/// The passes a firmware build can run: every pass the LLVM driver runs.
const PASSES: &[&str] = &[
    "await_calls",
    "construct_in_place",
    "forward_upvars",
    "returned_arm",
    "ready_child",
    "merge_states",
    "dead_states",
    "inline_child",
    "flatten_child",
    "one_dispatch",
    "await_free",
    "unused_locals",
];

/// Adds the target to the toolchain if it is not there. `Err`: why it cannot be.
pub fn ensure_target(toolchain: &Toolchain) -> Result<(), String> {
    if toolchain.sysroot.join("lib/rustlib").join(TARGET).exists() {
        return Ok(());
    }
    eprintln!("[compare] rustup target add {TARGET} --toolchain {}", toolchain.name);
    let out = Command::new("rustup")
        .args(["target", "add", TARGET, "--toolchain", &toolchain.name])
        .output()
        .map_err(|e| format!("cannot run rustup: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("rustup could not add {TARGET}: {}", String::from_utf8_lossy(&out.stderr).trim()))
    }
}

/// One build of the firmware: its section sizes and its task futures' statics.
pub(crate) fn build(
    dirs: &Dirs,
    toolchain: &Toolchain,
    project: &Path,
    target_dir: &Path,
    driver: bool,
    opt_level: &str,
    app_knob: Option<&str>,
) -> Result<Value, String> {
    let mut cmd = if driver { Command::new(dirs.dist.join("cargo-corolift-llvm")) } else { toolchain.llvm_cargo() };
    // `.cargo/config.toml` (the target, the linker script) is read from the working directory.
    cmd.current_dir(project)
        .env("CARGO_TARGET_DIR", target_dir)
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", opt_level)
        .env_remove("RUSTFLAGS");
    match app_knob {
        Some(knob) => cmd.args(["rustc", "--release", "--locked", "--quiet", "--", &format!("-Cllvm-args={knob}")]),
        None => cmd.args(["build", "--release", "--locked", "--quiet"]),
    };
    let out = cmd.output().map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!("the firmware did not build:\n{}", String::from_utf8_lossy(&out.stderr)));
    }
    let elf = target_dir.join(TARGET).join("release/firmware");
    let sections = section_sizes(&elf)?;
    let pools = task_pools(&elf)?;
    Ok(json!({
        "text": sections.get(".text"),
        "rodata": sections.get(".rodata"),
        "data": sections.get(".data"),
        "bss": sections.get(".bss"),
        "task_statics": pools,
        "task_statics_total": pools.values().sum::<u64>(),
    }))
}

fn section_sizes(elf: &Path) -> Result<BTreeMap<String, u64>, String> {
    let out = Command::new("size").arg("-A").arg(elf).output().map_err(|e| format!("cannot run size: {e}"))?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let (name, size) = (words.next()?, words.next()?);
            Some((name.to_string(), size.parse().ok()?))
        })
        .collect())
}

/// The `POOL` statics of the tasks, by task function, in bytes.
fn task_pools(elf: &Path) -> Result<BTreeMap<String, u64>, String> {
    let out = Command::new("nm").args(["-S", "-C"]).arg(elf).output().map_err(|e| format!("cannot run nm: {e}"))?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let (_, size, _, name) = (words.next()?, words.next()?, words.next()?, words.next()?);
            let task = name.strip_suffix("::POOL")?;
            Some((task.to_string(), u64::from_str_radix(size, 16).ok()?))
        })
        .collect())
}

/// Every firmware row: `(label, figures)`, figures `{"error": ...}` for a build that failed.
pub fn measure(dirs: &Dirs, toolchain: &Toolchain, out: &Path, started: &Instant) -> Vec<(String, Value)> {
    let project = dirs.root.join("benches/firmware");
    if let Err(why) = ensure_target(toolchain) {
        eprintln!("[compare] firmware skipped: {why}");
        return vec![("firmware".to_string(), json!({ "skipped": why }))];
    }
    let mut rows = Vec::new();
    let mut row = |label: String, result: Result<Value, String>| {
        if let Err(why) = &result {
            eprintln!("[compare] firmware {label}: FAILED: {}", why.lines().next().unwrap_or_default());
        }
        rows.push((label, result.unwrap_or_else(|why| json!({ "error": why }))));
    };
    for opt_level in ["z", "s"] {
        for (label, driver) in [(format!("llvm-O{opt_level}"), false), (format!("llvm+corolift-O{opt_level}"), true)] {
            eprintln!("[compare] firmware {label} ({:.0} s)", started.elapsed().as_secs_f64());
            let target_dir = out.join(format!("firmware-{label}"));
            row(label, build(dirs, toolchain, &project, &target_dir, driver, opt_level, None));
        }
    }
    // Each pass alone and each pass removed, on the firmware crate, at z.
    let target_dir = out.join("firmware-llvm+corolift-Oz");
    eprintln!("[compare] firmware: {} passes alone and removed, at -Oz ({:.0} s)", PASSES.len(), started.elapsed().as_secs_f64());
    for pass in PASSES {
        for (label, knob) in [(format!("only {pass}"), format!("corolift={pass}")), (format!("without {pass}"), format!("corolift=-{pass}"))] {
            row(format!("llvm+corolift-Oz {label}"), build(dirs, toolchain, &project, &target_dir, true, "z", Some(&knob)));
        }
    }
    row(
        "llvm+corolift-Oz corolift=off (firmware crate)".to_string(),
        build(dirs, toolchain, &project, &target_dir, true, "z", Some("corolift=off")),
    );
    rows
}
