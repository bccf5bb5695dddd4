"""The pure core of collection: arithmetic and decisions, no I/O, no clock.

Modules: ``money`` (centavos, BRL), ``documents`` (CPF/CNPJ), ``business_days``,
``valuation`` (a debt's updated balance on a date), ``policy`` and ``policy_file``
(negotiation rules), ``price`` and ``cet`` (installment math and the CET), ``offers``,
``affordability``, ``agreements`` (the state machine) and ``simulation`` (the policy
simulator's JSON). Dates are always passed in; nothing here reads the clock.
"""
