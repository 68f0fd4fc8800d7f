"""Tenon runtime: interprets app definitions into tables, an API and generated pages."""

__version__ = "0.1.0"
