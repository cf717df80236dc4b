"""Exercise 20, solved: the HS256 figures, read from the report rather than copied.

(A learner copies three numbers by hand; this solution reads them, so it stays
right whenever someone reruns ``python -m benchmarks.jwt_verify``.)
"""

import re
from pathlib import Path

REPORT = Path(__file__).resolve().parents[3] / "benchmarks" / "results" / "jwt_verify.md"


def _median(label: str) -> float:
    for line in REPORT.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if cells[0] == label:
            return float(re.sub(r"[,x]", "", cells[1]))
    raise LookupError(f"no row {label!r} in {REPORT}")


OURS_PER_SECOND = _median("HS256: ours, tokens per second")
PYJWT_PER_SECOND = _median("HS256: PyJWT, tokens per second")
REPORTED_RATIO = _median("HS256: ours / PyJWT, tokens verified per second")


def ratio_of_medians() -> float:
    """Ours / PyJWT, from the two medians above."""
    return OURS_PER_SECOND / PYJWT_PER_SECOND


# Why they differ: REPORTED_RATIO is the median of the per-round ratios. Each
# round times both verifiers back to back, so a burst of load from another
# process slows both sides of that round and cancels out of its ratio. The two
# rate medians may come from different rounds - a quiet one for us, a busy one
# for PyJWT - so their quotient carries the load's noise. Quote REPORTED_RATIO,
# with its min-max range and the machine and date the report names.
