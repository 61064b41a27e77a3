"""Accounts: users, roles, passwords and the login views."""
