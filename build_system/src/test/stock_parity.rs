//! `corolift=off` must produce what stock cg_clif produces: every corpus program is
//! compiled to an object by a stock cg_clif built from the same source with the same
//! features, and by corolift with `corolift=off`, at opt-level 0 and 3; the symbols and
//! their sizes must be the same.

use super::{Env, parallel};
use crate::build::build_stock;
use crate::compile::{Backend, BuildConfig, Directives, compile_program, symbol_sizes};
use crate::util::Result;

pub fn run(env: &Env) -> Result<()> {
    build_stock(env.dirs, env.toolchain)?;
    let pairs = [
        (BuildConfig::new("stock-O0", Backend::Stock, "0"), BuildConfig::corolift("corolift-off-O0", &["corolift=off"], "0")),
        (BuildConfig::new("stock-O3", Backend::Stock, "3"), BuildConfig::corolift("corolift-off-O3", &["corolift=off"], "3")),
    ];
    same_symbols(env, "stock_parity", &pairs)
}

/// Every corpus program compiled under both configurations of each pair, to an object:
/// the same symbols with the same sizes.
pub fn same_symbols(env: &Env, suite: &str, pairs: &[(BuildConfig, BuildConfig)]) -> Result<()> {
    let programs = env.corpus()?;
    let out_dir = env.scratch(suite);
    for (stock, off) in pairs {
        parallel(&programs, |program| {
            let name = program.file_stem().unwrap().to_string_lossy().into_owned();
            let result = (|| {
                let directives = Directives::of_file(program)?;
                let mut symbols = Vec::new();
                for config in [stock, off] {
                    let object = out_dir.join(format!("{name}.{}.o", config.name));
                    compile_program(env.dirs, env.toolchain, config, program, &directives, &object, &["--emit=obj".into()])?;
                    symbols.push(symbol_sizes(&object)?);
                }
                if symbols[0] == symbols[1] {
                    return Ok(());
                }
                let mut msg = format!("symbol sizes differ ({} vs {}):\n", stock.name, off.name);
                for (s, c) in symbols[0].iter().zip(&symbols[1]).filter(|(s, c)| s != c).take(10) {
                    msg.push_str(&format!("  {} {}  vs  {} {}\n", s.0, s.1, c.0, c.1));
                }
                if symbols[0].len() != symbols[1].len() {
                    msg.push_str(&format!("  {} symbols vs {}\n", symbols[0].len(), symbols[1].len()));
                }
                Err(msg)
            })();
            env.tally.record(suite, &format!("{name} {}", off.name), result);
        });
    }
    Ok(())
}
