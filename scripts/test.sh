#!/usr/bin/env bash
# README command 2: install what is missing (npm packages, Chromium, the DICOM test corpus)
# and run every test: typecheck, unit tests of every workspace, then the browser e2e federation.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh --browser
bash packages/data/scripts/fetch-dicom-corpus.sh
export TURBO_TELEMETRY_DISABLED=1 CI="${CI:-true}"
start=$(date +%s)
echo "› lint and typecheck"
npx turbo run lint typecheck --output-logs=errors-only
echo "› build apps"
npx turbo run build --output-logs=errors-only
echo "› unit tests (one workspace at a time: this machine has 2 cores)"
npx turbo run test --concurrency=1 --output-logs=full
echo "› browser e2e (Debian Chromium, real server on 127.0.0.1)"
npm run -s test:e2e
echo "› all tests passed in $(( $(date +%s) - start )) s"
