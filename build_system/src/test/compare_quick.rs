//! `./y.sh compare --quick` as a test: the comparison runs end to end (every build
//! configuration, callgrind, the JSON and the HTML), and its figures make sense: every
//! build printed the same output as its hand-written twin, instruction counts exist, and
//! corolift's resume functions are smaller than stock cg_clif's at -O3. The LLVM driver's
//! rows are there, with instruction counts and sizes; results.md has the summary and the
//! tables, and the HTML opens with the summary.
//!
//! `./y.sh compare --ablation --quick` runs too: every pass has a "without" and an "alone"
//! row, each row's programs printed what the default's did, a pass changes something
//! when it applies, and the default's figures lie between corolift=off's and the rows'.

use serde_json::Value;

use super::Env;
use crate::compare;
use crate::util::Result;

/// Every benchmark is built under these, in this order (the quick run included).
const EXPECTED_CONFIGS: [&str; 11] = [
    "llvm-O0",
    "llvm-O3",
    "llvm-Oz",
    "stock-O0",
    "stock-O3",
    "corolift-O0",
    "corolift-O3",
    "corolift-all-O3",
    "llvm+corolift-O0",
    "llvm+corolift-O3",
    "llvm+corolift-Oz",
];

pub fn run(env: &Env) -> Result<()> {
    let out_dir = env.scratch("compare");
    let options = compare::Options { quick: true, ablation: false, out_dir: Some(out_dir.clone()) };
    let outcome = compare::compare(env.dirs, env.toolchain, &options);
    env.tally.record("compare_quick", "compare --quick runs without a failed build", outcome.map_err(|e| e.0));
    let result = (|| -> std::result::Result<(), String> {
        let text = std::fs::read_to_string(out_dir.join("report.json")).map_err(|e| format!("no report.json: {e}"))?;
        let report: Value = serde_json::from_str(&text).map_err(|e| format!("report.json: {e}"))?;
        let benches = report["benchmarks"].as_array().ok_or("no benchmarks")?;
        if benches.len() < 2 {
            return Err(format!("{} benchmarks in the quick run", benches.len()));
        }
        for bench in benches {
            let name = bench["benchmark"].as_str().unwrap_or_default();
            let configs = bench["configs"].as_array().ok_or("no configs")?;
            let names: Vec<&str> = configs.iter().filter_map(|c| c["config"].as_str()).collect();
            if names != EXPECTED_CONFIGS {
                return Err(format!("{name}: configurations {names:?}, want {EXPECTED_CONFIGS:?}"));
            }
            for c in configs {
                if c["instructions"].as_u64().unwrap_or(0) == 0 || c["manual_instructions"].as_u64().unwrap_or(0) == 0 {
                    return Err(format!("{name} {}: no instruction count", c["config"]));
                }
                if c["text_bytes"].as_u64().unwrap_or(0) == 0 {
                    return Err(format!("{name} {}: no .text size", c["config"]));
                }
            }
            let bytes = |config: &str| configs.iter().find(|c| c["config"] == config).and_then(|c| c["resume_bytes"].as_u64());
            match (bytes("stock-O3"), bytes("corolift-O3")) {
                (Some(stock), Some(ours)) if ours < stock => {}
                other => return Err(format!("{name}: resume bytes stock-O3 against corolift-O3: {other:?}")),
            }
        }
        let results = std::fs::read_to_string(out_dir.join("results.md")).map_err(|e| format!("no results.md: {e}"))?;
        for needed in ["- commit: ", "- machine: ", "## Summary", "| chain16 |", "== chain16 =="] {
            if !results.contains(needed) {
                return Err(format!("results.md lacks `{needed}`"));
            }
        }
        let html = std::fs::read_to_string(out_dir.join("report.html")).map_err(|e| format!("no report.html: {e}"))?;
        if !html.contains("<h2>Summary (-O3)</h2>") {
            return Err("report.html does not open with its summary".into());
        }
        if !html.contains("<svg") || html.contains("<script") || html.contains("http://") && !html.contains("http://www.w3.org/2000/svg") {
            return Err("report.html lacks its SVG charts or needs the network".into());
        }
        Ok(())
    })();
    env.tally.record("compare_quick", "report.json and report.html hold the figures", result);
    ablation(env, &out_dir);
    Ok(())
}

fn ablation(env: &Env, out_dir: &std::path::Path) {
    let options = compare::Options { quick: true, ablation: true, out_dir: Some(out_dir.to_path_buf()) };
    let outcome = compare::compare(env.dirs, env.toolchain, &options);
    env.tally.record("compare_quick", "compare --ablation --quick: every row printed what the default printed", outcome.map_err(|e| e.0));
    let result = (|| -> std::result::Result<(), String> {
        let dir = out_dir.join("ablation");
        let text = std::fs::read_to_string(dir.join("report.json")).map_err(|e| format!("no ablation report.json: {e}"))?;
        let report: Value = serde_json::from_str(&text).map_err(|e| format!("ablation report.json: {e}"))?;
        let rows = report["rows"].as_array().ok_or("no rows")?;
        let row = |label: &str| rows.iter().find(|r| r["row"] == label);
        let resume = |r: &Value| r["benchmarks"]["resume_bytes"].as_u64().unwrap_or(0) + r["corpus"]["resume_bytes"].as_u64().unwrap_or(0);
        let (off, default) = (row("off").ok_or("no off row")?, row("default").ok_or("no default row")?);
        if resume(default) >= resume(off) {
            return Err(format!("default resume bytes {} not below corolift=off's {}", resume(default), resume(off)));
        }
        for pass in report["passes"].as_array().ok_or("no pass list")?.iter().filter_map(|p| p.as_str()) {
            let (without, alone) = (row(&format!("without {pass}")), row(&format!("{pass} alone")));
            let (Some(without), Some(alone)) = (without, alone) else {
                return Err(format!("{pass}: no without/alone rows"));
            };
            // On these programs every pass that applied somewhere changes bytes, frames
            // or sizes: an ablation row equal to its reference while the pass applied
            // would mean the knob did not reach the compiler.
            let applied = alone["coroutines_applied"].as_u64().unwrap_or(0);
            let figures = |r: &Value| (r["benchmarks"].clone(), r["corpus"].clone());
            if applied > 0 && figures(alone) == figures(off) {
                return Err(format!("{pass} applied to {applied} coroutines alone, yet nothing changed against corolift=off"));
            }
            if without["failures"].as_array().is_some_and(|f| !f.is_empty()) {
                return Err(format!("without {pass}: {}", without["failures"]));
            }
        }
        for file in ["report.html", "results.md"] {
            let text = std::fs::read_to_string(dir.join(file)).map_err(|e| format!("no ablation {file}: {e}"))?;
            if !text.contains("without flatten_child") || !text.contains("inline_child+flatten_child+one_dispatch alone") {
                return Err(format!("ablation {file} lacks the rows"));
            }
        }
        Ok(())
    })();
    env.tally.record("compare_quick", "the ablation's rows, report.json, report.html and results.md", result);
}
