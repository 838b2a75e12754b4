//! The `-Cllvm-args` words that steer corolift.
//!
//! cg_clif hands every `-Cllvm-args` word to its own option parser; the patch routes
//! the words that start with `corolift` here, so a typo is a compile error that lists
//! what is valid rather than a knob that silently does nothing. Inside queries the
//! words are read again from `tcx.sess.opts.cg.llvm_args`, which incremental
//! compilation already tracks.
//!
//! | word | meaning |
//! | --- | --- |
//! | `corolift=off` | no coroutine lowering: the output equals stock cg_clif's |
//! | `corolift=default` | the passes the profile enables (see [`crate::passes::PassInfo`]) |
//! | `corolift=all` | every pass, in full (`inline_child` on every child, not only single-use ones) |
//! | `corolift=<pass>,<pass>` | exactly these passes, in full (`one_dispatch` runs only after each child `flatten_child` keeps: name both) |
//! | `corolift=-<pass>,-<pass>` | the default without these passes (an ablation) |
//! | `corolift-report=<file>` | append one JSON line per codegened resume function |
//! | `corolift-dump=<dir>` | write each coroutine's MIR before and after lowering, and its recovered machine |
//! | `corolift-verify` | run the verifier ([`crate::verify`]) after every pass that changed a body (always on in a backend built with debug assertions) |
//! | `corolift-backend=llvm` | set by the LLVM driver (`dist/rustc-corolift-llvm`), not by users: the Cranelift-only passes do not run |

use std::path::PathBuf;

use crate::passes::{PASSES, PassInfo};

/// Which passes a compilation asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PassSelection {
    Off,
    /// Decided per pass and profile (`PassInfo`'s defaults), as [`Knobs::selected`] does.
    Default,
    All,
    Only(Vec<&'static str>),
    /// The default for the profile, without these passes.
    Without(Vec<&'static str>),
}

/// The backend the lowered MIR goes to. Set by the host: the Cranelift backend's hooks
/// (the default), or the LLVM driver, which adds the word `corolift-backend=llvm`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Cranelift,
    Llvm,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Knobs {
    pub passes: PassSelection,
    pub report: Option<PathBuf>,
    pub dump: Option<PathBuf>,
    /// Run the verifier between passes (`corolift-verify`).
    pub verify: bool,
    pub backend: Backend,
    /// What the build optimizes for; set by the host from the session. Under the LLVM
    /// driver the default leaves out the passes whose `llvm_leaves_out` names this goal.
    pub goal: OptGoal,
}

/// What a build optimizes for, by its opt-level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptGoal {
    /// Opt-level 0.
    Debug,
    /// Opt-levels 1 to 3.
    Speed,
    /// Opt-levels `s` and `z`.
    Size,
}

impl OptGoal {
    fn opt_levels(self) -> &'static str {
        match self {
            OptGoal::Debug => "opt-level 0",
            OptGoal::Speed => "opt-levels 1 to 3",
            OptGoal::Size => "opt-levels s and z",
        }
    }
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs { passes: PassSelection::Default, report: None, dump: None, verify: false, backend: Backend::Cranelift, goal: OptGoal::Debug }
    }
}

/// Does this `-Cllvm-args` word belong to corolift?
pub fn is_corolift_word(word: &str) -> bool {
    word == "corolift" || word.starts_with("corolift=") || word.starts_with("corolift-")
}

fn valid_words() -> String {
    let passes: Vec<&str> = PASSES.iter().map(|p| p.name).collect();
    format!(
        "valid corolift knobs: corolift=off, corolift=default, corolift=all, \
         corolift=<pass>[,<pass>...], corolift=-<pass>[,-<pass>...] (the default without them), \
         corolift-report=<file>, corolift-dump=<dir>, corolift-verify; \
         valid passes: {}",
        if passes.is_empty() { "(none)".to_string() } else { passes.join(", ") }
    )
}

fn find_pass(name: &str) -> Option<&'static PassInfo> {
    PASSES.iter().find(|p| p.name == name)
}

impl Knobs {
    /// Parses every corolift word out of `-Cllvm-args`; other words are cg_clif's.
    pub fn parse<'a>(words: impl IntoIterator<Item = &'a String>) -> Result<Knobs, String> {
        let mut knobs = Knobs::default();
        for word in words.into_iter().filter(|w| is_corolift_word(w)) {
            knobs.apply(word)?;
        }
        Ok(knobs)
    }

    fn apply(&mut self, word: &str) -> Result<(), String> {
        if word == "corolift-verify" {
            self.verify = true;
            return Ok(());
        }
        let (key, value) = match word.split_once('=') {
            Some((key, value)) if !value.is_empty() => (key, value),
            _ => return Err(format!("corolift knob `{word}` needs a value; {}", valid_words())),
        };
        match key {
            "corolift" => {
                self.passes = match value {
                    "off" => PassSelection::Off,
                    "default" => PassSelection::Default,
                    "all" => PassSelection::All,
                    list => {
                        let mut names = Vec::new();
                        let removing = list.starts_with('-');
                        for name in list.split(',') {
                            if name.starts_with('-') != removing {
                                return Err(format!(
                                    "`{word}` mixes passes to run and passes to remove (-<pass>); {}",
                                    valid_words()
                                ));
                            }
                            let name = name.trim_start_matches('-');
                            match find_pass(name) {
                                Some(pass) if !names.contains(&pass.name) => names.push(pass.name),
                                Some(_) => {}
                                None => {
                                    return Err(format!(
                                        "unknown corolift pass `{name}` in `{word}`; {}",
                                        valid_words()
                                    ));
                                }
                            }
                        }
                        if removing { PassSelection::Without(names) } else { PassSelection::Only(names) }
                    }
                }
            }
            "corolift-report" => self.report = Some(PathBuf::from(value)),
            "corolift-dump" => self.dump = Some(PathBuf::from(value)),
            // Set by the LLVM driver, not by users.
            "corolift-backend" => {
                self.backend = match value {
                    "cranelift" => Backend::Cranelift,
                    "llvm" => Backend::Llvm,
                    _ => return Err(format!("unknown corolift backend `{value}` in `{word}` (cranelift, llvm)")),
                }
            }
            _ => return Err(format!("unknown corolift knob `{word}`; {}", valid_words())),
        }
        Ok(())
    }

    /// Is corolift lowering anything at all?
    pub fn lowering_enabled(&self) -> bool {
        self.passes != PassSelection::Off
    }

    /// Does the pass named `name` run, for a build with the given profile?
    pub fn runs(&self, name: &str, optimizing: bool) -> bool {
        PASSES
            .iter()
            .find(|pass| pass.name == name)
            .is_some_and(|pass| self.asks_for(pass, optimizing) && self.backend_skips(pass).is_none())
    }

    /// Why this backend does not run `pass` although it was asked for, if it does not: a
    /// Cranelift-only pass under the LLVM driver, or, when only the default asked for it, a
    /// pass that LLVM does better without in builds for this build's goal.
    pub fn backend_skips(&self, pass: &PassInfo) -> Option<String> {
        if self.backend != Backend::Llvm {
            return None;
        }
        if let Some(why) = pass.cranelift_only {
            return Some(format!("not run for LLVM: {why}"));
        }
        let by_default = matches!(self.passes, PassSelection::Default | PassSelection::Without(_));
        match pass.llvm_leaves_out {
            Some((goal, why)) if self.goal == goal && by_default => {
                Some(format!("not run by default for LLVM at {}: {why}", goal.opt_levels()))
            }
            _ => None,
        }
    }

    /// Does the selection ask for `pass`, for a build with the given profile?
    fn asks_for(&self, pass: &PassInfo, optimizing: bool) -> bool {
        let default = if optimizing { pass.default_when_optimizing } else { pass.default_at_opt0 };
        match &self.passes {
            PassSelection::Off => false,
            PassSelection::Default => default,
            PassSelection::All => true,
            PassSelection::Only(names) => names.contains(&pass.name),
            PassSelection::Without(names) => default && !names.contains(&pass.name),
        }
    }

    /// The passes the selection asks for, for a build with the given profile, on any
    /// backend, in pipeline order.
    pub fn selected(&self, optimizing: bool) -> Vec<&'static PassInfo> {
        PASSES.iter().filter(|pass| self.asks_for(pass, optimizing)).collect()
    }
}
