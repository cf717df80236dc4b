"""Tokens verified per second: minimal_asgi_auth.jwt against PyJWT, and one argon2 login.

For each algorithm - HS256, RS256 (2048-bit RSA), ES256 (P-256) and EdDSA
(Ed25519) - both verifiers check the same token with the same key (loaded
once, outside the timing, as an app does at startup), the same claims
(``exp``, ``aud``, ``iss``) and a one-algorithm allow-list, in interleaved
rounds in one process; the report gives the ratio per round (ours / PyJWT's
rate, higher is better for us) and its median. Then one argon2id verification
(RFC 9106 low-memory parameters, the plugin's default) is timed against one
token verification in the same way: the ratio is why a password is checked once,
at login, and a token on every request. Last, a login for an unknown user
(a dummy hash verified) is timed against a wrong password: the medians should
be within 5%, so the answer time does not reveal which accounts exist.

Run: ``python -m benchmarks.jwt_verify`` (from the repository root; ~50 s).
The report is written to benchmarks/results/jwt_verify.md.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cryptography
import jwt as pyjwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from minimal_asgi_auth import jwt, passwords
from minimal_asgi_auth.keys import PrivateKey

KEY = b"benchmark-secret-benchmark-secret-0123456789"
CLAIMS = {"sub": "42", "aud": "api", "iss": "https://idp.example", "exp": int(time.time()) + 3600}
TOKEN = jwt.encode(CLAIMS, KEY)
ASYMMETRIC = ["RS256", "ES256", "EdDSA"]
RAW_KEYS: dict[str, Callable[[], Any]] = {
    "RS256": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
    "ES256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "EdDSA": ed25519.Ed25519PrivateKey.generate,
}
ROUNDS = 9
ROUND_SECONDS = 0.3
RESULTS = Path(__file__).parent / "results" / "jwt_verify.md"


def ours() -> None:
    jwt.decode(TOKEN, KEY, algorithms=["HS256"], audience="api", issuer="https://idp.example")


def theirs() -> None:
    pyjwt.decode(TOKEN, KEY, algorithms=["HS256"], audience="api", issuer="https://idp.example")


def asymmetric_pair(algorithm: str) -> tuple[Callable[[], None], Callable[[], None]]:
    """Our decode and PyJWT's, for one asymmetric algorithm, each with its key loaded once."""
    raw = RAW_KEYS[algorithm]()
    private = PrivateKey(raw)
    token = jwt.encode(CLAIMS, private, algorithm)
    our_key = private.public_key()
    their_key = raw.public_key()  # the same key as a cryptography object, which PyJWT takes

    def our_decode() -> None:
        jwt.decode(
            token, our_key, algorithms=[algorithm], audience="api", issuer="https://idp.example"
        )

    def their_decode() -> None:
        pyjwt.decode(
            token,
            their_key,
            algorithms=[algorithm],
            audience="api",
            issuer="https://idp.example",
        )

    return our_decode, their_decode


def compare(
    ours: Callable[[], None], theirs: Callable[[], None]
) -> tuple[list[float], list[float], list[float]]:
    """Interleaved rounds: (ratios, our rates, their rates)."""
    ours(), theirs()  # both accept the token (each raises otherwise)
    ratios, our_rates, their_rates = [], [], []
    for round_number in range(ROUNDS):
        # Alternate which goes first, so drift on a shared machine hits both alike.
        first, second = (ours, theirs) if round_number % 2 == 0 else (theirs, ours)
        rates = {first: rate(first, ROUND_SECONDS), second: rate(second, ROUND_SECONDS)}
        our_rates.append(rates[ours])
        their_rates.append(rates[theirs])
        ratios.append(rates[ours] / rates[theirs])
    return ratios, our_rates, their_rates


def rate(function: Callable[[], None], seconds: float) -> float:
    """Calls per second over about ``seconds``."""
    calls, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(100):
            function()
        calls += 100
    return calls / elapsed


def row(name: str, values: list[float], form: str) -> str:
    cells = [
        form.format(statistics.median(values)),
        form.format(min(values)),
        form.format(max(values)),
    ]
    return f"| {name} | {' | '.join(cells)} |"


def main() -> None:
    jwt_ratios, our_rates, their_rates = compare(ours, theirs)
    asymmetric_rows = []
    for algorithm in ASYMMETRIC:
        ratios, mine, pyjwts = compare(*asymmetric_pair(algorithm))
        asymmetric_rows += [
            row(f"{algorithm}: ours / PyJWT, tokens verified per second", ratios, "{:.2f}x"),
            row(f"{algorithm}: ours, tokens per second", mine, "{:,.0f}"),
            row(f"{algorithm}: PyJWT, tokens per second", pyjwts, "{:,.0f}"),
        ]

    stored = passwords.hash("correct horse battery staple")
    login_ratios, login_seconds = [], []
    for _ in range(5):
        start = time.perf_counter()
        passwords.verify(stored, "correct horse battery staple")
        login = time.perf_counter() - start
        token_seconds = 1 / rate(ours, 0.05)
        login_seconds.append(login)
        login_ratios.append(login / token_seconds)

    # The unknown-user path must cost what a wrong password costs (the goal: medians within 5%).
    passwords.verify_unknown_user("warm-up")  # the dummy hash is made on first use
    unknown_ratios = []
    for _ in range(11):
        start = time.perf_counter()
        passwords.verify(stored, "wrong password")
        wrong = time.perf_counter() - start
        start = time.perf_counter()
        passwords.verify_unknown_user("wrong password")
        unknown_ratios.append((time.perf_counter() - start) / wrong)
    login_ms = [seconds * 1000 for seconds in login_seconds]

    load = os.getloadavg()
    report = "\n".join(
        [
            "# JWT verification: minimal_asgi_auth.jwt vs PyJWT, and one argon2 login",
            "",
            "Command: `python -m benchmarks.jwt_verify`",
            "",
            f"- date (UTC): {time.strftime('%Y-%m-%d %H:%M', time.gmtime())}",
            f"- machine: {os.cpu_count()} CPU(s), {platform.platform()}",
            f"- Python: {platform.python_implementation()} {platform.python_version()};"
            f" PyJWT {pyjwt.__version__}; cryptography {cryptography.__version__}",
            f"- load average (1, 5, 15 min) at the end: {load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f}"
            " (shared machine: read the ratios, not the rates)",
            f"- settings: {ROUNDS} interleaved rounds of {ROUND_SECONDS} s each per algorithm;"
            " same token, key and checks (exp, aud, iss) for both verifiers",
            "",
            "| | median | min | max |",
            "|---|--:|--:|--:|",
            row("HS256: ours / PyJWT, tokens verified per second", jwt_ratios, "{:.2f}x"),
            row("HS256: ours, tokens per second", our_rates, "{:,.0f}"),
            row("HS256: PyJWT, tokens per second", their_rates, "{:,.0f}"),
            *asymmetric_rows,
            row("one argon2id login / one token verification", login_ratios, "{:,.0f}x"),
            row("one argon2id login, ms (64 MiB, t=3, p=4)", login_ms, "{:.0f}"),
            row(
                "unknown user / wrong password, login time (goal: 0.95-1.05)",
                unknown_ratios,
                "{:.3f}x",
            ),
            "",
        ]
    )
    RESULTS.write_text(report)
    print(report)


if __name__ == "__main__":
    main()
