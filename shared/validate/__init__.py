"""Validate: checks the provider configuration against the tenant before (and after) it is saved.

Each check answers one question an administrator would otherwise learn the hard way from a
failed run, says pass, warn or fail in plain words, and says what to fix.
"""
