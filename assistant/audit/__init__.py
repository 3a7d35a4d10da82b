"""The audit log: one tamper-evident record of every answer, from every surface (docs/audit.md)."""
