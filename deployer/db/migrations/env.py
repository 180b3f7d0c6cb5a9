"""Alembic environment: runs on the connection deployer.db.migrate hands over,
or on sqlalchemy.url when the alembic command line is used directly."""
from alembic import context

from deployer.db.models import Base
from deployer.db.session import make_engine

target_metadata = Base.metadata


def run_migrations(connection) -> None:
    # Batch mode lets later migrations ALTER tables on SQLite too.
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    engine = make_engine(context.config.get_main_option("sqlalchemy.url"))
    with engine.begin() as own_connection:
        run_migrations(own_connection)
    engine.dispose()
