"""The régua de cobrança: planning and delivering messages, its steps, footer, opt-out links,
disowned contacts.
"""
