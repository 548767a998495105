"""The admin console: static pages served by the function app's `console` function."""
