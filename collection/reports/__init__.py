"""What staff read about the tenant as a whole: dashboards and the audit log."""
