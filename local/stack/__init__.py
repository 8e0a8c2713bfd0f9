"""The embedded default: the whole system on one machine (simulator, moto, handlers, local API)."""

from .runtime import LocalStack, StackOptions

__all__ = ["LocalStack", "StackOptions"]
