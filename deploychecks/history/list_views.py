"""The history list at /deployments/ (history:list): every deployment the user may see.

One plain function view. A full page renders the filter form and the results;
an htmx request (typing in the search box, a select, a sort or page link) gets
only the results partial plus the live count, and the `HX-Push-Url` header
puts the tidied filters in the address bar, so the URL is always a link to
what is shown.
"""

from django.core.paginator import Paginator
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from deploychecks.history.filters import HistoryFilterForm, filtered_deployments, sort_headers
from deploychecks.runs import access

PAGE_SIZE = 50
TEMPLATE = "history/list.html"


@require_GET
def history_list(request):
    visible = access.visible_deployments(request.user)
    form = HistoryFilterForm(request.GET)
    deployments = filtered_deployments(visible, form).select_related("lead")
    page = Paginator(deployments, PAGE_SIZE).get_page(request.GET.get("page"))
    for deployment in page:
        deployment.duration_text = _duration_text(deployment)
    context = {
        "form": form,
        "page": page,
        "headers": sort_headers(form),
        "sort": form.sort_order,
        "page_links": _page_links(form, page),
        "list_url": reverse("history:list"),
    }
    if request.htmx and not request.htmx.history_restore_request:
        response = render(request, f"{TEMPLATE}#update", context)
        response["HX-Push-Url"] = request.path + form.query(page=_page_param(page))
    else:
        # Only a full page shows the form, so only it pays for the selects' options.
        form.set_choices(visible)
        response = render(request, TEMPLATE, context)
    # The same URL answers with a page or a fragment: caches must keep both apart.
    patch_vary_headers(response, ["HX-Request"])
    return response


def _page_param(page) -> int | None:
    return page.number if page.number > 1 else None


def _page_links(form, page) -> dict:
    """First/previous/next/last links (the filters kept, the first page without `page=`)."""
    links = {}
    if page.has_previous():
        links["first"] = form.query(page=None)
        previous = page.previous_page_number()
        links["previous"] = form.query(page=previous if previous > 1 else None)
    if page.has_next():
        links["next"] = form.query(page=page.next_page_number())
        links["last"] = form.query(page=page.paginator.num_pages)
    return links


def _duration_text(deployment) -> str:
    """ "2 h 05 min" from start to end; '' until both are known."""
    if not (deployment.started_at and deployment.ended_at):
        return ""
    minutes = max(0, int((deployment.ended_at - deployment.started_at).total_seconds() // 60))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min"
