"""Accounts: logins, passwords, sessions, second factor, API clients, the staff log."""
