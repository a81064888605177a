"""Lambda handlers and the domain code they share with the worker and the embedded stack."""
