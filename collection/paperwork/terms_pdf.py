"""The agreement's terms as a PDF (fpdf2, pure Python): what was disclosed and accepted.

Everything CDC art. 52 asks for is on the page: the creditor identified (art. 42-A), the
payments with their dates and amounts, the monthly and yearly rates, the CET, the total,
the discount against the updated balance and the right to pay early; and, for the
person's papers (issue 25 item 7), the agreement's number, the contracts it settles, the
debtor's masked CPF, what a missed payment leads to and the quitação clause.
"""

from __future__ import annotations

from fpdf import FPDF

from collection.domain.documents import format_cnpj
from collection.models import Agreement
from core.i18n import brl, local_date, percent
from core.i18n import gettext as _
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


def missed_payment_text(grace_days: int) -> str:
    """What a missed installment leads to, from the agreement's grace days (the state
    machine in ``collection.domain.agreements``): nothing more than what really happens."""
    return _(
        "If an installment is not paid by its due date, the agreement is late; paying it "
        "within %(days)s days after the due date puts it back on track. If it is still "
        "unpaid after those %(days)s days, the agreement is broken: the discount no longer "
        "applies and the contracts return to their updated balance, less everything you "
        "have paid. No late fee or interest is charged on the agreement's installments."
    ) % {"days": grace_days}


def quitacao_clause(creditor: str) -> str:
    """The quitação clause: what the creditor owes the person once everything is paid."""
    return _(
        "When every payment of this agreement has been made, %(creditor)s gives full and "
        "final discharge (quitação) of the contracts listed above, issues the declaração de "
        "quitação and asks, within 5 business days, for the removal of any listing of them "
        "at credit bureaus (STJ Súmula 548)."
    ) % {"creditor": creditor}


def agreement_pdf(
    agreement: Agreement,
    tenant: Tenant,
    debtor_name: str,
    *,
    masked_cpf: str = "",
    contracts: tuple[str, ...] = (),
) -> bytes:
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
        _("Agreement no. %(number)s") % {"number": agreement.number or "-"},
        f"Devedor: {debtor_name}" + (f" - CPF {masked_cpf}" if masked_cpf else ""),
        _("Contracts settled by this agreement: %(contracts)s")
        % {"contracts": ", ".join(contracts) or "-"},
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
        _("If a payment is missed: %(text)s") % {"text": missed_payment_text(agreement.grace_days)},
        _("Discharge (quitação): %(text)s") % {"text": quitacao_clause(tenant.legal_name)},
        "Em caso de dúvida ou discordância, use o site do Quita para falar com o credor.",
    ]
    for note in notes:
        pdf.multi_cell(0, 5, _latin1(note), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
