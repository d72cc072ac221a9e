"""Browser pages of the accounts app, by topic: `sign_in`, `profiles`, `account` (settings)."""
