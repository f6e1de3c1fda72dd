"""The Webhooks area: subscriptions (list, create, edit, disable) and each one's
delivery log with "redeliver". Who may do what: webhooks.access."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from deploychecks.core.errors import NoAccess, RunError
from deploychecks.webhooks import access, services
from deploychecks.webhooks.forms import EditSubscriptionForm, SubscriptionForm
from deploychecks.webhooks.models import Attempt, Delivery

DELIVERIES_PER_PAGE = 50


@require_GET
def subscription_list(request):
    access.require_subscriber(request.user)
    unfinished = Q(deliveries__status__in=[Delivery.Status.PENDING, Delivery.Status.SENDING])
    subscriptions = access.visible_subscriptions(request.user).annotate(
        waiting=Count("deliveries", filter=unfinished),
        failed=Count("deliveries", filter=Q(deliveries__status=Delivery.Status.FAILED)),
    )
    return render(request, "webhooks/list.html", {"subscriptions": subscriptions})


def _fields(form) -> dict:
    data = form.cleaned_data
    return {
        "name": data["name"],
        "url": data["url"],
        "service": data["service"],
        "event_types": data["event_types"],
        "format": data["format"],
    }


@require_http_methods(["GET", "POST"])
def create(request):
    access.require_subscriber(request.user)
    choices = access.service_choices(request.user)
    form = SubscriptionForm(request.POST or None, services=choices)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                subscription = services.create_subscription(
                    user=request.user, request=request, **_fields(form)
                )
            except RunError as exc:
                form.add_error(None, exc.message)
                status = exc.status_code
            else:
                # Shown on this answer only: there is no other way to read the secret.
                return _edit_page(request, subscription, new_secret=subscription.secret)
    return render(request, "webhooks/edit.html", {"form": form, "creating": True}, status=status)


def _edit_page(request, subscription, *, form=None, new_secret="", status=200):
    if form is None:
        form = EditSubscriptionForm(
            services=access.service_choices(request.user),
            initial={
                "name": subscription.name,
                "url": subscription.url,
                "format": subscription.format,
                "service": subscription.service,
                "event_types": subscription.event_types,
            },
        )
    context = {"form": form, "subscription": subscription, "new_secret": new_secret}
    return render(request, "webhooks/edit.html", context, status=status)


@require_http_methods(["GET", "POST"])
def edit(request, subscription_id):
    subscription = access.subscription_for(request.user, subscription_id)
    if request.method == "GET":
        return _edit_page(request, subscription)
    form = EditSubscriptionForm(request.POST, services=access.service_choices(request.user))
    if not form.is_valid():
        return _edit_page(request, subscription, form=form, status=422)
    try:
        subscription = services.update_subscription(
            subscription_id=subscription.pk,
            user=request.user,
            new_secret=form.cleaned_data["new_secret"],
            request=request,
            **_fields(form),
        )
    except RunError as exc:
        form.add_error(None, exc.message)
        return _edit_page(request, subscription, form=form, status=exc.status_code)
    if form.cleaned_data["new_secret"]:
        return _edit_page(request, subscription, new_secret=subscription.secret)
    messages.success(request, "Subscription saved.")
    return redirect("webhooks:edit", subscription_id=subscription.pk)


@require_POST
def set_active(request, subscription_id):
    active = request.POST.get("active") == "1"
    services.set_active(
        subscription_id=subscription_id, user=request.user, active=active, request=request
    )
    messages.success(
        request,
        "Subscription enabled: waiting deliveries go out now."
        if active
        else "Subscription disabled: nothing is sent until it is enabled.",
    )
    return redirect("webhooks:edit", subscription_id=subscription_id)


@require_GET
def deliveries(request, subscription_id):
    subscription = access.subscription_for(request.user, subscription_id)
    rows = (
        Delivery.objects.filter(subscription=subscription)
        .select_related("event", "deployment")
        .prefetch_related(Prefetch("attempt_log", queryset=Attempt.objects.order_by("number")))
        .order_by("-pk")
    )
    page = Paginator(rows, DELIVERIES_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "webhooks/deliveries.html", {"subscription": subscription, "page": page})


@require_POST
def redeliver(request, subscription_id, delivery_id):
    try:
        services.redeliver(
            subscription_id=subscription_id,
            delivery_id=delivery_id,
            user=request.user,
            request=request,
        )
    except NoAccess as exc:
        raise Http404(exc.message) from None  # another subscription's delivery, or none
    except RunError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Queued for redelivery: it goes out in a moment.")
    return redirect("webhooks:deliveries", subscription_id=subscription_id)
