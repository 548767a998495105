"""Invitation templates: per role and language, rendered in Jinja2's sandbox with Babel's CLDR formats.

`model` holds the template texts and the set in force, `engine` checks and renders one text,
`values` says what a template may read for each role, `languages` reads and resolves the
feed's language tags. The built-in texts (English, German, French) are in `builtin/`.
"""
