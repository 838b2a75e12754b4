//! cg_clif's own example programs, read from the toolchain's rustc-dev source at test
//! time (never copied here), built by corolift against the standard LLVM-built sysroot
//! and run. config.txt names them as `example.<name>`; each is built with the flags
//! cg_clif's own test runner uses, at opt-level 0 and 3 with the default lowering.

use super::Env;
use crate::compile::BuildConfig;
use crate::util::{Result, describe};

/// (config name, file in `example/`, arguments, run it?) for the examples we know.
const KNOWN: &[(&str, &str, &[&str], bool)] = &[
    ("arbitrary_self_types_pointers_and_wrappers", "arbitrary_self_types_pointers_and_wrappers.rs", &[], true),
    ("std_example", "std_example.rs", &["arg"], true),
    ("dst_field_align", "dst-field-align.rs", &[], true),
    ("subslice-patterns-const-eval", "subslice-patterns-const-eval.rs", &[], true),
    ("track-caller-attribute", "track-caller-attribute.rs", &[], true),
    ("float-minmax-pass", "float-minmax-pass.rs", &[], true),
    ("issue-72793", "issue-72793.rs", &[], true),
    ("issue-59326", "issue-59326.rs", &[], false),
    ("neon", "neon.rs", &[], true),
    ("gen_block_iterate", "gen_block_iterate.rs", &[], true),
    ("raw-dylib", "raw-dylib.rs", &[], true),
];

pub fn run(env: &Env) -> Result<()> {
    let example_dir = env.toolchain.cg_clif_source().join("example");
    let out_dir = env.scratch("cg_clif_examples");
    for name in &env.config.examples {
        let Some(&(_, file, args, run)) = KNOWN.iter().find(|k| k.0 == name) else {
            let known: Vec<&str> = KNOWN.iter().map(|k| k.0).collect();
            env.tally.record("cg_clif_examples", name, Err(format!("unknown example; known: {}", known.join(", "))));
            continue;
        };
        for config in [BuildConfig::corolift("corolift-O0", &[], "0"), BuildConfig::corolift("corolift-O3", &[], "3")] {
            let result = (|| {
                let exe = out_dir.join(format!("{name}.{}", config.name));
                let mut cmd = config.rustc(env.dirs, env.toolchain);
                cmd.args(["-Cdebuginfo=2", "--edition=2024", "--check-cfg=cfg(jit)"])
                    .arg(example_dir.join(file))
                    .arg("-o")
                    .arg(&exe);
                let out = cmd.output().map_err(|e| e.to_string())?;
                if !out.status.success() {
                    return Err(format!("`{}` failed:\n{}", describe(&cmd), String::from_utf8_lossy(&out.stderr)));
                }
                if run {
                    let out = std::process::Command::new(&exe).args(args).output().map_err(|e| e.to_string())?;
                    if !out.status.success() {
                        return Err(format!(
                            "{} {args:?} failed ({}):\n{}{}",
                            exe.display(),
                            out.status,
                            String::from_utf8_lossy(&out.stdout),
                            String::from_utf8_lossy(&out.stderr)
                        ));
                    }
                }
                Ok(())
            })();
            env.tally.record("cg_clif_examples", &format!("{name} {}", config.name), result);
        }
    }
    Ok(())
}
