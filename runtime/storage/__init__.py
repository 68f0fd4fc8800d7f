"""Storage: engines and transactions, system tables, tables built from app definitions,
and schema sync."""
