"""A local Microsoft 365 sandbox: sign-in authority, the Graph calendar subset and Key Vault
secrets over HTTPS on loopback, modelling what Outlook does with meetings.

`serve` runs it in the foreground (`learncal sandbox`, `python -m shared.sandbox`); `start`
runs it in a background thread for tests and the demo.
"""

from shared.sandbox.server import DEFAULT_DATA_DIR, RunningSandbox, serve, start

__all__ = ["DEFAULT_DATA_DIR", "RunningSandbox", "serve", "start"]
