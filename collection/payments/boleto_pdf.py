"""A boleto as a PDF (fpdf2, pure Python): who receives, who pays, how much, by when, the
linha digitável and its Interleaved 2 of 5 bar code, as FEBRABAN lays them out."""

from __future__ import annotations

from fpdf import FPDF

from collection.domain import boleto
from collection.domain.documents import format_cnpj
from collection.models import Payment, PaymentPurpose
from collection.paperwork.terms_pdf import _latin1
from core.i18n import brl, local_date
from tenants.models import Tenant

_MODULE_MM = 0.33  # the narrow bar; wide bars are three times it (FEBRABAN: 1:3)


def boleto_pdf(payment: Payment, tenant: Tenant, payer: str) -> bytes:
    """The boleto of ``payment`` as PDF bytes (its line must be a valid one)."""
    digits = "".join(c for c in payment.boleto_line if c.isdigit())
    code = boleto.barcode_of_line(digits)
    pdf = FPDF(format="A4")
    pdf.set_title(_latin1(f"Boleto - {tenant.name}"))
    pdf.set_author("Quita")
    pdf.add_page()
    pdf.set_font("helvetica", "B", 16)
    pdf.cell(0, 10, "Boleto", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "", 10)
    what = (
        "Quitação antecipada do acordo"
        if payment.purpose is PaymentPurpose.PAYOFF
        else ("Entrada" if payment.installment_number == 0 else "Parcela")
        + ("" if payment.installment_number == 0 else f" {payment.installment_number}")
    )
    lines = [
        f"Beneficiário: {tenant.legal_name} - CNPJ {format_cnpj(tenant.cnpj)}",
        f"Endereço: {tenant.address}",
        f"Pagador: {payer}",
        f"Referente a: {what}",
        f"Valor: {brl(payment.amount)}",
    ]
    if payment.expires_at is not None:
        lines.append(f"Vencimento: {local_date(payment.expires_at)}")
    for line in lines:
        pdf.multi_cell(0, 6, _latin1(line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("helvetica", "B", 12)
    pdf.cell(0, 8, boleto.format_line(digits), new_x="LMARGIN", new_y="NEXT")
    top = pdf.get_y() + 2
    for x, width in boleto.itf_bars(code):
        pdf.rect(pdf.l_margin + x * _MODULE_MM, top, width * _MODULE_MM, 13, style="F")
    return bytes(pdf.output())
