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
//! | `corolift=<pass>,<pass>` | exactly these passes, in full |
//! | `corolift=-<pass>,-<pass>` | the default without these passes (an ablation) |
//! | `corolift-report=<file>` | append one JSON line per codegened resume function |
//! | `corolift-dump=<dir>` | write each coroutine's MIR before and after lowering, and its recovered machine |

use std::path::PathBuf;

use crate::passes::{PASSES, PassInfo};

/// Which passes a compilation asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PassSelection {
    Off,
    /// Decided per profile by [`PassSelection::enabled`].
    Default,
    All,
    Only(Vec<&'static str>),
    /// The default for the profile, without these passes.
    Without(Vec<&'static str>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Knobs {
    pub passes: PassSelection,
    pub report: Option<PathBuf>,
    pub dump: Option<PathBuf>,
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs { passes: PassSelection::Default, report: None, dump: None }
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
         corolift-report=<file>, corolift-dump=<dir>; \
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
            _ => return Err(format!("unknown corolift knob `{word}`; {}", valid_words())),
        }
        Ok(())
    }

    /// Is corolift lowering anything at all?
    pub fn lowering_enabled(&self) -> bool {
        self.passes != PassSelection::Off
    }
}

impl PassSelection {
    /// Does the pass named `name` run, for a build with the given profile?
    pub fn runs(&self, name: &str, optimizing: bool) -> bool {
        self.enabled(optimizing).iter().any(|pass| pass.name == name)
    }

    /// The passes to run, in pipeline order, for a build with the given profile.
    pub fn enabled(&self, optimizing: bool) -> Vec<&'static PassInfo> {
        PASSES
            .iter()
            .filter(|pass| match self {
                PassSelection::Off => false,
                PassSelection::Default => {
                    if optimizing { pass.default_when_optimizing } else { pass.default_at_opt0 }
                }
                PassSelection::All => true,
                PassSelection::Only(names) => names.contains(&pass.name),
                PassSelection::Without(names) => {
                    !names.contains(&pass.name)
                        && if optimizing { pass.default_when_optimizing } else { pass.default_at_opt0 }
                }
            })
            .collect()
    }
}
