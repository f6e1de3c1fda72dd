"""The retrospective page and its forms (plain POST forms, redirect after success).

Every URL checks the user's access to the deployment first (404 for outsiders);
the services check what the role may do.
"""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from deploychecks.core.errors import RunError
from deploychecks.retros import services
from deploychecks.retros.hooks import metrics_of
from deploychecks.retros.models import FollowUp, RetroSection, Retrospective
from deploychecks.runs import access


def _context(user, deployment, role, retro, **extra):
    follow_ups = list(retro.follow_ups.all())
    # A viewer or an approver may close the follow-ups they own: a form on those rows.
    closable = {f.pk for f in follow_ups if services.may_close(role, f, user)}
    return {
        "deployment": deployment,
        "role": role,
        "retro": retro,
        "metrics": retro.metrics if retro.is_published else metrics_of(deployment),
        "sections": list(retro.sections.all()),
        "follow_ups": follow_ups,
        "may_write": services.may_write(role) and not retro.is_published,
        "may_close": bool(closable),
        "closable": closable,
        "may_publish": services.may_publish(role) and not retro.is_published,
        "owners": services.owner_choices(deployment) if services.may_write(role) else [],
        **extra,
    }


def _retro(deployment):
    retro = Retrospective.objects.filter(deployment=deployment).first()
    if retro is None:
        raise Http404("This deployment has no retrospective.")
    return retro


@require_GET
def page(request, pk):
    deployment, role = access.get_deployment_for(request.user, pk)
    retro = _retro(deployment)
    return render(request, "retros/page.html", _context(request.user, deployment, role, retro))


def _done(request, pk, message: str, anchor: str = ""):
    messages.success(request, message)
    return redirect(reverse("retros:page", args=[pk]) + anchor)


def _refused(request, deployment, role, exc: RunError, **typed):
    retro = _retro(deployment)
    context = _context(request.user, deployment, role, retro, error=exc.message, typed=typed)
    return render(request, "retros/page.html", context, status=exc.status_code)


@require_POST
def section(request, pk, section_id):
    deployment, role = access.get_deployment_for(request.user, pk)
    # Another deployment's section, or none: 404 for everyone, before any role check.
    if not RetroSection.objects.filter(pk=section_id, retro__deployment=deployment).exists():
        raise Http404("No such section")
    body = request.POST.get("body", "")
    try:
        saved = services.save_section(
            deployment_id=pk, user=request.user, section_id=section_id, body=body, request=request
        )
    except RunError as exc:
        return _refused(request, deployment, role, exc, section_id=section_id, body=body)
    return _done(request, pk, f"“{saved.title}” saved.", f"#section-{saved.pk}")


@require_POST
def add_follow_up(request, pk):
    deployment, role = access.get_deployment_for(request.user, pk)
    typed = {k: request.POST.get(k, "") for k in ("title", "owner", "due_date", "link")}
    try:
        services.add_follow_up(
            deployment_id=pk,
            user=request.user,
            title=typed["title"],
            owner_id=typed["owner"],
            due_date=typed["due_date"],
            link=typed["link"],
            request=request,
        )
    except RunError as exc:
        return _refused(request, deployment, role, exc, **typed)
    return _done(request, pk, "Follow-up added.", "#follow-ups")


@require_POST
def follow_up_done(request, pk, follow_up_id):
    deployment, role = access.get_deployment_for(request.user, pk)
    if not FollowUp.objects.filter(pk=follow_up_id, deployment=deployment).exists():
        raise Http404("No such follow-up")
    done = request.POST.get("done") == "1"
    try:
        services.set_follow_up_done(
            deployment_id=pk,
            user=request.user,
            follow_up_id=follow_up_id,
            done=done,
            request=request,
        )
    except RunError as exc:
        return _refused(request, deployment, role, exc)
    return _done(
        request, pk, "Follow-up marked done." if done else "Follow-up reopened.", "#follow-ups"
    )


@require_POST
def publish(request, pk):
    deployment, role = access.get_deployment_for(request.user, pk)
    try:
        services.publish(deployment_id=pk, user=request.user, request=request)
    except RunError as exc:
        return _refused(request, deployment, role, exc)
    return _done(request, pk, "Retrospective published: it is part of the record now.")
