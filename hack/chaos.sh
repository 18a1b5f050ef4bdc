#!/usr/bin/env bash
# npm run test:chaos [-- --seed N] [--runs N] [--concurrency N]: the randomized campaign (test/chaos). Flags set the
# CHAOS_* environment variables the campaign reads; the seed is printed at the start and end of every campaign.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
while [ $# -gt 0 ]; do
  case "$1" in
    --seed) export CHAOS_SEED="$2"; shift 2 ;;
    --runs) export CHAOS_RUNS="$2"; shift 2 ;;
    --concurrency) export CHAOS_CONCURRENCY="$2"; shift 2 ;;
    *) echo "test:chaos: unknown flag $1 (use --seed N, --runs N, --concurrency N)" >&2; exit 2 ;;
  esac
done
bash hack/testbins.sh
exec npx vitest run -c vitest.chaos.config.ts
