"""Site parameters as the deployer manages them: the shipped environment templates
and the environments rendered from them onto the Chef server.

The API's /v1/chef views call these and nothing else; the Heat resources reach
them through those views.  An environment rendered from a template gets its secrets
(environment_secrets.py) before it is uploaded, and loses them when it is deleted.
Failures are the deployer's own errors (404 for an unknown template, 422 naming each
unfilled placeholder or unknown secret, 409 for an environment still in use); the Chef
server's are raised as they are.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from deployer.chef import environment_secrets, names
from deployer.chef.environment_template import (
    EnvironmentTemplateError, EnvironmentTemplates, UnfilledPlaceholders, placeholders)
from deployer.chef.errors import ChefNotFound
from deployer.chef.server import ChefServer
from deployer.errors import Conflict, DeployerError, NotFound, Unprocessable
from deployer.secrets import SecretBox

DIRECT_SECTIONS = ("description", "default_attributes", "override_attributes", "cookbook_versions")


def load_template(templates: EnvironmentTemplates, name: str) -> dict:
    try:
        return templates.load(name)
    except EnvironmentTemplateError as exc:
        raise NotFound(str(exc), field="template") from None


def template_summaries(templates: EnvironmentTemplates) -> list[dict]:
    return [{"name": name, "placeholders": placeholders(templates.load(name))}
            for name in templates.names()]


def template_detail(templates: EnvironmentTemplates, name: str) -> dict:
    document = load_template(templates, name)
    return {"name": name, "placeholders": placeholders(document), "document": document}


def render(templates: EnvironmentTemplates, name: str, template: str,
           values: dict[str, Any]) -> dict:
    """The environment ``name`` from ``template``; 422 names each placeholder left unfilled."""
    load_template(templates, template)
    try:
        return templates.render(template, name, values)
    except UnfilledPlaceholders as exc:
        raise Unprocessable(str(exc), errors={f"values.{missing}": ["no value for this placeholder"]
                                              for missing in sorted(exc.missing)}) from None
    except EnvironmentTemplateError as exc:
        raise Unprocessable(str(exc)) from None


def direct(name: str, sections: dict[str, Any]) -> dict:
    """An environment edited directly: the given sections over an empty environment."""
    document = {"name": name, "json_class": "Chef::Environment", "chef_type": "environment",
                "description": "", "default_attributes": {}, "override_attributes": {},
                "cookbook_versions": {}}
    document.update({key: sections[key] for key in DIRECT_SECTIONS if key in sections})
    return document


def document(templates: EnvironmentTemplates, name: str, body: dict) -> dict:
    """Environment ``name`` from ``body``: its template rendered with its values, or its
    sections set directly.  Checked before the Chef server is asked anything."""
    if not names.is_environment_name(name):
        raise DeployerError(f"environment name {name!r} is invalid",
                            errors={"name": [names.ENVIRONMENT_NAME_RULE]})
    if body.get("template"):
        return render(templates, name, body["template"], body.get("values") or {})
    return direct(name, body)


def upload(templates: EnvironmentTemplates, chef: ChefServer, session: Session, box: SecretBox,
           name: str, body: dict) -> dict:
    """Put environment ``name`` from ``body`` on the Chef server, its secrets first.

    A rendered environment gets every secret its roles read (``body['secrets']``: values
    of hidden template parameters, item -> key -> value, the rest generated); an edited one
    keeps the bag it has.  Returns the environment as uploaded (it names the bag, never a
    secret).
    """
    environment = document(templates, name, body)
    given = body.get("secrets") or {}
    if body.get("template"):
        bag = environment_secrets.provision(session, box, chef, name, environment, given)
    elif given:
        raise Unprocessable("secrets are provisioned for an environment rendered from a template",
                            field="secrets")
    else:
        bag = environment_secrets.data_bag(session, name)
    if bag:
        environment_secrets.with_data_bag(environment, bag)
    chef.upsert_environment(environment)
    return environment


def delete(chef: ChefServer, session: Session, name: str, *, if_unused: bool) -> None:
    """Delete the environment (gone already counts) and then its secrets;
    ``if_unused``: 409 while nodes use it, and nothing is deleted."""
    try:
        if if_unused:
            in_use = chef.get(f"/environments/{name}/nodes") or {}
            if in_use:
                raise Conflict(f"environment {name} is still used by {len(in_use)} node(s): "
                               f"{', '.join(sorted(in_use))}")
        chef.delete_environment(name)
    except ChefNotFound:
        pass
    environment_secrets.remove(session, chef, name)
