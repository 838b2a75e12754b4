//! Compiling a test or benchmark program under one of the backends we compare.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

use crate::toolchain::{Dirs, Toolchain};

/// Which code generator compiles a program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    /// rustc's own LLVM backend.
    Llvm,
    /// corolift, with these `-Cllvm-args` words (none: the default lowering).
    Corolift(Vec<String>),
    /// cg_clif built from the same source without corolift's hooks.
    Stock,
    /// rustc's LLVM backend with corolift's lowering (`dist/rustc-corolift-llvm`), with
    /// these `-Cllvm-args` words (none: the default lowering).
    CoroliftLlvm(Vec<String>),
}

/// A backend at an opt-level, with a short name for tables and file names.
#[derive(Clone, Debug)]
pub struct BuildConfig {
    pub name: &'static str,
    pub backend: Backend,
    pub opt_level: &'static str,
}

impl BuildConfig {
    pub const fn new(name: &'static str, backend: Backend, opt_level: &'static str) -> Self {
        BuildConfig { name, backend, opt_level }
    }

    pub fn corolift(name: &'static str, knobs: &[&str], opt_level: &'static str) -> Self {
        BuildConfig::new(name, Backend::Corolift(knobs.iter().map(|s| s.to_string()).collect()), opt_level)
    }

    /// LLVM with corolift's lowering (the LLVM driver).
    pub fn corolift_llvm(name: &'static str, knobs: &[&str], opt_level: &'static str) -> Self {
        BuildConfig::new(name, Backend::CoroliftLlvm(knobs.iter().map(|s| s.to_string()).collect()), opt_level)
    }

    /// Does this build write `corolift-report` lines?
    pub fn reports(&self) -> bool {
        matches!(self.backend, Backend::Corolift(_) | Backend::CoroliftLlvm(_))
    }

    /// Does this build lower coroutines (so `size_of` lines may legitimately differ)?
    pub fn lowers(&self) -> bool {
        match &self.backend {
            Backend::Corolift(knobs) | Backend::CoroliftLlvm(knobs) => !knobs.iter().any(|k| k == "corolift=off"),
            Backend::Llvm | Backend::Stock => false,
        }
    }

    /// A `rustc` command for this configuration. Callers add the source, `-o` and extras.
    pub fn rustc(&self, dirs: &Dirs, toolchain: &Toolchain) -> Command {
        let mut cmd = match &self.backend {
            Backend::CoroliftLlvm(_) => Command::new(dirs.dist.join("rustc-corolift-llvm")),
            _ => Command::new(&toolchain.rustc),
        };
        cmd.arg(format!("-Copt-level={}", self.opt_level));
        match &self.backend {
            Backend::Llvm => {}
            Backend::CoroliftLlvm(knobs) => {
                cmd.args(llvm_args(knobs));
            }
            Backend::Corolift(knobs) => {
                cmd.arg(format!("-Zcodegen-backend={}", dirs.backend_so().display()));
                cmd.args(llvm_args(knobs));
            }
            Backend::Stock => {
                cmd.arg(format!("-Zcodegen-backend={}", dirs.stock_so().display()));
            }
        }
        cmd
    }

    /// A `cargo` command for this configuration: the toolchain's cargo for LLVM,
    /// `dist/cargo-corolift` or `dist/cargo-corolift-llvm` for corolift, with the knobs
    /// as `-Cllvm-args` and then `extra_rustflags` in `RUSTFLAGS` (the caller's own
    /// `RUSTFLAGS` dropped, so that a run does not depend on the shell it starts from).
    /// Stock cg_clif has no cargo wrapper: the toolchain's cargo gets its backend through
    /// `RUSTFLAGS`, as [`BuildConfig::rustc`] passes it. Callers add the subcommand, the
    /// working folder, the target folder and the profile.
    pub fn cargo(&self, dirs: &Dirs, toolchain: &Toolchain, extra_rustflags: &[String]) -> Command {
        let (mut cmd, mut flags) = match &self.backend {
            Backend::Llvm => (toolchain.llvm_cargo(), Vec::new()),
            Backend::Stock => (toolchain.llvm_cargo(), vec![format!("-Zcodegen-backend={}", dirs.stock_so().display())]),
            Backend::Corolift(knobs) => (Command::new(dirs.dist.join("cargo-corolift")), llvm_args(knobs)),
            Backend::CoroliftLlvm(knobs) => (Command::new(dirs.dist.join("cargo-corolift-llvm")), llvm_args(knobs)),
        };
        flags.extend(extra_rustflags.iter().cloned());
        cmd.env_remove("RUSTFLAGS");
        if !flags.is_empty() {
            cmd.env("RUSTFLAGS", flags.join(" "));
        }
        cmd
    }
}

fn llvm_args(knobs: &[String]) -> Vec<String> {
    knobs.iter().map(|k| format!("-Cllvm-args={k}")).collect()
}

/// Options a program asks for in `//@ key: value` lines at its top.
#[derive(Clone, Debug, Default)]
pub struct Directives {
    pub compile_flags: Vec<String>,
    pub run_args: Vec<String>,
    pub edition: Option<String>,
    /// `//@ skip-config: <config> <why>`: a configuration the program cannot run under,
    /// with the reason (the corpus suite prints it and does not run the program there).
    pub skip_configs: Vec<(String, String)>,
}

impl Directives {
    /// Why the program opts out of `config`, if it does.
    pub fn skips(&self, config: &str) -> Option<&str> {
        self.skip_configs.iter().find(|(c, _)| c == config).map(|(_, why)| why.as_str())
    }

    /// The directives of the program at `path`.
    pub fn of_file(path: &Path) -> Result<Directives, String> {
        let source = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Ok(Directives::read(&source))
    }

    pub fn read(source: &str) -> Directives {
        let mut d = Directives::default();
        for line in source.lines() {
            let Some(rest) = line.trim().strip_prefix("//@") else { continue };
            let Some((key, value)) = rest.split_once(':') else { continue };
            let words = value.split_whitespace().map(str::to_string);
            match key.trim() {
                "compile-flags" => d.compile_flags.extend(words),
                "run-args" => d.run_args.extend(words),
                "edition" => d.edition = Some(value.trim().to_string()),
                "skip-config" => {
                    let (config, why) = value.trim().split_once(' ').unwrap_or((value.trim(), ""));
                    d.skip_configs.push((config.to_string(), why.trim().to_string()));
                }
                _ => {}
            }
        }
        d
    }
}

/// Reads the program at `source`'s directives and compiles it into `out` under `config`,
/// the program's own flags first and then `extra`; returns rustc's stderr on failure.
pub fn compile_file(dirs: &Dirs, toolchain: &Toolchain, config: &BuildConfig, source: &Path, out: &Path, extra: &[String]) -> Result<Directives, String> {
    let directives = Directives::of_file(source)?;
    compile_program(dirs, toolchain, config, source, &directives, out, extra)?;
    Ok(directives)
}

/// Compiles `source` into `out` under `config`; returns rustc's stderr on failure.
pub fn compile_program(
    dirs: &Dirs,
    toolchain: &Toolchain,
    config: &BuildConfig,
    source: &Path,
    directives: &Directives,
    out: &Path,
    extra: &[String],
) -> Result<(), String> {
    let mut cmd = config.rustc(dirs, toolchain);
    cmd.arg("--edition").arg(directives.edition.as_deref().unwrap_or("2024"));
    // No lint output, as for a dependency built by cargo: rustc then emits no diagnostic
    // at all, which is when computing trimmed paths without one turns into an ICE.
    cmd.arg("--cap-lints=allow");
    cmd.args(&directives.compile_flags).args(extra);
    cmd.arg(source).arg("-o").arg(out);
    match cmd.output() {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(format!(
            "`{}` failed ({}):\n{}",
            crate::util::describe(&cmd),
            o.status,
            String::from_utf8_lossy(&o.stderr)
        )),
        Err(e) => Err(format!("cannot run rustc: {e}")),
    }
}

/// The output of one run of a program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunResult {
    pub stdout: String,
    /// [`describe_status`]'s `exit N` or `signal N`, or `timeout` when the fuzzer killed it.
    pub status: String,
}

/// How a process ended: `exit N`, or `signal N` when it was killed.
pub fn describe_status(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit {code}"),
        (None, Some(sig)) => format!("signal {sig}"),
        _ => format!("{status}"),
    }
}

pub fn run_program(exe: &Path, args: &[String]) -> Result<RunResult, String> {
    let out = Command::new(exe).args(args).output().map_err(|e| format!("cannot run {}: {e}", exe.display()))?;
    Ok(RunResult { stdout: String::from_utf8_lossy(&out.stdout).into_owned(), status: describe_status(out.status) })
}

/// Symbol sizes of an object or executable (`nm -S`), by mangled name.
pub fn symbol_sizes(file: &Path) -> Result<Vec<(String, u64)>, String> {
    let out = Command::new("nm")
        .arg("-S")
        .arg("--defined-only")
        .arg(file)
        .output()
        .map_err(|e| format!("cannot run nm: {e}"))?;
    if !out.status.success() {
        return Err(format!("nm {} failed: {}", file.display(), String::from_utf8_lossy(&out.stderr)));
    }
    let mut syms = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        if let [_, size, kind, name] = parts[..] {
            if kind.eq_ignore_ascii_case("t") {
                if let Ok(size) = u64::from_str_radix(size, 16) {
                    syms.push((name.to_string(), size));
                }
            }
        }
    }
    syms.sort();
    Ok(syms)
}

/// A scratch folder for one suite, emptied first.
pub fn fresh_dir(path: PathBuf) -> PathBuf {
    let _ = std::fs::remove_dir_all(&path);
    let _ = std::fs::create_dir_all(&path);
    path
}
