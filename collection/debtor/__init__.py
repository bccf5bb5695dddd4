"""The debtor site's use cases: access by CPF and proof, the person's page of debts, disputes."""
