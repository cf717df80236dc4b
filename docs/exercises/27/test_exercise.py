"""Exercise 27: names that are safe to store, and still recognisable."""

from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


@pytest.mark.parametrize(
    ("given_name", "expected"),
    [
        ("report.pdf", "report.pdf"),
        ("résumé 2024 (final).pdf", "résumé 2024 (final).pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\ada\\photo.jpg", "photo.jpg"),
        (".htaccess", "htaccess"),
        ("...", "upload"),
        ("", "upload"),
        ("a\r\nb\x00.txt", "ab.txt"),
        ("\uff46\uff55\uff4c\uff4c.txt", "full.txt"),  # fullwidth letters
        ("evil\u202egpj.exe", "evilgpj.exe"),  # a right-to-left override hides .exe
        ("<script>.html", "_script_.html"),
        ("notes.txt. . ", "notes.txt"),
    ],
)
def test_names(exercise: ModuleType, given_name: str, expected: str) -> None:
    assert exercise.safe_filename(given_name) == expected


@pytest.mark.parametrize("device", ["CON", "con.txt", "NUL.tar.gz", "COM1.log", "lpt9"])
def test_windows_device_names_are_defused(exercise: ModuleType, device: str) -> None:
    stem = exercise.safe_filename(device).split(".")[0]
    assert stem.upper() not in {"CON", "NUL", "COM1", "LPT9"}


@pytest.mark.parametrize("stem", ["x" * 300, "é" * 200, "日本" * 100])
def test_long_names_are_cut_in_the_stem(exercise: ModuleType, stem: str) -> None:
    result = exercise.safe_filename(stem + ".png")
    assert len(result.encode()) <= 255
    assert result.endswith(".png")
    assert result.startswith(stem[:10])


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=300)
@given(st.text(max_size=400))
def test_whatever_comes_in(exercise: ModuleType, name: str) -> None:
    result = exercise.safe_filename(name)
    assert result and len(result.encode()) <= 255
    assert not result.startswith((".", " ")) and not result.endswith((".", " "))
    assert not set(result) & {"/", "\\", "\x00", "\r", "\n", ":", "*", "?", '"', "<", ">", "|"}
