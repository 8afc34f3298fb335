"""Markdown to safe HTML for lessons (and any other education text).

markdown-it-py renders CommonMark plus tables with raw HTML disabled (so ``<script>`` in a
file comes out as text); nh3 then cleans the result against an allow-list, so even a renderer
bug or a future option cannot put active content on the page. Table column alignment becomes
a class (``align-right``...) because the CSP forbids ``style`` attributes. Images are allowed
only from the app's own illustrations folder (``/static/learn/``).
"""
from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")

TAGS = {"a", "abbr", "blockquote", "br", "code", "em", "h2", "h3", "h4", "hr", "li", "ol", "p", "pre",
        "strong", "table", "tbody", "td", "th", "thead", "tr", "ul", "img"}
ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "img": {"src", "alt", "title"}}  # td/th: allowed_classes
IMAGE_PREFIX = "/static/learn/"


def _attribute(element: str, attribute: str, value: str) -> str | None:
    if element == "img" and attribute == "src":
        return value if value.startswith(IMAGE_PREFIX) and ".." not in value and "//" not in value[1:] else None
    return value
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
                     link_rel="noopener noreferrer", attribute_filter=_attribute,
                     allowed_classes={"td": ALIGN_CLASSES, "th": ALIGN_CLASSES})
