"""Purge soft-deleted stacks from the embedded Heat's database.

Heat keeps a deleted stack's rows (its templates, parameters, events and
resources) until an operator purges them.  ``heat-manage purge_deleted`` does
not work on SQLite (Heat 27): ``heat.db.api.purge_deleted`` iterates its
stack query after the connection that ran it is closed ("Cannot operate on a
closed database"; MySQL drivers buffer the rows, so it works there).  This
does the same selection with the rows fetched while the connection is open and
hands each batch to Heat's own ``_purge_stacks``, which deletes the stacks
with their events, resources, raw templates and credentials.

Run as ``python -m deployer.undercloud.heat_purge --config-file heat.conf
--age N [--granularity days|hours|minutes|seconds]`` (``EmbeddedHeat.purge_deleted``
does), so Heat's global configuration stays out of the caller's process.
"""
from __future__ import annotations

import argparse
import datetime
import sys
import warnings

GRANULARITY_SECONDS = {"days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}
BATCH_SIZE = 20
SQLITE_BUSY_TIMEOUT_MS = 30_000   # a running Heat may hold the write lock for a moment


def purge_deleted(age_seconds: int) -> int:
    """Purge stacks deleted more than ``age_seconds`` ago; returns how many."""
    import sqlalchemy
    from heat.db import api as db_api
    from oslo_utils import timeutils

    engine = db_api.get_engine()
    if engine.dialect.name == "sqlite":
        @sqlalchemy.event.listens_for(engine, "connect")
        def _wait_for_the_lock(dbapi_connection, _record):
            dbapi_connection.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")

    cutoff = timeutils.utcnow() - datetime.timedelta(seconds=age_seconds)
    meta = sqlalchemy.MetaData()
    with engine.begin() as conn:
        stack = sqlalchemy.Table("stack", meta, autoload_with=conn)
        service = sqlalchemy.Table("service", meta, autoload_with=conn)
        conn.execute(service.delete().where(service.c.deleted_at < cutoff))
    with engine.connect() as conn:
        # The column order _purge_stacks expects; fetched now, while the connection is open.
        expired = conn.execute(sqlalchemy.select(
            stack.c.id, stack.c.raw_template_id, stack.c.prev_raw_template_id,
            stack.c.user_creds_id, stack.c.action, stack.c.status, stack.c.name,
        ).where(stack.c.deleted_at < cutoff)).all()
    for start in range(0, len(expired), BATCH_SIZE):
        db_api._purge_stacks(expired[start:start + BATCH_SIZE], engine, meta)
    return len(expired)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="heat_purge", description=__doc__.splitlines()[0])
    parser.add_argument("--config-file", required=True)
    parser.add_argument("--age", type=int, default=0, help="purge stacks deleted at least this long ago")
    parser.add_argument("--granularity", choices=sorted(GRANULARITY_SECONDS), default="days")
    args = parser.parse_args(argv)
    if args.age < 0:
        parser.error("--age: expected 0 or more")
    warnings.simplefilter("ignore")
    from oslo_config import cfg
    cfg.CONF(["--config-file", args.config_file], project="heat")
    purged = purge_deleted(args.age * GRANULARITY_SECONDS[args.granularity])
    print(f"purged {purged} deleted stack(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
