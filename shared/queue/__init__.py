"""Event-driven sending: the work table a plan writes, the wake-up queue, and the drain that sends."""
