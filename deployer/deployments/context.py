"""What deployment and parameter-set functions work with, for one request."""
from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy.orm import Session

from deployer.chef.environment_template import EnvironmentTemplates
from deployer.deployments.catalog import Catalog
from deployer.runs.secrets import SecretBox


@dataclasses.dataclass
class Services:
    session: Session                # the caller commits
    heat: Any                       # a heatclient v1 Client
    box: SecretBox                  # seals hidden parameter values
    catalog: Catalog
    environment_templates: EnvironmentTemplates
