"""Who is asking and what they may do: users, password hashing, sessions, API tokens,
role grants, security audit, and the permission rules apps declare (compiled to SQL)."""
