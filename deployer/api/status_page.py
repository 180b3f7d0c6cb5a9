"""/status/: a browser view of deployments, served by the API app itself.

The pages are static HTML + JS + CSS (no build step); the JS polls the REST
API (/v1/deployments) with fetch(), so the pages hold no data of their own
and need no server-side rendering.
"""
from __future__ import annotations

from flask import Blueprint

STATIC_DIR = "static/status"


class PageBlueprint(Blueprint):
    """Browser pages are not part of the REST API: their routes stay out of
    openapi.json (flask-smorest still lists the blueprint as a tag)."""

    description = "Browser status pages under /status/ (HTML, not part of the REST API)."

    def register_views_in_doc(self, *_args, **_kwargs) -> None:
        pass


blp = PageBlueprint("status_page", __name__, url_prefix="/status",
                    static_folder=STATIC_DIR, static_url_path="/static")


@blp.get("/")
def deployment_list():
    return blp.send_static_file("index.html")


@blp.get("/<deployment_id>")
def deployment_picture(deployment_id: str):
    # The page reads the id from its own URL.
    return blp.send_static_file("deployment.html")
