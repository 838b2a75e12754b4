//! Before/after snapshots of the lowered MIR, in the manner of rustc's mir-opt tests.
//!
//! Every `tests/snapshots/<program>.rs` is compiled with `corolift-dump` at opt-level 0
//! and 3. For each coroutine the suite keeps, under `tests/snapshots/<program>/<config>/`:
//! - `<coroutine>.machine`: the recovered state machine before and after, and what
//!   each pass did and why;
//! - `<coroutine>.<NN>.<pass>.diff`: for each pass that changed the coroutine's MIR, in
//!   pipeline order, a unified diff from the MIR before it to the MIR after it (as
//!   rustc's mir-opt tests keep one `.diff` per pass);
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

/// A unified diff of two texts, three lines of context, with its own labels (the
/// `similar` crate's, the diff `insta` uses); `unchanged` when they are equal.
pub fn labelled_diff(before_label: &str, after_label: &str, before: &str, after: &str) -> String {
    if before == after {
        return "unchanged\n".to_string();
    }
    similar::TextDiff::from_lines(before, after).unified_diff().context_radius(3).header(before_label, after_label).to_string()
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
        // Per pass that changed the MIR, in pipeline order: a diff from the MIR before it
        // to the MIR after it, as rustc's mir-opt tests keep one `.diff` per pass.
        let mut previous = read(".before.mir")?;
        for step in pass_steps(dump, stem)? {
            let (number, pass) = step.split_once('.').ok_or("a malformed step file name")?;
            let text = read(&format!(".step{step}.mir"))?;
            let diff = labelled_diff(&format!("before {pass}"), &format!("after {pass}"), &previous, &text);
            files.push((format!("{stem}.{number}.{pass}.diff"), diff));
            previous = text;
        }
        files.push((format!("{stem}.frame"), labelled_diff("corolift=off", "corolift", &frame(&off_dump, stem), &frame(dump, stem))));
    }
    if files.is_empty() {
        return Err("corolift-dump wrote nothing: the program has no coroutine?".into());
    }
    Ok(files)
}

/// The `<NN>.<pass>` of each `<stem>.step<NN>.<pass>.mir` the dump holds, in order.
fn pass_steps(dump: &Path, stem: &str) -> std::result::Result<Vec<String>, String> {
    let prefix = format!("{stem}.step");
    let mut steps: Vec<(usize, String)> = files_below(dump)
        .map_err(|e| e.0)?
        .iter()
        .filter_map(|rel| {
            let name = rel.to_string_lossy();
            let step = name.strip_prefix(&prefix)?.strip_suffix(".mir")?;
            // Two digits or more, then the pass: not another coroutine whose name starts
            // the same. A deep chain has a hundred steps and more: sorted by number.
            let (number, pass) = step.split_once('.')?;
            if number.len() < 2 || !number.bytes().all(|b| b.is_ascii_digit()) || pass.is_empty() {
                return None;
            }
            Some((number.parse().ok()?, step.to_string()))
        })
        .collect();
    steps.sort();
    Ok(steps.into_iter().map(|(_, step)| step).collect())
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
                labelled_diff("blessed", "produced", &want, text)
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
