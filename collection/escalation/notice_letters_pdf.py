"""The prior written notices of a batch as one printable PDF (fpdf2), one page per letter,
and the mailing list for the post office as CSV.

Each letter (CDC art. 43 §2, art. 42-A) identifies the creditor by legal name, CNPJ and
address, is addressed to the debtor's postal address, itemises the debt with the date the
amounts were computed for, says that the listing with a credit bureau will be requested
after the waiting period unless the debt is paid, negotiated or disputed, and how to do
each on the debtor site. Respectful, without threats or false urgency (CDC art. 42 and
71): the only consequence named is the lawful, real one. The page never shows the whole
CPF, and the address block shows nothing about the debt (window envelopes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from fpdf import FPDF

from collection.domain.documents import format_cnpj
from collection.imports.reading.report import spreadsheet_csv
from core.i18n import brl, local_date
from core.i18n import gettext as _

__all__ = ["Creditor", "Letter", "cep", "letters_pdf", "mailing_csv"]


@dataclass(frozen=True, slots=True)
class Letter:
    """One letter of a batch: the addressee and the debt, itemised (centavos)."""

    number: int
    debtor_name: str
    masked_cpf: str
    address: str
    city: str
    state: str
    zip_code: str
    contract: str
    product: str
    due_date: date
    computed_on: date
    principal: int
    late_fee: int
    interest: int
    correction: int
    fees: int
    total: int


@dataclass(frozen=True, slots=True)
class Creditor:
    """Who sends the letters (CDC art. 42-A)."""

    legal_name: str
    cnpj: str
    address: str


def _latin1(text: str) -> str:
    # The PDF core fonts are Latin-1: replace the few typographic characters outside it.
    return (
        text.replace("\u2014", "-")
        .replace("\u2013", "-")
        .replace("\u2019", "'")
        .replace("\u00a0", " ")
        .encode("latin-1", "replace")
        .decode("latin-1")
    )


def cep(zip_code: str) -> str:
    """``01310100`` → ``01310-100``."""
    digits = "".join(c for c in zip_code if c.isdigit())
    return f"{digits[:5]}-{digits[5:]}" if len(digits) == 8 else digits


def _line(pdf: FPDF, text: str, height: float = 5, *, bold: bool = False, size: int = 10) -> None:
    pdf.set_font("helvetica", "B" if bold else "", size)
    pdf.multi_cell(0, height, _latin1(text), new_x="LMARGIN", new_y="NEXT")


def _row(pdf: FPDF, label: str, value: str, *, bold: bool = False) -> None:
    pdf.set_font("helvetica", "B" if bold else "", 10)
    pdf.cell(110, 6, _latin1(label), border="B")
    pdf.cell(0, 6, _latin1(value), border="B", align="R", new_x="LMARGIN", new_y="NEXT")


def _letter(
    pdf: FPDF,
    creditor: Creditor,
    letter: Letter,
    total: int,
    wait_days: int,
    site_url: str,
    issued_on: date,
) -> None:
    pdf.add_page()
    cnpj = format_cnpj(creditor.cnpj)
    _line(pdf, creditor.legal_name, bold=True)
    _line(pdf, _("CNPJ %(cnpj)s") % {"cnpj": cnpj}, size=9)
    if creditor.address:
        _line(pdf, creditor.address, size=9)
    pdf.ln(8)
    # The addressee block: name and postal address only, nothing about the debt.
    _line(pdf, letter.debtor_name, bold=True)
    _line(pdf, letter.address)
    _line(pdf, f"{letter.city} - {letter.state.upper()}")
    _line(pdf, _("CEP %(cep)s") % {"cep": cep(letter.zip_code)})
    pdf.ln(8)
    _line(
        pdf,
        _("Prior notice of registration with a credit protection bureau"),
        7,
        bold=True,
        size=13,
    )
    _line(
        pdf,
        _("Letter %(n)d of %(total)d, issued on %(date)s.")
        % {"n": letter.number, "total": total, "date": local_date(issued_on)},
        size=9,
    )
    pdf.ln(3)
    _line(
        pdf,
        _("Dear %(name)s (CPF %(cpf)s),") % {"name": letter.debtor_name, "cpf": letter.masked_cpf},
    )
    pdf.ln(2)
    _line(
        pdf,
        _("%(creditor)s, CNPJ %(cnpj)s, informs you that the debt below is recorded as unpaid.")
        % {"creditor": creditor.legal_name, "cnpj": cnpj},
    )
    pdf.ln(3)
    product = f" - {letter.product}" if letter.product else ""
    _row(pdf, _("Contract"), f"{letter.contract}{product}")
    _row(pdf, _("Due date"), local_date(letter.due_date))
    _row(pdf, _("Principal"), brl(letter.principal))
    _row(pdf, _("Late fee"), brl(letter.late_fee))
    _row(pdf, _("Interest"), brl(letter.interest))
    if letter.correction:
        _row(pdf, _("Monetary correction"), brl(letter.correction))
    if letter.fees:
        _row(pdf, _("Collection fees"), brl(letter.fees))
    _row(
        pdf,
        _("Updated amount on %(date)s") % {"date": local_date(letter.computed_on)},
        brl(letter.total),
        bold=True,
    )
    pdf.ln(4)
    _line(
        pdf,
        _(
            "If the debt is not paid, negotiated or disputed within %(days)d days of the "
            "posting of this letter, the creditor will request its registration with a "
            "credit protection bureau."
        )
        % {"days": wait_days},
    )
    pdf.ln(2)
    _line(
        pdf,
        _(
            "To see the details, pay, negotiate or dispute the debt, visit %(url)s and "
            "enter your CPF. Disputing costs nothing, and while a dispute is open nothing "
            "is registered."
        )
        % {"url": site_url},
    )
    pdf.ln(2)
    _line(
        pdf,
        _(
            "If you have already paid, please disregard this letter or tell us on the same "
            "site. If you do not recognise this debt, say so there: it will be examined "
            "before any further step."
        ),
    )
    pdf.ln(6)
    _line(pdf, _("Sincerely,"))
    _line(pdf, f"{creditor.legal_name} - CNPJ {cnpj}", bold=True)
    pdf.ln(4)
    _line(
        pdf,
        _(
            "Notice sent under article 43, paragraph 2, of the Consumer Defense Code "
            "(Law 8,078/1990)."
        ),
        4,
        size=8,
    )


def letters_pdf(
    creditor: Creditor,
    letters: Sequence[Letter],
    *,
    wait_days: int,
    site_url: str,
    issued_on: date,
) -> bytes:
    """Every letter of a batch as one PDF, one page each, ready to print."""
    pdf = FPDF(format="A4")
    pdf.set_title(_latin1(_("Prior notices") + f" - {creditor.legal_name}"))
    pdf.set_author("Quita")
    pdf.set_margins(20, 18, 20)
    pdf.set_auto_page_break(True, margin=12)
    for letter in letters:
        _letter(pdf, creditor, letter, len(letters), wait_days, site_url, issued_on)
    if not letters:
        pdf.add_page()
        _line(pdf, _("No letter in this batch."))
    return bytes(pdf.output())


MAILING_HEADER = ("carta", "nome", "endereco", "cidade", "uf", "cep")


def mailing_csv(letters: Sequence[Letter]) -> bytes:
    """The mailing list of a batch for the post office (``;``, UTF-8 with BOM, CRLF):
    the letter number matches the PDF page; nothing about the debt is in it."""
    return spreadsheet_csv(
        MAILING_HEADER,
        (
            (
                letter.number,
                letter.debtor_name,
                letter.address,
                letter.city,
                letter.state.upper(),
                cep(letter.zip_code),
            )
            for letter in letters
        ),
    )
