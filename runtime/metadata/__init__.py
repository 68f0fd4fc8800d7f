"""App definitions: read packages safely, validate them, model them, diff two versions."""
