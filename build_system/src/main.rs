//! corolift's build system, run as `./y.sh <command>`.

mod bench;
mod build;
mod claims;
mod compare;
mod compile;
mod demo;
mod dev_build;
mod fuzz;
mod install;
mod patch;
mod prepare;
mod report_lines;
mod test;
mod toolchain;
mod util;

use toolchain::{Dirs, Toolchain};
use util::{Result, error};

const USAGE: &str = "\
usage: ./y.sh <command> [options]

commands:
  prepare          add the rustc-dev component if missing; stage and patch cg_clif's source
  build            prepare, then build dist/librustc_codegen_corolift.so with the
                   dist/rustc-corolift and dist/cargo-corolift wrappers, and the LLVM
                   driver with dist/rustc-corolift-llvm and dist/cargo-corolift-llvm
  demo             build, then compile a bundled async program with LLVM and with
                   corolift and print its coroutines' states and sizes side by side
  test [--bless] [SUITE...]
                   build, then run the test suites config.txt enables (or the named
                   ones); --bless rewrites the snapshot files
  bench [--rounds N] [--callgrind M|all] [--toolchain | --claims | --dev]
                   build, then measure the state-lowering targets: the seed programs'
                   resume functions, the corpus's resume bytes, frames and future
                   sizes, the future-size examples (benches/compare/sizes.rs), the
                   corpus's compile CPU time (N alternating rounds, default 5) and
                   rustc's instructions under callgrind for the M largest programs
                   (default all, one per core), corolift against corolift=off at -O3;
                   writes build/bench/bench.json. --toolchain: only the dev build of
                   tokio_echo with the installed toolchain against dist/cargo-corolift
                   (N rounds, CPU medians). --claims: only the seed article's five
                   claims, re-measured (build/bench/claims.json). --dev: only the
                   dev-profile builds of benches/compare/tokio_app under LLVM,
                   corolift=off and corolift (N rounds; build/bench/dev/dev.json)
  compare [--quick] [--ablation]
                   build, then build benches/compare/ with LLVM -O0/-O3/-Oz, stock cg_clif
                   (corolift=off) -O0/-O3, corolift -O0/-O3, corolift=all -O3 and the
                   LLVM driver -O0/-O3/-Oz, and benches/firmware/ for thumbv7em-none-eabihf
                   (LLVM and the driver at z and s; each pass alone and removed); print
                   and write build/compare/report.{json,html} and results.md (the
                   summary and every table, for the README): resume bytes, states,
                   frames, size_of, .text, instructions (callgrind), compile times,
                   firmware sections; --quick: a subset for CI, under a minute.
                   --ablation: instead, each pass removed from the default and alone
                   on corolift=off (inline_child+flatten_child+one_dispatch, with
                   and without await_calls, as groups too), Cranelift and LLVM + corolift at -O0
                   and -O3, over the benchmarks and the corpus (about an hour;
                   with --quick: Cranelift -O3, seed and four corpus programs);
                   writes build/ablation/, which the full run then includes
  fuzz [--count N] [--seed S] [--keep]
                   build, then generate N random async programs (seeds S.., default
                   100 from 1), run each under LLVM -O0 and corolift (default and
                   corolift=all, -O0 and -O3, and the LLVM driver -O0 and -O3;
                   debug-assertions off), compare stdout and exit
                   status; divergent programs are kept and minimised under
                   build/fuzz/divergent/<seed>/; --keep keeps every program
  install [--toolchain NAME]
                   build, then make the rustup toolchain NAME (default corolift): the
                   nightly's compiler with corolift as the codegen backend `corolift`
                   (-Zcodegen-backend=corolift, codegen-backend = \"corolift\" in a cargo
                   profile); installing again replaces it
  uninstall [--toolchain NAME]
                   remove that toolchain
  help             this text
";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Err(err) = run(&args) {
        eprintln!("error: {err}");
        std::process::exit(1);
    }
}

fn run(args: &[String]) -> Result<()> {
    let Some(command) = args.first() else {
        eprint!("{USAGE}");
        return error("no command given");
    };
    let rest = &args[1..];
    if matches!(command.as_str(), "help" | "--help" | "-h") {
        print!("{USAGE}");
        return Ok(());
    }
    let dirs = Dirs::new();
    let toolchain = Toolchain::find(&dirs)?;
    match command.as_str() {
        "prepare" => {
            no_options(command, rest)?;
            prepare::prepare(&dirs, &toolchain)
        }
        "build" => {
            no_options(command, rest)?;
            build::build(&dirs, &toolchain)
        }
        "demo" => {
            no_options(command, rest)?;
            build::build(&dirs, &toolchain)?;
            demo::demo(&dirs, &toolchain)
        }
        "compare" => {
            let options = compare::Options::parse(rest)?;
            build::build(&dirs, &toolchain)?;
            compare::compare(&dirs, &toolchain, &options)
        }
        "bench" => {
            let options = bench::Options::parse(rest)?;
            build::build(&dirs, &toolchain)?;
            bench::bench(&dirs, &toolchain, &options)
        }
        "test" => {
            let options = test::Options::parse(rest)?;
            build::build(&dirs, &toolchain)?;
            test::test(&dirs, &toolchain, &options)
        }
        "fuzz" => {
            let options = fuzz::Options::parse(rest)?;
            build::build(&dirs, &toolchain)?;
            fuzz::fuzz(&dirs, &toolchain, &options)
        }
        "install" => {
            let options = install::Options::parse(rest)?;
            build::build(&dirs, &toolchain)?;
            install::install(&dirs, &toolchain, &options)
        }
        "uninstall" => {
            let options = install::Options::parse(rest)?;
            install::uninstall(&dirs, &options)
        }
        other => {
            eprint!("{USAGE}");
            error(format!("unknown command `{other}`"))
        }
    }
}

fn no_options(command: &str, rest: &[String]) -> Result<()> {
    match rest.first() {
        Some(arg) => error(format!("`{command}` takes no arguments, got `{arg}` (see ./y.sh help)")),
        None => Ok(()),
    }
}
