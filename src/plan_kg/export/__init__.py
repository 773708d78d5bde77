"""Publishing beyond the built-in server: a static folder for any web host, or a push to a triplestore."""

from .push import PushResult, push_graphs
from .static import StaticSite, publish_static

__all__ = ["PushResult", "StaticSite", "publish_static", "push_graphs"]
