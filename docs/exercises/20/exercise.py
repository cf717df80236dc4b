"""Exercise 20: reproduce a benchmark number. See README.md.

Run ``.venv/bin/python -m benchmarks.jwt_verify`` from the repository root, then
copy from the HS256 rows of benchmarks/results/jwt_verify.md (median column):
"""

OURS_PER_SECOND: float | None = None  # "HS256: ours, tokens per second"
PYJWT_PER_SECOND: float | None = None  # "HS256: PyJWT, tokens per second"
REPORTED_RATIO: float | None = None  # "HS256: ours / PyJWT, tokens verified per second"


def ratio_of_medians() -> float:
    """Ours / PyJWT, from the two medians above."""
    raise NotImplementedError("TODO")


# Why is REPORTED_RATIO not ratio_of_medians(), and which one do you quote?
# TODO: your answer.
