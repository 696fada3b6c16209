"""Who may do what: users, care teams, roles, tokens and the audit log."""
