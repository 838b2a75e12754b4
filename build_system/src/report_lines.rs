//! Reading `corolift-report` files: one reader, one rule for repeated symbols.
//!
//! The backend writes a line per resume function it compiles. The same symbol can come
//! more than once: a generic or `#[inline]` coroutine is compiled in every codegen unit
//! that uses it, and a cargo rebuild appends the rebuilt crate's lines again. The copies
//! are compiled from the same lowered MIR, so their states, sizes and passes agree.
//!
//! The rule, everywhere in the build system: **the first line of a symbol counts, once**;
//! later lines of the same symbol are dropped. Lines keep the order the compiler wrote them.
//! A missing file is an empty report (nothing was compiled that had a coroutine).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

/// The report at `path`, one line per symbol (the first), in file order.
pub fn read(path: &Path) -> Result<Vec<Value>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let mut seen = std::collections::BTreeSet::new();
    let mut lines = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let value: Value = serde_json::from_str(line).map_err(|e| format!("{}:{}: not a report line: {e}", path.display(), n + 1))?;
        if seen.insert(value["symbol"].as_str().unwrap_or_default().to_string()) {
            lines.push(value);
        }
    }
    Ok(lines)
}

/// Why `pass` applied to the coroutine of `line`, if it applied.
pub fn applied_why<'a>(line: &'a Value, pass: &str) -> Option<&'a str> {
    line["passes"].as_array()?.iter().find(|r| r["pass"] == pass && r["applied"] == true)?["why"].as_str()
}

/// The first line of `lines` for the coroutine `function`.
pub fn of_function<'a>(lines: &'a [Value], function: &str) -> Option<&'a Value> {
    lines.iter().find(|v| v["function"] == function)
}

/// The same, keyed by symbol.
pub fn by_symbol(path: &Path) -> Result<BTreeMap<String, Value>, String> {
    Ok(read(path)?.into_iter().map(|v| (v["symbol"].as_str().unwrap_or_default().to_string(), v)).collect())
}
