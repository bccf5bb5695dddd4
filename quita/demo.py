"""Demo data: two creditors, an agency, staff of every role, a few hundred debtors.

Deterministic (seeded) so every developer sees the same accounts; passwords are random
and printed once, when the data is created. Running it again changes nothing.
"""

from __future__ import annotations

import random
import secrets
import unicodedata
import uuid
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from collection.accounts.creditors import create_tenant
from collection.agency import handover
from collection.domain.documents import complete_cpf
from collection.models import (
    Contact,
    ContactKind,
    Debt,
    DebtItem,
    Debtor,
    HandoverRule,
    Portfolio,
)
from core.clock import SystemClock, local_today
from core.db import Database, Scope
from core.security import keyed_hash
from core.settings import Settings
from tenants.models import Tenant
from tenants.roles import Role
from tenants.services.directory import (
    add_agency_member,
    add_tenant_member,
    create_agency,
    ensure_user,
    grant_agency,
)

DEMO_CPF = "11144477735"  # the documented test CPF; owes both demo creditors

FIRST = [
    "Ana",
    "Maria",
    "José",
    "João",
    "Antônio",
    "Francisca",
    "Carlos",
    "Paulo",
    "Pedro",
    "Lucas",
    "Luiz",
    "Marcos",
    "Luís",
    "Gabriel",
    "Rafael",
    "Adriana",
    "Juliana",
    "Márcia",
    "Fernanda",
    "Patrícia",
    "Aline",
    "Sandra",
    "Camila",
    "Amanda",
    "Bruna",
    "Jéssica",
    "Letícia",
    "Júlia",
    "Luciana",
    "Vanessa",
    "Mariana",
    "Gustavo",
    "Felipe",
    "Bruno",
    "Rodrigo",
    "Eduardo",
    "Thiago",
    "Diego",
    "Raimundo",
    "Sebastião",
    "Benedita",
    "Conceição",
    "Raquel",
    "Débora",
    "Heloísa",
    "Vitória",
    "Otávio",
    "Caio",
    "Renata",
]
LAST = [
    "Silva",
    "Santos",
    "Oliveira",
    "Souza",
    "Rodrigues",
    "Ferreira",
    "Alves",
    "Pereira",
    "Lima",
    "Gomes",
    "Costa",
    "Ribeiro",
    "Martins",
    "Carvalho",
    "Almeida",
    "Lopes",
    "Soares",
    "Fernandes",
    "Vieira",
    "Barbosa",
    "Rocha",
    "Dias",
    "Nascimento",
    "Andrade",
    "Moreira",
    "Nunes",
    "Marques",
    "Machado",
    "Mendes",
    "Freitas",
    "Cardoso",
    "Ramos",
    "Gonçalves",
    "Santana",
    "Teixeira",
    "Araújo",
    "Cavalcanti",
    "Monteiro",
    "Moura",
]
PLACES = [
    ("SP", "São Paulo", "11"),
    ("SP", "Campinas", "19"),
    ("RJ", "Rio de Janeiro", "21"),
    ("MG", "Belo Horizonte", "31"),
    ("BA", "Salvador", "71"),
    ("PR", "Curitiba", "41"),
    ("RS", "Porto Alegre", "51"),
    ("PE", "Recife", "81"),
    ("CE", "Fortaleza", "85"),
    ("AL", "Maceió", "82"),
    ("GO", "Goiânia", "62"),
    ("PA", "Belém", "91"),
    ("SC", "Florianópolis", "48"),
    ("DF", "Brasília", "61"),
    ("AM", "Manaus", "92"),
]
STREETS = [
    "Rua das Flores",
    "Avenida Brasil",
    "Rua São João",
    "Rua Sete de Setembro",
    "Avenida Getúlio Vargas",
    "Rua XV de Novembro",
    "Rua Tiradentes",
    "Rua da Paz",
]
PRODUCTS = {
    "loja-exemplo": ["Crediário loja", "Cartão da loja", "Carnê eletrodomésticos"],
    "telecom-exemplo": ["Plano móvel", "Internet fibra", "TV por assinatura"],
}


def _cpf(rng: random.Random) -> str:
    while True:
        body = "".join(str(rng.randrange(10)) for _ in range(9))
        if len(set(body)) > 1:
            return complete_cpf(body)


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _password() -> str:
    return secrets.token_urlsafe(12)


STAFF = [
    ("loja-exemplo", Role.OWNER, "dona@loja-exemplo.test", "Helena Prado"),
    ("loja-exemplo", Role.ADMIN, "admin@loja-exemplo.test", "Roberto Queiroz"),
    ("loja-exemplo", Role.ANALYST, "analista@loja-exemplo.test", "Sílvia Tavares"),
    ("loja-exemplo", Role.VIEWER, "leitura@loja-exemplo.test", "Otávio Brandão"),
    ("telecom-exemplo", Role.OWNER, "dono@telecom-exemplo.test", "Marcelo Antunes"),
    ("telecom-exemplo", Role.ADMIN, "admin@telecom-exemplo.test", "Beatriz Lacerda"),
    ("telecom-exemplo", Role.ANALYST, "analista@telecom-exemplo.test", "Tânia Rezende"),
    ("telecom-exemplo", Role.VIEWER, "leitura@telecom-exemplo.test", "Igor Sampaio"),
    ("assessoria-exemplo", Role.SUPERVISOR, "supervisao@assessoria-exemplo.test", "Cláudia Neves"),
    ("assessoria-exemplo", Role.AGENT, "agente@assessoria-exemplo.test", "Rui Fontes"),
]


async def load_demo(settings: Settings, *, debtors: int = 300) -> int:
    """Create the demo data unless it is already there; prints the staff passwords."""
    db = Database(settings.database.url)
    try:
        async with db.session(Scope.system()) as session:
            if await session.scalar(select(Tenant.id).where(Tenant.slug == "loja-exemplo")):
                print(
                    "Dados de demonstração já carregados (as senhas foram mostradas na "
                    "primeira carga; redefina pelo link 'Esqueceu a senha?')."
                )
                return 0
            tenants = {
                "loja-exemplo": await create_tenant(
                    session,
                    slug="loja-exemplo",
                    name="Loja Exemplo",
                    legal_name="Loja Exemplo Comércio Varejista Ltda.",
                    cnpj="11.222.333/0001-81",
                    address="Rua Augusta, 1500, Consolação, São Paulo/SP, 01304-001",
                ),
                "telecom-exemplo": await create_tenant(
                    session,
                    slug="telecom-exemplo",
                    name="Telecom Exemplo",
                    legal_name="Telecom Exemplo Telecomunicações S.A.",
                    cnpj="45.723.174/0001-10",
                    address="Avenida Rio Branco, 100, Centro, Rio de Janeiro/RJ, 20040-002",
                ),
            }
            agency = await create_agency(
                session,
                slug="assessoria-exemplo",
                name="Assessoria Exemplo de Cobrança",
                cnpj="12.345.678/0001-95",
            )
            # Demo connected accounts at the payment gateway (the local test gateway of
            # `quita run` takes any id; with real keys, set each tenant's own account).
            for slug, tenant in tenants.items():
                tenant.stripe_account = "acct_demo_" + slug.replace("-", "_")
            # Loja Exemplo's régua runs (messages go to the local channels and show in the
            # portal); Telecom Exemplo's is off, to try its dry run before switching it on.
            tenants["loja-exemplo"].reminders_enabled = True
            await session.flush()
            grant_agency(session, tenants["loja-exemplo"], agency, commission_rate="0.12")
            # Loja Exemplo hands accounts more than 120 days overdue to the agency.
            session.add(
                HandoverRule(
                    tenant_id=tenants["loja-exemplo"].id,
                    agency_id=agency.id,
                    name="Mais de 120 dias em atraso",
                    min_days_overdue=120,
                    commission_rate="0.12",
                )
            )
            credentials: list[tuple[str, str, str]] = []
            for where, role, email, name in STAFF:
                password = _password()
                user = await ensure_user(session, email=email, name=name, password=password)
                await session.flush()
                if where in tenants:
                    add_tenant_member(session, tenants[where], user, role)
                else:
                    add_agency_member(session, agency, user, role)
                credentials.append((email, password, f"{role.value} @ {where}"))
            admin_password = _password()
            await ensure_user(
                session,
                email="plataforma@quita.test",
                name="Admin Plataforma",
                password=admin_password,
                platform_admin=True,
            )
            credentials.append(("plataforma@quita.test", admin_password, "platform admin"))
            _debtors(session, settings, tenants, debtors, today=local_today(SystemClock()))
            await session.commit()
            loja = tenants["loja-exemplo"].id
        # The agency's queue has work from the start (the periodic job does the same).
        await handover.hand_over(db, SystemClock().now(), tenant_id=loja)
    finally:
        await db.dispose()
    print("\nDados de demonstração criados. Senhas de desenvolvimento (mostradas só agora):")
    for email, password, what in credentials:
        print(f"  {email:<40} {password:<20} {what}")
    print("\nDevedor de exemplo no site: CPF 111.444.777-35, nascimento 15/04/1985.\n")
    return 0


def _debtors(
    session: AsyncSession,
    settings: Settings,
    tenants: dict[str, Tenant],
    count: int,
    *,
    today: date,
) -> None:
    rng = random.Random(20261123)
    portfolios = {
        slug: Portfolio(id=uuid.uuid4(), tenant_id=t.id, name="Carteira 2026")
        for slug, t in tenants.items()
    }
    session.add_all(portfolios.values())
    contract_seq = 10_000
    for i in range(count):
        cpf = DEMO_CPF if i == 0 else _cpf(rng)
        first, last1, last2 = rng.choice(FIRST), rng.choice(LAST), rng.choice(LAST)
        name = "Maria da Silva Santos" if i == 0 else f"{first} {last1} {last2}"
        state, city, ddd = PLACES[0] if i == 0 else rng.choice(PLACES)
        birth = (
            date(1985, 4, 15)
            if i == 0
            else date(rng.randint(1950, 2004), rng.randint(1, 12), rng.randint(1, 28))
        )
        # About a third owe both creditors; the rest one of them.
        slugs = list(tenants) if i == 0 or rng.random() < 0.33 else [rng.choice(list(tenants))]
        for slug in slugs:
            tenant = tenants[slug]
            debtor = Debtor(
                id=uuid.uuid4(),
                tenant_id=tenant.id,
                cpf=cpf,
                cpf_hash=keyed_hash(settings.security.cpf_hash_key, cpf),
                name=name,
                birth_date=birth,
                state=state,
                city=city,
                address=f"{rng.choice(STREETS)}, {rng.randint(10, 2500)}",
                zip_code=f"{rng.randint(10000, 99999)}{rng.randint(0, 999):03d}",
            )
            login = _strip_accents(f"{first}.{last1}").lower()
            debtor.contacts.append(
                Contact(
                    tenant_id=tenant.id, kind=ContactKind.EMAIL, value=f"{login}{i}@exemplo.com.br"
                )
            )
            debtor.contacts.append(
                Contact(
                    tenant_id=tenant.id,
                    kind=ContactKind.PHONE,
                    value=f"+55{ddd}9{rng.randint(1000, 9999)}{rng.randint(1000, 9999)}",
                    whatsapp_opt_in=rng.random() < 0.5,
                )
            )
            session.add(debtor)
            for _ in range(rng.randint(1, 3)):
                contract_seq += 1
                # Mostly recent, a few older than five years (prescribed).
                days_late = rng.choice(
                    [rng.randint(5, 120), rng.randint(120, 900), rng.randint(900, 2400)]
                )
                first_due = today - timedelta(days=days_late)
                n_items = rng.randint(1, 6)
                items = [
                    DebtItem(
                        tenant_id=tenant.id,
                        number=n + 1,
                        due_date=first_due + timedelta(days=30 * n),
                        amount=rng.randint(5_000, 150_000),
                    )
                    for n in range(n_items)
                    if first_due + timedelta(days=30 * n) < today
                ]
                debt = Debt(
                    id=uuid.uuid4(),
                    tenant_id=tenant.id,
                    portfolio_id=portfolios[slug].id,
                    debtor=debtor,
                    contract=f"{slug[:3].upper()}-{contract_seq}",
                    product=rng.choice(PRODUCTS[slug]),
                    original_amount=sum(item.amount for item in items),
                    due_date=first_due,
                    items=items,
                )
                session.add(debt)
