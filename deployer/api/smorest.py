"""flask-smorest set to our conventions: invalid input is 400 (as in the rest
of OpenStack), and errors are documented as problem+json."""
from __future__ import annotations

import marshmallow as ma
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow import resolver as default_schema_name
from flask_smorest import Api, Blueprint
from webargs.flaskparser import FlaskParser


class ArgumentsParser(FlaskParser):
    DEFAULT_VALIDATION_STATUS = 400


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details (documentation only; errors.py renders them)."""
    type = ma.fields.String(metadata={"description": "A URI naming the problem kind"})
    title = ma.fields.String(metadata={"description": "Short summary of the status"})
    status = ma.fields.Integer(metadata={"description": "The HTTP status"})
    detail = ma.fields.String(metadata={"description": "What went wrong, naming the field"})
    errors = ma.fields.Dict(metadata={"description": "Invalid fields: dotted path -> messages"})
    request_id = ma.fields.String(metadata={"description": "Correlation id, also in the logs"})


class ApiBlueprint(Blueprint):
    ARGUMENTS_PARSER = ArgumentsParser()


def schema_name(schema) -> str | None:
    """OpenAPI component name; a schema narrowed with only/exclude is inlined
    (None) instead of clashing with the full schema's name."""
    if isinstance(schema, ma.Schema) and (schema.only or schema.exclude):
        return None
    return default_schema_name(schema)


class DeployerApi(Api):
    ERROR_SCHEMA = ProblemSchema

    def __init__(self, app):
        super().__init__(app, spec_kwargs={
            "marshmallow_plugin": MarshmallowPlugin(schema_name_resolver=schema_name)})

    def _register_error_handlers(self):
        """errors.register() installs the problem+json handlers instead."""
