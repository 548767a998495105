"""One sync run: read the feed, plan, apply through the calendar gateway, record the outcome."""
