"""What deployment and parameter-set functions work with, for one request."""
from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable

from sqlalchemy.orm import Session

from deployer.chef.environment_template import EnvironmentTemplates
from deployer.deployments.catalog import Catalog
from deployer.secrets import SecretBox


@dataclasses.dataclass
class Services:
    session: Session                # the caller commits
    heat_factory: Callable[[], Any]  # builds a heatclient v1 Client when first needed
    box: SecretBox                  # seals hidden parameter values
    catalog: Catalog
    environment_templates: EnvironmentTemplates
    # Chef names no node may take (deployer.runs.policy.RunPolicy.protected_names).
    protected_names: frozenset[str] = frozenset()
    # deployer.preflight.settings.Settings; None: no checks on the nodes (the VIP
    # registry still holds).
    preflight: Any = None

    @functools.cached_property
    def heat(self) -> Any:
        """Built on first use: listing parameter sets needs no Heat (nor its credentials)."""
        return self.heat_factory()
