//! `./y.sh install` as a user meets it: the toolchain `corolift-test` is made from the
//! nightly with the backend `./y.sh build` made, and the cargo workspace of the `cargo`
//! suite (a proc-macro, a build script, an async library) is built with
//! `codegen-backend = "corolift"` under `[profile.dev]` of its own Cargo.toml, exactly as
//! the README shows. Then: installing again replaces the toolchain, a toolchain whose
//! compiler is not the one the backend was built for stops with a clear error, a
//! toolchain of the same name that corolift did not make is left alone, and `uninstall`
//! removes it all.

use std::path::Path;
use std::process::Command;

use super::Env;
use crate::compile::fresh_dir;
use crate::install::{install_backend, toolchain_dir, uninstall};
use crate::util::{Result, describe, files_below};

const NAME: &str = "corolift-test";

/// The lines the README tells a user to add to their Cargo.toml.
const MANIFEST_LINES: (&str, &str) =
    ("cargo-features = [\"codegen-backend\"]\n\n", "\n[profile.dev]\ncodegen-backend = \"corolift\"\n");

fn output_of(cmd: &mut Command) -> std::result::Result<(String, String), String> {
    let out = cmd.output().map_err(|e| format!("cannot run `{}`: {e}", describe(cmd)))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        return Err(format!("`{}` failed ({}):\n{stderr}", describe(cmd), out.status));
    }
    Ok((stdout, stderr))
}

/// `cargo +<toolchain> <args>` in `project`, with rustup's proxy, not the nightly's cargo.
fn cargo_plus(project: &Path, target: &Path, args: &[&str], rustflags: Option<&str>) -> Command {
    let mut cmd = Command::new("cargo");
    cmd.arg(format!("+{NAME}"))
        .args(args)
        .current_dir(project)
        .env("CARGO_TARGET_DIR", target)
        .env("RUSTUP_AUTO_INSTALL", "0")
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("RUSTC")
        .env_remove("RUSTFLAGS");
    if let Some(flags) = rustflags {
        cmd.env("RUSTFLAGS", flags);
    }
    cmd
}

/// Copies the `cargo` suite's workspace to `to` (sources and lock file, no target).
fn copy_workspace(from: &Path, to: &Path) -> Result<()> {
    for rel in files_below(from)? {
        if rel.starts_with("target") {
            continue;
        }
        let (file, dest) = (from.join(&rel), to.join(&rel));
        crate::util::create_dir(dest.parent().unwrap())?;
        std::fs::copy(&file, &dest).map_err(|e| crate::util::Error(format!("cannot copy {}: {e}", file.display())))?;
    }
    Ok(())
}

pub fn run(env: &Env) -> Result<()> {
    let scratch = env.scratch("install");
    let backend = env.dirs.backend_so();
    let installed = install_backend(env.dirs, env.toolchain, NAME, &backend).map_err(|e| e.0);
    let installed_ok = installed.is_ok();
    env.tally.record("install", "./y.sh install makes toolchain corolift-test and rustc loads the backend by name", installed.map(|_| ()));
    if !installed_ok {
        return Ok(());
    }

    // A user's project: the README's lines in the workspace's own Cargo.toml.
    let project = scratch.join("project");
    copy_workspace(&env.dirs.root.join("tests/cargo"), &project)?;
    let manifest = project.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).map_err(|e| crate::util::Error(e.to_string()))?;
    std::fs::write(&manifest, format!("{}{text}{}", MANIFEST_LINES.0, MANIFEST_LINES.1))
        .map_err(|e| crate::util::Error(e.to_string()))?;

    let reference = output_of(
        env.toolchain.llvm_cargo().args(["run", "--quiet", "--locked", "--offline"]).current_dir(env.dirs.root.join("tests/cargo")).env(
            "CARGO_TARGET_DIR",
            scratch.join("target-llvm"),
        ),
    );
    let expected = match reference {
        Ok((stdout, _)) => stdout,
        Err(why) => {
            env.tally.record("install", "the LLVM build of the project (reference)", Err(why));
            return Ok(());
        }
    };

    let report = scratch.join("report.jsonl");
    let dev = (|| {
        let flags = format!("-Cllvm-args=corolift-report={}", report.display());
        let (_, stderr) = output_of(&mut cargo_plus(
            &project,
            &scratch.join("target"),
            &["build", "-v", "--locked", "--offline"],
            Some(&flags),
        ))?;
        // cargo's rule: the profile's backend holds for every unit of the dev build, build
        // scripts and proc-macros too (their build-override profile inherits it).
        for unit in ["corolift_test_app", "corolift_test_child", "corolift_test_macros", "build_script_build"] {
            let line = stderr
                .lines()
                .find(|l| l.contains("Running") && l.contains(&format!("--crate-name {unit} ")))
                .ok_or_else(|| format!("cargo -v shows no rustc run for {unit}:\n{stderr}"))?;
            if !line.contains("codegen-backend=corolift") {
                return Err(format!("{unit} was not compiled with -Z codegen-backend=corolift:\n{line}"));
            }
        }
        let (stdout, _) = output_of(&mut cargo_plus(&project, &scratch.join("target"), &["run", "--quiet", "--locked", "--offline"], Some(&flags)))?;
        if stdout != expected {
            return Err(format!("the dev build printed\n{stdout}\nLLVM's printed\n{expected}"));
        }
        let lines = std::fs::read_to_string(&report).map_err(|e| format!("no report ({e}): the backend did not run"))?;
        for krate in ["corolift_test_app", "corolift_test_child"] {
            if !lines.lines().any(|l| l.contains(&format!("\"crate\":\"{krate}\""))) {
                return Err(format!("the report has no coroutine of {krate}: corolift did not compile it"));
            }
        }
        Ok(())
    })();
    env.tally.record("install", "cargo +corolift-test build with codegen-backend = \"corolift\" in [profile.dev]: every unit by corolift, output as LLVM's", dev);

    let release = (|| {
        // No codegen-backend in the release profile: LLVM compiles it, and corolift's knobs in
        // RUSTFLAGS must not reach LLVM.
        let (stdout, _) = output_of(&mut cargo_plus(
            &project,
            &scratch.join("target"),
            &["run", "--release", "--quiet", "--locked", "--offline"],
            Some("-Cllvm-args=corolift=all -C llvm-args=corolift-report=/dev/null"),
        ))?;
        if stdout != expected {
            return Err(format!("the release build printed\n{stdout}\nLLVM's printed\n{expected}"));
        }
        Ok(())
    })();
    env.tally.record("install", "the release profile (no codegen-backend) builds with LLVM, corolift's knobs in RUSTFLAGS left out", release);

    let again = (|| {
        let before = std::fs::metadata(toolchain_dir(env.dirs, NAME).join("bin/rustc")).map_err(|e| e.to_string())?.modified().ok();
        install_backend(env.dirs, env.toolchain, NAME, &backend).map_err(|e| e.0)?;
        let listing = output_of(Command::new("rustup").args(["toolchain", "list"]))?.0;
        let count = listing.lines().filter(|l| l.split_whitespace().next() == Some(NAME)).count();
        if count != 1 {
            return Err(format!("rustup lists {count} toolchains named {NAME}:\n{listing}"));
        }
        if toolchain_dir(env.dirs, NAME).with_extension("partial").exists() {
            return Err("a partial toolchain folder was left behind".into());
        }
        let after = std::fs::metadata(toolchain_dir(env.dirs, NAME).join("bin/rustc")).map_err(|e| e.to_string())?.modified().ok();
        if before == after {
            return Err("bin/rustc was not rewritten".into());
        }
        output_of(&mut cargo_plus(&project, &scratch.join("target"), &["build", "--quiet", "--locked", "--offline"], None)).map(|_| ())
    })();
    env.tally.record("install", "installing again replaces the toolchain, which still builds the project", again);

    let stale = (|| {
        // A toolchain whose compiler changed under its backend: its librustc_driver is not
        // the one the backend was linked against (as after a nightly update had replaced it).
        let lib = toolchain_dir(env.dirs, NAME).join("lib");
        let driver = crate::toolchain::needed_rustc_driver(&lib.join("librustc_codegen_corolift.so")).map_err(|e| e.0)?;
        let moved = lib.join("librustc_driver-0000000000000000.so");
        std::fs::rename(lib.join(&driver), &moved).map_err(|e| e.to_string())?;
        let out = Command::new("rustc").arg(format!("+{NAME}")).arg("-vV").env_remove("RUSTUP_TOOLCHAIN").output();
        std::fs::rename(&moved, lib.join(&driver)).map_err(|e| e.to_string())?;
        let out = out.map_err(|e| e.to_string())?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.code() != Some(1) || !stderr.contains("is stale") || !stderr.contains("./y.sh install") {
            return Err(format!("a stale toolchain gave {} and:\n{stderr}", out.status));
        }
        // dist/rustc-corolift: the same check, for a wrapper whose nightly changed.
        let wrapper = std::fs::read_to_string(env.dirs.dist.join("rustc-corolift")).map_err(|e| e.to_string())?;
        let stale_wrapper = scratch.join("rustc-corolift-stale");
        std::fs::write(&stale_wrapper, wrapper.replace(&driver, "librustc_driver-0000000000000000.so")).map_err(|e| e.to_string())?;
        let out = Command::new("sh").arg(&stale_wrapper).arg("--version").output().map_err(|e| e.to_string())?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.code() != Some(1) || !stderr.contains("is stale") || !stderr.contains("./y.sh build") {
            return Err(format!("a stale dist/rustc-corolift gave {} and:\n{stderr}", out.status));
        }
        Ok(())
    })();
    env.tally.record("install", "a backend built for another compiler than its toolchain's stops with a clear error", stale);

    let foreign = (|| {
        // A toolchain of the same name that corolift did not make is never replaced.
        let other = "corolift-test-foreign";
        let dir = fresh_dir(scratch.join(other));
        crate::util::create_dir(&dir.join("bin"))?;
        std::fs::write(dir.join("bin/rustc"), "#!/bin/sh\nexit 0\n").map_err(|e| crate::util::Error(e.to_string()))?;
        crate::util::create_dir(&dir.join("lib"))?;
        output_of(Command::new("rustup").args(["toolchain", "link", other]).arg(&dir)).map_err(crate::util::Error)?;
        let refused = install_backend(env.dirs, env.toolchain, other, &backend);
        let _ = Command::new("rustup").args(["toolchain", "uninstall", other]).output();
        let _ = std::fs::remove_dir_all(toolchain_dir(env.dirs, other));
        match refused {
            Err(e) if e.0.contains("did not install") => Ok(()),
            Err(e) => Err(crate::util::Error(format!("refused, but with: {}", e.0))),
            Ok(_) => Err(crate::util::Error("replaced a toolchain corolift did not make".into())),
        }
    })()
    .map_err(|e| e.0);
    env.tally.record("install", "a toolchain of the same name that corolift did not make is refused", foreign);

    let removed = (|| {
        uninstall(env.dirs, &crate::install::Options { name: NAME.into() }).map_err(|e| e.0)?;
        let listing = output_of(Command::new("rustup").args(["toolchain", "list"]))?.0;
        if listing.lines().any(|l| l.split_whitespace().next() == Some(NAME)) {
            return Err(format!("rustup still lists {NAME}"));
        }
        if toolchain_dir(env.dirs, NAME).exists() {
            return Err("the toolchain's folder is still there".into());
        }
        // A second uninstall has nothing to do, and says so.
        uninstall(env.dirs, &crate::install::Options { name: NAME.into() }).map_err(|e| e.0)
    })();
    env.tally.record("install", "./y.sh uninstall removes the toolchain and its folder", removed);
    Ok(())
}
