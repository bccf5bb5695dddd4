"""Threats, exposure, shaming and false urgency in a collection text (CDC arts. 42 and 71).

A tenant writes the régua's texts and an agent writes free messages; neither may
threaten listing (negativação), court, police or prison, contact the person's employer
or family, shame, or fake urgency. Lawful steps such as negativação are explained by the
escalation letters (prior notice), which do not go through this filter.

Matching runs on a normalised text so that simple disguises do not get through: accents
and case are dropped, spacing and punctuation collapse, repeated letters count once
(``chaaance``), leetspeak digits read as letters inside words (``p0l1c1a``) and letters
spelt out one by one are joined (``S.P.C.``, ``p r i s ã o``). The patterns are written in
that normal form: no accents, lower case, no letter doubled.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

__all__ = ["RULES", "Finding", "find_threats", "normalise"]

# Leetspeak read as letters, only inside a word that has letters (amounts stay numbers).
_LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "@": "a", "$": "s"}
# Cyrillic and Greek letters that look like Latin ones (pоlícia with a Cyrillic о).
_HOMOGLYPHS = dict(zip("аеорсухіјѕԁοαιεκνρτ", "aeopcyxijsdoaieknpt", strict=True))
# Separators people put inside a word to break it (p.o.l.í.c.i.a, cri-me).
_JOINERS = frozenset(".-_*'`´^~|/\\+")


@dataclass(frozen=True, slots=True)
class Finding:
    """One refused passage: the kind of threat (pt-BR) and the text as written."""

    kind: str
    fragment: str


def _letters(text: str) -> tuple[list[str], list[int]]:
    """Casefolded, accents and invisible characters gone; each char with its source index."""
    chars: list[str] = []
    where: list[int] = []
    for index, char in enumerate(text):
        for part in unicodedata.normalize("NFKD", char):
            category = unicodedata.category(part)
            if category == "Mn" or category == "Cf":
                continue
            for folded in part.casefold():
                chars.append(_HOMOGLYPHS.get(folded, folded))
                where.append(index)
    return chars, where


def _is_word(char: str) -> bool:
    return char.isalnum() or char in _LEET


def _deleet(chars: list[str]) -> list[str]:
    out = list(chars)
    start = 0
    while start < len(out):
        if not _is_word(out[start]):
            start += 1
            continue
        end = start
        while end < len(out) and _is_word(out[end]):
            end += 1
        if any(c.isalpha() for c in out[start:end]):
            for i in range(start, end):
                out[i] = _LEET.get(out[i], out[i])
        start = end
    return out


def _pass(chars: list[str], where: list[int], *, join: bool) -> tuple[str, list[int]]:
    """One normal form. ``join`` removes separators inside a word instead of spacing them."""
    kept: list[tuple[str, int]] = []
    for i, char in enumerate(chars):
        if char.isascii() and char.isalnum():
            kept.append((char, where[i]))
            continue
        inside = 0 < i < len(chars) - 1 and chars[i - 1].isalnum() and chars[i + 1].isalnum()
        if join and inside and char in _JOINERS:
            continue
        kept.append((" ", where[i]))
    # Repeated characters (letters and spaces) count once.
    single: list[tuple[str, int]] = []
    for char, index in kept:
        if single and single[-1][0] == char:
            continue
        single.append((char, index))
    # Letters spelt out one by one ("p r i s a o"): three or more join into a word.
    words: list[list[tuple[str, int]]] = [[]]
    for item in single:
        if item[0] == " ":
            words.append([])
        else:
            words[-1].append(item)
    words = [w for w in words if w]
    joined: list[list[tuple[str, int]]] = []
    run: list[tuple[str, int]] = []
    count = 0
    for word in [*words, []]:
        if len(word) == 1 and word[0][0].isalpha():
            run.extend(word)
            count += 1
            continue
        if run:
            if count >= 3:
                joined.append(run)
            else:
                joined.extend([[item] for item in run])
            run, count = [], 0
        if word:
            joined.append(word)
    text: list[str] = []
    index_of: list[int] = []
    for n, word in enumerate(joined):
        if n:
            text.append(" ")
            index_of.append(word[0][1])
        for char, index in word:
            text.append(char)
            index_of.append(index)
    return "".join(text), index_of


def _forms(text: str) -> list[tuple[str, list[int]]]:
    chars, where = _letters(text)
    chars = _deleet(chars)
    return [_pass(chars, where, join=False), _pass(chars, where, join=True)]


def normalise(text: str) -> str:
    """The text as the filter reads it (separators inside words become spaces)."""
    return _forms(text)[0][0]


_POSSESSIVE = r"(?:(?:o|a|os|as) )?(?:seu|sua|seus|suas|teu|tua|teus|tuas)"
_CLOSE_ONES = (
    r"(?:familia|familiares|parentes|esposa|esposo|marido|mulher|mae|pai|pais|filho|filhos"
    r"|filha|filhas|conjuge|namorado|namorada|amigos|amigas|vizinhos|vizinhas|igreja"
    r"|chefe|patrao|patroa|empregador|empregadora|trabalho|emprego|colegas|rh|supervisor"
    r"|supervisora)"
)
_CONTACT_VERBS = (
    r"(?:ligar|ligaremos|ligamos|ligando|ligarei|telefonar|telefonaremos|telefonamos|avisar"
    r"|avisaremos|avisamos|contar|contaremos|contamos|informar|informaremos|informamos"
    r"|comunicar|comunicaremos|procurar|procuraremos|visitar|visitaremos|contatar"
    r"|contataremos|contactar|contactaremos|falar|falaremos|expor|exporemos|notificar"
    r"|notificaremos|acionar|acionaremos|cobrar|cobraremos|iremos|irao|ir|bater|bateremos"
    r"|aparecer|apareceremos|mandar|mandaremos|enviar|enviaremos|escrever|escreveremos"
    r"|mensagem|recado)"
)
_FIND_OUT = (
    r"(?:(?:vai|vao|ira|irao|podem|pode|poderao|podera) )?(?:saber|sabera|saberao"
    r"|ficar sabendo|ficara sabendo|ficarao sabendo|descobrir|descobrira|descobrirao)"
)

# (kind, patterns); each pattern is matched between word boundaries on the normal form.
RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "ameaça de negativação",
        (
            r"negativ(?:ad[oa]s?|acao|acoes|ar|ara|arao|arei|aremos|amos|ando|e|em)",
            r"serasa",
            r"spc",
            r"scpc",
            r"protecao (?:ao|de) credito",
            r"cadastros? (?:de|dos) (?:inadimplentes|devedores|maus pagadores|mals pagadores)",
            r"lista (?:negra|suja|de inadimplentes|de devedores|de maus pagadores)",
            r"nome sujo",
            r"cpf sujo",
            r"suj(?:ar|aremos|ara|arao|o) (?:o )?(?:seu |teu )?(?:nome|cpf)",
            r"cpf (?:bloqueado|restrito|negativado|cancelado)",
            r"restricao (?:no|em|ao) (?:seu )?(?:nome|cpf)",
            r"protest(?:o|ar|ado|ada|ados|aremos|ara|arao)",
            r"cartorio",
        ),
    ),
    (
        "ameaça de processo judicial",
        (
            r"justica",
            r"oficial de justica",
            r"judicia(?:l|is|lmente)",
            r"juiz(?:a|es)?",
            r"tribunal",
            r"forum",
            r"proces(?:ar|aremos|ara|arao|ado|ada|ados|adas|aremos) (?:voce|vc|o senhor|a senhora)",
            r"(?:abrir|abriremos|entrar|entraremos|mover|moveremos|ajuizar|ajuizaremos)"
            r" (?:com )?(?:um |uma )?(?:proceso|acao)",
            r"acao (?:de cobranca|de execucao|judicial|contra voce|na justica)",
            r"execucao (?:judicial|fiscal|da divida|de bens)",
            r"penhor(?:a|ar|aremos|ado|ados|ada|adas)",
            r"bloqueio (?:de bens|judicial|de conta|da conta|das contas|de salario|do salario)",
            r"bloque(?:ar|aremos|ado|ados) "
            + _POSSESSIVE
            + r" (?:bens|conta|contas|salario|carro|casa|imovel)",
            r"(?:perder|perdera|tomar|tomaremos|leiloar) "
            + _POSSESSIVE
            + r" (?:bens|casa|carro|imovel|moto)",
            r"leilao",
            r"intimacao",
            r"mandados? (?:de|judicial|judiciais)",
            r"advogad[oa]s?",
            r"(?:departamento|setor|equipe|area|time) juridic[oa]",
            r"(?:nosso|ao|para o|pelo) juridico",
        ),
    ),
    (
        "ameaça de polícia ou crime",
        (
            r"policia(?:l|is)?",
            r"delegacia",
            r"delegad[oa]",
            r"boletim de ocorencia",
            r"crimes?",
            r"criminal",
            r"criminos[oa]s?",
            r"estelionat[oa]s?",
        ),
    ),
    (
        "ameaça de prisão",
        (
            r"prisao",
            # "presa" is left out: "pressa" (hurry) reads "presa" once letters count once.
            r"presos?",
            r"(?:ser|sera|serao|vai ser|vao ser|ficar|ficara|acabar|acabara) presas?",
            r"prend(?:er|eremos|era|erao|ido|ida)",
            r"cadeia",
            r"algema(?:s|d[oa]s?)?",
            r"detencao",
            r"reclusao",
        ),
    ),
    (
        "exposição ao empregador ou à família",
        (
            r"vizinh(?:o|os|a|as|anca)",
            r"(?:seu|sua|teu|tua) (?:chefe|patrao|patroa|empregador|empregadora|supervisor"
            r"|supervisora)",
            r"colegas de trabalho",
            r"local de trabalho",
            r"recursos humanos",
            _CONTACT_VERBS + r"(?: \w+){0,4}? " + _POSSESSIVE + " " + _CLOSE_ONES,
            _POSSESSIVE + " " + _CLOSE_ONES + " " + _FIND_OUT,
            r"(?:todos|todo mundo|toda a cidade) (?:vao|vai|irao|ira) saber",
        ),
    ),
    (
        "urgência falsa",
        (
            r"ultima chance",
            r"ultima oportunidade",
            r"ultimo aviso",
            r"urgent(?:e|es|emente)",
            r"urgencia",
            r"(?:hoje|agora) ou nunca",
        ),
    ),
    (
        "linguagem que envergonha",
        (
            r"vergonh(?:a|as|oso|osa)",
            r"envergonh\w*",
            r"calote(?:ir[oa]s?)?",
            r"vagabund[oa]s?",
            r"ma[ul]s? pagador(?:a|es|as)?",
            r"picaret[ao]s?",
            r"safad[oa]s?",
            r"desonest[oa]s?",
            r"trambiqueir[oa]s?",
        ),
    ),
)

_COMPILED = tuple(
    (kind, re.compile(r"\b(?:" + "|".join(patterns) + r")\b")) for kind, patterns in RULES
)


def find_threats(text: str) -> list[Finding]:
    """Every kind of threat in ``text``, once each, with the first passage found."""
    findings: list[Finding] = []
    forms = _forms(text)
    for kind, pattern in _COMPILED:
        for normal, index_of in forms:
            match = pattern.search(normal)
            if match is None:
                continue
            start = index_of[match.start()]
            end = index_of[match.end() - 1] + 1
            findings.append(Finding(kind, text[start:end].strip()))
            break
    return findings
