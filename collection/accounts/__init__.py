"""Accounts: a tenant's debtors and debts as staff read them (views, search, history) and the
creditor API's records.
"""
