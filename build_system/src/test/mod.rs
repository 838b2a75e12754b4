//! `./y.sh test`: the suites config.txt enables, with a closing `N passed, N failed` line.

mod backtrace;
mod bad_input;
mod cache;
mod cargo_project;
mod cg_clif_examples;
mod extended;
mod compare_quick;
mod corpus;
mod fuzz_smoke;
mod install;
mod memcheck;
mod report;
mod snapshots;
mod stock_parity;
mod llvm_parity;

use std::path::PathBuf;
use std::sync::Mutex;

use crate::toolchain::{Dirs, Toolchain};
use crate::util::{Result, error, read};

pub struct Options {
    pub bless: bool,
    /// Suites named on the command line; empty: every suite config.txt enables.
    pub suites: Vec<String>,
}

pub const SUITES: &[&str] =
    &["bad_input", "corpus", "report", "snapshots", "backtrace", "stock_parity", "llvm_parity", "cargo", "install", "cache", "cg_clif_examples", "compare_quick", "fuzz_smoke", "memcheck", "extended"];

impl Options {
    pub fn parse(args: &[String]) -> Result<Options> {
        let mut options = Options { bless: false, suites: Vec::new() };
        for arg in args {
            match arg.as_str() {
                "--bless" => options.bless = true,
                suite if SUITES.contains(&suite) => options.suites.push(suite.to_string()),
                other => {
                    return error(format!(
                        "unknown test option or suite `{other}`; suites: {}; option: --bless",
                        SUITES.join(", ")
                    ));
                }
            }
        }
        Ok(options)
    }
}

/// config.txt: `testsuite.<suite>` and `example.<name>` lines; `#` comments a line out.
pub struct TestConfig {
    pub suites: Vec<String>,
    pub examples: Vec<String>,
}

impl TestConfig {
    pub fn read(dirs: &Dirs) -> Result<TestConfig> {
        let path = dirs.root.join("config.txt");
        let mut config = TestConfig { suites: Vec::new(), examples: Vec::new() };
        for (n, line) in read(&path)?.lines().enumerate() {
            let line = line.split('#').next().unwrap().trim();
            if line.is_empty() {
                continue;
            }
            match line.split_once('.') {
                Some(("testsuite", suite)) if SUITES.contains(&suite) => config.suites.push(suite.into()),
                Some(("example", name)) => config.examples.push(name.into()),
                _ => {
                    return error(format!(
                        "config.txt:{}: `{line}` is neither `testsuite.<{}>` nor `example.<name>`",
                        n + 1,
                        SUITES.join("|")
                    ));
                }
            }
        }
        Ok(config)
    }
}

/// Counts cases and keeps the failures' details for the end of the run.
#[derive(Default)]
pub struct Tally {
    inner: Mutex<(usize, Vec<(String, String)>)>,
}

impl Tally {
    pub fn record(&self, suite: &str, case: &str, result: std::result::Result<(), String>) {
        let mut inner = self.inner.lock().unwrap();
        match result {
            Ok(()) => {
                inner.0 += 1;
                eprintln!("[{suite}] {case} ... ok");
            }
            Err(why) => {
                eprintln!("[{suite}] {case} ... FAILED");
                inner.1.push((format!("{suite}: {case}"), why));
            }
        }
    }

    /// A case the program itself opts out of, with its reason; not counted.
    pub fn skip(&self, suite: &str, case: &str, why: &str) {
        let _lock = self.inner.lock().unwrap();
        eprintln!("[{suite}] {case} ... skipped: {why}");
    }

    fn finish(&self) -> (usize, usize) {
        let inner = self.inner.lock().unwrap();
        for (case, why) in &inner.1 {
            eprintln!("\n---- {case} ----\n{}", why.trim_end());
        }
        (inner.0, inner.1.len())
    }
}

/// What every suite gets.
pub struct Env<'a> {
    pub dirs: &'a Dirs,
    pub toolchain: &'a Toolchain,
    pub options: &'a Options,
    pub config: &'a TestConfig,
    pub tally: &'a Tally,
}

impl Env<'_> {
    /// A fresh scratch folder for a suite under `build/tests/`.
    pub fn scratch(&self, suite: &str) -> PathBuf {
        crate::compile::fresh_dir(self.dirs.build.join("tests").join(suite))
    }

    /// The corpus programs, sorted by name.
    pub fn corpus(&self) -> Result<Vec<PathBuf>> {
        crate::util::corpus_programs(&self.dirs.root)
    }
}

/// Runs `work` over `items` on every core.
pub fn parallel<T: Sync>(items: &[T], work: impl Fn(&T) + Sync) {
    crate::util::parallel_map(items, work);
}

pub fn test(dirs: &Dirs, toolchain: &Toolchain, options: &Options) -> Result<()> {
    let config = TestConfig::read(dirs)?;
    let suites: Vec<String> =
        if options.suites.is_empty() { config.suites.clone() } else { options.suites.clone() };
    let tally = Tally::default();
    let env = Env { dirs, toolchain, options, config: &config, tally: &tally };
    for suite in &suites {
        eprintln!("== suite {suite} ==");
        let outcome = match suite.as_str() {
            "bad_input" => bad_input::run(&env),
            "corpus" => corpus::run(&env),
            "report" => report::run(&env),
            "snapshots" => snapshots::run(&env),
            "backtrace" => backtrace::run(&env),
            "stock_parity" => stock_parity::run(&env),
            "llvm_parity" => llvm_parity::run(&env),
            "cargo" => cargo_project::run(&env),
            "install" => install::run(&env),
            "cache" => cache::run(&env),
            "cg_clif_examples" => cg_clif_examples::run(&env),
            "compare_quick" => compare_quick::run(&env),
            "fuzz_smoke" => fuzz_smoke::run(&env),
            "extended" => extended::run(&env),
            "memcheck" => memcheck::run(&env),
            _ => unreachable!("checked when parsing"),
        };
        if let Err(err) = outcome {
            tally.record(suite, "suite setup", Err(err.0));
        }
    }
    let (passed, failed) = tally.finish();
    println!("{passed} passed, {failed} failed");
    if failed > 0 {
        return error(format!("{failed} test(s) failed"));
    }
    Ok(())
}
