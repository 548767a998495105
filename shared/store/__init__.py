"""State in Azure Table Storage: what was sent (mapping), offerings, runs, the run lease."""
