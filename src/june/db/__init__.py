"""PostgreSQL access: the schema (SQLAlchemy), its Alembic migrations, and engines."""
