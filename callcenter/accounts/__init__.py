"""Accounts: roles, the principal a request acts as, passwords and sessions."""
