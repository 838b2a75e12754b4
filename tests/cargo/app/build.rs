fn main() {
    let out = std::env::var("OUT_DIR").unwrap();
    std::fs::write(format!("{out}/generated.rs"), "pub const GREETING: &str = \"built by build.rs\";\n").unwrap();
    // Like libc's and serde's build scripts: ask $RUSTC for its version. This failed under
    // cargo-corolift until rustc-corolift put the toolchain's lib/ on the library path.
    let rustc = std::env::var("RUSTC").unwrap();
    let version = std::process::Command::new(&rustc).arg("--version").output().unwrap();
    assert!(version.status.success(), "`{rustc} --version` failed: {}", String::from_utf8_lossy(&version.stderr));
    println!("cargo::rerun-if-changed=build.rs");
}
