#!/usr/bin/env bash
# Installs what deepfuse needs on a Debian/Ubuntu machine: LLVM/MLIR 22 and
# the C libraries they link against, and the Rust components the checks use.
# Idempotent: it installs only what is missing, and does nothing otherwise.
set -euo pipefail

PACKAGES=(
  llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools clang-22 lld-22 libpolly-22-dev
  libzstd-dev libz3-dev libxml2-dev zlib1g-dev
)

missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if command -v rustup >/dev/null 2>&1; then
  installed=$(rustup component list --installed 2>/dev/null || true)
  for component in rustfmt clippy; do
    grep -q "^$component" <<<"$installed" || rustup component add "$component"
  done
fi

for tool in /usr/lib/llvm-22/bin/mlir-tblgen /usr/lib/llvm-22/bin/FileCheck /usr/lib/llvm-22/bin/ld.lld; do
  [ -x "$tool" ] || { echo "setup: $tool is missing after installation" >&2; exit 1; }
done
