"""Django's PostgreSQL backend with connection health checks at an interval (see base.py)."""
