//! `corolift-report`: every corpus program's coroutines, before and after, at opt-level 0
//! and 3 with the default lowering. Each line is checked for its fields and for sense
//! (nothing grows), and its `resume_bytes` against the symbol size in the object file.
//!
//! A pass that changes a layout leaves `size_before` null (the stock layout cannot be
//! asked for once the body is replaced), so every program is also compiled with
//! `corolift=off` and the two reports are joined by symbol: no future's `size_of` may be
//! larger than under `corolift=off`, under the default and under `corolift=all`, and no
//! state count under the default. A coroutine that `flatten_child` applied to holds its
//! spliced children's states, and those children have no function of their own any more:
//! its own state counts may grow, and the program's total over all its coroutines may not.
//!
//! Frames follow the same rule (`check_frames`): no resume function's `frame_bytes` is
//! larger than under `corolift=off`, and one that absorbed children is no larger than the
//! largest of its own frame and theirs under `corolift=off`. Every check runs under the
//! default at -O0 and -O3 and under `corolift=all` at -O3.
//! The reports stay in `build/tests/report/<config>.jsonl`.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::{Env, parallel};
use crate::compile::{BuildConfig, Directives, compile_program, symbol_sizes};
use crate::util::Result;

const KINDS: &[&str] = &["async fn", "async block", "async closure", "gen", "async gen", "coroutine"];

/// Did `flatten_child` give this coroutine its children's states?
fn flattened(line: &Value) -> bool {
    line["passes"].as_array().is_some_and(|passes| passes.iter().any(|p| p["pass"] == "flatten_child" && p["applied"] == true))
}

fn check_line(line: &Value) -> std::result::Result<(), String> {
    let field = |name: &str| line.get(name).ok_or_else(|| format!("no `{name}` field"));
    for name in ["crate", "mir_crate", "symbol", "function", "kind", "opt_level"] {
        field(name)?.as_str().ok_or_else(|| format!("`{name}` is not a string"))?;
    }
    let kind = field("kind")?.as_str().unwrap();
    if !KINDS.contains(&kind) {
        return Err(format!("unknown kind `{kind}`"));
    }
    let number = |name: &str| -> std::result::Result<Option<u64>, String> {
        let v = field(name)?;
        if v.is_null() { Ok(None) } else { v.as_u64().map(Some).ok_or_else(|| format!("`{name}` is not a count")) }
    };
    let (states_before, states_after) = (number("states_before")?, number("states_after")?);
    let (suspend_before, suspend_after) = (number("suspend_states_before")?, number("suspend_states_after")?);
    if let (Some(b), Some(a)) = (suspend_before, suspend_after)
        && a > b
        && !flattened(line)
    {
        return Err(format!("suspend states grew from {b} to {a}"));
    }
    let (size_before, size_after) = (number("size_before")?, number("size_after")?);
    let resume_bytes = number("resume_bytes")?.ok_or("`resume_bytes` is null")?;
    number("frame_bytes")?.ok_or("`frame_bytes` is null")?;
    let absorbed = field("absorbed")?.as_array().ok_or("`absorbed` is not a list")?;
    if absorbed.iter().any(|f| f.as_str().is_none_or(str::is_empty)) {
        return Err("`absorbed` holds something other than function names".into());
    }
    if size_after.is_none() {
        return Err("`size_after` is null".into());
    }
    if resume_bytes == 0 {
        return Err("`resume_bytes` is 0".into());
    }
    if let (Some(b), Some(a)) = (states_before, states_after)
        && a > b
        && !flattened(line)
    {
        return Err(format!("states grew from {b} to {a}"));
    }
    if let (Some(b), Some(a)) = (size_before, size_after) {
        if a > b {
            return Err(format!("size_of grew from {b} to {a}"));
        }
    }
    let passes = field("passes")?.as_array().ok_or("`passes` is not a list")?;
    for pass in passes {
        pass.get("pass").and_then(Value::as_str).ok_or("a pass without a name")?;
        pass.get("applied").and_then(Value::as_bool).ok_or("a pass without `applied`")?;
        let why = pass.get("why").and_then(Value::as_str).ok_or("a pass without `why`")?;
        if why.is_empty() {
            return Err("a pass with an empty reason".into());
        }
    }
    Ok(())
}

/// Compiles `program` to an object with the report knob, then checks its lines.
fn check_program(env: &Env, config: &BuildConfig, program: &Path, out_dir: &Path) -> std::result::Result<Vec<Value>, String> {
    let directives = Directives::of_file(program)?;
    let stem = program.file_stem().unwrap().to_string_lossy().into_owned();
    let report = out_dir.join(format!("{stem}.{}.jsonl", config.name));
    let object = out_dir.join(format!("{stem}.{}.o", config.name));
    let _ = std::fs::remove_file(&report);
    let extra = vec!["--emit=obj".to_string(), format!("-Cllvm-args=corolift-report={}", report.display())];
    compile_program(env.dirs, env.toolchain, config, program, &directives, &object, &extra)?;
    let text = std::fs::read_to_string(&report).map_err(|e| format!("no report written ({e})"))?;
    let sizes: BTreeMap<String, u64> = symbol_sizes(&object)?.into_iter().collect();
    let mut lines = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let value: Value = serde_json::from_str(line).map_err(|e| format!("line {}: not JSON: {e}", n + 1))?;
        check_line(&value).map_err(|e| format!("line {}: {e}\n{line}", n + 1))?;
        let symbol = value["symbol"].as_str().unwrap();
        let bytes = value["resume_bytes"].as_u64().unwrap();
        match sizes.get(symbol) {
            Some(&size) if size == bytes => {}
            Some(&size) => return Err(format!("{symbol}: report says {bytes} bytes, nm says {size}")),
            None => return Err(format!("{symbol} is not in the object file")),
        }
        if config.opt_level == "0" && value["passes"].as_array().unwrap().iter().any(|p| p["applied"] == true && p["pass"] == "returned_arm") {
            return Err(format!("{symbol}: returned_arm applied with debug-assertions on"));
        }
        lines.push(value);
    }
    if lines.is_empty() {
        return Err("the report has no line, but every corpus program has a coroutine".into());
    }
    Ok(lines)
}

/// The default lowering's lines against `corolift=off`'s, by symbol.
///
/// Under `corolift=all` the state counts are not held to it: `inline_child` splices a child
/// awaited in several places into each, and its states then count once per place.
fn compare_with_off(lowered: &[Value], off: &[Value], all_passes: bool) -> std::result::Result<(), String> {
    let off: BTreeMap<&str, &Value> = off.iter().map(|v| (v["symbol"].as_str().unwrap(), v)).collect();
    check_frames(lowered, &off)?;
    for line in lowered {
        let symbol = line["symbol"].as_str().unwrap();
        let Some(stock) = off.get(symbol) else {
            return Err(format!("{symbol} is not in the corolift=off report"));
        };
        let (size, stock_size) = (line["size_after"].as_u64(), stock["size_after"].as_u64());
        if size > stock_size {
            return Err(format!("{symbol}: size_of {size:?} lowered, {stock_size:?} under corolift=off"));
        }
        if line["size_before"].as_u64().is_some_and(|b| Some(b) != stock_size) {
            return Err(format!("{symbol}: size_before {} but corolift=off gives {stock_size:?}", line["size_before"]));
        }
        let (states, stock_states) = (line["states_after"].as_u64(), stock["states_after"].as_u64());
        if !all_passes && stock_states.is_some() && states.is_some() && states > stock_states && !flattened(line) {
            return Err(format!("{symbol}: {states:?} states under the default, {stock_states:?} under corolift=off"));
        }
    }
    // Per symbol: a resume function can be emitted in more than one codegen unit.
    let lowered_by_symbol: BTreeMap<&str, &Value> = lowered.iter().map(|v| (v["symbol"].as_str().unwrap(), v)).collect();
    let total = |lines: &BTreeMap<&str, &Value>| lines.values().map(|v| v["states_after"].as_u64().unwrap_or(0)).sum::<u64>();
    let (lowered_total, off_total) = (total(&lowered_by_symbol), total(&off));
    if !all_passes && lowered_total > off_total {
        return Err(format!("{lowered_total} states in all under the default, {off_total} under corolift=off"));
    }
    Ok(())
}

/// The never-grows rules for stack frames. A resume function's frame is no larger than
/// under `corolift=off`; one that absorbed children (spliced into it, at any depth) may
/// hold their code, and its frame is no larger than the largest of its own and theirs
/// under `corolift=off` (by function path: a generic child can have several instances,
/// the largest counts).
///
/// One allowance: where `dead_states` took a state out of the layout, the saved locals of
/// that state become ordinary locals, on the stack. The future loses those bytes, so the
/// frame may grow by what the future lost and no more (`c_dead_state_layout`'s 2 KiB
/// buffer held across awaits that never suspend: future 2,136 -> 8 bytes, frame +1.9 KiB).
fn check_frames(lowered: &[Value], off: &BTreeMap<&str, &Value>) -> std::result::Result<(), String> {
    let frame = |line: &Value| line["frame_bytes"].as_u64().unwrap_or(0);
    let mut off_by_function: BTreeMap<&str, u64> = BTreeMap::new();
    for line in off.values() {
        let largest = off_by_function.entry(line["function"].as_str().unwrap()).or_default();
        *largest = (*largest).max(frame(line));
    }
    for line in lowered {
        let symbol = line["symbol"].as_str().unwrap();
        let own_off = off.get(symbol).map_or(0, |stock| frame(stock));
        let absorbed: Vec<&str> = line["absorbed"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let mut allowed = own_off;
        for child in &absorbed {
            allowed = allowed.max(off_by_function.get(child).copied().unwrap_or(0));
        }
        let demoted = line["passes"].as_array().is_some_and(|p| p.iter().any(|p| p["pass"] == "dead_states" && p["applied"] == true));
        if demoted && let Some(stock) = off.get(symbol) {
            let shrank = stock["size_after"].as_u64().unwrap_or(0).saturating_sub(line["size_after"].as_u64().unwrap_or(0));
            allowed += shrank;
        }
        if frame(line) > allowed {
            return Err(if absorbed.is_empty() {
                format!("{symbol}: a frame of {} bytes, {own_off} under corolift=off", frame(line))
            } else {
                format!(
                    "{symbol}: a frame of {} bytes, more than the largest under corolift=off ({allowed}) of its own ({own_off}) and of the {} it absorbed ({})",
                    frame(line),
                    absorbed.len(),
                    absorbed.join(", ")
                )
            });
        }
    }
    Ok(())
}

pub fn run(env: &Env) -> Result<()> {
    let programs = env.corpus()?;
    let out_dir = env.scratch("report");
    let levels = [
        (BuildConfig::corolift("corolift-off-O0", &["corolift=off"], "0"), vec![BuildConfig::corolift("corolift-O0", &[], "0")]),
        (
            BuildConfig::corolift("corolift-off-O3", &["corolift=off"], "3"),
            vec![BuildConfig::corolift("corolift-O3", &[], "3"), BuildConfig::corolift("corolift-all-O3", &["corolift=all"], "3")],
        ),
    ];
    for (off_config, configs) in &levels {
        parallel(&programs, |program| {
            let name = program.file_stem().unwrap().to_string_lossy().into_owned();
            let off = check_program(env, off_config, program, &out_dir);
            env.tally.record("report", &format!("{name} {}", off_config.name), off.as_ref().map(|_| ()).map_err(Clone::clone));
            for config in configs {
                let all_passes = config.name.contains("all");
                let result = check_program(env, config, program, &out_dir).and_then(|lowered| match &off {
                    Ok(off) => compare_with_off(&lowered, off, all_passes),
                    Err(_) => Err(format!("no {} report to compare with", off_config.name)),
                });
                env.tally.record("report", &format!("{name} {}", config.name), result);
            }
        });
        // One file per configuration for the whole corpus, in program order.
        for name in std::iter::once(off_config.name).chain(configs.iter().map(|c| c.name)) {
            let mut all = String::new();
            for program in &programs {
                let stem = program.file_stem().unwrap().to_string_lossy();
                all.push_str(&std::fs::read_to_string(out_dir.join(format!("{stem}.{name}.jsonl"))).unwrap_or_default());
            }
            let combined = out_dir.join(format!("{name}.jsonl"));
            let _ = std::fs::write(&combined, all);
            eprintln!("[report] {}", combined.display());
        }
    }
    Ok(())
}
