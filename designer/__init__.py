"""The builder UI, mounted at /designer. It uses only the runtime's public metadata API."""
