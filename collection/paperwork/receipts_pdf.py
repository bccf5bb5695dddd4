"""A payment's receipt and a settled agreement's declaração de quitação as PDFs (fpdf2,
like the agreement's terms in ``terms_pdf``), from the same facts the pages show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from fpdf import FPDF

from collection.paperwork.terms_pdf import _latin1
from core.i18n import brl, local_date
from core.i18n import gettext as _


@dataclass(frozen=True, slots=True)
class Creditor:
    """The creditor as every document names it (CDC art. 42-A)."""

    legal_name: str
    cnpj: str  # formatted
    address: str


@dataclass(frozen=True, slots=True)
class Receipt:
    """What a confirmed payment's receipt says."""

    reference: str  # short, stable: derived from the payment's id
    creditor: Creditor
    debtor_name: str
    masked_cpf: str
    agreement_number: str
    installment: str  # "Entrada", "Parcela 2"
    method: str  # "Pix", "Boleto", "Cartão"
    amount: int
    paid_on: date


@dataclass(frozen=True, slots=True)
class Quitacao:
    """What the declaração de quitação of a settled agreement says."""

    creditor: Creditor
    debtor_name: str
    masked_cpf: str
    agreement_number: str
    contracts: tuple[str, ...]
    total_paid: int
    settled_on: date


def _document(title: str) -> FPDF:
    pdf = FPDF(format="A4")
    pdf.set_title(_latin1(title))
    pdf.set_author("Quita")
    pdf.add_page()
    pdf.set_font("helvetica", "B", 16)
    pdf.cell(0, 10, _latin1(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "", 10)
    return pdf


def _lines(pdf: FPDF, lines: list[str]) -> None:
    for line in lines:
        pdf.multi_cell(0, 6, _latin1(line), new_x="LMARGIN", new_y="NEXT")


def _creditor_lines(creditor: Creditor) -> list[str]:
    lines = [
        _("Creditor: %(name)s - CNPJ %(cnpj)s")
        % {"name": creditor.legal_name, "cnpj": creditor.cnpj}
    ]
    if creditor.address:
        lines.append(_("Creditor's address: %(address)s") % {"address": creditor.address})
    return lines


def receipt_pdf(receipt: Receipt) -> bytes:
    """The receipt of one confirmed payment as PDF bytes."""
    pdf = _document(_("Payment receipt"))
    _lines(
        pdf,
        [
            _("Receipt no. %(reference)s") % {"reference": receipt.reference},
            *_creditor_lines(receipt.creditor),
            _("Paid by: %(name)s - CPF %(cpf)s")
            % {"name": receipt.debtor_name, "cpf": receipt.masked_cpf},
            _("Agreement no. %(number)s") % {"number": receipt.agreement_number},
            _("Payment: %(installment)s") % {"installment": receipt.installment},
            _("Method: %(method)s") % {"method": receipt.method},
            _("Amount: %(amount)s") % {"amount": brl(receipt.amount)},
            _("Paid on: %(date)s") % {"date": local_date(receipt.paid_on)},
        ],
    )
    pdf.ln(4)
    _lines(
        pdf,
        [
            _(
                "%(creditor)s acknowledges receipt of the amount above for the agreement "
                "named, as confirmed by the payment provider."
            )
            % {"creditor": receipt.creditor.legal_name}
        ],
    )
    return bytes(pdf.output())


def quitacao_text(quitacao: Quitacao) -> str:
    """The declaration itself, as the page, the PDF and the e-mail say it."""
    return _(
        "%(creditor)s, CNPJ %(cnpj)s, declares that %(name)s, CPF %(cpf)s, paid in full "
        "agreement no. %(number)s, in the total of %(total)s, the last payment on "
        "%(date)s, and gives full and final discharge (quitação) of the debts of the "
        "contracts %(contracts)s, with nothing more to claim from them."
    ) % {
        "creditor": quitacao.creditor.legal_name,
        "cnpj": quitacao.creditor.cnpj,
        "name": quitacao.debtor_name,
        "cpf": quitacao.masked_cpf,
        "number": quitacao.agreement_number,
        "total": brl(quitacao.total_paid),
        "date": local_date(quitacao.settled_on),
        "contracts": ", ".join(quitacao.contracts) or "-",
    }


def quitacao_pdf(quitacao: Quitacao) -> bytes:
    """The declaração de quitação of a settled agreement as PDF bytes."""
    pdf = _document(_("Declaração de quitação"))
    _lines(pdf, _creditor_lines(quitacao.creditor))
    pdf.ln(4)
    _lines(pdf, [quitacao_text(quitacao)])
    pdf.ln(4)
    _lines(
        pdf,
        [
            _(
                "Any listing of these contracts at credit bureaus is asked to be removed "
                "within 5 business days of the payment (STJ Súmula 548)."
            )
        ],
    )
    return bytes(pdf.output())
