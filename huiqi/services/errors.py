"""A use case's refusal: a Chinese message for people, a status for machines, and per-field reasons for forms.

Services raise it; the web layer renders it as it always rendered its own refusals (huiqi.interfaces.web.state
re-exports it as ``WebError``), the CLI prints the message. The status numbers follow HTTP's (422 invalid, 404
unknown, 409 conflict, 410 gone) because they are the vocabulary every caller already knows (SERVICES-2).
"""

from __future__ import annotations


class Refused(Exception):
    def __init__(self, status: int, message: str, fields: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields or {}  # field → Chinese reason: forms show each beside its field
