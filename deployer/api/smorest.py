"""flask-smorest set to our conventions: invalid input is 400 (as in the rest
of OpenStack), and errors are documented as problem+json."""
from __future__ import annotations

import http
import json

import marshmallow as ma
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow import resolver as default_schema_name
from flask_smorest import Api, Blueprint
from flask_smorest.utils import prepare_response
from flask_smorest import abort
from webargs.core import missing
from webargs.flaskparser import FlaskParser, is_json_request

from deployer.api import limits


PROBLEM_MIME = "application/problem+json"     # = deployer.api.errors.PROBLEM_MIME


class ArgumentsParser(FlaskParser):
    DEFAULT_VALIDATION_STATUS = 400

    def _raw_load_json(self, req):
        """The body as JSON within deployer.api.limits' bounds (depth, Unicode, no NaN)."""
        if not is_json_request(req):
            return missing
        try:
            return limits.parse_json(req.get_data(cache=True))
        except limits.InputError as error:
            abort(400, message=f"{error.path}: {error}", errors={error.path: [str(error)]})
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            self._handle_invalid_json_error(error, req)


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

    def _register_responses(self):
        """The shared responses, errors (4xx, 5xx, default) as application/problem+json:
        the content type errors.py really sends."""
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            content_type = self.DEFAULT_RESPONSE_CONTENT_TYPE
            if status >= 400:
                response["schema"], content_type = self.ERROR_SCHEMA, PROBLEM_MIME
            elif not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, content_type)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_MIME)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)
