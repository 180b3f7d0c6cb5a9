"""Migration 0002 (deployments, parameter sets) on a real PostgreSQL and on SQLite:
the schema at head (certifications of 0007 included) matches the models, names are
unique among live deployments only, and the migrations downgrade cleanly."""
from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from deployer.db.migrate import alembic_config, upgrade_database
from deployer.db.models import Base, Deployment, ParameterSet, utcnow

pytestmark = pytest.mark.timeout(120)


def _deployment(name: str, *, live: bool) -> Deployment:
    now = utcnow()
    return Deployment(id=str(uuid.uuid4()), name=name, active_name=name if live else None,
                      template="allinone", parameters={"NodeAddress": "192.0.2.1"},
                      secret_names=["SshPassword"], secret_blob=b"sealed", heat_environments=[],
                      stack_id=str(uuid.uuid4()), stack_status="CREATE_COMPLETE",
                      status_reason="", state="complete" if live else "deleted",
                      created_at=now, updated_at=now, deleted_at=None if live else now)


def check_schema(url: str) -> None:
    upgrade_database(url)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
        with Session(engine) as session:
            session.add_all([_deployment("site", live=False), _deployment("site", live=False),
                             _deployment("site", live=True)])
            session.add(ParameterSet(name="a", template="allinone", description="",
                                     parameters={"VipPrefix": 16}, secret_names=[],
                                     created_at=utcnow(), updated_at=utcnow()))
            session.commit()
            session.add(_deployment("site", live=True))
            with pytest.raises(IntegrityError):
                session.commit()
            session.rollback()
            assert session.scalar(sa.select(sa.func.count()).select_from(Deployment)) == 3
            assert session.get(ParameterSet, "a").parameters == {"VipPrefix": 16}
        with engine.begin() as connection:
            cfg = alembic_config(url)
            cfg.attributes["connection"] = connection
            command.downgrade(cfg, "0001")
        tables = set(sa.inspect(engine).get_table_names())
        assert "runs" in tables and not tables & {"deployments", "parameter_sets",
                                                  "certifications"}
    finally:
        engine.dispose()


def test_migration_on_postgresql(postgres_server):
    check_schema(postgres_server.create_database())


def test_migration_on_sqlite(tmp_path):
    check_schema(f"sqlite:///{tmp_path / 'deployer.sqlite'}")
