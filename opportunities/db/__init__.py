"""The database: the schema, engines and transactions, queries, and the Alembic migrations."""
