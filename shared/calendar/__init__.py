"""The Outlook side: a small port (`CalendarGateway`) and its Microsoft Graph implementation."""
