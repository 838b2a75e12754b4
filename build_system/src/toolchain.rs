//! Where things are: the project tree, the nightly toolchain and its cg_clif source.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::util::{Context, Result, error, stdout_of};

/// The project's folders.
pub struct Dirs {
    pub root: PathBuf,
    /// Ignored; holds the staged cg_clif sources, their targets and test outputs.
    pub build: PathBuf,
    /// Ignored; what `./y.sh build` hands to users.
    pub dist: PathBuf,
}

impl Dirs {
    pub fn new() -> Dirs {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
        Dirs { build: root.join("build"), dist: root.join("dist"), root }
    }

    /// The staged, patched cg_clif: corolift's backend.
    pub fn corolift_src(&self) -> PathBuf {
        self.build.join("cg_clif")
    }

    /// The staged, unpatched cg_clif: the stock backend we compare against.
    pub fn stock_src(&self) -> PathBuf {
        self.build.join("stock_cg_clif")
    }

    pub fn backend_so(&self) -> PathBuf {
        self.dist.join("librustc_codegen_corolift.so")
    }

    /// The LLVM driver's executable (`dist/rustc-corolift-llvm` is its wrapper).
    pub fn driver_binary(&self) -> PathBuf {
        self.dist.join("corolift-llvm-driver")
    }

    pub fn stock_so(&self) -> PathBuf {
        self.build.join("stock").join("librustc_codegen_cranelift.so")
    }
}

/// The nightly toolchain that rust-toolchain.toml selects.
pub struct Toolchain {
    /// e.g. `nightly-x86_64-unknown-linux-gnu`, as rustup names it.
    pub name: String,
    pub sysroot: PathBuf,
    pub rustc: PathBuf,
    pub cargo: PathBuf,
}

impl Toolchain {
    pub fn find(dirs: &Dirs) -> Result<Toolchain> {
        let sysroot = stdout_of(Command::new("rustc").arg("--print").arg("sysroot").current_dir(&dirs.root))?;
        let sysroot = PathBuf::from(sysroot.trim());
        let Some(name) = sysroot.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            return error(format!("unexpected sysroot `{}`", sysroot.display()));
        };
        let version = stdout_of(Command::new(sysroot.join("bin/rustc")).arg("-V"))?;
        if !version.contains("nightly") {
            return error(format!(
                "corolift needs a nightly toolchain (rustc_private), but rustc says `{}`",
                version.trim()
            ));
        }
        Ok(Toolchain {
            rustc: sysroot.join("bin/rustc"),
            cargo: sysroot.join("bin/cargo"),
            name,
            sysroot,
        })
    }

    /// cg_clif's source as the rustc-dev component ships it.
    pub fn cg_clif_source(&self) -> PathBuf {
        self.sysroot.join("lib/rustlib/rustc-src/rust/compiler/rustc_codegen_cranelift")
    }

    /// The nightly's cargo building with rustc's LLVM backend. `RUSTC` is set because cargo
    /// would otherwise run whatever `rustc` PATH finds; the toolchain's `lib/` goes first
    /// on the library path, as rustup's proxy would put it, for build scripts that run
    /// `$RUSTC` (see `dist/rustc-corolift`).
    pub fn llvm_cargo(&self) -> Command {
        let mut cmd = Command::new(&self.cargo);
        cmd.env("RUSTC", &self.rustc);
        let lib = self.sysroot.join("lib");
        let path = match std::env::var_os("LD_LIBRARY_PATH") {
            Some(old) => format!("{}:{}", lib.display(), old.to_string_lossy()),
            None => lib.display().to_string(),
        };
        cmd.env("LD_LIBRARY_PATH", path);
        cmd
    }

    /// `-L native=$SYSROOT/lib`: libLLVM and librustc_driver live there.
    pub fn rustc_private_rustflags(&self) -> String {
        format!("-L native={}", self.sysroot.join("lib").display())
    }

}

/// The hex SHA-256 of a file's contents.
pub fn sha256_of(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).context(|| format!("cannot read {}", path.display()))?;
    Ok(Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect())
}

/// The `librustc_driver-<hash>.so` a backend or driver binary was linked against (its
/// `DT_NEEDED` entry, read with `objdump -p`): the compiler it can be loaded into.
pub fn needed_rustc_driver(binary: &Path) -> Result<String> {
    let dump = stdout_of(Command::new("objdump").arg("-p").arg(binary))?;
    for line in dump.lines() {
        let mut words = line.split_whitespace();
        if words.next() == Some("NEEDED")
            && let Some(lib) = words.next()
            && lib.starts_with("librustc_driver-")
        {
            return Ok(lib.to_string());
        }
    }
    error(format!("{} is not linked against a librustc_driver", binary.display()))
}

/// The start of a rustc wrapper script (`dist/rustc-corolift`, `dist/rustc-corolift-llvm`,
/// an installed toolchain's `bin/rustc`): it stops with an error naming `fix` when `lib`
/// no longer has the `librustc_driver` the backend or driver was linked against (the
/// nightly changed under it), and answers `-vV` with `rustc`'s own answer plus
/// `identity`, a line that names the backend's or driver's content. cargo puts the
/// `-vV` output in every unit's fingerprint and sccache in every cache key, so a rebuilt
/// backend is a different compiler to both.
pub fn wrapper_prelude(what: &str, lib: &Path, driver: &str, rustc: &Path, identity: &str, fix: &str) -> String {
    format!(
        "if [ ! -e \"{lib}/{driver}\" ]; then\n\
         \x20   echo \"error: {what} is stale: it was built for {driver}, which {lib} no longer has (the nightly changed); {fix}\" >&2\n\
         \x20   exit 1\n\
         fi\n\
         if [ \"$#\" = 1 ] && {{ [ \"$1\" = -vV ] || [ \"$1\" = -Vv ]; }}; then\n\
         \x20   \"{rustc}\" -vV || exit\n\
         \x20   echo \"{identity}\"\n\
         \x20   exit 0\n\
         fi\n",
        lib = lib.display(),
        rustc = rustc.display(),
    )
}
