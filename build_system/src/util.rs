//! Running commands and moving files, with errors that say what failed.

use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output};
use std::time::{Duration, Instant};

/// An error of the build system: a message for the user, never a panic.
#[derive(Debug)]
pub struct Error(pub String);

impl Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

pub type Result<T> = std::result::Result<T, Error>;

pub fn error<T>(msg: impl Into<String>) -> Result<T> {
    Err(Error(msg.into()))
}

pub trait Context<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T, E: Display> Context<T> for std::result::Result<T, E> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error(format!("{}: {e}", what())))
    }
}

pub fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        s.push(' ');
        s.push_str(&arg.to_string_lossy());
    }
    s
}

/// Runs `cmd` with inherited output; a non-zero exit is an error.
pub fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd.status().context(|| format!("cannot start `{}`", describe(cmd)))?;
    if !status.success() {
        return error(format!("`{}` failed ({status})", describe(cmd)));
    }
    Ok(())
}

/// Runs `cmd` and captures its output, whatever its exit status.
pub fn capture(cmd: &mut Command) -> Result<Output> {
    cmd.output().context(|| format!("cannot start `{}`", describe(cmd)))
}

/// Runs `cmd`, captures stdout, and fails with its stderr on a non-zero exit.
pub fn stdout_of(cmd: &mut Command) -> Result<String> {
    let out = capture(cmd)?;
    if !out.status.success() {
        return error(format!(
            "`{}` failed ({}):\n{}",
            describe(cmd),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Waits for `child` to end, for at most `timeout`; a child still running then is killed
/// (and reaped), and the answer is `Ok(None)`. Programs that may hang (a miscompiled
/// future that never wakes) run under this: the fuzzer's and the `extended` suite's.
pub fn wait_with_timeout(child: &mut Child, timeout: Duration) -> std::io::Result<Option<ExitStatus>> {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Writes `contents` to `path` only when it differs, so that cargo's mtime-based
/// fingerprints see unchanged files as unchanged.
pub fn write_if_changed(path: &Path, contents: &[u8]) -> Result<bool> {
    if std::fs::read(path).ok().as_deref() == Some(contents) {
        return Ok(false);
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(path, contents).context(|| format!("cannot write {}", path.display()))?;
    Ok(true)
}

/// Every file below `dir`, relative to it, sorted.
pub fn files_below(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let abs = dir.join(&rel);
        for entry in std::fs::read_dir(&abs).context(|| format!("cannot read {}", abs.display()))? {
            let entry = entry.context(|| format!("cannot read {}", abs.display()))?;
            let rel = rel.join(entry.file_name());
            if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                stack.push(rel);
            } else {
                out.push(rel);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The programs of the differential corpus (`tests/corpus/*.rs`, not its `support/`
/// modules), sorted by name.
pub fn corpus_programs(root: &Path) -> Result<Vec<PathBuf>> {
    let dir = root.join("tests/corpus");
    let mut programs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "rs"))
        .collect();
    programs.sort();
    Ok(programs)
}

/// `work` applied to every item, on as many threads as the machine has cores (at least
/// one); the results come back in the items' order.
pub fn parallel_map<T: Sync, R: Send>(items: &[T], work: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: std::sync::Mutex<Vec<Option<R>>> = std::sync::Mutex::new((0..items.len()).map(|_| None).collect());
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(items.len()).max(1);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some(item) = items.get(i) else { break };
                    let result = work(item);
                    results.lock().unwrap()[i] = Some(result);
                }
            });
        }
    });
    results.into_inner().unwrap().into_iter().map(|r| r.expect("every item is worked on")).collect()
}

/// The instruction count callgrind prints on stderr (`Collected : N`, all threads).
pub fn callgrind_instructions(stderr: &str) -> Option<u64> {
    stderr.lines().find_map(|l| l.split_once("Collected :")).and_then(|(_, n)| n.trim().parse().ok())
}

/// The median of measurements (the upper one of the middle two for an even count).
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied()
}

pub fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).context(|| format!("cannot read {}", path.display()))
}

pub fn create_dir(path: &Path) -> Result<()> {
    std::fs::create_dir_all(path).context(|| format!("cannot create {}", path.display()))
}
