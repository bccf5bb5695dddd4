"""Escalation within the law: prior notice, negativação and its removal, bureau files, protesto,
judicial.
"""
