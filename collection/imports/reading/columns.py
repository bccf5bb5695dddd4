"""Which column of the file feeds which field of a debt.

Headers are compared after normalisation: accents and case dropped, punctuation and
spaces removed, and the connectives "de/do/da/dos/das" ignored, so ``Data de
Vencimento``, ``DATA VENCIMENTO`` and ``data_vencimento`` are one header, and ``Nº
Contrato`` (``º`` folds to ``o``) is ``nocontrato``.

A tenant's own mapping (``ColumnMapping``, chosen once in the portal and stored) is
applied first and may also silence a column (map it to ``None``); the built-in Portuguese
synonyms fill in the rest. When two columns could feed one field, the tenant's choice
wins, then the synonym listed first (``Valor Original`` before ``Saldo``; ``Celular``
before ``Telefone``), then the leftmost column; the others are ignored with a warning.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

__all__ = [
    "FIELD_LABELS",
    "REQUIRED_FIELDS",
    "ColumnMapping",
    "ColumnPlan",
    "Field",
    "normalize_header",
    "plan_columns",
]


class Field(StrEnum):
    """The canonical fields of an import row (the names of ``ImportRow`` attributes)."""

    NAME = "name"
    CPF = "cpf"
    BIRTH_DATE = "birth_date"
    EMAIL = "email"
    PHONE = "phone"
    CONTRACT = "contract"
    INSTALLMENT = "installment"
    DUE_DATE = "due_date"
    AMOUNT = "amount"
    PRODUCT = "product"
    ADDRESS = "address"
    ADDRESS_NUMBER = "address_number"
    COMPLEMENT = "complement"
    DISTRICT = "district"
    CITY = "city"
    STATE = "state"
    ZIP = "zip"


REQUIRED_FIELDS = (Field.CPF, Field.NAME, Field.CONTRACT, Field.DUE_DATE, Field.AMOUNT)

FIELD_LABELS: Mapping[Field, str] = MappingProxyType(
    {
        Field.NAME: "nome",
        Field.CPF: "CPF",
        Field.BIRTH_DATE: "data de nascimento",
        Field.EMAIL: "e-mail",
        Field.PHONE: "telefone",
        Field.CONTRACT: "contrato",
        Field.INSTALLMENT: "parcela",
        Field.DUE_DATE: "vencimento",
        Field.AMOUNT: "valor",
        Field.PRODUCT: "produto",
        Field.ADDRESS: "endereço",
        Field.ADDRESS_NUMBER: "número do endereço",
        Field.COMPLEMENT: "complemento",
        Field.DISTRICT: "bairro",
        Field.CITY: "cidade",
        Field.STATE: "UF",
        Field.ZIP: "CEP",
    }
)

_CONNECTIVES = frozenset({"de", "do", "da", "dos", "das"})


def normalize_header(text: object) -> str:
    """Fold a header for comparison: ``"Nº do Contrato"`` → ``"nocontrato"``."""
    folded = unicodedata.normalize("NFKD", str(text)).casefold()
    words = "".join(ch if ch.isalnum() else " " for ch in folded if not unicodedata.combining(ch))
    return "".join(word for word in words.split() if word not in _CONNECTIVES)


# In order of preference within each field.
_SYNONYMS: dict[Field, tuple[str, ...]] = {
    Field.NAME: (
        "Nome",
        "Nome do cliente",
        "Nome do devedor",
        "Nome completo",
        "Cliente",
        "Devedor",
        "Sacado",
        "Nome do sacado",
        "Consumidor",
        "Razão Social",
        "Nome Cliente",
        "Nome do Parceiro",
        "Parceiro",
        "Nome do PN",
        "Nome do parceiro de negócios",
        "Cliente/Fornecedor",
        "Cliente / Fornecedor (Razão Social)",
        "Contato",
        "Pagador",
    ),
    Field.CPF: (
        "CPF",
        "CPF/CNPJ",
        "CNPJ/CPF",
        "CPF/CNPJ do cliente",
        "CNPJ/CPF do cliente",
        "CPF/CNPJ do sacado",
        "CNPJ/CPF do parceiro",
        "CNPJ/CPF Cliente/Fornecedor",
        "CPF/CNPJ Cliente/Fornecedor",
        "CPF ou CNPJ",
        "CNPJ",
        "ID fiscal",
        "CPF do cliente",
        "CPF do devedor",
        "Nº CPF",
        "Número do CPF",
        "Documento",
        "Doc",
    ),
    Field.BIRTH_DATE: (
        "Data de Nascimento",
        "Nascimento",
        "Dt Nasc",
        "Dt Nascimento",
        "Data Nasc",
    ),
    Field.EMAIL: ("E-mail", "Email do cliente", "Endereço de e-mail"),
    Field.PHONE: (
        "Celular",
        "Telefone celular",
        "WhatsApp",
        "Telefone",
        "Fone",
        "Tel",
        "Cel",
    ),
    Field.CONTRACT: (
        "Contrato",
        "Nº Contrato",
        "Número do contrato",
        "N Contrato",
        "Nr Contrato",
        "Num Contrato",
        "Código do contrato",
        "Cod Contrato",
        "Id Contrato",
        "Título",
        "Nº Título",
        "Número do título",
        "Nº Doc",
        "Nro Doc",
        "Nº Documento",
        "Número do documento",
        "Num Documento",
        "Nro Documento",
        "Nro Nota",
        "Nº Nota",
        "Nº NF",
        "Nota Fiscal",
        "Nº do documento de origem",
        "Fatura",
        "Duplicata",
    ),
    Field.INSTALLMENT: (
        "Parcela",
        "Nº Parcela",
        "Número da parcela",
        "N Parcela",
        "Nr Parcela",
        "Num Parcela",
        "Nº da parcela",
        "Parc",
        "Desdobramento",
        "Desdob",
    ),
    Field.DUE_DATE: (
        "Vencimento",
        "Data de vencimento",
        "Dt Vencimento",
        "Dt Venc",
        "Data Venc",
        "Venc",
        "Vencto",
        "Dt Vencto",
        "Data Vencto",
        "Vencimento Real",
        "Vencto Real",
        "Dt Vencto Real",
        "Data de vencimento original",
        "Vencimento original",
    ),
    Field.AMOUNT: (
        "Valor Original",
        "Vlr Original",
        "Valor da parcela",
        "Vlr Parcela",
        "Valor",
        "Valor (R$)",
        "Vlr Título",
        "Valor do título",
        "Valor da conta",
        "Valor do documento",
        "Total do documento",
        "Vlr Desdobramento",
        "Valor do desdobramento",
        "Valor da dívida",
        "Valor do débito",
        "Valor principal",
        "Saldo",
        "Saldo Devedor",
        "Valor em aberto",
        "Valor Aberto",
        "Saldo em aberto",
        "Saldo do título",
        "Saldo vencido",
    ),
    Field.PRODUCT: ("Produto", "Tipo de produto"),
    Field.ADDRESS: ("Endereço", "Logradouro", "Rua"),
    Field.ADDRESS_NUMBER: ("Número", "Nº", "Num", "Nr"),
    Field.COMPLEMENT: ("Complemento", "Compl"),
    Field.DISTRICT: ("Bairro",),
    Field.CITY: ("Cidade", "Município"),
    Field.STATE: ("UF", "Estado"),
    Field.ZIP: ("CEP",),
}

# normalised header → (field, rank); built once at import.
_KNOWN: dict[str, tuple[Field, int]] = {}
for _field, _names in _SYNONYMS.items():
    for _rank, _name in enumerate(_names):
        _KNOWN.setdefault(normalize_header(_name), (_field, _rank))
_KNOWN.setdefault("email", (Field.EMAIL, 0))  # "E-mail" and "Email" fold alike already

# Headers that mean one field in a registration file and another in an ERP's receivables
# report: "Documento" is the debtor's CPF in the first and the title's number in the
# second ("Documento | Sacado | CNPJ/CPF | Vencto | Valor"); "Número" is the address
# number or, in TOTVS Protheus, the title number. Such a column feeds its second field
# only when a required field would otherwise be missing and the column is not already
# the source of a required field.
_SECOND_MEANING: dict[str, Field] = {
    normalize_header(name): target
    for name, target in (
        ("Documento", Field.CONTRACT),
        ("Doc", Field.CONTRACT),
        ("Número", Field.CONTRACT),
        ("Num", Field.CONTRACT),
        ("Nr", Field.CONTRACT),
        ("Nº", Field.CONTRACT),
    )
}


@dataclass(frozen=True, slots=True)
class ColumnMapping:
    """A tenant's own header → field choices, stored per tenant by the portal.

    Keys are header texts as they appear in the tenant's files (compared normalised);
    a value of ``None`` tells the reader to ignore that column silently.
    """

    columns: Mapping[str, Field | None] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, str | None]) -> ColumnMapping:
        """Build from JSON-friendly data (``{"Doc. Devedor": "cpf", "Obs": None}``).

        Raises ValueError naming an unknown field.
        """
        columns: dict[str, Field | None] = {}
        for header, name in data.items():
            if name is None or name == "":
                columns[header] = None
                continue
            try:
                columns[header] = Field(name)
            except ValueError:
                raise ValueError(f"campo desconhecido no mapeamento: {name!r}") from None
        return cls(MappingProxyType(columns))

    def to_dict(self) -> dict[str, str | None]:
        """The JSON-friendly form ``from_dict`` accepts."""
        return {header: (None if f is None else f.value) for header, f in self.columns.items()}

    def overridden_by(self, given: ColumnMapping | None) -> ColumnMapping:
        """These choices with ``given`` ones first: a field ``given`` places anywhere is
        no longer taken from the header these choices named for it."""
        if not given or not given.columns:
            return self
        taken = set(given.columns.values())
        kept = {h: f for h, f in self.columns.items() if f is None or f not in taken}
        keys = {normalize_header(h) for h in given.columns}
        kept = {h: f for h, f in kept.items() if normalize_header(h) not in keys}
        return ColumnMapping(MappingProxyType({**kept, **given.columns}))

    def lookup(self) -> dict[str, Field | None]:
        """The choices keyed by normalised header."""
        return {normalize_header(header): f for header, f in self.columns.items()}


@dataclass(frozen=True, slots=True)
class ColumnPlan:
    """The outcome of matching one header row: where each field comes from."""

    headers: tuple[str, ...]
    indexes: Mapping[Field, int]
    ignored: tuple[tuple[int, str], ...]  # (column index, pt-BR reason) → warnings

    @property
    def mapping(self) -> dict[Field, str]:
        """Field → header text as written in the file."""
        return {f: self.headers[i] for f, i in self.indexes.items()}

    @property
    def missing(self) -> tuple[Field, ...]:
        """Required fields no column provides."""
        return tuple(f for f in REQUIRED_FIELDS if f not in self.indexes)

    def header(self, f: Field) -> str:
        """The header text of the column feeding ``f`` (its label when absent)."""
        index = self.indexes.get(f)
        return FIELD_LABELS[f] if index is None else self.headers[index]


def plan_columns(headers: Sequence[object], mapping: ColumnMapping | None = None) -> ColumnPlan:
    """Match a header row against the tenant mapping and the built-in synonyms."""
    texts = tuple("" if h is None else str(h).strip() for h in headers)
    chosen = mapping.lookup() if mapping else {}
    # field → (priority, column); lower priority wins. Tenant choices rank -1.
    best: dict[Field, tuple[int, int]] = {}
    candidates: list[tuple[int, Field, int]] = []
    unknown: list[int] = []
    for index, text in enumerate(texts):
        key = normalize_header(text)
        if not key:
            continue
        if key in chosen:
            target = chosen[key]
            if target is None:
                continue
            rank = -1
        elif key in _KNOWN:
            target, rank = _KNOWN[key]
        else:
            unknown.append(index)
            continue
        candidates.append((index, target, rank))
        if target not in best or (rank, index) < best[target]:
            best[target] = (rank, index)
    indexes = {f: index for f, (_, index) in best.items()}
    _second_meanings(texts, candidates, indexes, chosen)
    ignored = [(index, "coluna não reconhecida, ignorada") for index in unknown]
    used = set(indexes.values())
    for index, target, _ in candidates:
        if index in used:
            continue
        if target in indexes:
            winner = texts[indexes[target]]
            reason = f"coluna ignorada: o campo {FIELD_LABELS[target]} já vem da coluna {winner!r}"
        else:
            reason = "coluna não reconhecida, ignorada"
        ignored.append((index, reason))
    ignored.sort()
    ordered = {f: indexes[f] for f in Field if f in indexes}
    return ColumnPlan(texts, MappingProxyType(ordered), tuple(ignored))


def _second_meanings(
    texts: Sequence[str],
    candidates: list[tuple[int, Field, int]],
    indexes: dict[Field, int],
    chosen: Mapping[str, Field | None],
) -> None:
    """Move an ambiguous column to its second field when a required field lacks one."""
    for index, target, _ in candidates:
        key = normalize_header(texts[index])
        second = _SECOND_MEANING.get(key)
        if second is None or key in chosen or second in indexes:
            continue
        if second not in REQUIRED_FIELDS:
            continue
        if indexes.get(target) == index:
            if target in REQUIRED_FIELDS:
                continue
            del indexes[target]
        indexes[second] = index
