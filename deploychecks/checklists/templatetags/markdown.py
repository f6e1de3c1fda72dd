from django import template

from deploychecks.checklists.rendering import render_inline, render_markdown

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text):
    return render_markdown(text or "")


@register.filter(name="markdown_inline")
def markdown_inline_filter(text):
    return render_inline(text or "")
