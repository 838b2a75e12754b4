//! `./y.sh install` and `./y.sh uninstall`: corolift as a codegen backend that rustc finds
//! by name, in a rustup toolchain of its own.
//!
//! rustc resolves `-Zcodegen-backend=<name>` (a name without a dot) to
//! `<sysroot>/lib/rustlib/<host>/codegen-backends/librustc_codegen_<name>.so`, where the
//! sysroot is the folder above the `librustc_driver` the running rustc loaded (resolved
//! through symbolic links). So corolift needs a sysroot of its own: `install` makes one
//! under `build/toolchains/<name>/` from the nightly's, hard-linking every file (copying
//! where the file system cannot link) but the compiler's source, puts the backend in its
//! `codegen-backends/`, and registers the folder with `rustup toolchain link <name>`.
//! Hard links cost no space, and a `rustup update` replaces the nightly's files rather
//! than writing into them, so the toolchain keeps the compiler its backend was built for.
//!
//! The toolchain's `bin/rustc` is corolift's small program in front of the nightly's
//! rustc (kept as `bin/rustc-real`, whose `$ORIGIN` rpath still finds the toolchain's
//! `lib/`), `crates/toolchain_rustc`: it names the backend's content in `rustc -vV` (for
//! cargo's fingerprints and compiler caches), stops with a clear error when the toolchain's
//! `librustc_driver` is not the one the backend was linked against, and leaves corolift's
//! `-Cllvm-args` words out of compilations that do not select corolift (LLVM rejects
//! them), so that knobs in `RUSTFLAGS` apply where corolift compiles. It is a program
//! rather than a script because sccache's distributed mode packages a toolchain from the
//! shared libraries its `bin/rustc` loads.
//!
//! The backend is also linked as `lib/librustc_codegen_corolift.so`: sccache hashes the
//! shared libraries of `<sysroot>/lib` into its key, and its distributed mode ships them
//! to build servers (README, "Compiler caches").

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::toolchain::{Dirs, Toolchain, needed_rustc_driver, sha256_of};
use crate::util::{Context, Result, capture, create_dir, error, run, stdout_of};

/// What `install` writes into the toolchain, so that `uninstall` and a second `install`
/// can tell corolift's toolchain from any other of the same name.
const STAMP: &str = "lib/rustlib/corolift-toolchain.txt";

pub struct Options {
    pub name: String,
}

impl Options {
    pub fn parse(args: &[String]) -> Result<Options> {
        let mut name = "corolift".to_string();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--toolchain" => match args.next() {
                    Some(value) => name = value.clone(),
                    None => return error("--toolchain needs a name"),
                },
                other => return error(format!("unknown option `{other}` (see ./y.sh help)")),
            }
        }
        check_name(&name)?;
        Ok(Options { name })
    }
}

fn check_name(name: &str) -> Result<()> {
    let plain = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
    let channel = ["stable", "beta", "nightly"].iter().any(|c| name == *c || name.starts_with(&format!("{c}-")));
    if !plain || channel {
        return error(format!(
            "`{name}` cannot name corolift's toolchain: use letters, digits, `-`, `_` or `.`, and not a rustup channel name"
        ));
    }
    Ok(())
}

/// Where `install` puts the toolchain `name`.
pub fn toolchain_dir(dirs: &Dirs, name: &str) -> PathBuf {
    dirs.build.join("toolchains").join(name)
}

/// `./y.sh install`: the backend `./y.sh build` made, as toolchain `name`.
pub fn install(dirs: &Dirs, toolchain: &Toolchain, options: &Options) -> Result<()> {
    let dir = install_backend(dirs, toolchain, &options.name, &dirs.backend_so())?;
    let name = &options.name;
    println!(
        "installed toolchain `{name}` ({}): the nightly's compiler with corolift as the codegen backend `corolift`\n\
         \n\
         rustc +{name} -Zcodegen-backend=corolift main.rs\n\
         \n\
         In a cargo project, for debug builds only (Cargo.toml):\n\
         \n\
         cargo-features = [\"codegen-backend\"]\n\
         \n\
         [profile.dev]\n\
         codegen-backend = \"corolift\"\n\
         \n\
         then `cargo +{name} build`. `./y.sh uninstall{}` removes the toolchain.",
        dir.display(),
        if name == "corolift" { String::new() } else { format!(" --toolchain {name}") },
    );
    Ok(())
}

/// Makes (or remakes) toolchain `name` with `backend` as its `corolift` codegen backend,
/// links it into rustup and checks that rustc loads the backend by name.
pub fn install_backend(dirs: &Dirs, toolchain: &Toolchain, name: &str, backend: &Path) -> Result<PathBuf> {
    check_name(name)?;
    if !backend.is_file() {
        return error(format!("no backend at {} (run ./y.sh build)", backend.display()));
    }
    let dir = toolchain_dir(dirs, name);
    remove(dirs, name)?;
    eprintln!("[install] toolchain `{name}` in {} from {}", dir.display(), toolchain.sysroot.display());
    let staging = dir.with_extension("partial");
    if staging.exists() {
        std::fs::remove_dir_all(&staging).context(|| format!("cannot remove {}", staging.display()))?;
    }
    link_tree(&toolchain.sysroot, &staging, &toolchain.sysroot)?;

    let host = host_of(toolchain)?;
    let backends = staging.join("lib/rustlib").join(&host).join("codegen-backends");
    create_dir(&backends)?;
    let installed = backends.join("librustc_codegen_corolift.so");
    std::fs::copy(backend, &installed).context(|| format!("cannot copy {}", backend.display()))?;
    symlink(
        &Path::new("rustlib").join(&host).join("codegen-backends/librustc_codegen_corolift.so"),
        &staging.join("lib/librustc_codegen_corolift.so"),
    )?;

    let hash = sha256_of(backend)?;
    let driver = needed_rustc_driver(backend)?;
    std::fs::rename(staging.join("bin/rustc"), staging.join("bin/rustc-real"))
        .context(|| "cannot move bin/rustc aside".to_string())?;
    let wrapper = build_wrapper(dirs, toolchain)?;
    std::fs::copy(&wrapper, staging.join("bin/rustc")).context(|| format!("cannot copy {}", wrapper.display()))?;
    std::fs::write(
        staging.join(STAMP),
        format!(
            "# corolift's toolchain, made by ./y.sh install; bin/rustc reads this\n\
             name: {name}\n\
             nightly: {}\n\
             backend-source: {}\n\
             backend-sha256: {hash}\n\
             librustc_driver: {driver}\n",
            toolchain.name,
            backend.display(),
        ),
    )
    .context(|| format!("cannot write the stamp in {}", staging.display()))?;
    std::fs::rename(&staging, &dir).context(|| format!("cannot move {} into place", staging.display()))?;

    let mut link = Command::new("rustup");
    link.args(["toolchain", "link", name]).arg(&dir);
    stdout_of(&mut link)?;
    check_loads(name)?;
    eprintln!("[install] rustc +{name} -Zcodegen-backend=corolift works (backend sha256:{})", &hash[..16]);
    Ok(dir)
}

/// `cargo +<name>` with `codegen-backend = "corolift"` for the dev profile given on the
/// command line (`-Zcodegen-backend --config ...`), as a user's Cargo.toml would give it:
/// rustup's proxy picks the toolchain, not the environment of `./y.sh`.
pub fn cargo_with_backend(name: &str) -> Command {
    let mut cmd = Command::new("cargo");
    cmd.arg(format!("+{name}"))
        .args(["-Zcodegen-backend", "--config", "profile.dev.codegen-backend=\"corolift\""])
        .env("RUSTUP_AUTO_INSTALL", "0")
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("RUSTC");
    cmd
}

/// Builds `crates/toolchain_rustc`, the toolchain's `bin/rustc`, with the nightly. It is
/// linked against every system library the nightly's rustc loads (`ldd`, with
/// `--no-as-needed`), because sccache's distributed mode packages a toolchain with the
/// libraries of its `bin/rustc`, and the real rustc runs on the build server from that
/// package.
fn build_wrapper(dirs: &Dirs, toolchain: &Toolchain) -> Result<PathBuf> {
    let ldd = stdout_of(Command::new("ldd").arg(&toolchain.rustc))?;
    let mut flags = vec!["-C".to_string(), "link-arg=-Wl,--no-as-needed".to_string()];
    for line in ldd.lines() {
        let Some((name, path)) = line.trim().split_once(" => ") else { continue };
        if path.starts_with(&*toolchain.sysroot.to_string_lossy()) || path.contains("/../lib/") || name.starts_with("librustc_driver") {
            continue;
        }
        flags.push("-C".into());
        flags.push(format!("link-arg=-l:{name}"));
    }
    let target = dirs.build.join("toolchain-rustc-target");
    let mut cmd = Command::new(&toolchain.cargo);
    cmd.current_dir(dirs.root.join("crates/toolchain_rustc"))
        .args(["build", "--release", "--quiet"])
        .env("RUSTC", &toolchain.rustc)
        .env("CARGO_TARGET_DIR", &target)
        .env("RUSTFLAGS", flags.join(" "));
    run(&mut cmd)?;
    Ok(target.join("release/corolift-toolchain-rustc"))
}

/// `./y.sh uninstall`: removes toolchain `name` if it is corolift's.
pub fn uninstall(dirs: &Dirs, options: &Options) -> Result<()> {
    let name = &options.name;
    if remove(dirs, name)? {
        eprintln!("[uninstall] removed toolchain `{name}`");
    } else {
        eprintln!("[uninstall] there is no toolchain `{name}`: nothing to do");
    }
    Ok(())
}

/// Unlinks toolchain `name` from rustup and deletes its folder; refuses a toolchain of that
/// name that is not corolift's. Returns whether there was anything to remove.
fn remove(dirs: &Dirs, name: &str) -> Result<bool> {
    let dir = toolchain_dir(dirs, name);
    let mut removed = false;
    if let Some(path) = rustup_toolchain_path(name)? {
        let ours = path == dir || path.join(STAMP).is_file() || !path.exists();
        if !ours {
            return error(format!(
                "rustup already has a toolchain `{name}` ({}) that corolift did not install; choose another name with --toolchain",
                path.display()
            ));
        }
        let mut unlink = Command::new("rustup");
        unlink.args(["toolchain", "uninstall", name]);
        stdout_of(&mut unlink)?;
        removed = true;
    }
    if dir.exists() {
        std::fs::remove_dir_all(&dir).context(|| format!("cannot remove {}", dir.display()))?;
        removed = true;
    }
    Ok(removed)
}

/// The folder of rustup's toolchain `name`, if rustup has one.
fn rustup_toolchain_path(name: &str) -> Result<Option<PathBuf>> {
    let listing = stdout_of(Command::new("rustup").args(["toolchain", "list", "-v"]))?;
    for line in listing.lines() {
        let mut words = line.split_whitespace();
        if words.next() != Some(name) {
            continue;
        }
        // `<name> [(active, default)] <path>`: the path is the last word.
        return Ok(line.split_whitespace().last().map(PathBuf::from));
    }
    Ok(None)
}

/// Recreates `from` at `to`: folders made, files hard-linked (copied where linking fails),
/// symbolic links copied as links. The compiler's source (`rustc-src`, `src`) is left out.
fn link_tree(from: &Path, to: &Path, sysroot: &Path) -> Result<()> {
    create_dir(to)?;
    let entries = std::fs::read_dir(from).context(|| format!("cannot read {}", from.display()))?;
    for entry in entries {
        let entry = entry.context(|| format!("cannot read {}", from.display()))?;
        let path = entry.path();
        let rel = path.strip_prefix(sysroot).unwrap_or(&path);
        if rel == Path::new("lib/rustlib/rustc-src") || rel == Path::new("lib/rustlib/src") {
            continue;
        }
        let target = to.join(entry.file_name());
        let kind = entry.file_type().context(|| format!("cannot stat {}", path.display()))?;
        if kind.is_symlink() {
            let pointee = std::fs::read_link(&path).context(|| format!("cannot read link {}", path.display()))?;
            symlink(&pointee, &target)?;
        } else if kind.is_dir() {
            link_tree(&path, &target, sysroot)?;
        } else if std::fs::hard_link(&path, &target).is_err() {
            std::fs::copy(&path, &target).context(|| format!("cannot copy {}", path.display()))?;
        }
    }
    Ok(())
}

fn symlink(pointee: &Path, link: &Path) -> Result<()> {
    std::os::unix::fs::symlink(pointee, link).context(|| format!("cannot make the link {}", link.display()))
}

fn host_of(toolchain: &Toolchain) -> Result<String> {
    let version = stdout_of(Command::new(&toolchain.rustc).arg("-vV"))?;
    match version.lines().find_map(|l| l.strip_prefix("host: ")) {
        Some(host) => Ok(host.trim().to_string()),
        None => error(format!("`{} -vV` names no host", toolchain.rustc.display())),
    }
}

/// `rustc +name -Zcodegen-backend=corolift` compiles an empty crate.
fn check_loads(name: &str) -> Result<()> {
    let scratch = std::env::temp_dir().join(format!("corolift-install-check-{}", std::process::id()));
    create_dir(&scratch)?;
    let source = scratch.join("check.rs");
    std::fs::write(&source, "pub fn f() -> u32 { 1 }\n").context(|| "cannot write the check program".to_string())?;
    let out = capture(
        Command::new("rustc")
            .arg(format!("+{name}"))
            .args(["-Zcodegen-backend=corolift", "--crate-type=lib", "--emit=obj", "-o"])
            .arg(scratch.join("check.o"))
            .arg(&source)
            .env_remove("RUSTUP_TOOLCHAIN")
            .env("RUSTUP_AUTO_INSTALL", "0"),
    )?;
    let _ = std::fs::remove_dir_all(&scratch);
    if !out.status.success() {
        return error(format!(
            "toolchain `{name}` is linked, but `rustc +{name} -Zcodegen-backend=corolift` fails:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}
