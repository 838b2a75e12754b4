//! `./y.sh fuzz [--count N] [--seed S] [--keep]`: differential fuzzing of corolift against
//! rustc's LLVM backend, on generated async programs.
//!
//! For every seed in `S..S+N` (default 1..101), `generate` writes a small random async
//! program (see its module docs for what the programs contain) to `build/fuzz/<seed>.rs`,
//! compiles it with LLVM at -Copt-level=0 (the reference), with corolift at -Copt-level=0
//! and 3 with the default passes and with `corolift=all`, and with LLVM and corolift's
//! lowering (`dist/rustc-corolift-llvm`) at -Copt-level=0 and 3, all with
//! `-Cdebug-assertions=off` (the setting under which corolift's passes change the most)
//! and the verifier between passes on (`corolift-verify`: a failure is a compile error,
//! which counts as a divergence), runs every binary (killed after 10 s) and compares
//! stdout and exit status with the reference. A worker per core.
//!
//! Outcomes per seed, one progress line each on stderr:
//! - `ok`: every build printed what the reference printed and exited alike;
//! - `DIVERGED (<config>...)`: a corolift build differed, or failed to compile a program
//!   LLVM compiles. The program, the reference's output and each divergent build's output
//!   are kept under `build/fuzz/divergent/<seed>/`, and the program is minimised to
//!   `min.rs` there: first by regenerating the seed at smaller sizes, then by replacing
//!   top-level statements (of `main` and of each async fn) by stubs one at a time and
//!   dropping functions nothing calls, as long as the divergence persists;
//! - `GENERATOR ERROR`: the reference does not compile, does not terminate, or exits
//!   with a non-zero status (every generated program must run to `end` under LLVM). That
//!   is a bug of `generate.rs`, not of corolift, and is counted separately.
//!
//! The command fails if there is any divergence or generator error.
//!
//! A divergence found here, once minimised and understood, belongs in the differential
//! corpus as `tests/corpus/c_regress_<name>.rs` (see
//! `tests/corpus/c_regress_merge_conflicting_locals.rs` for the form: a header comment that
//! says what went wrong and why, `//@ compile-flags: -Cdebug-assertions=off` when the
//! divergence needs it, and the corpus's own `support/executor.rs`), so that
//! `./y.sh test corpus` keeps checking it after the fix.

mod generate;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::compile::{Backend, BuildConfig, Directives, RunResult, compile_program, describe_status};
use crate::toolchain::{Dirs, Toolchain};
use crate::util::{Error, Result};

use generate::{Program, generate};

pub struct Options {
    /// How many seeds to try.
    pub count: u64,
    /// The first seed.
    pub seed: u64,
    /// Keep every generated program (and the binaries) instead of only divergent ones.
    pub keep: bool,
}

impl Options {
    pub fn parse(args: &[String]) -> Result<Options> {
        let mut options = Options { count: 100, seed: 1, keep: false };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--count" => {
                    let value = args.next().ok_or_else(|| Error("--count needs a number".into()))?;
                    options.count = value
                        .parse()
                        .ok()
                        .filter(|&n| n >= 1)
                        .ok_or_else(|| Error(format!("--count needs a positive number, got `{value}`")))?;
                }
                "--seed" => {
                    let value = args.next().ok_or_else(|| Error("--seed needs a number".into()))?;
                    options.seed =
                        value.parse().map_err(|_| Error(format!("--seed needs a number, got `{value}`")))?;
                }
                "--keep" => options.keep = true,
                other => return Err(Error(format!("unknown fuzz option `{other}` (see ./y.sh help)"))),
            }
        }
        if options.seed.checked_add(options.count).is_none() {
            return Err(Error("--seed plus --count overflows a u64".into()));
        }
        Ok(options)
    }
}

/// How long one binary may run.
const RUN_TIMEOUT: Duration = Duration::from_secs(10);
/// How much of a binary's stdout is kept (a runaway program is cut off, then times out).
const STDOUT_LIMIT: u64 = 4 << 20;
/// Bounds of the minimisation of one divergent program.
const MIN_TRIES: usize = 120;
const MIN_TIME: Duration = Duration::from_secs(240);

fn reference() -> BuildConfig {
    BuildConfig::new("llvm-O0", Backend::Llvm, "0")
}

fn compared() -> Vec<BuildConfig> {
    vec![
        BuildConfig::corolift("corolift-O0", &["corolift-verify"], "0"),
        BuildConfig::corolift("corolift-all-O0", &["corolift=all", "corolift-verify"], "0"),
        BuildConfig::corolift("corolift-O3", &["corolift-verify"], "3"),
        BuildConfig::corolift("corolift-all-O3", &["corolift=all", "corolift-verify"], "3"),
        // The same passes on the LLVM path (dist/rustc-corolift-llvm), at the size level
        // firmware is built at too.
        BuildConfig::corolift_llvm("llvm-corolift-O0", &["corolift-verify"], "0"),
        BuildConfig::corolift_llvm("llvm-corolift-O3", &["corolift-verify"], "3"),
        BuildConfig::corolift_llvm("llvm-corolift-Oz", &["corolift-verify"], "z"),
    ]
}

fn extra_flags() -> Vec<String> {
    vec!["-Cdebug-assertions=off".to_string()]
}

enum Outcome {
    Ok,
    Diverged(Vec<&'static str>),
    GeneratorError(String),
}

struct Env<'a> {
    dirs: &'a Dirs,
    toolchain: &'a Toolchain,
    root: PathBuf,
    keep: bool,
}

pub fn fuzz(dirs: &Dirs, toolchain: &Toolchain, options: &Options) -> Result<()> {
    if !dirs.backend_so().exists() {
        return Err(Error(format!("{} is missing: run ./y.sh build first", dirs.backend_so().display())));
    }
    let root = dirs.build.join("fuzz");
    std::fs::create_dir_all(root.join("bin")).map_err(|e| Error(format!("cannot create {}: {e}", root.display())))?;
    let env = Env { dirs, toolchain, root, keep: options.keep };
    let seeds: Vec<u64> = (options.seed..options.seed + options.count).collect();
    eprintln!(
        "[fuzz] seeds {}..{} ({} programs) x {} configurations against {}, in {}",
        options.seed,
        options.seed + options.count - 1,
        options.count,
        compared().len(),
        reference().name,
        env.root.display()
    );
    let started = Instant::now();
    let outcomes: Vec<(u64, Outcome)> = crate::util::parallel_map(&seeds, |&seed| (seed, fuzz_one(&env, seed)));
    let diverged: Vec<(u64, &Vec<&'static str>)> = outcomes
        .iter()
        .filter_map(|(s, o)| if let Outcome::Diverged(configs) = o { Some((*s, configs)) } else { None })
        .collect();
    let gen_errors: Vec<(u64, &String)> = outcomes
        .iter()
        .filter_map(|(s, o)| if let Outcome::GeneratorError(e) = o { Some((*s, e)) } else { None })
        .collect();
    eprintln!(
        "[fuzz] {} programs, {} divergences, {} generator errors ({:.0} s)",
        outcomes.len(),
        diverged.len(),
        gen_errors.len(),
        started.elapsed().as_secs_f64()
    );
    for (seed, configs) in &diverged {
        eprintln!(
            "[fuzz] divergent: seed {seed} under {}, see {} (reproduce: ./y.sh fuzz --seed {seed} --count 1 --keep)",
            configs.join(", "),
            env.root.join("divergent").join(seed.to_string()).display()
        );
    }
    if let Some((seed, first)) = gen_errors.first() {
        eprintln!("[fuzz] first generator error (seed {seed}):\n{first}");
    }
    if !diverged.is_empty() || !gen_errors.is_empty() {
        return Err(Error(format!(
            "fuzzing found {} divergences and {} generator errors",
            diverged.len(),
            gen_errors.len()
        )));
    }
    Ok(())
}

/// Generates, builds, runs and compares one seed; prints its progress line.
fn fuzz_one(env: &Env, seed: u64) -> Outcome {
    let program = generate(seed, generate::default_size(seed));
    let source = program.render();
    let path = env.root.join(format!("{seed}.rs"));
    let outcome = match std::fs::write(&path, &source) {
        Err(e) => Outcome::GeneratorError(format!("cannot write {}: {e}", path.display())),
        Ok(()) => check(env, seed, &program, &source, &path),
    };
    match &outcome {
        Outcome::Ok => eprintln!("[fuzz] seed {seed}: ok"),
        // Printed by `check`, before the details and the minimisation.
        Outcome::Diverged(_) => {}
        Outcome::GeneratorError(e) => {
            eprintln!("[fuzz] seed {seed}: GENERATOR ERROR: {}", e.lines().next().unwrap_or(""))
        }
    }
    if !env.keep && !matches!(outcome, Outcome::Diverged(_)) {
        let _ = std::fs::remove_file(&path);
    }
    outcome
}

fn check(env: &Env, seed: u64, program: &Program, source: &str, path: &Path) -> Outcome {
    let bin = env.root.join("bin");
    let exe = |config: &BuildConfig| bin.join(format!("{seed}.{}", config.name));
    let cleanup = |configs: &[BuildConfig]| {
        if !env.keep {
            for c in configs {
                let _ = std::fs::remove_file(exe(c));
            }
        }
    };
    let reference = reference();
    let reference_name = reference.name;
    let expected = match build_and_run(env, &reference, path, &exe(&reference)) {
        Ok(run) if run.status == "exit 0" && run.stdout.ends_with("end\n") => run,
        Ok(run) => {
            cleanup(&[reference]);
            return Outcome::GeneratorError(format!(
                "the reference ({}) ran with {}; its stdout ends with:\n{}",
                reference_name,
                run.status,
                last_lines(&run.stdout, 10)
            ));
        }
        Err(e) => {
            cleanup(&[reference]);
            return Outcome::GeneratorError(format!("the reference does not compile: {}", first_error(&e)));
        }
    };
    let mut divergent: Vec<(BuildConfig, std::result::Result<RunResult, String>)> = Vec::new();
    for config in compared() {
        let got = build_and_run(env, &config, path, &exe(&config));
        if got.as_ref() != Ok(&expected) {
            divergent.push((config, got));
        }
    }
    let mut all = compared();
    all.push(reference);
    cleanup(&all);
    if divergent.is_empty() {
        return Outcome::Ok;
    }
    let names: Vec<&'static str> = divergent.iter().map(|(c, _)| c.name).collect();
    eprintln!("[fuzz] seed {seed}: DIVERGED ({})", names.join(", "));
    let dir = env.root.join("divergent").join(seed.to_string());
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join("program.rs"), source);
    let _ = std::fs::write(dir.join("llvm-O0.stdout"), &expected.stdout);
    let mut summary = format!("seed {seed}: reference llvm-O0 exits with {}\n", expected.status);
    for (config, got) in &divergent {
        match got {
            Ok(run) => {
                let _ = std::fs::write(dir.join(format!("{}.stdout", config.name)), &run.stdout);
                summary.push_str(&format!("{}: {}\n", config.name, difference(&expected, run)));
            }
            Err(e) => {
                let _ = std::fs::write(dir.join(format!("{}.compile-error", config.name)), e);
                summary.push_str(&format!("{}: does not compile: {}\n", config.name, first_error(e)));
            }
        }
    }
    summary.push_str(&format!("reproduce: ./y.sh fuzz --seed {seed} --count 1 --keep\n"));
    let _ = std::fs::write(dir.join("summary.txt"), &summary);
    for line in summary.lines() {
        eprintln!("[fuzz]   {line}");
    }
    eprintln!("[fuzz]   kept in {}", dir.display());
    let (first, _) = &divergent[0];
    let min = minimise(env, seed, program, first, &dir);
    let _ = std::fs::write(dir.join("min.rs"), min.render());
    eprintln!(
        "[fuzz]   minimised ({} under {}) to {}",
        seed,
        first.name,
        dir.join("min.rs").display()
    );
    Outcome::Diverged(names)
}

fn build_and_run(env: &Env, config: &BuildConfig, source: &Path, exe: &Path) -> std::result::Result<RunResult, String> {
    compile_program(env.dirs, env.toolchain, config, source, &Directives::default(), exe, &extra_flags())?;
    run_with_timeout(exe)
}

/// Runs `exe` with no arguments, killing it after RUN_TIMEOUT.
fn run_with_timeout(exe: &Path) -> std::result::Result<RunResult, String> {
    let mut child = Command::new(exe)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", exe.display()))?;
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.take(STDOUT_LIMIT).read_to_end(&mut buf);
        buf
    });
    let status = crate::util::wait_with_timeout(&mut child, RUN_TIMEOUT)
        .map_err(|e| format!("cannot wait for {}: {e}", exe.display()))?;
    let stdout = String::from_utf8_lossy(&reader.join().unwrap_or_default()).into_owned();
    let status = status.map_or_else(|| "timeout".to_string(), describe_status);
    Ok(RunResult { stdout, status })
}

fn difference(expected: &RunResult, got: &RunResult) -> String {
    let mut msg = Vec::new();
    if expected.status != got.status {
        msg.push(format!("exit status {} (expected {})", got.status, expected.status));
    }
    let (want, have): (Vec<&str>, Vec<&str>) = (expected.stdout.lines().collect(), got.stdout.lines().collect());
    if let Some(i) = (0..want.len().max(have.len())).find(|&i| want.get(i) != have.get(i)) {
        msg.push(format!(
            "stdout line {}: `{}` (expected `{}`)",
            i + 1,
            have.get(i).unwrap_or(&"<end>"),
            want.get(i).unwrap_or(&"<end>")
        ));
    }
    msg.join("; ")
}

/// The first `error` of rustc's output and a few lines after it.
fn first_error(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().collect();
    let start = lines.iter().position(|l| l.starts_with("error")).unwrap_or(0);
    lines[start..].iter().take(15).cloned().collect::<Vec<_>>().join("\n")
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Does `program` still compile and run under the reference as a generated program must,
/// and differ under `config`?
fn still_diverges(env: &Env, seed: u64, program: &Program, config: &BuildConfig, work: &Path) -> bool {
    let source = work.join(format!("{seed}.rs"));
    if std::fs::write(&source, program.render()).is_err() {
        return false;
    }
    let reference = reference();
    let expected = match build_and_run(env, &reference, &source, &work.join(reference.name)) {
        Ok(run) if run.status == "exit 0" && run.stdout.ends_with("end\n") => run,
        _ => return false,
    };
    build_and_run(env, config, &source, &work.join(config.name)).as_ref() != Ok(&expected)
}

/// The smallest program found that still diverges under `config`: the seed at smaller
/// sizes first, then stubs for statements one at a time, then unused functions dropped.
fn minimise(env: &Env, seed: u64, program: &Program, config: &BuildConfig, dir: &Path) -> Program {
    let work = dir.join("minimise");
    let _ = std::fs::create_dir_all(&work);
    let started = Instant::now();
    let mut tries = 0;
    let budget_left = |tries: &mut usize| {
        *tries += 1;
        *tries <= MIN_TRIES && started.elapsed() < MIN_TIME
    };
    let mut best = program.clone();
    for size in 0..program.size {
        if !budget_left(&mut tries) {
            break;
        }
        let smaller = generate(seed, size);
        if still_diverges(env, seed, &smaller, config, &work) {
            best = smaller;
            break;
        }
    }
    let mut changed = true;
    'passes: while changed {
        changed = false;
        for loc in best.locs() {
            if loc.func.is_some_and(|f| best.fns[f].removed) {
                continue;
            }
            let mut candidate = best.clone();
            if !candidate.stub(loc) {
                continue;
            }
            candidate.remove_unused_fns();
            if !budget_left(&mut tries) {
                break 'passes;
            }
            if still_diverges(env, seed, &candidate, config, &work) {
                best = candidate;
                changed = true;
            }
        }
    }
    let mut candidate = best.clone();
    if candidate.remove_unused_fns() && still_diverges(env, seed, &candidate, config, &work) {
        best = candidate;
    }
    if !env.keep {
        let _ = std::fs::remove_dir_all(&work);
    }
    best
}
