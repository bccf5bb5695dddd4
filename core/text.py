"""Text folded for searching: what a person types finds what was stored, whatever the
accents and the case ("goncalves" finds "Gonçalves").

The same fold is applied when a row is written (the ``search_name`` columns, kept by the
ORM and by the bulk import) and to the words typed in a search box, so the database
compares plain lower-case ASCII-like text with ``LIKE`` on both SQLite and PostgreSQL,
and an index can serve it, instead of a per-row filter in Python.
"""

from __future__ import annotations

import unicodedata


def search_key(text: str | None) -> str:
    """``"  Maria  da Conceição GONÇALVES "`` → ``"maria da conceicao goncalves"``."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.casefold().split())


def like_escape(term: str, escape: str = "\\") -> str:
    """``term`` with ``%``, ``_`` and the escape character taken literally in ``LIKE``."""
    return (
        term.replace(escape, escape + escape).replace("%", escape + "%").replace("_", escape + "_")
    )
