"""Attendees' responses to invitations: collecting them from the organizers' calendars and acting on changes."""
