#!/usr/bin/env bash
# Compiles native/kernels.c into the two WebAssembly modules the package
# embeds (src/native/kernels_wasm.ts): one with wasm SIMD, one that also uses
# relaxed SIMD's fused multiply-add (Chromium ≥ 114; not Node 20 by default).
# Both import their memory as env.memory; the loader marks that import shared
# for the threaded tfjs-backend-wasm build. Needs clang and wasm-ld ≥ 16
# (Debian bookworm: apt-get install clang-19 lld-19); the generated file is
# committed, so building or testing the package does not need them.
set -euo pipefail
cd "$(dirname "$0")/.."
CLANG=${CLANG:-$(command -v clang-19 || command -v clang)}
LLD=${WASM_LD:-$(command -v wasm-ld-19 || command -v wasm-ld)}
OBJDUMP=${OBJDUMP:-$(command -v llvm-objdump-19 || command -v llvm-objdump || echo /usr/lib/llvm-19/bin/llvm-objdump)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
flags=(--target=wasm32 -O3 -msimd128 -mbulk-memory -mnontrapping-fptoint -nostdlib -ffreestanding
  -fno-builtin -Wall -Wextra -Werror -fuse-ld="$LLD"
  -Wl,--no-entry -Wl,--import-memory -Wl,-z,stack-size=0 -Wl,--initial-memory=65536 -Wl,--strip-all)
"$CLANG" "${flags[@]}" -o "$tmp/simd.wasm" native/kernels.c
"$CLANG" "${flags[@]}" -mrelaxed-simd -o "$tmp/relaxed.wasm" native/kernels.c
for m in simd relaxed; do
  # The module runs inside the backend's memory: its code must not touch a
  # stack pointer (wasm-ld's only global) nor anything but its arguments.
  if [ -x "$OBJDUMP" ] && "$OBJDUMP" -d "$tmp/$m.wasm" | grep -q 'global\.'; then
    echo "native/kernels.c uses the stack or a global; the module must not" >&2
    exit 1
  fi
done
node scripts/embed-native.mjs "$tmp/simd.wasm" "$tmp/relaxed.wasm" src/native/kernels_wasm.ts
