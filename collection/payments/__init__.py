"""Payments: paying an agreement through the gateway, applying its events, the agreement
calendar, boletos.
"""
