"""Every change to evidence: adding a link or a file to an item (or one of its notes).

The recipe of runs.services: lock the deployment row (404 for an outsider) →
check permission (who may tick the item may back it) → check the input → write
→ audit (same transaction) → broadcast the item's row after commit. Adding
evidence bumps `RunItem.assign_version` (the row's cache key), not `version`:
evidence does not change what approvers signed.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction

from deploychecks.accounts.people import display_name
from deploychecks.audit.services import record_event
from deploychecks.core.errors import NoAccess, NotAllowed, RunError
from deploychecks.evidence import content
from deploychecks.evidence.models import Evidence
from deploychecks.realtime.broadcast import broadcast_on_commit
from deploychecks.runs import access, hooks
from deploychecks.runs.changes import Change
from deploychecks.runs.fragments import item_message
from deploychecks.runs.models import Deployment, ItemNote, RunItem

TITLE_MAX = 200
URL_MAX = 2000


def _locked_item(user, deployment_id: int, item_id: int) -> tuple[Deployment, RunItem]:
    """The deployment and the item, locked, if `user` may back the item with evidence:
    whoever may tick it (the lead, engineers, its owners), while the checklist is open."""
    deployment, role = access.lock(user, deployment_id)
    try:
        item = RunItem.objects.select_for_update(of=("self",)).get(
            pk=item_id, deployment_id=deployment_id
        )
    except RunItem.DoesNotExist:
        raise NoAccess("No such item.") from None
    if not access.can_edit(role) and not any(
        hooks.item_editors.send(hooks.ItemAccess(deployment=deployment, actor=user, item=item))
    ):
        raise NotAllowed("Only the lead, engineers and this item's owners can add evidence to it.")
    if deployment.is_finished:
        raise NotAllowed(
            f"This deployment is {deployment.get_status_display().lower()}; "
            "its checklist is closed."
        )
    return deployment, item


def _note(item: RunItem, note_id) -> ItemNote | None:
    if note_id in (None, ""):
        return None
    note = (
        ItemNote.objects.filter(pk=note_id, item=item).first() if str(note_id).isdecimal() else None
    )
    if note is None:
        raise RunError("That note is not on this item.")
    if note.is_deleted:
        raise RunError("That note was deleted; attach the evidence to the item or another note.")
    return note


def _title(title: str, default: str) -> str:
    title = " ".join((title or "").split()) or default
    if len(title) > TITLE_MAX:
        raise RunError(f"A title can be at most {TITLE_MAX} characters; this one has {len(title)}.")
    if "\x00" in title:
        raise RunError("A title cannot contain a NUL character.")
    return title


def check_url(url: str) -> str:
    """An http(s) URL with a host, as typed (stripped); RunError otherwise."""
    url = (url or "").strip()
    if not url:
        raise RunError("A link needs a URL (https://…).")
    if len(url) > URL_MAX:
        raise RunError(f"A link can be at most {URL_MAX} characters long.")
    if any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise RunError("A link cannot contain spaces or control characters.")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise RunError("That is not a valid URL.") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise RunError("A link must start with https:// or http:// and name a host.")
    return url


@transaction.atomic
def add_link(
    *, deployment_id: int, item_id: int, url: str, title: str = "", user, note_id=None, request=None
) -> Change:
    """Back an item (or one of its notes) with a link; its title is the one given
    (the URL itself without one). The server never fetches the link."""
    deployment, item = _locked_item(user, deployment_id, item_id)
    note = _note(item, note_id)
    return record_link(
        deployment, item, url=url, title=title, user=user, note=note, request=request
    )


def record_link(
    deployment: Deployment, item: RunItem, *, url: str, title: str, user, note=None, request=None
) -> Change:
    """Add a link to an item of a deployment the caller holds locked (after its checks)."""
    url = check_url(url)
    evidence = Evidence.objects.create(
        deployment=deployment,
        item=item,
        note=note,
        kind=Evidence.Kind.LINK,
        title=_title(title, url[:TITLE_MAX]),
        url=url,
        added_by=user,
        added_by_name=display_name(user) if user is not None else "system",
    )
    return _added(deployment, item, evidence, request)


def add_file(
    *, deployment_id: int, item_id: int, upload, title: str = "", user, note_id=None, request=None
) -> Change:
    """Back an item (or one of its notes) with a file: a screenshot, a log excerpt
    or a PDF, at most EVIDENCE_MAX_BYTES, its type read from its bytes."""
    name = ""
    try:
        with transaction.atomic():
            deployment, item = _locked_item(user, deployment_id, item_id)
            note = _note(item, note_id)
            file_type, digest = _check_file(upload)
            filename = _clean_filename(getattr(upload, "name", "") or "")
            evidence = Evidence(
                deployment=deployment,
                item=item,
                note=note,
                kind=Evidence.Kind.FILE,
                title=_title(title, filename or "File"),
                filename=content.download_name(filename, file_type),
                content_type=file_type.content_type,
                size=upload.size,
                sha256=digest,
                added_by=user,
                added_by_name=display_name(user),
            )
            upload.seek(0)
            evidence.file.save("upload", upload, save=False)
            name = evidence.file.name
            evidence.save()
            return _added(deployment, item, evidence, request)
    except BaseException:
        # Refused or rolled back: the stored file must not outlive its row.
        if name:
            default_storage.delete(name)
        raise


def _check_file(upload) -> tuple[content.FileType, str]:
    if upload is None:
        raise RunError("Choose a file to add.")
    limit = settings.EVIDENCE_MAX_BYTES
    if upload.size > limit:
        size, most = content.size_label(upload.size), content.size_label(limit)
        # Rounded, a file a few bytes over reads as the limit itself: say "just over".
        size = f"just over {most}" if size == most else size
        raise RunError(
            f"This file is {size}; evidence files can be at most {most}. "
            "Add a smaller excerpt or a link instead."
        )
    if not upload.size:
        raise RunError("This file is empty.")
    upload.seek(0)
    file_type = content.sniff(upload.read(content.HEAD_BYTES))
    if file_type is None:
        raise RunError(
            f"This file is not one of the accepted types ({content.ACCEPTED}); its content "
            "was checked, not its name."
        )
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    return file_type, digest.hexdigest()


def _clean_filename(name: str) -> str:
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(c for c in name if c.isprintable())[:150].strip()


def _added(deployment: Deployment, item: RunItem, evidence: Evidence, request) -> Change:
    item.assign_version += 1
    item.save(update_fields=["assign_version"])
    seq = deployment.next_seq()
    after = {
        "evidence_id": evidence.pk,
        "kind": evidence.kind,
        "title": evidence.title,
        "note_id": evidence.note_id,
    }
    if evidence.kind == Evidence.Kind.LINK:
        after["url"] = evidence.url
    else:
        after |= {
            "filename": evidence.filename,
            "content_type": evidence.content_type,
            "size": evidence.size,
            "sha256": evidence.sha256,
        }
    record_event(
        action="evidence.added",
        actor=evidence.added_by,
        deployment=deployment,
        seq=seq,
        target=item,
        after=after,
        request=request,
    )
    deployment_id, item_id = deployment.pk, item.pk
    broadcast_on_commit(
        deployment_id, lambda: item_message(deployment_id, item_id, seq, "evidence")
    )
    return Change(evidence, changed=True, seq=seq)


def evidence_for_download(user, deployment_id: int, evidence_id: int) -> Evidence:
    """A file of a deployment `user` may read; NoAccess (404) otherwise."""
    deployment, _ = access.get_deployment_for(user, deployment_id)
    evidence = Evidence.objects.filter(
        pk=evidence_id, deployment=deployment, kind=Evidence.Kind.FILE
    ).first()
    if evidence is None:
        raise NoAccess("No such file.")
    return evidence


@transaction.atomic
def locked_item_check(user, deployment_id: int, item_id: int) -> None:
    """Refuse as adding evidence would (404, 403) before anything is said about
    the input: what the view does with an upload it stopped reading."""
    _locked_item(user, deployment_id, item_id)
