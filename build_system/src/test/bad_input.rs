//! Bad input gets a clear error, never a panic of ours: unknown knobs and passes, a
//! program that does not compile, a cg_clif source whose hook anchor moved, and an
//! unknown build-system command. Valid knob spellings are accepted.

use std::process::Command;

use super::Env;
use crate::compile::BuildConfig;
use crate::patch::{HOOKS, apply};
use crate::util::{Result, describe};

/// What a failing rustc run must look like: our message, and no panic or ICE.
fn expect_error(mut cmd: Command, wanted: &[&str]) -> std::result::Result<(), String> {
    let out = cmd.output().map_err(|e| e.to_string())?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        return Err(format!("`{}` succeeded; expected an error", describe(&cmd)));
    }
    for bad in ["panicked", "internal compiler error", "RUST_BACKTRACE"] {
        if stderr.contains(bad) {
            return Err(format!("`{}` panicked instead of reporting an error:\n{stderr}", describe(&cmd)));
        }
    }
    for want in wanted {
        if !stderr.contains(want) {
            return Err(format!("stderr of `{}` lacks `{want}`:\n{stderr}", describe(&cmd)));
        }
    }
    Ok(())
}

pub fn run(env: &Env) -> Result<()> {
    let dir = env.scratch("bad_input");
    let good = dir.join("good.rs");
    let broken = dir.join("broken.rs");
    let _ = std::fs::write(&good, "async fn f(x: u32) -> u32 { x + 1 }\nfn main() { let _ = f(1); println!(\"ok\"); }\n");
    let _ = std::fs::write(&broken, "async fn f(x: u32) -> u32 { x + \"one\" }\nfn main() { let _ = f(1); }\n");
    let corolift = BuildConfig::corolift("corolift-O0", &[], "0");
    let compile = |knobs: &[&str], source: &std::path::Path| {
        let mut cmd = corolift.rustc(env.dirs, env.toolchain);
        cmd.args(["--edition", "2024"]).args(knobs).arg(source).arg("-o").arg(dir.join("out"));
        cmd
    };

    let cases: &[(&str, &[&str], &[&str])] = &[
        ("unknown pass", &["-Cllvm-args=corolift=returned_arm,nosuchpass"], &["unknown corolift pass `nosuchpass`", "valid passes: await_calls, construct_in_place, forward_upvars, returned_arm, ready_child, merge_states, dead_states, inline_child, flatten_child, one_dispatch, await_free, last_arm_default, single_return, unused_locals, self_in_register, share_stack_slots"]),
        ("unknown pass to remove", &["-Cllvm-args=corolift=-nosuchpass"], &["unknown corolift pass `nosuchpass`"]),
        ("passes to run and to remove mixed", &["-Cllvm-args=corolift=-returned_arm,dead_states"], &["mixes passes to run and passes to remove"]),
        ("unknown knob", &["-Cllvm-args=corolift-frobnicate=1"], &["unknown corolift knob `corolift-frobnicate=1`"]),
        ("knob without value", &["-Cllvm-args=corolift"], &["needs a value"]),
        ("empty report path", &["-Cllvm-args=corolift-report="], &["needs a value"]),
    ];
    for (name, knobs, wanted) in cases {
        env.tally.record("bad_input", name, expect_error(compile(knobs, &good), wanted));
    }
    env.tally.record(
        "bad_input",
        "program that does not compile",
        expect_error(compile(&[], &broken), &["error[E0277]", "cannot add `&str` to `u32`"]),
    );

    for knob in ["corolift=off", "corolift=default", "corolift=all", "corolift=returned_arm", "corolift=-share_stack_slots,-inline_child"] {
        let mut cmd = compile(&[&format!("-Cllvm-args={knob}")], &good);
        let result = match cmd.output() {
            Ok(out) if out.status.success() => Ok(()),
            Ok(out) => Err(format!("`{}` failed:\n{}", describe(&cmd), String::from_utf8_lossy(&out.stderr))),
            Err(e) => Err(e.to_string()),
        };
        env.tally.record("bad_input", &format!("accepts {knob}"), result);
    }

    // A nightly that moved a hook anchor: staging must name the anchor and the file.
    let source = env.toolchain.cg_clif_source();
    for hook in HOOKS {
        let result = (|| {
            let text = std::fs::read_to_string(source.join(hook.file)).map_err(|e| e.to_string())?;
            apply(hook.file, text.clone()).map_err(|e| format!("the real source does not patch: {e}"))?;
            let moved = text.replace(hook.anchor, "/* moved by a newer nightly */\n");
            match apply(hook.file, moved) {
                Ok(_) => Err("patching succeeded without the anchor".to_string()),
                Err(e) if e.0.contains(hook.anchor.trim()) && e.0.contains(hook.file) => Ok(()),
                Err(e) => Err(format!("the error does not name the anchor and the file: {e}")),
            }
        })();
        env.tally.record("bad_input", &format!("moved anchor {:?} in {}", hook.anchor.trim(), hook.file), result);
    }

    // The build system itself: an unknown command is an error with the usage.
    let result = match std::env::current_exe() {
        Ok(exe) => {
            let mut cmd = Command::new(exe);
            cmd.arg("frobnicate");
            expect_error(cmd, &["unknown command `frobnicate`", "usage: ./y.sh"])
        }
        Err(e) => Err(e.to_string()),
    };
    env.tally.record("bad_input", "unknown y.sh command", result);
    Ok(())
}
