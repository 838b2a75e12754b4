fn main() {
    let out = std::env::var("OUT_DIR").unwrap();
    std::fs::write(format!("{out}/generated.rs"), "pub const GREETING: &str = \"built by build.rs\";\n").unwrap();
    println!("cargo::rerun-if-changed=build.rs");
}
