"""Markdown to safe HTML for lessons (and any other education text).

markdown-it-py renders CommonMark plus tables with raw HTML disabled (so ``<script>`` in a
file comes out as text); nh3 then cleans the result against an allow-list, so even a renderer
bug or a future option cannot put active content on the page. Table column alignment becomes
a class (``align-right``...) because the CSP forbids ``style`` attributes.
"""
from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")

TAGS = {"a", "abbr", "blockquote", "br", "code", "em", "h2", "h3", "h4", "hr", "li", "ol", "p", "pre",
        "strong", "table", "tbody", "td", "th", "thead", "tr", "ul"}
ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}}  # td/th classes: allowed_classes below
ALIGN_CLASSES = {"align-left", "align-center", "align-right"}


def render(text: str) -> str:
    """Markdown -> sanitised HTML (links get rel="noopener noreferrer")."""
    tokens = _md.parse(text or "")
    for token in tokens:
        style = token.attrs.pop("style", None) if token.type in ("th_open", "td_open") else None
        if isinstance(style, str) and style.startswith("text-align:"):
            token.attrs["class"] = "align-" + style.split(":", 1)[1]
    html = _md.renderer.render(tokens, _md.options, {})
    return nh3.clean(html, tags=TAGS, attributes=ATTRIBUTES, url_schemes={"http", "https", "mailto"},
                     link_rel="noopener noreferrer",
                     allowed_classes={"td": ALIGN_CLASSES, "th": ALIGN_CLASSES})
