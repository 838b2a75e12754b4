//! `corolift=off` on the LLVM driver must produce what plain rustc produces: every corpus
//! program is compiled to an object by the nightly's rustc and by `dist/rustc-corolift-llvm`
//! with `corolift=off`, at opt-level 0, 3 and z; the symbols and their sizes must be the
//! same (`stock_parity` does the same for the Cranelift backend).

use super::Env;
use super::stock_parity::same_symbols;
use crate::compile::{Backend, BuildConfig};
use crate::util::Result;

pub fn run(env: &Env) -> Result<()> {
    let pairs = [
        (BuildConfig::new("llvm-O0", Backend::Llvm, "0"), BuildConfig::corolift_llvm("llvm-corolift-off-O0", &["corolift=off"], "0")),
        (BuildConfig::new("llvm-O3", Backend::Llvm, "3"), BuildConfig::corolift_llvm("llvm-corolift-off-O3", &["corolift=off"], "3")),
        (BuildConfig::new("llvm-Oz", Backend::Llvm, "z"), BuildConfig::corolift_llvm("llvm-corolift-off-Oz", &["corolift=off"], "z")),
    ];
    same_symbols(env, "llvm_parity", &pairs)
}
