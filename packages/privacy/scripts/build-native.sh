#!/usr/bin/env bash
# Compiles native/grid.c (the integer grid's hot loops) into the WebAssembly
# SIMD module that src/grid-wasm.ts embeds as base64. It imports its memory as
# env.memory and has no data, stack or globals. Needs clang and wasm-ld ≥ 16
# (Debian bookworm: apt-get install clang-19 lld-19); the generated file is
# committed, so building or testing the package does not need them.
set -euo pipefail
cd "$(dirname "$0")/.."
CLANG=${CLANG:-$(command -v clang-19 || command -v clang)}
LLD=${WASM_LD:-$(command -v wasm-ld-19 || command -v wasm-ld)}
OBJDUMP=${OBJDUMP:-$(command -v llvm-objdump-19 || command -v llvm-objdump || echo /usr/lib/llvm-19/bin/llvm-objdump)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# No -mrelaxed-simd: its fused multiply-add would round differently from the JS twins.
# Twice: a module that imports a plain memory, and one that imports a shared memory (for a
# helper thread: atomics is only what a shared memory needs; the code uses none).
build() {
  "$CLANG" --target=wasm32 -O3 -msimd128 -mbulk-memory -mnontrapping-fptoint -nostdlib -ffreestanding \
    -fno-builtin -ffp-contract=off -Wall -Wextra -Werror -fuse-ld="$LLD" \
    -Wl,--no-entry -Wl,--import-memory -Wl,-z,stack-size=0 -Wl,--initial-memory=65536 -Wl,--strip-all \
    "$@" native/grid.c
  if [ -x "$OBJDUMP" ] && "$OBJDUMP" -d "${@: -1}" | grep -q 'global\.'; then
    echo "native/grid.c uses the stack or a global; the module must not" >&2
    exit 1
  fi
}
build -o "$tmp/grid.wasm"
build -matomics -Wl,--shared-memory -Wl,--max-memory=4294967296 -o "$tmp/grid-shared.wasm"
node scripts/embed-native.mjs "$tmp/grid.wasm" "$tmp/grid-shared.wasm" src/grid-wasm.ts
