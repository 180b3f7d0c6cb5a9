"""Apply the Alembic migrations shipped inside this package (the only schema source)."""
from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig

from deployer.config import Config
from deployer.db.session import make_engine

ALEMBIC_INI = Path(__file__).resolve().parent / "alembic.ini"


def alembic_config(database_url: str) -> AlembicConfig:
    cfg = AlembicConfig(str(ALEMBIC_INI))
    # ConfigParser interpolation: a literal % in a password must be doubled.
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def upgrade(cfg: Config, revision: str = "head") -> None:
    """``deployer api migrate``: bring the configured database to ``revision``."""
    upgrade_database(cfg.database_url, revision)


def upgrade_database(database_url: str, revision: str = "head") -> None:
    # Alembic announces each of its plugins at INFO; only migrations are news.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    engine = make_engine(database_url)  # creates the SQLite directory, sets WAL
    try:
        with engine.begin() as connection:
            cfg = alembic_config(database_url)
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, revision)
    finally:
        engine.dispose()
