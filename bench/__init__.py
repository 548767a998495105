"""The scale benchmark (`make bench`): synthetic catalogs against the sandbox; see docs/performance.md."""
