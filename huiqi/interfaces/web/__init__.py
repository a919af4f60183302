"""The huiqi web application: REST API (/api, OpenAPI at /api/docs) and Chinese pages. See docs/web.md."""

from huiqi.interfaces.web.app import create_app

__all__ = ["create_app"]
