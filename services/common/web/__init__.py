"""The page kit: server-rendered workspaces on every gateway (docs/WEB_KIT.md).

    from services.common.web import page, render, redirect, page_context, Form
"""
from services.common.web.forms import Form, flatten_errors, nest
from services.common.web.pages import (
    page,
    page_context,
    redirect,
    render,
    wants_html,
)

__all__ = ["Form", "flatten_errors", "nest", "page", "page_context", "redirect", "render",
           "wants_html"]
