//! `./y.sh demo`: the main job until `compare` exists. Compiles the bundled seed program
//! (tests/snapshots/seed.rs) with rustc's LLVM backend and with corolift, with and
//! without lowering, at opt-level 3, runs all three, and prints every coroutine's states,
//! size_of and resume-function bytes side by side.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::compile::{Backend, BuildConfig, Directives, compile_program, run_program, symbol_sizes};
use crate::toolchain::{Dirs, Toolchain};
use crate::util::{Result, error, read};

pub fn demo(dirs: &Dirs, toolchain: &Toolchain) -> Result<()> {
    let program = dirs.root.join("tests/snapshots/seed.rs");
    let directives = Directives::read(&read(&program)?);
    let out = crate::compile::fresh_dir(dirs.build.join("demo"));
    let configs = [
        BuildConfig::new("llvm-O3", Backend::Llvm, "3"),
        BuildConfig::corolift("corolift-off-O3", &["corolift=off"], "3"),
        BuildConfig::corolift("corolift-O3", &[], "3"),
    ];
    let mut outputs = Vec::new();
    let mut sizes = Vec::new();
    let mut resumed_panics = Vec::new();
    for config in &configs {
        eprintln!("[demo] compiling {} with {}", program.display(), config.name);
        let exe = out.join(config.name);
        let mut extra = Vec::new();
        if config.backend != Backend::Llvm {
            extra.push(format!("-Cllvm-args=corolift-report={}", out.join(format!("{}.jsonl", config.name)).display()));
        }
        compile_program(dirs, toolchain, config, &program, &directives, &exe, &extra).map_err(crate::util::Error)?;
        outputs.push(run_program(&exe, &[]).map_err(crate::util::Error)?);
        let symbols = symbol_sizes(&exe).map_err(crate::util::Error)?;
        resumed_panics.push(symbols.iter().any(|(name, _)| name.contains("panic_const_async_fn_resumed")));
        sizes.push(symbols.into_iter().collect::<BTreeMap<_, _>>());
    }
    let off = crate::report_lines::by_symbol(&out.join("corolift-off-O3.jsonl")).map_err(crate::util::Error)?;
    let on = crate::report_lines::by_symbol(&out.join("corolift-O3.jsonl")).map_err(crate::util::Error)?;

    println!("seed program: {}\n", program.display());
    println!(
        "{:<28} {:>14} {:>16} {:>8} {:>14} {:>9}",
        "coroutine (resume fn)", "states rustc→", "size_of rustc→", "LLVM-O3", "cg_clif stock", "corolift"
    );
    for (symbol, before) in &off {
        let after = on.get(symbol);
        let field = |v: Option<&Value>, f: &str| v.map(|v| v[f].to_string()).unwrap_or_else(|| "-".into());
        let llvm = sizes[0].get(symbol).map(|s| s.to_string()).unwrap_or_else(|| "inlined".into());
        println!(
            "{:<28} {:>14} {:>16} {:>8} {:>14} {:>9}",
            before["function"].as_str().unwrap_or_default(),
            format!("{} → {}", field(Some(before), "states_after"), field(after, "states_after")),
            format!("{} → {}", field(Some(before), "size_after"), field(after, "size_after")),
            llvm,
            field(Some(before), "resume_bytes"),
            field(after, "resume_bytes"),
        );
    }
    println!();
    for (config, panics) in configs.iter().zip(&resumed_panics) {
        println!("{:<16} links a panic_const_async_fn_resumed* function: {}", config.name, if *panics { "yes" } else { "no" });
    }
    for (config, output) in configs.iter().zip(&outputs).skip(1) {
        let same = output.stdout.lines().filter(|l| !l.starts_with("size_of")).eq(outputs[0].stdout.lines().filter(|l| !l.starts_with("size_of")));
        if !same || output.status != outputs[0].status {
            return error(format!("{} printed something else than LLVM:\n{}\nvs\n{}", config.name, output.stdout, outputs[0].stdout));
        }
    }
    println!("all three builds print the same output:\n{}", outputs[0].stdout.trim_end());
    println!("\nreports: {}, {}", out.join("corolift-off-O3.jsonl").display(), out.join("corolift-O3.jsonl").display());
    Ok(())
}
