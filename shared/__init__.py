"""Learning Calendar Sync: keeps Outlook calendars in step with instructor-led training."""

__version__ = "0.1.0"
