#!/usr/bin/env bash
# README command 1: install what is missing, build both apps, make the demo federation ready,
# and start the server (which hosts the hospital app at / and the admin dashboard at /admin/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
export TURBO_TELEMETRY_DISABLED=1
echo "› building the hospital and admin apps…"
npx turbo run build --output-logs=errors-only
# Regenerate when missing, or when an older generator wrote PNG manifests without patient ids or the easy task.
if [ ! -f demo-data/png/federation.json ] || ! head -n1 demo-data/png/hospital-a/manifest.csv 2>/dev/null | grep -q patient \
  || ! grep -q '"difficulty": "hard"' demo-data/png/federation.json; then
  rm -rf demo-data
  echo "› generating the demo federation (3 hospitals, PNG and DICOM, the hard task) in demo-data/…"
  npm run -s generate-federation -- --out demo-data/png --format png --hospitals 3 --size 32 --slices-per-hospital 120 --seed 7
  npm run -s generate-federation -- --out demo-data/dicom --format dicom --hospitals 3 --size 64 --slices-per-hospital 120 --seed 7
fi
mkdir -p data
exec node --import tsx server/src/main.ts --db data/fedward.sqlite \
  --enrol hospital-a,hospital-b,hospital-c --tokens-file data/demo-tokens.json "$@"
