"""Runs as requests: asked for by anyone, coalesced while one plans, performed by the run queue's worker."""
