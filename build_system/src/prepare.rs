//! `./y.sh prepare`: the rustc-dev component, then cg_clif's source staged and patched.
//!
//! Two copies are staged under `build/` (ignored by git): `cg_clif` with corolift's hooks
//! and `stock_cg_clif` without them, the baseline for `corolift=off`. Files are written
//! only when their contents change, so cargo's incremental rebuild stays ~20 s.

use std::path::Path;
use std::process::Command;

use crate::patch;
use crate::toolchain::{Dirs, Toolchain};
use crate::util::{Context, Result, error, files_below, write_if_changed};

pub fn ensure_rustc_dev(toolchain: &Toolchain) -> Result<()> {
    if toolchain.cg_clif_source().join("src/base.rs").is_file() {
        return Ok(());
    }
    let command = format!("rustup component add rustc-dev --toolchain {}", toolchain.name);
    eprintln!("[prepare] the rustc-dev component is missing; running `{command}`");
    let status = Command::new("rustup")
        .args(["component", "add", "rustc-dev", "--toolchain", &toolchain.name])
        .status();
    let ok = matches!(&status, Ok(s) if s.success());
    if !ok || !toolchain.cg_clif_source().join("src/base.rs").is_file() {
        return error(format!(
            "corolift needs the rustc-dev component of {}, which ships cg_clif's source at {}.\n\
             rustup could not add it ({}). Run this yourself and retry:\n    {command}",
            toolchain.name,
            toolchain.cg_clif_source().display(),
            match status {
                Ok(s) => format!("exit {s}"),
                Err(e) => format!("cannot run rustup: {e}"),
            }
        ));
    }
    Ok(())
}

/// Copies cg_clif's source into `dest`, applying `edit` to each file's text.
fn stage(src: &Path, dest: &Path, edit: impl Fn(&str, String) -> Result<String>) -> Result<usize> {
    let mut changed = 0;
    for rel in files_below(src)? {
        let rel_str = rel.to_string_lossy().replace('\\', "/");
        let from = src.join(&rel);
        let bytes = std::fs::read(&from).context(|| format!("cannot read {}", from.display()))?;
        let bytes = match String::from_utf8(bytes) {
            Ok(text) => edit(&rel_str, text)?.into_bytes(),
            Err(e) => e.into_bytes(),
        };
        changed += write_if_changed(&dest.join(&rel), &bytes)? as usize;
    }
    Ok(changed)
}

pub fn prepare(dirs: &Dirs, toolchain: &Toolchain) -> Result<()> {
    ensure_rustc_dev(toolchain)?;
    let src = toolchain.cg_clif_source();
    let patched = patch::patched_files();
    let n = stage(&src, &dirs.corolift_src(), |file, text| {
        if patched.contains(&file) { patch::apply(file, text) } else { Ok(text) }
    })?;
    eprintln!("[prepare] staged cg_clif with corolift's hooks in {} ({n} files changed)", dirs.corolift_src().display());
    let n = stage(&src, &dirs.stock_src(), |file, text| {
        // The stock copy gets no hooks, only a workspace of its own.
        if file == "Cargo.toml" { Ok(format!("[workspace]\n\n{text}")) } else { Ok(text) }
    })?;
    eprintln!("[prepare] staged stock cg_clif in {} ({n} files changed)", dirs.stock_src().display());
    Ok(())
}
