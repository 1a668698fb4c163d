"""Alembic environment: model metadata only, run on the app's async engine."""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection

from labeling import db, models

config = context.config
target_metadata = models.metadata


def _url() -> str:
    url = config.attributes.get("database_url") or os.environ.get("LABELING_DATABASE_URL")
    if not url:
        raise SystemExit("labeling: set LABELING_DATABASE_URL to run Alembic directly")
    return url


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    database = db.Database(_url(), pool_size=1)
    try:
        async with database.engine.connect() as conn:
            await conn.run_sync(_run)
            await conn.commit()
    finally:
        await database.dispose()


def run_migrations_online() -> None:
    """Apply migrations on a connection handed over by labeling.migrate, or on a fresh engine."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
    else:
        asyncio.run(_run_async())


if context.is_offline_mode():
    context.configure(url=db.async_url(_url()), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
