#!/usr/bin/env bash
# repro/bugs.sh [NAME...]: make bugs, the instrument-power matrix: every
# mutant of repro/bugs/ against every instrument, from empty inputs.  The
# matrix lives in repro/matrix/ (run.sh: the driver; cell.sh: one cell and
# its verdict; inst.sh: the instruments; plan.py: the order; table.py:
# repro/CATALOG.md and the committed cell cache repro/matrix/cells.tsv).
exec "$(dirname "$0")/matrix/run.sh" "$@"
