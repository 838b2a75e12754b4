//! `rustc-corolift-llvm`: the nightly's rustc, with corolift's lowering, and LLVM as the
//! backend.
//!
//! corolift's lowering passes are MIR transforms in an `optimized_mir` override; the
//! Cranelift backend installs the override from its `provide` (`crates/codegen`). This
//! driver is `rustc_driver` with the same override installed through
//! `Config::override_queries`, and nothing else changed: LLVM generates the code. So the
//! transforms reach the targets Cranelift has no backend for (32-bit Arm, RISC-V), and the
//! question "how much is the lowering and how much the backend" can be measured with
//! everything else equal.
//!
//! Knobs: the same `-Cllvm-args=corolift...` words as on the Cranelift backend. LLVM rejects
//! words it does not know, so [`Callbacks::config`] takes corolift's words out of the LLVM
//! arguments and passes each as `--cfg corolift_knob="<word>"` instead (with
//! `corolift-backend=llvm`, which turns off the passes that only make sense for Cranelift,
//! and says so in the report). The crate configuration is part of what incremental
//! compilation tracks, and the words stay in `RUSTFLAGS`, which cargo's fingerprint
//! covers, so a knob change rebuilds what it should. A word corolift does not know is an
//! error, as on the Cranelift backend.
//!
//! Report: `corolift-report` lines are written once analysis is done, one per resume
//! function in each codegen unit that holds it, with `resume_bytes` and `frame_bytes`
//! null: LLVM has not generated the code yet, and does not report per-function sizes to a
//! driver (`./y.sh compare` takes them from the symbols of the object file).
//! `corolift-dump` writes the MIR files as on the Cranelift backend; there is no `.frame`.

#![feature(rustc_private)]

extern crate rustc_driver;
extern crate rustc_interface;
extern crate rustc_middle;
extern crate rustc_session;

use std::process::ExitCode;

use corolift_host::{KNOB_CFG, coroutine_facts, knobs, resume_function_of};
use corolift_lowering::knobs::{Knobs, is_corolift_word};
use rustc_driver::Compilation;
use rustc_interface::interface;
use rustc_middle::mono::MonoItem;
use rustc_middle::ty::TyCtxt;

struct Corolift;

impl rustc_driver::Callbacks for Corolift {
    fn config(&mut self, config: &mut interface::Config) {
        let mut words: Vec<String> = Vec::new();
        config.opts.cg.llvm_args.retain(|word| {
            let ours = is_corolift_word(word);
            if ours {
                words.push(word.clone());
            }
            !ours
        });
        if let Err(why) = Knobs::parse(&words) {
            eprintln!("error: {why}");
            std::process::exit(1);
        }
        words.push("corolift-backend=llvm".to_string());
        for word in &words {
            let escaped = word.replace('\\', "\\\\").replace('"', "\\\"");
            config.crate_cfg.push(format!("{KNOB_CFG}=\"{escaped}\""));
        }
        // Under `--check-cfg` (cargo always passes it), declare the name, so that no
        // `unexpected_cfgs` lint names it. Without any, rustc checks no cfg, and adding one
        // would turn checking on for the user's own.
        if !config.crate_check_cfg.is_empty() {
            config.crate_check_cfg.push(format!("cfg({KNOB_CFG}, values(any()))"));
        }
        config.override_queries = Some(|_session, providers| corolift_host::provide(providers));
    }

    fn after_analysis<'tcx>(&mut self, _compiler: &interface::Compiler, tcx: TyCtxt<'tcx>) -> Compilation {
        let knobs = knobs(tcx);
        if knobs.report.is_some() && tcx.sess.opts.output_types.should_codegen() {
            write_report(tcx, &knobs);
        }
        Compilation::Continue
    }
}

/// A report line for every resume function of every codegen unit of this crate.
fn write_report(tcx: TyCtxt<'_>, knobs: &Knobs) {
    for unit in tcx.collect_and_partition_mono_items(()).codegen_units {
        for item in unit.items().keys() {
            let MonoItem::Fn(instance) = *item else { continue };
            if resume_function_of(tcx, instance).is_none() {
                continue;
            }
            if let Some(facts) = coroutine_facts(tcx, instance, knobs) {
                facts.append(tcx.symbol_name(instance).name, None, None);
            }
        }
    }
}

fn main() -> ExitCode {
    let early_dcx = rustc_session::EarlyDiagCtxt::new(rustc_session::config::ErrorOutputType::default());
    rustc_driver::init_rustc_env_logger(&early_dcx);
    rustc_driver::install_ice_hook("https://github.com/rust-lang/rust/issues/new (or corolift's issues, if it is ours)", |_| ());
    let args = rustc_driver::args::raw_args(&early_dcx);
    rustc_driver::catch_with_exit_code(|| rustc_driver::run_compiler(&args, &mut Corolift))
}
