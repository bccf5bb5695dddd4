"""The default régua de cobrança every new creditor starts with (and may change).

Steps count days from a debt's due date, from the day a debt entered Quita already late
(past the régua's first reminder: the "primeiro contato" of an old debt imported today),
from an agreement installment's due date, or from the day an agreement broke. Texts are
pt-BR templates with the variables of ``contact_rules.TEMPLATE_VARIABLES``; the
creditor's identification and the opt-out instruction are appended to every message,
so no template needs to repeat them.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_REGUA", "StepTemplate"]


@dataclass(frozen=True, slots=True)
class StepTemplate:
    name: str
    anchor: str  # debt_due | debt_entered | installment_due | agreement_broken
    offset_days: int
    channel: str  # email | sms | whatsapp
    subject: str
    body: str


FIRST_CONTACT = StepTemplate(
    "Primeiro contato",
    "debt_entered",
    0,
    "email",
    "{credor}: contrato {contrato} em aberto",
    "Olá, {nome}. {credor} nos pediu para falar com você sobre o contrato {contrato}, "
    "vencido em {vencimento}, no valor atualizado de {valor}. Se já pagou, desconsidere. "
    "Veja os detalhes e as condições para quitar, à vista ou parcelado, em {link}.",
)

DEFAULT_REGUA: tuple[StepTemplate, ...] = (
    FIRST_CONTACT,
    StepTemplate(
        "Lembrete",
        "debt_due",
        3,
        "email",
        "{credor}: um lembrete sobre o contrato {contrato}",
        "Olá, {nome}. O contrato {contrato} com {credor} está em aberto, no valor atualizado "
        "de {valor}. Se já pagou, desconsidere. Para ver os detalhes e as condições para "
        "quitar, acesse {link}.",
    ),
    StepTemplate(
        "SMS de lembrete",
        "debt_due",
        10,
        "sms",
        "",
        "{credor}: {nome}, o contrato {contrato} está em aberto ({valor}). Condições para "
        "quitar em {link}",
    ),
    StepTemplate(
        "Melhor oferta por WhatsApp",
        "debt_due",
        20,
        "whatsapp",
        "",
        "Olá, {nome}. {credor} tem uma condição para você quitar o contrato {contrato}: "
        "{oferta}. Veja as opções, inclusive parceladas, em {link}.",
    ),
    StepTemplate(
        "Nova oferta",
        "debt_due",
        30,
        "email",
        "{credor}: condições para quitar o contrato {contrato}",
        "Olá, {nome}. Preparamos condições para você quitar o contrato {contrato}, de {valor}: "
        "{oferta}. Há também opções parceladas. Veja em {link}.",
    ),
    StepTemplate(
        "Parcela vence em 3 dias",
        "installment_due",
        -3,
        "email",
        "{credor}: sua parcela vence em {vencimento}",
        "Olá, {nome}. A parcela de {valor} do seu acordo com {credor} vence em {vencimento}. "
        "Pague por Pix, boleto ou cartão em {link}.\n\n{pix}",
    ),
    StepTemplate(
        "Parcela vence hoje",
        "installment_due",
        0,
        "sms",
        "",
        "{credor}: {nome}, sua parcela de {valor} vence hoje. Pix, boleto ou cartão em {link}",
    ),
    StepTemplate(
        "Parcela em atraso",
        "installment_due",
        1,
        "email",
        "{credor}: sua parcela venceu em {vencimento}",
        "Olá, {nome}. Não identificamos o pagamento da parcela de {valor}, vencida em "
        "{vencimento}. Se já pagou, desconsidere. Pagando nos próximos dias o seu acordo "
        "continua valendo: {link}.",
    ),
    StepTemplate(
        "Acordo encerrado",
        "agreement_broken",
        0,
        "email",
        "{credor}: seu acordo foi encerrado",
        "Olá, {nome}. Como a parcela de {valor} não foi paga dentro do prazo, o seu acordo "
        "com {credor} foi encerrado e o contrato {contrato} voltou a ficar em aberto. Você "
        "pode fazer um novo acordo em {link}.",
    ),
)
