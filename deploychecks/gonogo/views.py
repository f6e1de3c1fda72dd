from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, permission_required
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from deploychecks.checklists.models import ChecklistTemplate
from deploychecks.core import jsonbody, ratelimit
from deploychecks.core.bearer import bearer_secret
from deploychecks.core.errors import NotAllowed, RunError
from deploychecks.core.problems import TITLES
from deploychecks.gonogo import (
    definitions,
    ingest,
    ingest_gate,
    panel,
    rollback,
    services,
    tokens,
)
from deploychecks.gonogo.forms import ReadingForm, SignalDefinitionFormSet
from deploychecks.gonogo.models import IngestToken
from deploychecks.runs import access, idempotency

INGEST_MAX_BYTES = 16 * 1024
# 500 readings with long notes; DATA_UPLOAD_MAX_MEMORY_SIZE is above it.
INGEST_BATCH_MAX_BYTES = 1024 * 1024


def _panel_response(request, deployment, role, *, status=200, error="", form_data=None):
    """The signals panel; after a recorded reading also an empty form (out of band)."""
    context = panel.panel_context(deployment, editable=access.can_edit(role))
    context.update({"reading_error": error, "reading_data": form_data or {}, "oob": True})
    parts = ["signals"] if error or not context["gonogo_editable"] else ["signals", "reading-form"]
    html = "".join(
        render_to_string(f"{panel.PANEL}#{name}", context, request=request) for name in parts
    )
    return HttpResponse(html, status=status)


@require_POST
def add_reading(request, pk):
    """An engineer types a reading on the run page."""
    deployment, role = access.get_deployment_for(request.user, pk)
    if not access.can_edit(role):
        # Before the form: someone who may not record learns nothing from their input.
        return _panel_response(request, deployment, role, status=403, error=services.EDITORS_ONLY)
    form = ReadingForm(request.POST)
    if not form.is_valid():
        first = next(iter(form.errors.values()))[0]
        field = next(iter(form.errors))
        return _panel_response(
            request,
            deployment,
            role,
            status=422,
            error=f"{field.replace('_', ' ').capitalize()}: {first}",
            form_data=request.POST,
        )
    data = form.cleaned_data
    try:
        services.record_reading(
            deployment_id=deployment.pk,
            signal_name=data["signal"],
            value=data["value"],
            observed_at=data["observed_at"],
            note=data["note"],
            user=request.user,
            request=request,
            idempotency_key=request.POST.get(idempotency.FIELD, ""),
        )
    except RunError as exc:
        status = 403 if isinstance(exc, NotAllowed) else 422
        return _panel_response(
            request, deployment, role, status=status, error=exc.message, form_data=request.POST
        )
    deployment.refresh_from_db()
    return _panel_response(request, deployment, role)


@require_POST
def start_rollback(request, pk):
    deployment, role = access.get_deployment_for(request.user, pk)
    try:
        rollback.start_rollback(
            deployment_id=deployment.pk,
            reason=request.POST.get("reason", ""),
            user=request.user,
            request=request,
        )
    except RunError as exc:
        if not request.htmx:
            messages.error(request, exc.message)
            return redirect(deployment)
        deployment.refresh_from_db()
        status = 403 if isinstance(exc, NotAllowed) else 422
        return _panel_response(request, deployment, role, status=status, error=exc.message)
    if request.htmx:
        # The whole page changes mode: reload it (every other viewer resyncs).
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return redirect(deployment)


# --- Ingest API ----------------------------------------------------------------------


def _error(status: int, message: str, **headers) -> JsonResponse:
    """A problem (RFC 9457, as the API's) that also keeps the old `error` key."""
    body = {"type": "about:blank", "title": TITLES.get(status, "Error")}
    body.update({"status": status, "detail": message, "error": message})
    response = JsonResponse(body, status=status, content_type="application/problem+json")
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _ingest(request, pk, *, batch: bool):
    if request.method != "POST":
        return _error(405, "Use POST.", Allow="POST")
    secret = bearer_secret(request.headers.get("Authorization", ""))
    if not secret:
        return _error(
            401,
            "Missing token: send the header “Authorization: Bearer <token>”.",
            WWW_Authenticate="Bearer",
        )
    # A flood past the rate limit, and requests past INGEST_MAX_CONCURRENT, were
    # refused before Django (gonogo/ingest_gate.py, in asgi.py).
    token = tokens.authenticate_ingest(pk, secret)
    if token is None:
        return _error(
            401,
            "The token is wrong, revoked, or not for this deployment.",
            WWW_Authenticate='Bearer error="invalid_token"',
        )
    if request.content_type != "application/json":
        return _error(415, "Send the readings as JSON (Content-Type: application/json).")
    max_bytes = INGEST_BATCH_MAX_BYTES if batch else INGEST_MAX_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    try:
        if declared > max_bytes:
            raise jsonbody.BodyRefused(413, f"The body is larger than {max_bytes} bytes.")
        try:
            body = request.body
        except RequestDataTooBig:
            raise jsonbody.BodyRefused(413, f"The body is larger than {max_bytes} bytes.") from None
        data = jsonbody.loads_limited(body, max_bytes=max_bytes)
        readings = ingest.parse_batch(data) if batch else [ingest.parse_reading(data)]
    except jsonbody.BodyRefused as exc:
        return _error(exc.status, exc.message)
    allowance = ratelimit.take(
        ingest_gate.rate_key(secret),
        settings.INGEST_RATE_LIMIT_PER_MINUTE,
        cost=len(readings),
    )
    if not allowance.allowed:
        return _error(
            429,
            f"This token may send {allowance.limit} readings a minute; "
            f"{allowance.remaining} are left in this one. Retry in {allowance.reset_seconds} s.",
            **{k.replace("-", "_"): v for k, v in allowance.headers().items()},
        )
    try:
        stored = ingest.record_token_readings(
            deployment_id=pk, token=token, readings=readings, request=request
        )
    except NotAllowed as exc:
        return _error(409, exc.message)
    except RunError as exc:
        return _error(422, exc.message)
    described = [ingest.describe(reading) for reading in stored]
    response = JsonResponse(
        {"count": len(described), "readings": described} if batch else described[0], status=201
    )
    for name, value in allowance.headers().items():
        response[name] = value
    return response


@csrf_exempt  # a machine client with a bearer token, no cookies: CSRF does not apply
@login_not_required
def ingest_reading(request, pk):
    """POST {"signal": name, "value": number, "observed_at": iso8601?, "note": text?}."""
    return _ingest(request, pk, batch=False)


@csrf_exempt
@login_not_required
def ingest_batch(request, pk):
    """POST {"readings": [reading, …]}: up to 500 readings, all stored or none."""
    return _ingest(request, pk, batch=True)


# --- The lead's page: ingest tokens ----------------------------------------------------


def _lead_deployment(request, pk):
    deployment, role = access.get_deployment_for(request.user, pk)
    if role != "lead":
        raise Http404("No such page")
    return deployment


@require_http_methods(["GET", "POST"])
def ingest_tokens(request, pk):
    deployment = _lead_deployment(request, pk)
    new_secret = None
    error = ""
    if request.method == "POST":
        try:
            if request.POST.get("revoke"):
                token_id = int(request.POST["revoke"]) if request.POST["revoke"].isdecimal() else 0
                tokens.revoke_ingest_token(
                    deployment_id=deployment.pk,
                    token_id=token_id,
                    user=request.user,
                    request=request,
                )
                messages.success(request, "Token revoked: it no longer works.")
                return redirect("gonogo:tokens", pk=deployment.pk)
            _, new_secret = tokens.create_ingest_token(
                deployment_id=deployment.pk,
                name=request.POST.get("name", ""),
                user=request.user,
                request=request,
            )
        except RunError as exc:
            error = exc.message
    context = {
        "deployment": deployment,
        "tokens": IngestToken.objects.filter(deployment=deployment),
        "new_secret": new_secret,
        "error": error,
        "ingest_url": request.build_absolute_uri(f"/api/deployments/{deployment.pk}/readings"),
        "signals": deployment.signals.all(),
        "now": timezone.now(),
    }
    response = render(request, "gonogo/tokens.html", context, status=422 if error else 200)
    if new_secret:
        response["Cache-Control"] = "no-store"
    return response


# --- Admins: thresholds of a template ------------------------------------------------------


@permission_required("checklists.add_checklisttemplate", raise_exception=True)
@require_http_methods(["GET", "POST"])
def template_signals(request, template_id):
    template = get_object_or_404(ChecklistTemplate, pk=template_id)
    revision = template.latest_revision
    error = ""
    if request.method == "POST":
        formset = SignalDefinitionFormSet(request.POST)
        if formset.is_valid():
            rows = [
                f.cleaned_data
                for f in formset.forms
                if f.cleaned_data
                and not f.cleaned_data.get("DELETE")
                and (f.cleaned_data.get("name") or "").strip()
            ]
            try:
                changed = definitions.save_signal_definitions(
                    revision=revision, rows=rows, user=request.user, request=request
                )
            except RunError as exc:
                error = exc.message
            else:
                messages.success(
                    request,
                    "Thresholds saved; new deployments use them."
                    if changed
                    else "Nothing changed.",
                )
                return redirect("gonogo:template_signals", template_id=template.pk)
        else:
            error = "Some fields are not valid; see the marked rows."
    else:
        formset = SignalDefinitionFormSet(
            initial=[d.threshold_fields() for d in definitions.definitions_for(revision)]
        )
    return render(
        request,
        "gonogo/template_signals.html",
        {"template": template, "revision": revision, "formset": formset, "error": error},
        status=422 if error else 200,
    )
