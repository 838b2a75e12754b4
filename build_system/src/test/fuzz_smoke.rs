//! A short run of the differential fuzzer (`./y.sh fuzz`): 40 generated programs from a
//! fixed seed, each under LLVM -O0 and four corolift builds. Long runs are `./y.sh fuzz
//! --count N`; this keeps the generator and the driver working in CI.

use super::Env;
use crate::fuzz;
use crate::util::Result;

pub fn run(env: &Env) -> Result<()> {
    let options = fuzz::Options { count: 40, seed: 90_001, keep: false };
    let outcome = fuzz::fuzz(env.dirs, env.toolchain, &options);
    env.tally.record("fuzz_smoke", "40 programs from seed 90001, no divergence", outcome.map_err(|e| e.0));
    Ok(())
}
