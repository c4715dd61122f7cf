#!/usr/bin/env bash
# Runs the coverage-guided fuzz targets (cargo-fuzz / libFuzzer) for a given time each.
# Not part of CI: it needs the nightly toolchain and takes as long as you give it.
#
#   tests/fuzz/run.sh SECONDS [image|pth|safetensors]...     (default: all three, one after another)
#
# Installs cargo-fuzz (from crates.io) and the nightly toolchain's presence is checked first.
# Corpora grow in tests/fuzz/corpus/TARGET (git-ignored), starting from tests/fuzz/seeds/TARGET.
# A crash or hang is written to tests/fuzz/artifacts/TARGET and copied to
# tests/fuzz/regressions/TARGET, which `cargo test` replays (tests/fuzz_regressions.rs):
# fix the loader, keep the file.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:?usage: tests/fuzz/run.sh SECONDS [TARGET...]}
shift
targets=("${@:-image pth safetensors}")
read -r -a targets <<<"${targets[*]}"

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

cargo +nightly fuzz build --fuzz-dir . -O
host=$(rustc -vV | sed -n 's/^host: //p')
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target" "artifacts/$target" "regressions/$target"
    cp -n "seeds/$target"/* "corpus/$target/"
    echo "== $target: ${seconds} s"
    # -timeout: an input taking longer than 10 s is reported as a hang; -rss_limit_mb: a
    # loader that asks for more memory than that for a small input is a bug too.
    set +e
    # The binary built above, run directly: `cargo fuzz run` would rebuild it from whatever
    # the source tree holds by then.
    "target/$host/release/$target" "corpus/$target" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=3072 -max_len=262144 \
        -artifact_prefix="artifacts/$target/" -print_final_stats=1 2>&1 | tee "artifacts/$target.log" | \
        grep -E '^#[0-9]+ +(DONE|INITED)|^==[0-9]+== ERROR|^SUMMARY|stat::number_of_executed_units|stat::peak_rss_mb|Test unit written'
    status=${PIPESTATUS[0]}
    set -e
    found=$(find "artifacts/$target" -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) | wc -l)
    if [ "$found" -gt 0 ]; then
        cp -n "artifacts/$target"/{crash,timeout,oom,leak}-* "regressions/$target/" 2>/dev/null || true
    fi
    echo "== $target: exit $status, $found finding(s), corpus $(ls "corpus/$target" | wc -l) inputs"
done
