import json

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, permission_required
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from deploychecks.checklists.models import ChecklistTemplate
from deploychecks.core.errors import NotAllowed, RunError
from deploychecks.gonogo import definitions, panel, rollback, services, tokens
from deploychecks.gonogo.forms import ReadingForm, SignalDefinitionFormSet
from deploychecks.gonogo.models import IngestToken
from deploychecks.runs import access, idempotency

INGEST_MAX_BYTES = 16 * 1024
INGEST_FIELDS = {"signal", "value", "observed_at", "note"}


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
    response = JsonResponse({"error": message}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


@csrf_exempt  # a machine client with a bearer token, no cookies: CSRF does not apply
@login_not_required
def ingest_reading(request, pk):
    """POST {"signal": name, "value": number, "observed_at": iso8601?, "note": text?}."""
    if request.method != "POST":
        return _error(405, "Use POST.", Allow="POST")
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return _error(
            401,
            "Missing token: send the header “Authorization: Bearer <token>”.",
            WWW_Authenticate="Bearer",
        )
    token = tokens.authenticate_ingest(pk, secret.strip())
    if token is None:
        return _error(
            401,
            "The token is wrong, revoked, or not for this deployment.",
            WWW_Authenticate='Bearer error="invalid_token"',
        )
    if request.content_type != "application/json":
        return _error(415, "Send the reading as JSON (Content-Type: application/json).")
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > INGEST_MAX_BYTES:
        return _error(413, f"The body is larger than {INGEST_MAX_BYTES} bytes.")
    try:
        body = request.body
    except RequestDataTooBig:
        return _error(413, f"The body is larger than {INGEST_MAX_BYTES} bytes.")
    if len(body) > INGEST_MAX_BYTES:
        return _error(413, f"The body is larger than {INGEST_MAX_BYTES} bytes.")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return _error(400, "The body is not valid JSON.")
    if not isinstance(data, dict):
        return _error(400, "The body must be a JSON object.")
    unknown = sorted(set(data) - INGEST_FIELDS)
    if unknown:
        return _error(400, "Unknown fields: " + ", ".join(unknown)[:200] + ".")
    if not isinstance(data.get("signal"), str) or not data["signal"].strip():
        return _error(400, "“signal” must be the name of a signal.")
    if "value" not in data:
        return _error(400, "“value” is missing.")
    note = data.get("note", "")
    if not isinstance(note, str):
        return _error(400, "“note” must be text.")
    observed_at = data.get("observed_at")
    if observed_at is not None:
        parsed = parse_datetime(observed_at) if isinstance(observed_at, str) else None
        if parsed is None:
            return _error(400, "“observed_at” must be an ISO 8601 date and time.")
        observed_at = parsed
    try:
        reading = services.record_reading(
            deployment_id=pk,
            signal_name=data["signal"],
            value=data["value"],
            observed_at=observed_at,
            note=note,
            token=token,
            request=request,
        )
    except NotAllowed as exc:
        return _error(409, exc.message)
    except RunError as exc:
        return _error(422, exc.message)
    signal = reading.signal
    signal.refresh_from_db(fields=["grade"])
    return JsonResponse(
        {
            "id": reading.pk,
            "signal": signal.name,
            "value": reading.value,
            "observed_at": reading.observed_at.isoformat(),
            "grade": signal.grade,
        },
        status=201,
    )


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
                token_id = int(request.POST["revoke"]) if request.POST["revoke"].isdigit() else 0
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
