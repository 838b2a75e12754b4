//! `./y.sh build`: the patched backend as `dist/librustc_codegen_corolift.so`, the
//! `dist/rustc-corolift` / `dist/cargo-corolift` wrappers, and the LLVM driver with its
//! `dist/rustc-corolift-llvm` / `dist/cargo-corolift-llvm` wrappers. The rustc wrappers
//! name the backend's (or the driver's) content in `rustc -vV`, for cargo's fingerprints
//! and compiler caches, and stop with a clear error when the nightly changed under them
//! (`toolchain::wrapper_prelude`).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::prepare;
use crate::toolchain::{Dirs, Toolchain, needed_rustc_driver, sha256_of, wrapper_prelude};
use crate::util::{Context, Result, create_dir, run};

/// Builds one staged cg_clif (release, `unwinding` on) and returns its dylib.
fn cargo_build(toolchain: &Toolchain, src: &Path) -> Result<PathBuf> {
    let mut cmd = Command::new(&toolchain.cargo);
    cmd.current_dir(src)
        .args(["build", "--release", "--features", "unwinding"])
        .env("RUSTFLAGS", toolchain.rustc_private_rustflags())
        .env("RUSTC", &toolchain.rustc)
        .env_remove("CARGO_TARGET_DIR");
    run(&mut cmd)?;
    Ok(src.join("target/release/librustc_codegen_cranelift.so"))
}

fn copy(from: &Path, to: &Path) -> Result<()> {
    create_dir(to.parent().unwrap())?;
    // Copy through a temporary name: a running rustc may have the old file mapped.
    let tmp = to.with_extension("so.tmp");
    std::fs::copy(from, &tmp).context(|| format!("cannot copy {}", from.display()))?;
    std::fs::rename(&tmp, to).context(|| format!("cannot move into {}", to.display()))
}

fn write_script(path: &Path, text: &str) -> Result<()> {
    // Unchanged scripts are left alone: a build running meanwhile may be executing them.
    crate::util::write_if_changed(path, text.as_bytes())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
            .context(|| format!("cannot make {} executable", path.display()))?;
    }
    Ok(())
}

pub fn build(dirs: &Dirs, toolchain: &Toolchain) -> Result<()> {
    prepare::prepare(dirs, toolchain)?;
    eprintln!("[build] corolift backend (cg_clif + hooks, release, unwinding)");
    let so = cargo_build(toolchain, &dirs.corolift_src())?;
    copy(&so, &dirs.backend_so())?;

    let backend = dirs.backend_so();
    let rustc = dirs.dist.join("rustc-corolift");
    write_rustc_wrapper(&rustc, "dist/rustc-corolift", toolchain, &backend)?;
    write_script(
        &dirs.dist.join("cargo-corolift"),
        &format!(
            "#!/bin/sh\n# cargo of {name}; every crate, build script and proc-macro is compiled by\n\
             # dist/rustc-corolift. Knobs go through RUSTFLAGS, e.g.\n\
             #   RUSTFLAGS=\"-Cllvm-args=corolift=all\" cargo-corolift build\n\
             RUSTC=\"{wrapper}\" exec \"{cargo}\" \"$@\"\n",
            name = toolchain.name,
            wrapper = rustc.display(),
            cargo = toolchain.cargo.display(),
        ),
    )?;
    eprintln!("[build] {}", backend.display());
    eprintln!("[build] {}", rustc.display());
    eprintln!("[build] {}", dirs.dist.join("cargo-corolift").display());
    build_llvm_driver(dirs, toolchain)
}

/// The LLVM driver (`crates/driver`): `dist/rustc-corolift-llvm` and
/// `dist/cargo-corolift-llvm`.
fn build_llvm_driver(dirs: &Dirs, toolchain: &Toolchain) -> Result<()> {
    eprintln!("[build] corolift's LLVM driver (rustc_driver with corolift's optimized_mir)");
    let target = dirs.build.join("driver-target");
    let mut cmd = Command::new(&toolchain.cargo);
    cmd.current_dir(dirs.root.join("crates/driver"))
        .args(["build", "--release"])
        .env("RUSTFLAGS", toolchain.rustc_private_rustflags())
        .env("RUSTC", &toolchain.rustc)
        .env("CARGO_TARGET_DIR", &target);
    run(&mut cmd)?;
    let binary = dirs.driver_binary();
    copy(&target.join("release/rustc-corolift-llvm"), &binary)?;
    let rustc = dirs.dist.join("rustc-corolift-llvm");
    write_llvm_driver_wrapper(&rustc, "dist/rustc-corolift-llvm", toolchain, &binary)?;
    write_script(
        &dirs.dist.join("cargo-corolift-llvm"),
        &format!(
            "#!/bin/sh\n# cargo of {name}; every crate, build script and proc-macro is compiled by\n\
             # dist/rustc-corolift-llvm. Knobs go through RUSTFLAGS, as for cargo-corolift, e.g.\n\
             #   RUSTFLAGS=\"-Cllvm-args=corolift=all\" cargo-corolift-llvm build\n\
             RUSTC=\"{wrapper}\" exec \"{cargo}\" \"$@\"\n",
            name = toolchain.name,
            wrapper = rustc.display(),
            cargo = toolchain.cargo.display(),
        ),
    )?;
    eprintln!("[build] {}", rustc.display());
    eprintln!("[build] {}", dirs.dist.join("cargo-corolift-llvm").display());
    Ok(())
}

/// Writes a rustc wrapper at `path` (`dist/rustc-corolift`, or a test's) that runs the
/// nightly's rustc with `backend` as its codegen backend.
pub fn write_rustc_wrapper(path: &Path, what: &str, toolchain: &Toolchain, backend: &Path) -> Result<()> {
    let lib = toolchain.sysroot.join("lib");
    let prelude = wrapper_prelude(
        what,
        &lib,
        &needed_rustc_driver(backend)?,
        &toolchain.rustc,
        &format!("corolift-backend: sha256:{}", sha256_of(backend)?),
        "run ./y.sh build in corolift's checkout",
    );
    write_script(
        path,
        &format!(
            "#!/bin/sh\n# rustc of {name} with corolift as its codegen backend.\n\
             # The toolchain's lib/ goes first on the library path, as rustup's proxy does: cargo\n\
             # puts lib/rustlib/<target>/lib (which holds a second librustc_driver, without\n\
             # libLLVM beside it) on that path when it runs build scripts, and a build script\n\
             # that runs $RUSTC would otherwise fail to load libLLVM.\n\
             LD_LIBRARY_PATH=\"{lib}${{LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}}\"\n\
             export LD_LIBRARY_PATH\n\
             {prelude}\
             exec \"{rustc}\" -Zcodegen-backend=\"{backend}\" \"$@\"\n",
            name = toolchain.name,
            lib = lib.display(),
            rustc = toolchain.rustc.display(),
            backend = backend.display(),
        ),
    )
}

/// Writes the LLVM driver's rustc wrapper at `path` (`dist/rustc-corolift-llvm`, or a
/// test's) for the driver `binary`.
pub fn write_llvm_driver_wrapper(path: &Path, what: &str, toolchain: &Toolchain, binary: &Path) -> Result<()> {
    let lib = toolchain.sysroot.join("lib");
    let prelude = wrapper_prelude(
        what,
        &lib,
        &needed_rustc_driver(binary)?,
        binary,
        &format!("corolift-llvm-driver: sha256:{}", sha256_of(binary)?),
        "run ./y.sh build in corolift's checkout",
    );
    write_script(
        path,
        &format!(
            "#!/bin/sh\n# rustc of {name}, with corolift's lowering and LLVM as the backend (crates/driver).\n\
             # The driver links the toolchain's librustc_driver, and finds the sysroot from it.\n\
             LD_LIBRARY_PATH=\"{lib}${{LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}}\"\n\
             export LD_LIBRARY_PATH\n\
             {prelude}\
             exec \"{binary}\" \"$@\"\n",
            name = toolchain.name,
            lib = lib.display(),
            binary = binary.display(),
        ),
    )
}

/// The stock cg_clif from the same source and features, for `corolift=off` parity.
pub fn build_stock(dirs: &Dirs, toolchain: &Toolchain) -> Result<PathBuf> {
    eprintln!("[build] stock cg_clif (no hooks, release, unwinding), the baseline for corolift=off");
    let so = cargo_build(toolchain, &dirs.stock_src())?;
    copy(&so, &dirs.stock_so())?;
    Ok(dirs.stock_so())
}
