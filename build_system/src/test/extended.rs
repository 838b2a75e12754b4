//! `extended`: real crates.io test suites through `dist/cargo-corolift`, compared with the
//! LLVM backend. Long-running (tens of minutes), so config.txt lists it commented out; run
//! it with `./y.sh test extended`. tests/extended/README.md describes it in full.
//!
//! For each suite (the packages `futures`, `futures-channel`, `futures-executor` and `tokio`,
//! versions pinned below) the package source is fetched through a scratch cargo project
//! (`cargo fetch`, `cargo metadata`), copied to `build/tests/extended/<package>-<version>/`
//! and its tests are built with `cargo test --no-run` under every configuration:
//!
//! | config            | compiler                    | opt-level | knobs           |
//! | ---               | ---                         | ---       | ---             |
//! | `llvm-O0`         | the nightly's rustc (LLVM)  | 0         |                 |
//! | `corolift-O0`     | `dist/cargo-corolift`       | 0         | (default)       |
//! | `corolift-O3`     | `dist/cargo-corolift`       | 3         | (default)       |
//! | `corolift-all-O3` | `dist/cargo-corolift`       | 3         | `corolift=all`  |
//!
//! All builds use the dev profile with debug-assertions off (so that `returned_arm` and
//! `await_free` apply; no test of either suite depends on debug-assertions), no debuginfo and
//! no incremental compilation. The suite runs each test binary itself (cwd: the package, as
//! cargo does) with a timeout, so that a miscompiled future that never wakes cannot hang the
//! run, and parses libtest's `test <name> ... ok|FAILED|ignored` lines into a status per
//! test. Every corolift configuration must give each test the status LLVM gives it.
//!
//! A difference is retried (twice per side) to rule out a flaky test; one that stays is
//! diagnosed by building the affected test targets with `corolift=off` at the same
//! opt-level: the same outcome there means a cg_clif limitation (document it in
//! tests/extended/known-limitations.txt and it is accepted), the LLVM outcome there means a
//! corolift bug. Either way an undocumented difference fails the case.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::Env;
use crate::compile::{Backend, BuildConfig};
use crate::util::{Context, Error, Result, create_dir, describe, files_below, read, wait_with_timeout};

const SUITE: &str = "extended";

/// The pinned versions: the newest cargo resolved for `futures = "0.3"` and `tokio = "1"`
/// when the suite was written (2026-11-25).
const FUTURES_VERSION: &str = "0.3.34";
const TOKIO_VERSION: &str = "1.54.1";

/// The packages whose tests run (futures-channel and futures-executor come with futures).
const PACKAGES: [(&str, &str); 4] = [
    ("futures", FUTURES_VERSION),
    ("futures-channel", FUTURES_VERSION),
    ("futures-executor", FUTURES_VERSION),
    ("tokio", TOKIO_VERSION),
];

/// A test binary that runs longer than this is killed; its unreported tests count as
/// `missing`. The LLVM builds run every binary of both suites in a few seconds each.
const BINARY_TIMEOUT: Duration = Duration::from_secs(300);

/// The LLVM build every corolift configuration must agree with.
const REFERENCE: BuildConfig = BuildConfig::new("llvm-O0", Backend::Llvm, "0");

fn compared() -> Vec<BuildConfig> {
    vec![
        BuildConfig::corolift("corolift-O0", &[], "0"),
        BuildConfig::corolift("corolift-O3", &[], "3"),
        BuildConfig::corolift("corolift-all-O3", &["corolift=all"], "3"),
    ]
}

/// The stock-cg_clif build a difference is diagnosed with.
fn off_config(opt_level: &'static str) -> BuildConfig {
    let name = if opt_level == "0" { "corolift-off-O0" } else { "corolift-off-O3" };
    BuildConfig::corolift(name, &["corolift=off"], opt_level)
}

/// One crates.io package whose own test suite is run.
struct Suite {
    package: &'static str,
    version: &'static str,
    /// `cargo test` arguments choosing features and targets.
    cargo_args: Vec<String>,
    /// Appended to the package's Cargo.toml (the copy is a workspace of its own).
    manifest_extra: &'static str,
    /// Registry copies of the package itself that the lock file must drop, so that the
    /// `[patch]` in `manifest_extra` makes the dev-dependencies use the package under test.
    self_patch: bool,
    /// What the case names say about the selection.
    what: String,
}

/// futures' published manifest lost its path-only dev-dependencies (`futures-test`, and the
/// `thread-pool` feature of `futures-executor`, which `--all-features` gives back): 27 of its
/// 58 test files use `futures_test`, so the crates.io release of the same version is added.
const FUTURES_MANIFEST_EXTRA: &str = "
# Added by corolift's `extended` suite: the published manifest drops path-only dev-dependencies.
[dev-dependencies.futures-test]
version = \"=0.3.34\"

[workspace]
";

/// futures-channel's and futures-executor's own tests (the facade's cover neither): their
/// published manifests lost every dev-dependency (all were path-only), so the crates.io
/// releases of the same version come back, and the patch makes `futures` use the package
/// under test, as the futures workspace does.
const FUTURES_CHANNEL_MANIFEST_EXTRA: &str = "
# Added by corolift's `extended` suite: the published manifest drops path-only dev-dependencies.
[dev-dependencies.futures]
version = \"=0.3.34\"

[dev-dependencies.futures-test]
version = \"=0.3.34\"

[patch.crates-io.futures-channel]
path = \".\"

[workspace]
";

const FUTURES_EXECUTOR_MANIFEST_EXTRA: &str = "
# Added by corolift's `extended` suite: the published manifest drops path-only dev-dependencies.
[dev-dependencies.futures]
version = \"=0.3.34\"
features = [\"thread-pool\"]

[patch.crates-io.futures-executor]
path = \".\"

[workspace]
";

/// tokio's dev-dependencies (tokio-test, tokio-stream, ...) depend on tokio from crates.io;
/// in tokio's repository they get the path one. The patch does the same here (and makes
/// tokio-test's `test-util` feature reach the tokio under test, as in tokio's CI).
const TOKIO_MANIFEST_EXTRA: &str = "
# Added by corolift's `extended` suite: dev-dependencies use the tokio under test.
[patch.crates-io.tokio]
path = \".\"

[workspace]
";

/// How one test ended.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Status {
    Ok,
    Failed,
    Ignored,
    /// Not reported: the binary crashed, hung (timeout) or was not built.
    Missing,
}

impl Status {
    fn word(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Failed => "FAILED",
            Status::Ignored => "ignored",
            Status::Missing => "missing",
        }
    }
}

/// A test target cargo built: `--test <name>` or `--lib`.
#[derive(Clone, Debug)]
struct Binary {
    /// The target's name; `lib` for the library's unit tests.
    name: String,
    executable: PathBuf,
}

impl Binary {
    fn cargo_selector(&self) -> Vec<String> {
        if self.name == "lib" { vec!["--lib".into()] } else { vec!["--test".into(), self.name.clone()] }
    }
}

/// The outcome of a configuration: per binary, per test.
#[derive(Default)]
struct Outcome {
    tests: BTreeMap<String, BTreeMap<String, Status>>,
    binaries: BTreeMap<String, Binary>,
    /// Why a binary's run ended badly (crash, timeout, not built), per binary.
    notes: BTreeMap<String, String>,
    /// cargo's error output when the build failed (some binaries may still exist).
    build_error: Option<String>,
    build_seconds: f64,
    run_seconds: f64,
}

impl Outcome {
    fn counts(&self) -> (usize, usize, usize, usize) {
        let (mut ok, mut failed, mut ignored, mut missing) = (0, 0, 0, 0);
        for status in self.tests.values().flat_map(|t| t.values()) {
            match status {
                Status::Ok => ok += 1,
                Status::Failed => failed += 1,
                Status::Ignored => ignored += 1,
                Status::Missing => missing += 1,
            }
        }
        (ok, failed, ignored, missing)
    }

    fn summary(&self) -> String {
        let (ok, failed, ignored, missing) = self.counts();
        let mut s = format!("{} binaries: {ok} passed, {failed} failed, {ignored} ignored", self.tests.len());
        if missing > 0 {
            s.push_str(&format!(", {missing} missing"));
        }
        s.push_str(&format!(" (build {:.0} s, run {:.0} s)", self.build_seconds, self.run_seconds));
        s
    }
}

/// A documented cg_clif limitation: `<suite> <config|*> <binary> <test>` in
/// tests/extended/known-limitations.txt.
struct Known {
    suite: String,
    config: String,
    binary: String,
    test: String,
}

fn known_limitations(env: &Env) -> Result<Vec<Known>> {
    let path = env.dirs.root.join("tests/extended/known-limitations.txt");
    if !path.exists() {
        return Ok(Vec::new());
    }
    let mut known = Vec::new();
    for (n, line) in read(&path)?.lines().enumerate() {
        let line = line.split('#').next().unwrap().trim();
        if line.is_empty() {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let [suite, config, binary, test] = words[..] else {
            return Err(Error(format!("{}:{}: expected `<suite> <config|*> <binary> <test>`", path.display(), n + 1)));
        };
        known.push(Known { suite: suite.into(), config: config.into(), binary: binary.into(), test: test.into() });
    }
    Ok(known)
}

/// The tokio test targets: tests/extended/tokio-targets.txt, one name a line.
fn tokio_targets(env: &Env) -> Result<Vec<String>> {
    let path = env.dirs.root.join("tests/extended/tokio-targets.txt");
    Ok(read(&path)?
        .lines()
        .map(|l| l.split('#').next().unwrap().trim())
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect())
}

fn log(started: &Instant, msg: impl AsRef<str>) {
    eprintln!("[{SUITE}] ({:>4.0} s) {}", started.elapsed().as_secs_f64(), msg.as_ref());
}

pub fn run(env: &Env) -> Result<()> {
    let started = Instant::now();
    let root = env.dirs.build.join("tests").join(SUITE);
    create_dir(&root)?;
    let known = known_limitations(env)?;
    let sources = fetch(env, &root, &started)?;

    let mut tokio_args = vec!["--features".to_string(), "full,test-util".to_string()];
    for target in tokio_targets(env)? {
        tokio_args.push("--test".into());
        tokio_args.push(target);
    }
    let suites = [
        Suite {
            package: "futures",
            version: FUTURES_VERSION,
            // Every test target (no doc-tests: rustdoc would compile them with LLVM).
            cargo_args: vec!["--all-features".into(), "--tests".into()],
            manifest_extra: FUTURES_MANIFEST_EXTRA,
            self_patch: false,
            what: "all test targets, --all-features".into(),
        },
        Suite {
            package: "futures-channel",
            version: FUTURES_VERSION,
            cargo_args: vec!["--all-features".into(), "--tests".into()],
            manifest_extra: FUTURES_CHANNEL_MANIFEST_EXTRA,
            self_patch: true,
            what: "all test targets, --all-features".into(),
        },
        Suite {
            package: "futures-executor",
            version: FUTURES_VERSION,
            cargo_args: vec!["--all-features".into(), "--tests".into()],
            manifest_extra: FUTURES_EXECUTOR_MANIFEST_EXTRA,
            self_patch: true,
            what: "all test targets, --all-features".into(),
        },
        Suite {
            package: "tokio",
            version: TOKIO_VERSION,
            what: format!("{} test targets of tests/extended/tokio-targets.txt, --features full,test-util", (tokio_args.len() - 2) / 2),
            cargo_args: tokio_args,
            manifest_extra: TOKIO_MANIFEST_EXTRA,
            self_patch: true,
        },
    ];
    for suite in &suites {
        let suite_started = Instant::now();
        let source = &sources[suite.package];
        let project = match prepare(env, &root, suite, source) {
            Ok(project) => project,
            Err(err) => {
                env.tally.record(SUITE, &format!("{} {}: copy the package", suite.package, suite.version), Err(err.0));
                continue;
            }
        };
        run_suite(env, &root, &project, suite, &known, &started);
        log(&started, format!("{} done in {:.0} s", suite.package, suite_started.elapsed().as_secs_f64()));
    }
    log(&started, "done");
    Ok(())
}

/// A scratch project depending on the pinned versions: `cargo fetch` puts their sources in
/// the registry, `cargo metadata` says where.
fn fetch(env: &Env, root: &Path, started: &Instant) -> Result<BTreeMap<&'static str, PathBuf>> {
    let project = root.join("fetch");
    create_dir(&project.join("src"))?;
    crate::util::write_if_changed(
        &project.join("Cargo.toml"),
        format!(
            "[package]\nname = \"corolift-extended-fetch\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
             [dependencies]\nfutures = \"={FUTURES_VERSION}\"\ntokio = \"={TOKIO_VERSION}\"\n\n[workspace]\n"
        )
        .as_bytes(),
    )?;
    crate::util::write_if_changed(&project.join("src/lib.rs"), b"")?;
    log(started, format!("cargo fetch: futures {FUTURES_VERSION}, tokio {TOKIO_VERSION}"));
    let mut cmd = Command::new(&env.toolchain.cargo);
    cmd.current_dir(&project).arg("fetch");
    crate::util::run(&mut cmd)?;
    let mut cmd = Command::new(&env.toolchain.cargo);
    cmd.current_dir(&project).args(["metadata", "--format-version", "1"]);
    let metadata = crate::util::stdout_of(&mut cmd)?;
    let metadata: Value = serde_json::from_str(&metadata).context(|| "cargo metadata printed no JSON".into())?;
    let mut sources = BTreeMap::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        for (name, version) in PACKAGES {
            if package["name"] == name && package["version"] == version {
                let manifest = PathBuf::from(package["manifest_path"].as_str().unwrap_or_default());
                sources.insert(name, manifest.parent().unwrap().to_path_buf());
            }
        }
    }
    for (name, _) in PACKAGES {
        if !sources.contains_key(name) {
            return Err(Error(format!("cargo metadata of {} does not list {name}", project.display())));
        }
    }
    Ok(sources)
}

/// Copies the package to `build/tests/extended/<package>-<version>/` (once: a marker file
/// says the copy is complete), with the manifest additions and the lock file adjusted.
fn prepare(env: &Env, root: &Path, suite: &Suite, source: &Path) -> Result<PathBuf> {
    let project = root.join(format!("{}-{}", suite.package, suite.version));
    let marker = project.join(".corolift-extended-ready");
    if marker.exists() {
        return Ok(project);
    }
    let _ = std::fs::remove_dir_all(&project);
    for rel in files_below(source)? {
        // Leftovers of builds that ran rustc inside the registry copy.
        if rel.to_string_lossy().starts_with("rustc-ice-") {
            continue;
        }
        let to = project.join(&rel);
        create_dir(to.parent().unwrap())?;
        std::fs::copy(source.join(&rel), &to).context(|| format!("cannot copy {}", source.join(&rel).display()))?;
    }
    let manifest = project.join("Cargo.toml");
    let mut text = read(&manifest)?;
    text.push_str(suite.manifest_extra);
    std::fs::write(&manifest, text).context(|| format!("cannot write {}", manifest.display()))?;
    if suite.self_patch {
        // The shipped lock file pins a registry copy of the package for its dev-dependencies;
        // updating it away lets the patch take its place (nothing else moves).
        let lock = project.join("Cargo.lock");
        if let Ok(text) = std::fs::read_to_string(&lock) {
            for entry in text.split("[[package]]") {
                let name = format!("name = \"{}\"", suite.package);
                if entry.lines().any(|l| l.trim() == name) && entry.contains("source = \"registry+") {
                    let version = entry.lines().find_map(|l| l.trim().strip_prefix("version = ")).unwrap_or_default();
                    let spec = format!("{}@{}", suite.package, version.trim_matches('"'));
                    let mut cmd = Command::new(&env.toolchain.cargo);
                    cmd.current_dir(&project).args(["update", "-p", &spec]);
                    crate::util::run(&mut cmd)?;
                }
            }
        }
    }
    std::fs::write(&marker, b"").context(|| format!("cannot write {}", marker.display()))?;
    Ok(project)
}

fn run_suite(env: &Env, root: &Path, project: &Path, suite: &Suite, known: &[Known], started: &Instant) {
    let label = format!("{} {}", suite.package, suite.version);
    log(started, format!("{label}: {}", suite.what));
    let reference =
        build_and_run(env, root, project, suite, &REFERENCE, &suite.cargo_args, None, &log_dir(root, suite, &REFERENCE), started);
    log(started, format!("{label} {}: {}", REFERENCE.name, reference.summary()));
    let case = format!("{label} {} (reference): {}", REFERENCE.name, reference.summary());
    if let Some(err) = &reference.build_error {
        env.tally.record(SUITE, &case, Err(format!("the LLVM build failed:\n{err}")));
        return;
    }
    env.tally.record(SUITE, &case, Ok(()));

    for config in &compared() {
        let outcome =
            build_and_run(env, root, project, suite, config, &suite.cargo_args, None, &log_dir(root, suite, config), started);
        log(started, format!("{label} {}: {}", config.name, outcome.summary()));
        let case = format!("{label} {}: {}", config.name, outcome.summary());
        let result = compare(env, root, project, suite, config, &reference, &outcome, known, started);
        env.tally.record(SUITE, &case, result);
    }
}

/// Every test whose status differs: (binary, test, reference status, status).
fn differences(reference: &Outcome, outcome: &Outcome) -> Vec<(String, String, Status, Status)> {
    let mut out = Vec::new();
    let binaries: BTreeSet<&String> = reference.tests.keys().chain(outcome.tests.keys()).collect();
    let empty = BTreeMap::new();
    for binary in binaries {
        let want = reference.tests.get(binary).unwrap_or(&empty);
        let have = outcome.tests.get(binary).unwrap_or(&empty);
        let names: BTreeSet<&String> = want.keys().chain(have.keys()).collect();
        for name in names {
            let w = *want.get(name).unwrap_or(&Status::Missing);
            let h = *have.get(name).unwrap_or(&Status::Missing);
            if w != h {
                out.push((binary.clone(), name.clone(), w, h));
            }
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn compare(
    env: &Env,
    root: &Path,
    project: &Path,
    suite: &Suite,
    config: &BuildConfig,
    reference: &Outcome,
    outcome: &Outcome,
    known: &[Known],
    started: &Instant,
) -> std::result::Result<(), String> {
    let mut report = String::new();
    if let Some(err) = &outcome.build_error {
        report.push_str(&format!("the build failed:\n{err}\n"));
    }
    let mut unexplained = Vec::new();
    for (binary, test, want, have) in differences(reference, outcome) {
        // A binary that was not built, crashed or hung: say why once.
        if have == Status::Missing && !outcome.binaries.contains_key(&binary) {
            unexplained.push((binary, test, want, have, "binary not built".to_string()));
            continue;
        }
        // Rerun the test alone on both sides, twice: a flaky test shows both outcomes.
        let mut seen_want = vec![want];
        let mut seen_have = vec![have];
        for _ in 0..2 {
            if let Some(b) = reference.binaries.get(&binary) {
                seen_want.push(rerun(project, b, &test));
            }
            if let Some(b) = outcome.binaries.get(&binary) {
                seen_have.push(rerun(project, b, &test));
            }
        }
        if seen_want.iter().any(|s| seen_have.contains(s)) {
            log(started, format!("{} {}: {binary} {test}: flaky ({} vs {}; reruns: {} / {})",
                suite.package, config.name, want.word(), have.word(), words(&seen_want), words(&seen_have)));
            continue;
        }
        let note = outcome.notes.get(&binary).cloned().unwrap_or_default();
        unexplained.push((binary, test, want, have, note));
    }
    if unexplained.is_empty() && outcome.build_error.is_none() {
        return Ok(());
    }

    // Diagnose with stock cg_clif (corolift=off) at the same opt-level, only the affected targets.
    let off = off_config(config.opt_level);
    let mut selectors: Vec<String> =
        suite.cargo_args.iter().take_while(|a| !matches!(a.as_str(), "--test" | "--tests" | "--lib")).cloned().collect();
    let affected: BTreeSet<&String> = unexplained.iter().map(|u| &u.0).collect();
    for binary in &affected {
        let b = Binary { name: (*binary).clone(), executable: PathBuf::new() };
        selectors.extend(b.cargo_selector());
    }
    let off_outcome = if affected.is_empty() {
        None
    } else {
        log(started, format!("{} {}: {} difference(s) in {} binaries; building them with {}",
            suite.package, config.name, unexplained.len(), affected.len(), off.name));
        let filter: BTreeSet<String> = affected.iter().map(|b| (*b).clone()).collect();
        let logs = root.join("logs").join(format!("{}-{}-for-{}", suite.package, off.name, config.name));
        Some(build_and_run(env, root, project, suite, &off, &selectors, Some(&filter), &logs, started))
    };

    let mut failures = 0;
    for (binary, test, want, have, note) in &unexplained {
        let documented = known.iter().any(|k| {
            k.suite == suite.package && (k.config == "*" || k.config == config.name) && &k.binary == binary && &k.test == test
        });
        let off_status = off_outcome
            .as_ref()
            .map(|o| o.tests.get(binary).and_then(|t| t.get(test)).copied().unwrap_or(Status::Missing));
        let class = match off_status {
            Some(s) if s == *have => format!("{} gives {} too: cg_clif limitation", off.name, s.word()),
            Some(s) => format!("{} gives {}: corolift bug", off.name, s.word()),
            None => String::new(),
        };
        let note = if note.is_empty() { String::new() } else { format!(" [{note}]") };
        let line = format!("{binary} {test}: {} {}, {} {}; {class}{note}", REFERENCE.name, want.word(), config.name, have.word());
        if documented && off_status == Some(*have) {
            log(started, format!("{} {}: known limitation: {line}", suite.package, config.name));
        } else {
            failures += 1;
            report.push_str(&line);
            if off_status == Some(*have) {
                report.push_str(" (not in tests/extended/known-limitations.txt)");
            }
            report.push('\n');
        }
    }
    if failures == 0 && outcome.build_error.is_none() {
        return Ok(());
    }
    report.push_str(&format!("logs: {}\n", log_dir(root, suite, config).display()));
    Err(report)
}

fn words(statuses: &[Status]) -> String {
    statuses.iter().map(|s| s.word()).collect::<Vec<_>>().join(",")
}

fn log_dir(root: &Path, suite: &Suite, config: &BuildConfig) -> PathBuf {
    root.join("logs").join(format!("{}-{}", suite.package, config.name))
}

fn target_dir(root: &Path, suite: &Suite, config: &BuildConfig) -> PathBuf {
    root.join(format!("target-{}-{}", suite.package, config.name))
}

/// cargo's fingerprints know the rustc version but not the backend: a corolift target
/// folder is kept only while `dist/librustc_codegen_corolift.so` has the same contents (its
/// mtime changes on every `./y.sh build`, which copies it even when nothing changed).
fn check_backend_stamp(env: &Env, target: &Path) -> std::result::Result<(), String> {
    use std::hash::Hasher;
    let so = env.dirs.backend_so();
    let bytes = std::fs::read(&so).map_err(|e| format!("no backend at {}: {e}", so.display()))?;
    let mut hasher = std::hash::DefaultHasher::new();
    hasher.write(&bytes);
    let stamp_text = format!("{} {} {:016x}\n", so.display(), bytes.len(), hasher.finish());
    let stamp = target.join("corolift-backend.stamp");
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(stamp_text.as_str()) {
        let _ = std::fs::remove_dir_all(target);
        std::fs::create_dir_all(target).map_err(|e| format!("cannot create {}: {e}", target.display()))?;
        std::fs::write(&stamp, stamp_text).map_err(|e| format!("cannot write {}: {e}", stamp.display()))?;
    }
    Ok(())
}

/// cargo for `config` (see [`BuildConfig::cargo`]) in the dev profile at its opt-level,
/// with debug-assertions, debuginfo and incremental compilation off (see the module doc).
/// The caller's `CARGO_BUILD_RUSTFLAGS` goes too: cargo reads it when `RUSTFLAGS` is unset,
/// as it is for a configuration without knobs.
fn cargo_command(env: &Env, config: &BuildConfig, project: &Path, target: &Path) -> Command {
    let mut cmd = config.cargo(env.dirs, env.toolchain, &[]);
    cmd.current_dir(project)
        .env("CARGO_TARGET_DIR", target)
        .env("CARGO_INCREMENTAL", "0")
        .env("CARGO_PROFILE_DEV_OPT_LEVEL", config.opt_level)
        .env("CARGO_PROFILE_DEV_DEBUG_ASSERTIONS", "false")
        .env("CARGO_PROFILE_DEV_DEBUG", "0")
        .env_remove("CARGO_BUILD_RUSTFLAGS");
    cmd
}

/// Builds the suite's test targets under `config` and runs them (only the binaries in
/// `only` when given).
#[allow(clippy::too_many_arguments)]
fn build_and_run(
    env: &Env,
    root: &Path,
    project: &Path,
    suite: &Suite,
    config: &BuildConfig,
    cargo_args: &[String],
    only: Option<&BTreeSet<String>>,
    logs: &Path,
    started: &Instant,
) -> Outcome {
    let mut outcome = Outcome::default();
    let target = target_dir(root, suite, config);
    let _ = std::fs::remove_dir_all(logs);
    let _ = std::fs::create_dir_all(logs);
    if matches!(config.backend, Backend::Corolift(_)) {
        if let Err(err) = check_backend_stamp(env, &target) {
            outcome.build_error = Some(err);
            return outcome;
        }
    }

    log(started, format!("{} {}: cargo test --no-run", suite.package, config.name));
    let build_started = Instant::now();
    let mut cmd = cargo_command(env, config, project, &target);
    cmd.args(["test", "--no-run", "--no-fail-fast", "-j2", "--message-format=json-render-diagnostics"]).args(cargo_args);
    let build_log = logs.join("build.log");
    let out = match cmd.output() {
        Ok(out) => out,
        Err(e) => {
            outcome.build_error = Some(format!("cannot run `{}`: {e}", describe(&cmd)));
            return outcome;
        }
    };
    outcome.build_seconds = build_started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let _ = std::fs::write(&build_log, format!("$ {}\n{stderr}", describe(&cmd)));
    if !out.status.success() {
        // The interesting part of a long build log is its end: the errors.
        let lines: Vec<&str> = stderr.lines().collect();
        let tail = lines[lines.len().saturating_sub(60)..].join("\n");
        outcome.build_error = Some(format!("`{}` failed ({}); full log {}:\n{tail}", describe(&cmd), out.status, build_log.display()));
    }
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<Value>(line) else { continue };
        if msg["reason"] != "compiler-artifact" || msg["profile"]["test"] != true {
            continue;
        }
        let Some(executable) = msg["executable"].as_str() else { continue };
        let kinds = msg["target"]["kind"].as_array().cloned().unwrap_or_default();
        let name = if kinds.iter().any(|k| k == "lib") {
            "lib".to_string()
        } else {
            msg["target"]["name"].as_str().unwrap_or_default().to_string()
        };
        outcome.binaries.insert(name.clone(), Binary { name, executable: PathBuf::from(executable) });
    }

    let run_started = Instant::now();
    let binaries: Vec<Binary> =
        outcome.binaries.values().filter(|b| only.is_none_or(|o| o.contains(&b.name))).cloned().collect();
    for binary in &binaries {
        let (tests, note) = run_binary(project, binary, &[], &logs.join(format!("{}.log", binary.name)));
        if let Some(note) = note {
            log(started, format!("{} {}: {}: {note}", suite.package, config.name, binary.name));
            outcome.notes.insert(binary.name.clone(), note);
        }
        outcome.tests.insert(binary.name.clone(), tests);
    }
    outcome.run_seconds = run_started.elapsed().as_secs_f64();
    outcome
}

/// Runs one test binary (cwd: the package, as `cargo test` does) and parses libtest's
/// lines. The note says why the run ended badly, if it did.
fn run_binary(project: &Path, binary: &Binary, args: &[&str], log_path: &Path) -> (BTreeMap<String, Status>, Option<String>) {
    let mut tests = BTreeMap::new();
    let Ok(file) = std::fs::File::create(log_path) else {
        return (tests, Some(format!("cannot write {}", log_path.display())));
    };
    let Ok(err_file) = file.try_clone() else {
        return (tests, Some(format!("cannot write {}", log_path.display())));
    };
    let mut cmd = Command::new(&binary.executable);
    cmd.current_dir(project)
        .args(args)
        .env("CARGO_MANIFEST_DIR", project)
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(err_file);
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => return (tests, Some(format!("cannot run {}: {e}", binary.executable.display()))),
    };
    let note = match wait_with_timeout(&mut child, BINARY_TIMEOUT) {
        // libtest exits 101 when a test failed; anything else is a crash.
        Ok(Some(status)) if !status.success() && status.code() != Some(101) => Some(format!("the binary ended with {status}")),
        Ok(Some(_)) => None,
        Ok(None) => Some(format!("killed after {} s", BINARY_TIMEOUT.as_secs())),
        Err(e) => Some(format!("cannot wait for the binary: {e}")),
    };
    let text = std::fs::read(log_path).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
    parse_libtest(&text, &mut tests);
    (tests, note)
}

/// `test <name> ... ok|FAILED|ignored[, reason]`; a test's own output may split the line,
/// so a result word that comes on a later line is given to the last unfinished test.
fn parse_libtest(text: &str, tests: &mut BTreeMap<String, Status>) {
    fn status_of(word: &str) -> Option<Status> {
        let word = word.trim();
        match word {
            "ok" => Some(Status::Ok),
            "FAILED" => Some(Status::Failed),
            _ if word == "ignored" || word.starts_with("ignored, ") => Some(Status::Ignored),
            _ => None,
        }
    }
    let mut pending: Option<String> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("test ") {
            if let Some((name, result)) = rest.split_once(" ... ") {
                match status_of(result) {
                    Some(status) => {
                        tests.insert(name.to_string(), status);
                    }
                    None => pending = Some(name.to_string()),
                }
                continue;
            }
        }
        if let Some(name) = &pending {
            if let Some(status) = status_of(line) {
                tests.insert(name.clone(), status);
                pending = None;
            }
        }
    }
}

/// One test alone (`--exact`), for telling a flaky test from a real difference.
fn rerun(project: &Path, binary: &Binary, test: &str) -> Status {
    let log_path = std::env::temp_dir().join(format!("corolift-extended-rerun-{}.log", std::process::id()));
    let (tests, _) = run_binary(project, binary, &["--exact", test], &log_path);
    let _ = std::fs::remove_file(&log_path);
    tests.get(test).copied().unwrap_or(Status::Missing)
}
