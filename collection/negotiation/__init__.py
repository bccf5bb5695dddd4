"""Negotiation: the policy and its versions, editor and simulator, accepting an offer, special
offers, plan requests.
"""
