"""Services: the operations users and the CLI perform, each one transaction."""
