"""The threat filter reads through accents, case, spacing, repeated letters and leetspeak
(issue 16 item 6): threats of listing, court, police, prison, exposure to the employer or
family, shaming and false urgency are refused; ordinary collection texts pass."""

import pytest

from collection.domain import contact_rules as rules
from collection.domain.regua import DEFAULT_REGUA, StepTemplate
from collection.domain.threat_filter import find_threats, normalise

REFUSED: list[tuple[str, str]] = [
    # the phrases of the issue
    ("Seu nome será negativado no Serasa amanhã", "negativação"),
    ("O oficial de justica vai até sua casa", "judicial"),
    ("Há risco de prisao", "prisão"),
    ("Última  chance de pagar", "urgência"),
    ("Vamos ligar para o seu trabalho", "família"),
    # listing
    ("Evite a negativação do seu CPF", "negativação"),
    ("Vamos negativar seu nome hoje", "negativação"),
    ("Seu CPF no SPC", "negativação"),
    ("Seu CPF no S.P.C.", "negativação"),
    ("Inclusão nos órgãos de proteção ao crédito", "negativação"),
    ("Seu nome sujo na praça", "negativação"),
    ("Vamos sujar o seu nome", "negativação"),
    ("O título será enviado a protesto em cartório", "negativação"),
    ("SERASA", "negativação"),
    ("$er@s@ amanhã", "negativação"),
    ("n3g4t1v4d0", "negativação"),
    # court
    ("Entraremos com uma ação judicial", "judicial"),
    ("Vamos processar você", "judicial"),
    ("O juiz vai decidir", "judicial"),
    ("Penhora dos seus bens", "judicial"),
    ("Bloqueio de conta pela justiça", "judicial"),
    ("Seu caso foi para o departamento jurídico", "judicial"),
    ("Nossos advogados entrarão em contato", "judicial"),
    ("Você pode perder a sua casa", "judicial"),
    ("j-u-s-t-i-ç-a", "judicial"),
    # police and crime
    ("Pague hoje ou chamaremos a polícia", "polícia"),
    ("POLÍCIA", "polícia"),
    ("p0l1c1a", "polícia"),
    ("p.o.l.í.c.i.a", "polícia"),
    ("pоlícia", "polícia"),  # a Cyrillic о
    ("Não pagar é crime", "polícia"),
    ("Faremos um boletim de ocorrência", "polícia"),
    ("Isso é estelionato", "polícia"),
    # prison
    ("Você pode ser preso", "prisão"),
    ("Você vai ser presa", "prisão"),
    ("p r i s ã o", "prisão"),
    ("pr1s@o", "prisão"),
    ("Cadeia para quem não paga", "prisão"),
    # employer and family
    ("Seu chefe vai saber da dívida", "família"),
    ("Ligaremos para sua família", "família"),
    ("Vamos avisar os seus vizinhos", "família"),
    ("Sua família saberá", "família"),
    ("Vamos falar com seus colegas de trabalho", "família"),
    ("Iremos até o seu emprego", "família"),
    ("Procuraremos sua esposa", "família"),
    ("Seu patrão vai ficar sabendo", "família"),
    # false urgency
    ("ÚLTIMA CHANCE!!!", "urgência"),
    ("Úuuuultima chaaaance", "urgência"),
    ("u l t i m a chance", "urgência"),
    ("Ultim4 ch4nce", "urgência"),
    ("Último aviso antes de medidas", "urgência"),
    ("URGENTE: regularize", "urgência"),
    ("Hoje ou nunca", "urgência"),
    # shaming
    ("Que vergonha, {nome}", "envergonha"),
    ("Caloteiro!", "envergonha"),
    ("Você é um mau pagador", "envergonha"),
]

ALLOWED: list[str] = [
    "negociação",
    "justo",
    "Um acordo justo para você",
    "Condições especiais de negociação",
    "Olá, {nome}. Tudo bem?",
    "Sua parcela de {valor} vence hoje",
    "Pague em 3x sem juros",
    "Parcela de R$ 50,00 em 10x de R$ 5,00",
    "Seu pagamento está em processamento",
    "O pagamento foi processado com sucesso",
    "Processamos seu pagamento",
    "Sem pressa: a oferta vale até {vencimento}",
    "Boas festas a você e sua família!",
    "Cuidado com golpes: não pedimos senhas",
    "Trabalhamos para oferecer as melhores condições",
    "Atendimento de segunda a sexta, das 8h às 18h",
    "A resposta foi negativa",
    "O saldo negativo foi corrigido",
    "Enviamos o boleto para o seu e-mail",
    "Fale com nosso time pelo WhatsApp",
    "Pessoa jurídica também pode negociar",
    "O boleto foi mandado para o seu e-mail",
    "Sabemos que imprevistos acontecem",
    "Regularize sua situação com desconto",
    "Pix, boleto ou cartão em {link}",
    "A 1ª parcela vence em {vencimento}",
    "Se já pagou, desconsidere",
    "Pressão no orçamento? Temos parcelas menores",
    "Política de privacidade em {link}",
    "Oferta especial por tempo limitado",
]


@pytest.mark.parametrize(("text", "kind"), REFUSED, ids=[t for t, _ in REFUSED])
def test_threatening_phrases_are_refused(text: str, kind: str) -> None:
    findings = find_threats(text)
    assert findings, normalise(text)
    assert any(kind in finding.kind for finding in findings), findings
    assert rules.check_template(text)


@pytest.mark.parametrize("text", ALLOWED)
def test_ordinary_phrases_pass(text: str) -> None:
    assert find_threats(text) == [], normalise(text)
    assert rules.check_template(text) == []


def test_the_table_is_large_enough() -> None:
    assert len(REFUSED) + len(ALLOWED) >= 50
    assert len(REFUSED) >= 20 and len(ALLOWED) >= 20


@pytest.mark.parametrize("step", DEFAULT_REGUA, ids=lambda s: s.name)
def test_the_default_regua_passes(step: StepTemplate) -> None:
    assert find_threats(step.body) == [] and find_threats(step.subject) == []


def test_the_problem_quotes_the_text_as_written() -> None:
    [problem] = rules.check_template("Chamaremos a POLÍCIA hoje")
    assert "polícia" in problem.message and "“POLÍCIA”" in problem.message
    [finding] = find_threats("Última  chance")
    assert finding.fragment == "Última  chance"


def test_normal_form() -> None:
    assert normalise("  Úuultima   CHANCE!! ") == "ultima chance"
    assert normalise("p.o.l.í.c.i.a") == "policia"
    assert normalise("R$ 50,00") == "rs 50 0"  # amounts stay digits
