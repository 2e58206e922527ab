"""People and organisations: identity, permissions, the audit log, accounts, organisations and mail."""
