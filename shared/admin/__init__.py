"""The admin HTTP API: thin handlers over the provider, validate, sync and run services.

The Azure Functions entry points in function_app.py only forward to `shared.admin.handlers`;
everything here works on `func.HttpRequest` / `func.HttpResponse`, so tests call the
decorated functions directly.
"""
