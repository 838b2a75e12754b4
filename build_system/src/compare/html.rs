//! `build/compare/report.html`: the comparison as a page with inline SVG bar charts (no
//! scripts, no network): per benchmark, charts of resume-function bytes, `.text` bytes,
//! executed instructions, the largest resume frame and the futures' total `size_of`, a bar
//! per build.

use serde_json::Value;

pub(super) fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A horizontal bar chart: one labelled bar per `(label, value)`; missing values say so.
fn bar_chart(title: &str, unit: &str, bars: &[(String, Option<f64>)]) -> String {
    let row = 22.0;
    let label_width = 110.0;
    let chart_width = 420.0;
    let height = 30.0 + row * bars.len() as f64;
    let max = bars.iter().filter_map(|(_, v)| *v).fold(0.0f64, f64::max);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\" role=\"img\" aria-label=\"{}\">\
         <text x=\"0\" y=\"16\" font-weight=\"bold\">{}</text>",
        label_width + chart_width + 120.0,
        escape(title),
        escape(title)
    );
    for (i, (label, value)) in bars.iter().enumerate() {
        let y = 26.0 + row * i as f64;
        svg.push_str(&format!("<text x=\"0\" y=\"{}\">{}</text>", y + 14.0, escape(label)));
        match value {
            Some(v) => {
                let width = if max > 0.0 { chart_width * v / max } else { 0.0 };
                let colour = if label.starts_with("corolift") {
                    "#2a7f62"
                } else if label.starts_with("stock") {
                    "#c07a2c"
                } else {
                    "#4a6fa5"
                };
                svg.push_str(&format!(
                    "<rect x=\"{label_width}\" y=\"{}\" width=\"{width:.1}\" height=\"16\" fill=\"{colour}\"/>\
                     <text x=\"{:.1}\" y=\"{}\">{} {}</text>",
                    y + 2.0,
                    label_width + width + 4.0,
                    y + 14.0,
                    format_number(*v),
                    escape(unit)
                ));
            }
            None => svg.push_str(&format!("<text x=\"{label_width}\" y=\"{}\" fill=\"#888\">n/a</text>", y + 14.0)),
        }
    }
    svg.push_str("</svg>");
    svg
}

fn format_number(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if v >= 1e4 {
        format!("{:.1}k", v / 1e3)
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

fn num(v: &Value) -> Option<f64> {
    v.as_f64()
}

pub fn render(report: &Value) -> String {
    let mut page = String::from(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>corolift: compare</title>\
         <style>body{font-family:sans-serif;margin:2em;max-width:1100px}\
         table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}\
         th:first-child,td:first-child{text-align:left}svg{font-size:12px;margin:0.5em 1em 0.5em 0}\
         .charts{display:flex;flex-wrap:wrap}.failed{color:#a00}</style></head><body>",
    );
    page.push_str(&format!(
        "<h1>corolift against LLVM and stock cg_clif</h1><p>{} &middot; {} &middot; {} &middot; {}{} &middot; made by <code>./y.sh compare{}</code>. \
         Instructions are counted by callgrind; compile times are medians, compared within this run.</p>",
        escape(report["date"].as_str().unwrap_or_default()),
        escape(report["commit"].as_str().unwrap_or_default()),
        escape(report["machine"].as_str().unwrap_or_default()),
        escape(report["rustc"].as_str().unwrap_or_default()),
        if report["quick"] == true { " &middot; quick subset" } else { "" },
        if report["quick"] == true { " --quick" } else { "" },
    ));
    // One screen first: per benchmark, corolift's ratios and what it saves.
    page.push_str("<h2>Summary (-O3)</h2><table>");
    for (i, row) in super::summary(report).iter().enumerate() {
        let tag = if i == 0 { "th" } else { "td" };
        page.push_str("<tr>");
        for value in row {
            page.push_str(&format!("<{tag}>{}</{tag}>", escape(value)));
        }
        page.push_str("</tr>");
    }
    page.push_str("</table>");
    if let Some(failures) = report["failures"].as_array().filter(|f| !f.is_empty()) {
        page.push_str("<h2 class=\"failed\">Failures</h2><ul>");
        for f in failures {
            page.push_str(&format!("<li class=\"failed\">{}</li>", escape(f.as_str().unwrap_or_default())));
        }
        page.push_str("</ul>");
    }
    for bench in report["benchmarks"].as_array().into_iter().flatten() {
        let name = bench["benchmark"].as_str().unwrap_or_default();
        let configs = bench["configs"].as_array().cloned().unwrap_or_default();
        page.push_str(&format!("<h2>{}</h2><div class=\"charts\">", escape(name)));
        let series = |field: &str| -> Vec<(String, Option<f64>)> {
            configs.iter().map(|c| (c["config"].as_str().unwrap_or_default().to_string(), num(&c[field]))).collect()
        };
        page.push_str(&bar_chart(&format!("{name}: resume-function bytes"), "B", &series("resume_bytes")));
        page.push_str(&bar_chart(&format!("{name}: .text bytes"), "B", &series("text_bytes")));
        page.push_str(&bar_chart(&format!("{name}: instructions executed"), "", &series("instructions")));
        page.push_str(&bar_chart(&format!("{name}: largest resume frame"), "B", &series("frame_bytes_max")));
        page.push_str(&bar_chart(&format!("{name}: futures' size_of, total"), "B", &series("size_of_total")));
        page.push_str("</div><table><tr><th>build</th><th>resume bytes</th><th>.text bytes</th><th>instructions</th>\
                       <th>÷ LLVM -O3</th><th>÷ hand-written</th><th>resume frames: total</th><th>largest</th>\
                       <th>size_of: total</th><th>largest</th><th>compile s (median)</th><th>÷ LLVM -O0</th></tr>");
        for c in &configs {
            if let Some(err) = c["error"].as_str() {
                page.push_str(&format!(
                    "<tr><td>{}</td><td colspan=\"11\" class=\"failed\">failed: {}</td></tr>",
                    escape(c["config"].as_str().unwrap_or_default()),
                    escape(err.lines().next().unwrap_or_default())
                ));
                continue;
            }
            let f = |v: &Value| match v {
                Value::Null => "-".to_string(),
                Value::Number(n) if n.is_f64() => format!("{:.2}", n.as_f64().unwrap()),
                other => other.to_string(),
            };
            page.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(c["config"].as_str().unwrap_or_default()),
                f(&c["resume_bytes"]),
                f(&c["text_bytes"]),
                f(&c["instructions"]),
                f(&c["instructions_ratio_to_llvm_O3"]),
                f(&c["instructions_ratio_to_manual"]),
                f(&c["frame_bytes_total"]),
                f(&c["frame_bytes_max"]),
                f(&c["size_of_total"]),
                f(&c["size_of_max"]),
                f(&c["compile_seconds_median"]),
                f(&c["compile_ratio_to_llvm_O0"]),
            ));
        }
        page.push_str("</table>");
        // The sizes the benchmark printed itself, per build (the `sizes` benchmark).
        let names: Vec<String> = configs
            .iter()
            .find_map(|c| c["printed_sizes"].as_object().filter(|m| !m.is_empty()).map(|m| m.keys().cloned().collect()))
            .unwrap_or_default();
        if !names.is_empty() {
            page.push_str("<table><tr><th>size_of, as printed</th>");
            for n in &names {
                page.push_str(&format!("<th>{}</th>", escape(n)));
            }
            page.push_str("</tr>");
            let mut rows: Vec<(String, &Value)> = configs.iter().map(|c| (c["config"].as_str().unwrap_or_default().to_string(), &c["printed_sizes"])).collect();
            if let Some(manual) = configs.iter().find(|c| c["manual_printed_sizes"].as_object().is_some_and(|m| !m.is_empty())) {
                rows.push(("hand-written".to_string(), &manual["manual_printed_sizes"]));
            }
            for (label, sizes) in rows {
                page.push_str(&format!("<tr><td>{}</td>", escape(&label)));
                for n in &names {
                    page.push_str(&format!("<td>{}</td>", sizes[n].as_u64().map_or("-".to_string(), |v| v.to_string())));
                }
                page.push_str("</tr>");
            }
            page.push_str("</table>");
        }
        // Per coroutine, stock against corolift at -O3.
        let find = |n: &str| configs.iter().find(|c| c["config"] == n).cloned().unwrap_or(Value::Null);
        let (stock, corolift) = (find("stock-O3"), find("corolift-O3"));
        if let Some(list) = stock["coroutines"].as_array() {
            page.push_str("<table><tr><th>coroutine (-O3)</th><th>states stock → corolift</th><th>size_of</th><th>resume bytes</th><th>frame bytes</th></tr>");
            for sc in list {
                let function = sc["function"].as_str().unwrap_or_default();
                let cc = corolift["coroutines"].as_array().and_then(|cs| cs.iter().find(|c| c["symbol"] == sc["symbol"]).cloned()).unwrap_or(Value::Null);
                if cc.is_null()
                    && let Some(parent) = super::absorbed_by(&corolift, function)
                {
                    page.push_str(&format!(
                        "<tr><td>{}</td><td colspan=\"4\">spliced into {}</td></tr>",
                        escape(function),
                        escape(&parent)
                    ));
                    continue;
                }
                page.push_str(&format!(
                    "<tr><td>{}</td><td>{} → {}</td><td>{} → {}</td><td>{} → {}</td><td>{} → {}</td></tr>",
                    escape(function),
                    sc["states"], cc["states"], sc["size_of"], cc["size_of"], sc["resume_bytes"], cc["resume_bytes"],
                    sc["frame_bytes"], cc["frame_bytes"]
                ));
            }
            page.push_str("</table>");
        }
    }
    if let Some(rows) = report["tokio_echo"].as_array() {
        page.push_str("<h2>tokio_echo (cargo project, every crate of its graph)</h2><div class=\"charts\">");
        let series = |field: &str| -> Vec<(String, Option<f64>)> {
            rows.iter().map(|r| (r["config"].as_str().unwrap_or_default().to_string(), num(&r[field]))).collect()
        };
        page.push_str(&bar_chart("tokio_echo: .text bytes", "B", &series("text_bytes")));
        page.push_str(&bar_chart("tokio_echo: resume-function bytes (all crates)", "B", &series("resume_bytes")));
        page.push_str(&bar_chart("tokio_echo: largest resume frame (all crates)", "B", &series("frame_bytes_max")));
        page.push_str(&bar_chart("tokio_echo: futures' size_of, total (all crates)", "B", &series("size_of_total")));
        page.push_str(&bar_chart("tokio_echo: full build", "s", &series("full_build_seconds")));
        page.push_str("</div>");
    }
    if let Some(rows) = report["firmware"].as_array() {
        page.push_str("<h2>firmware (thumbv7em-none-eabihf, size only)</h2><p>The rows that name a pass vary the firmware crate alone; its dependencies keep the default lowering.</p><div class=\"charts\">");
        let main: Vec<&Value> = rows.iter().filter(|r| !r["build"].as_str().unwrap_or_default().contains(' ')).collect();
        let series = |field: &str| -> Vec<(String, Option<f64>)> {
            main.iter().map(|r| (r["build"].as_str().unwrap_or_default().to_string(), num(&r[field]))).collect()
        };
        page.push_str(&bar_chart("firmware: .text", "B", &series("text")));
        page.push_str(&bar_chart("firmware: task futures' statics", "B", &series("task_statics_total")));
        page.push_str("</div><table><tr><th>build</th><th>.text</th><th>.rodata</th><th>.data</th><th>.bss</th><th>task statics</th></tr>");
        for r in rows {
            let label = escape(r["build"].as_str().unwrap_or_default());
            if let Some(why) = r["skipped"].as_str().or(r["error"].as_str()) {
                page.push_str(&format!("<tr><td>{label}</td><td colspan=\"5\" class=\"failed\">{}</td></tr>", escape(why.lines().next().unwrap_or_default())));
                continue;
            }
            let f = |v: &Value| v.as_u64().map_or("-".to_string(), |n| n.to_string());
            page.push_str(&format!(
                "<tr><td>{label}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                f(&r["text"]), f(&r["rodata"]), f(&r["data"]), f(&r["bss"]), f(&r["task_statics_total"])
            ));
        }
        page.push_str("</table>");
    }
    // The ablation the full run included (or why none).
    let ablation = &report["ablation"];
    if ablation["rows"].is_array() {
        page.push_str(&format!(
            "<h2>Ablation</h2><p>From <code>./y.sh compare --ablation</code> of {} (commit {}), the same compilers as this run. \
             Orange: the default without the pass, against the default. Green: the pass alone, against corolift=off. \
             Negative: smaller or faster.</p>",
            escape(ablation["date"].as_str().unwrap_or_default()),
            escape(ablation["commit"].as_str().unwrap_or_default())
        ));
        page.push_str(&super::ablation::charts(ablation));
        page.push_str(&format!("<pre>{}</pre>", escape(&super::ablation::tables(ablation))));
    } else if let Some(why) = ablation["missing"].as_str() {
        page.push_str(&format!("<h2>Ablation</h2><p>{}: run <code>./y.sh compare --ablation</code>.</p>", escape(why)));
    }
    page.push_str("</body></html>\n");
    page
}
