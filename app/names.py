"""Text keys for matching names written in different ways (never for ids)."""
from __future__ import annotations

import functools
import re
import unicodedata

_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


@functools.lru_cache(maxsize=65536)
def name_key(text: str) -> str:
    """Lower case, umlauts spelled out, 'str.' = 'straße', no spaces or punctuation.

    Cached: imports and builds ask for the same few thousand names again and again."""
    text = (text or "").strip().lower().translate(_UMLAUTS)
    text = re.sub(r"str(\.|\b)", "strasse", text)
    text = re.sub(r"strassee\b", "strasse", text)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", text)


def slugify(text: str) -> str:
    text = (text or "").strip().lower().translate(_UMLAUTS)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def short_name(name: str) -> str:
    """'Beusselstraße (Moabit West until 2020)' -> 'Beusselstraße'."""
    return re.split(r"\s+\(", name or "", maxsplit=1)[0].strip()


def aliases(name: str) -> list[str]:
    """The name, its short form and what stands in parentheses: 'Moabit-Ost (Perleberger/Wilsnacker Straße)'."""
    found = [name, short_name(name)] + re.findall(r"\(([^)]*)\)", name or "")
    return [a for a in dict.fromkeys(a.strip() for a in found) if a]
