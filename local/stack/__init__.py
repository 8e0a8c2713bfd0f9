"""The embedded default: the whole system on one machine (simulator, moto, handlers, local API)."""

from .deployment import LocalDeployment
from .options import DeploymentConfigError, DeploymentOptions

__all__ = ["DeploymentConfigError", "DeploymentOptions", "LocalDeployment"]
