#!/usr/bin/env bash
# corolift's entry point: builds the build system (build_system/) and runs it.
#   ./y.sh compare build the backend, then run the main job (the comparison)
#   ./y.sh test    build the backend, then run every suite config.txt enables
#   ./y.sh help    everything else
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v rustup >/dev/null 2>&1; then
    echo "error: corolift needs rustup with a nightly toolchain (rustup toolchain install nightly)" >&2
    exit 1
fi
# rust-toolchain.toml selects the nightly; the build system itself needs nothing more.
cargo build --quiet --release --manifest-path build_system/Cargo.toml --target-dir build_system/target
exec build_system/target/release/corolift-build "$@"
