"""The error summary names each field by its label ("客户名称：此项为必填项。").

The summary sits at the top of a form, rendered before the fields whose labels the
page passes to the field macros; so the summary macro leaves an empty slot per
entry (``<span class="error-summary__field" data-summary-field="f-name"></span>``)
and the kit fills each slot, once the page is rendered, with the text of the page's
own ``<label for="f-name">`` (or the ``<legend>`` of ``<fieldset id="f-name">``)
in the page's language (``form.error_summary_field``: "{label}：" / "{label}: ").
A field without a label on the page keeps the bare message, as before.
"""
import re

SLOT = re.compile(r'<span class="error-summary__field" data-summary-field="(f-[\w-]+)"></span>')
LABEL = re.compile(r'<label\b[^>]*\bfor="(f-[\w-]+)"[^>]*>(.*?)</label>', re.S)
LEGEND = re.compile(r'<fieldset\b[^>]*\bid="(f-[\w-]+)"[^>]*>\s*<legend\b[^>]*>(.*?)</legend>',
                    re.S)
REQUIRED = re.compile(r'<span class="req"[^>]*>.*?</span>', re.S)
TAG = re.compile(r"<[^>]+>")


def label_text(inner_html):
    """A label's text, still HTML-escaped as the page has it: the required mark and
    any markup dropped, white space collapsed."""
    text = TAG.sub("", REQUIRED.sub("", inner_html))
    return " ".join(text.split()).rstrip("*").strip()


def page_labels(html):
    """{field id: label text} of the page's labels and fieldset legends (first wins)."""
    labels = {}
    for pattern in (LABEL, LEGEND):
        for fid, inner in pattern.findall(html):
            text = label_text(inner)
            if text:
                labels.setdefault(fid, text)
    return labels


def name_fields(html, t):
    """``html`` with each error-summary slot filled with its field's label."""
    if "data-summary-field=" not in html:
        return html
    labels = page_labels(html)

    def fill(match):
        label = labels.get(match.group(1))
        if not label:
            return match.group(0)
        return match.group(0).replace(
            "></span>", ">" + t("form.error_summary_field", label=label) + "</span>")

    return SLOT.sub(fill, html)
