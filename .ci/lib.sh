# Shared by the .ci scripts: paths and the tool installation that building Realms needs.
# Sourced, not run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$ROOT/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
CARGO_LEPTOS_VERSION=0.3.5

log() { printf '\n==> %s\n' "$*" >&2; }

apt_install() {
  # Installs Debian packages that are missing (first apt-get update once).
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

install_build_tools() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    log "adding the wasm32 target"
    rustup target add wasm32-unknown-unknown
  fi
  if [ "$(cargo leptos --version 2>/dev/null || true)" != "cargo-leptos $CARGO_LEPTOS_VERSION" ]; then
    log "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 10 minutes)"
    cargo install cargo-leptos --locked --version "$CARGO_LEPTOS_VERSION"
  fi
  # wasm-bindgen-cli must match the wasm-bindgen version in Cargo.lock exactly.
  local wbg
  wbg="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)"
  if [ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $wbg" ]; then
    log "installing wasm-bindgen-cli $wbg"
    # Not --locked: its lock file pins a webpki-roots release the registry no longer serves.
    cargo install wasm-bindgen-cli --version "$wbg"
  fi
  # wasm-opt comes from npm's binaryen (Debian's older build breaks hydration), with Playwright.
  if [ ! -x end2end/node_modules/.bin/wasm-opt ] || [ ! -d end2end/node_modules/@playwright/test ] ||
     [ ! -e end2end/node_modules/.bin/claude ]; then
    log "installing end2end Node packages (binaryen, Playwright, the Claude Code CLI)"
    (cd end2end && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

build_release() {
  install_build_tools
  log "building Realms (cargo leptos build --release), the mock upstream and the benchmark"
  cargo leptos build --release
  cargo build --release -p realms-mock -p realms-bench
}
