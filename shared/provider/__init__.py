"""The provider configuration an administrator saves (status, tenant, app, organizer, allow-list)."""
