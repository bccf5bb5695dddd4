"""The agreement's terms as a PDF (fpdf2, pure Python): what was disclosed and accepted.

Everything CDC art. 52 asks for is on the page: the creditor identified (art. 42-A), the
payments with their dates and amounts, the monthly and yearly rates, the CET, the total,
the discount against the updated balance and the right to pay early.
"""

from __future__ import annotations

from fpdf import FPDF

from collection.domain.documents import format_cnpj
from collection.models import Agreement
from core.i18n import brl, local_date, percent
from tenants.models import Tenant


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


def agreement_pdf(agreement: Agreement, tenant: Tenant, debtor_name: str) -> bytes:
    """The terms of ``agreement`` as PDF bytes."""
    pdf = FPDF(format="A4")
    pdf.set_title(_latin1(f"Termo de acordo - {tenant.name}"))
    pdf.set_author("Quita")
    pdf.add_page()
    pdf.set_font("helvetica", "B", 16)
    pdf.cell(0, 10, _latin1("Termo de acordo"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "", 10)
    lines = [
        f"Credor: {tenant.legal_name} - CNPJ {format_cnpj(tenant.cnpj)}",
        f"Endereço do credor: {tenant.address}",
        f"Devedor: {debtor_name}",
        f"Aceito em: {local_date(agreement.accepted_on)}",
        f"Saldo atualizado na data do acordo: {brl(agreement.balance)}",
        f"Desconto sobre o saldo atualizado: {brl(agreement.discount)}",
        f"Juros: {percent(agreement.monthly_rate)} ao mês; "
        f"custo efetivo total (CET): {percent(agreement.cet_yearly)} ao ano",
        f"Total a pagar: {brl(agreement.total)}",
    ]
    for line in lines:
        pdf.multi_cell(0, 6, _latin1(line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("helvetica", "B", 11)
    pdf.cell(0, 8, "Pagamentos", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "", 10)
    for item in agreement.installments:
        label = "Entrada" if item.number == 0 else f"Parcela {item.number}"
        pdf.cell(60, 6, _latin1(label))
        pdf.cell(50, 6, _latin1(local_date(item.due_date)))
        pdf.cell(0, 6, _latin1(brl(item.amount)), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    notes = [
        "Você pode antecipar o pagamento das parcelas, com redução proporcional dos juros "
        "(CDC art. 52, §2º).",
        f"Descrição da oferta aceita: {agreement.terms.get('description', '')}",
        "Em caso de dúvida ou discordância, use o site do Quita para falar com o credor.",
    ]
    for note in notes:
        pdf.multi_cell(0, 5, _latin1(note), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
