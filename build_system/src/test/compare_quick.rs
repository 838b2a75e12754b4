//! `./y.sh compare --quick` as a test: the comparison runs end to end (every build
//! configuration, callgrind, the JSON and the HTML), and its figures make sense: every
//! build printed the same output as its hand-written twin, instruction counts exist, and
//! corolift's resume functions are smaller than stock cg_clif's at -O3.

use serde_json::Value;

use super::Env;
use crate::compare;
use crate::util::Result;

pub fn run(env: &Env) -> Result<()> {
    let out_dir = env.scratch("compare");
    let options = compare::Options { quick: true, out_dir: Some(out_dir.clone()) };
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
            if configs.len() != 8 {
                return Err(format!("{name}: {} configurations, want 8", configs.len()));
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
        let html = std::fs::read_to_string(out_dir.join("report.html")).map_err(|e| format!("no report.html: {e}"))?;
        if !html.contains("<svg") || html.contains("<script") || html.contains("http://") && !html.contains("http://www.w3.org/2000/svg") {
            return Err("report.html lacks its SVG charts or needs the network".into());
        }
        Ok(())
    })();
    env.tally.record("compare_quick", "report.json and report.html hold the figures", result);
    Ok(())
}
