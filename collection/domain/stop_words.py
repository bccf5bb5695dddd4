"""Stop words in an incoming text (SMS or WhatsApp): the person asks to hear no more, or
says the number is not theirs. Matched on the whole message, without accents, case or
punctuation, so "Parar!", "pare" or "NÃO É MEU NÚMERO" count and "quero parar de dever"
does not (it is a conversation, not a stop)."""

from __future__ import annotations

import enum
import re
import unicodedata


class StopRule(enum.StrEnum):
    OPT_OUT = "opt_out"  # stop this channel at the creditors that use the number
    NOT_MINE = "not_mine"  # the number is not the person's: disowned for every creditor


_OPT_OUT = frozenset(
    {
        "parar",
        "pare",
        "para",
        "sair",
        "stop",
        "cancelar",
        "cancela",
        "descadastrar",
        "unsubscribe",
        "nao quero mais receber",
        "parar mensagens",
        "nao me mande mais mensagens",
    }
)
_NOT_MINE = frozenset(
    {
        "nao e meu numero",
        "nao e o meu numero",
        "nao e meu contato",
        "numero errado",
        "engano",
        "nao conheco essa pessoa",
        "nao conheco",
        "wrong number",
    }
)
_NOT_WORD = re.compile(r"[^a-z0-9]+")


def normalise(text: str) -> str:
    """Lower case, no accents, words separated by one space: "Não É!" -> "nao e"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NOT_WORD.sub(" ", plain).strip()


def stop_rule(text: str) -> StopRule | None:
    """The stop the message asks for, or None when it asks none. "Não é meu número"
    wins over an opt-out: a stranger's number must stop for every creditor."""
    words = normalise(text)
    if words in _NOT_MINE:
        return StopRule.NOT_MINE
    if words in _OPT_OUT:
        return StopRule.OPT_OUT
    return None
