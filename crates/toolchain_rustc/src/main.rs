//! `bin/rustc` of the toolchain `./y.sh install` makes (build_system/src/install.rs): the
//! nightly's rustc, kept beside it as `bin/rustc-real`, in front of which this program
//! does three things.
//! - `rustc -vV` gets one more line, `corolift-backend: sha256:<the backend's content>`.
//!   cargo puts the `-vV` output in every unit's fingerprint and sccache in every cache
//!   key, so another backend is another compiler to both.
//! - When the toolchain's `lib/` lacks the `librustc_driver` the backend was linked
//!   against, it stops with an error that says to run `./y.sh install` again, instead of
//!   rustc failing to load the backend.
//! - A compilation that does not select corolift (`-Zcodegen-backend=corolift`) runs
//!   LLVM, which rejects corolift's `-Cllvm-args` words: they are left out there.
//!
//! It is a program, not a shell script, because sccache's distributed mode packages a
//! Rust toolchain from its `bin/rustc` and the shared libraries that executable loads
//! (read with `ldd`), which a script does not have. Its settings come from
//! `lib/rustlib/corolift-toolchain.txt`, which `./y.sh install` writes.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const STAMP: &str = "lib/rustlib/corolift-toolchain.txt";

struct Stamp {
    name: String,
    driver: String,
    backend_sha256: String,
}

fn read_stamp(sysroot: &Path) -> Result<Stamp, String> {
    let path = sysroot.join(STAMP);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let field = |key: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(key).and_then(|rest| rest.strip_prefix(": ")))
            .map(|value| value.trim().to_string())
            .ok_or_else(|| format!("{} has no `{key}:` line", path.display()))
    };
    Ok(Stamp { name: field("name")?, driver: field("librustc_driver")?, backend_sha256: field("backend-sha256")? })
}

/// Whether the arguments select corolift as the codegen backend.
fn selects_corolift(args: &[OsString]) -> bool {
    args.iter().any(|a| a == "-Zcodegen-backend=corolift")
        || args.windows(2).any(|pair| pair[0] == "-Z" && pair[1] == "codegen-backend=corolift")
}

/// The arguments without corolift's `-Cllvm-args` words (`-Cllvm-args=corolift...` and
/// `-C llvm-args=corolift...`).
fn without_corolift_words(args: Vec<OsString>) -> Vec<OsString> {
    let is_word = |a: &OsString| a.to_str().is_some_and(|s| s.starts_with("llvm-args=corolift"));
    let mut kept = Vec::with_capacity(args.len());
    let mut args = args.into_iter().peekable();
    while let Some(arg) = args.next() {
        if arg.to_str().is_some_and(|s| s.starts_with("-Cllvm-args=corolift")) {
            continue;
        }
        if arg == "-C" && args.peek().is_some_and(is_word) {
            args.next();
            continue;
        }
        kept.push(arg);
    }
    kept
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(1)
        }
    }
}

fn run() -> Result<ExitCode, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find corolift's rustc wrapper itself: {e}"))?;
    let sysroot: PathBuf = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| format!("{} is not in a toolchain's bin/", exe.display()))?
        .to_path_buf();
    let stamp = read_stamp(&sysroot)?;
    let lib = sysroot.join("lib");
    if !lib.join(&stamp.driver).exists() {
        return Err(format!(
            "corolift's toolchain `{}` is stale: its backend was built for {}, which {} does not have; run ./y.sh install{} in corolift's checkout",
            stamp.name,
            stamp.driver,
            lib.display(),
            if stamp.name == "corolift" { String::new() } else { format!(" --toolchain {}", stamp.name) },
        ));
    }
    let real = sysroot.join("bin/rustc-real");
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    if args.len() == 1 && (args[0] == "-vV" || args[0] == "-Vv") {
        let status = Command::new(&real).arg("-vV").status().map_err(|e| format!("cannot run {}: {e}", real.display()))?;
        if !status.success() {
            return Ok(ExitCode::from(status.code().unwrap_or(1) as u8));
        }
        println!("corolift-backend: sha256:{}", stamp.backend_sha256);
        return Ok(ExitCode::SUCCESS);
    }
    let args = if selects_corolift(&args) { args } else { without_corolift_words(args) };
    let err = Command::new(&real).args(args).exec();
    Err(format!("cannot run {}: {err}", real.display()))
}
