#!/usr/bin/env bash
# repro/matrix/one.sh MUTANT INSTRUMENT SEED: run.sh's per-cell step: the
# cell (cell.sh), unless BUGS_DEADLINE (HH:MM UTC) has passed; then the
# cell is left for the next run (cached cells are printed either way).
set -uo pipefail
if [ -n "${BUGS_DEADLINE:-}" ] && [ "$(date -u +%H:%M)" \> "$BUGS_DEADLINE" ]; then
  BUGS_CACHED_ONLY=1 exec "$(dirname "$0")/cell.sh" "$@"
fi
exec "$(dirname "$0")/cell.sh" "$@"
