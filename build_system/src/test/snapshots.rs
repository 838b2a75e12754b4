//! Before/after snapshots of the lowered MIR, in the manner of rustc's mir-opt tests.
//!
//! Every `tests/snapshots/<program>.rs` is compiled with `corolift-dump` at opt-level 0
//! and 3. For each coroutine the suite keeps, under `tests/snapshots/<program>/<config>/`:
//! - `<coroutine>.machine`: the recovered state machine before and after, and what
//!   each pass did and why;
//! - `<coroutine>.diff`: a unified diff from rustc's MIR to corolift's;
//! - `<coroutine>.frame`: a unified diff of the resume function's CLIF shape (stack slots,
//!   returns, calls, memory instructions) from `corolift=off` to corolift, built at the
//!   same opt-level. Passes that act on what cg_clif makes of the MIR (`self_in_register`,
//!   `single_return`) show there.
//!
//! A difference fails the test; `./y.sh test --bless snapshots` rewrites the files, and
//! the reviewer reads the diff of the diff.

use std::path::Path;

use super::Env;
use crate::compile::{BuildConfig, Directives, compile_program};
use crate::util::{Result, files_below};

/// A unified diff of two texts, three lines of context: from rustc's MIR to corolift's.
pub fn unified_diff(before: &str, after: &str) -> String {
    labelled_diff("rustc", "corolift", before, after)
}

/// A unified diff of two texts, three lines of context, with its own labels.
pub fn labelled_diff(before_label: &str, after_label: &str, before: &str, after: &str) -> String {
    let a: Vec<&str> = before.lines().collect();
    let b: Vec<&str> = after.lines().collect();
    if a == b {
        return "unchanged\n".to_string();
    }
    // Longest common subsequence, then walk it into an edit script.
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let mut script = Vec::new(); // (tag, line)
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            script.push((' ', a[i]));
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            script.push(('+', b[j]));
            j += 1;
        } else {
            script.push(('-', a[i]));
            i += 1;
        }
    }
    let keep: Vec<bool> = (0..script.len())
        .map(|k| {
            let lo = k.saturating_sub(3);
            let hi = (k + 3).min(script.len() - 1);
            script[lo..=hi].iter().any(|(tag, _)| *tag != ' ')
        })
        .collect();
    let mut out = format!("--- {before_label}\n+++ {after_label}\n");
    let mut in_hunk = false;
    for (k, (tag, line)) in script.iter().enumerate() {
        if keep[k] {
            if !in_hunk {
                out.push_str("@@\n");
                in_hunk = true;
            }
            out.push(*tag);
            out.push_str(line);
            out.push('\n');
        } else {
            in_hunk = false;
        }
    }
    out
}

/// The snapshot files of one program under one configuration, by file name.
fn produce(env: &Env, config: &BuildConfig, program: &Path, dump: &Path) -> std::result::Result<Vec<(String, String)>, String> {
    let source = std::fs::read_to_string(program).map_err(|e| e.to_string())?;
    let directives = Directives::read(&source);
    let _ = std::fs::remove_dir_all(dump);
    let object = dump.with_extension("o");
    let extra = vec!["--emit=obj".to_string(), format!("-Cllvm-args=corolift-dump={}", dump.display())];
    compile_program(env.dirs, env.toolchain, config, program, &directives, &object, &extra)?;
    // The same program under stock cg_clif's lowering, for the `.frame` diffs.
    let off = BuildConfig::corolift("corolift-off", &["corolift=off"], config.opt_level);
    let off_dump = dump.with_extension("off");
    let _ = std::fs::remove_dir_all(&off_dump);
    let off_extra = vec!["--emit=obj".to_string(), format!("-Cllvm-args=corolift-dump={}", off_dump.display())];
    compile_program(env.dirs, env.toolchain, &off, program, &directives, &off_dump.with_extension("off.o"), &off_extra)?;
    let root = env.dirs.root.display().to_string();
    let frame = |dir: &Path, stem: &str| match std::fs::read_to_string(dir.join(format!("{stem}.frame"))) {
        Ok(text) => text.replace(&root, "$ROOT"),
        Err(_) => "(no resume function: not codegened, or spliced into every caller)\n".to_string(),
    };
    let mut files = Vec::new();
    for rel in files_below(dump).map_err(|e| e.0)? {
        let name = rel.to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".machine") else { continue };
        // Types of async blocks name their file: the checkout's path becomes `$ROOT`.
        let read = |suffix: &str| {
            std::fs::read_to_string(dump.join(format!("{stem}{suffix}")))
                .map(|text| text.replace(&root, "$ROOT"))
                .map_err(|e| e.to_string())
        };
        files.push((format!("{stem}.machine"), read(".machine")?));
        files.push((format!("{stem}.diff"), unified_diff(&read(".before.mir")?, &read(".after.mir")?)));
        files.push((format!("{stem}.frame"), labelled_diff("corolift=off", "corolift", &frame(&off_dump, stem), &frame(dump, stem))));
    }
    if files.is_empty() {
        return Err("corolift-dump wrote nothing: the program has no coroutine?".into());
    }
    Ok(files)
}

fn check(expected_dir: &Path, files: &[(String, String)], bless: bool) -> std::result::Result<(), String> {
    if bless {
        let _ = std::fs::remove_dir_all(expected_dir);
        std::fs::create_dir_all(expected_dir).map_err(|e| e.to_string())?;
        for (name, text) in files {
            std::fs::write(expected_dir.join(name), text).map_err(|e| e.to_string())?;
        }
        return Ok(());
    }
    let mut problems = String::new();
    let expected: Vec<String> = files_below(expected_dir)
        .map(|v| v.iter().map(|p| p.to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    for (name, text) in files {
        match std::fs::read_to_string(expected_dir.join(name)) {
            Ok(want) if want == *text => {}
            Ok(want) => problems.push_str(&format!(
                "{name} differs from {}:\n{}",
                expected_dir.join(name).display(),
                unified_diff(&want, text)
            )),
            Err(_) => problems.push_str(&format!("{name}: no blessed snapshot\n")),
        }
    }
    for name in expected {
        if !files.iter().any(|(n, _)| *n == name) {
            problems.push_str(&format!("{name}: blessed, but no longer produced\n"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{problems}(run `./y.sh test --bless snapshots` if the change is intended)"))
    }
}

pub fn run(env: &Env) -> Result<()> {
    let dir = env.dirs.root.join("tests/snapshots");
    let out_dir = env.scratch("snapshots");
    let mut programs: Vec<_> = std::fs::read_dir(&dir)
        .map_err(|e| crate::util::Error(format!("cannot read {}: {e}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    programs.sort();
    for program in &programs {
        let stem = program.file_stem().unwrap().to_string_lossy().into_owned();
        for config in [BuildConfig::corolift("corolift-O0", &[], "0"), BuildConfig::corolift("corolift-O3", &[], "3")] {
            let result = produce(env, &config, program, &out_dir.join(format!("{stem}.{}", config.name)))
                .and_then(|files| check(&dir.join(&stem).join(config.name), &files, env.options.bless));
            env.tally.record("snapshots", &format!("{stem} {}", config.name), result);
        }
    }
    Ok(())
}
