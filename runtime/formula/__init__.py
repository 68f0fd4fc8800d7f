"""Tenon's formula language: one spreadsheet-like syntax for computed fields, rules,
conditions, scopes and filters."""
