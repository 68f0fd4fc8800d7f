"""The web layer: the Starlette app, JSON API and generated pages."""
