"""Local stand-ins for the cloud (Azurite, the sandbox) used by `learncal demo` and the tests."""
