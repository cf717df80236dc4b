"""Exercise 27, solved: an uploaded file's name, made safe to store."""

import re
import unicodedata

RESERVED = {"CON", "PRN", "AUX", "NUL"} | {f"{d}{n}" for d in ("COM", "LPT") for n in range(1, 10)}
MAX_BYTES = 255


def safe_filename(name: str) -> str:
    name = re.split(r"[/\\]", name)[-1]  # a Windows client sends C:\Users\...\photo.jpg
    name = unicodedata.normalize("NFKC", name)
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf"))
    name = re.sub(r"[^\w\-. ()]", "_", name)
    name = name.strip(". ")  # no hidden files or "..", and Windows drops trailing dots
    if not name:
        return "upload"
    if name.split(".")[0].upper() in RESERVED:  # NUL.tar.gz is NUL to Windows
        name = "_" + name
    stem, dot, extension = name.rpartition(".")
    if not stem:  # "README": no extension
        stem, dot, extension = extension, "", ""
    suffix = (dot + extension).encode()[: MAX_BYTES // 2].decode("utf-8", "ignore")
    room = MAX_BYTES - len(suffix.encode())
    stem = stem.encode()[:room].decode("utf-8", "ignore").rstrip(". ") or "upload"
    return stem + suffix
