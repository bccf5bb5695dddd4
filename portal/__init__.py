"""The staff portal: creditor users and agency staff (web UI)."""
