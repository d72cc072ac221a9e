"""REST endpoints of the accounts app, by topic: `sign_in`, `account`, `profiles`, `devices`,
`tokens`."""
