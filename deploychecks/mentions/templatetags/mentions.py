from django import template

from deploychecks.mentions.parsing import highlight

register = template.Library()


@register.filter(name="mentions")
def mentions_filter(text):
    """A note's text, escaped, with its @names highlighted."""
    return highlight(text)
