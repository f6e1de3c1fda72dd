"""What the API takes and gives, as pydantic schemas (the OpenAPI document is
made from them). Text is refused with a NUL character: PostgreSQL cannot
store one, and nobody types it."""

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError as DjangoValidationError
from ninja import Field, Path, Schema
from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

from deploychecks.core import provenance
from deploychecks.core.text import NOTE_MAX, REASON_MAX
from deploychecks.runs.models import PLANNED_START_MESSAGE, validate_planned_start


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("text may not contain a NUL character")
    return value


def _web_url(value: str) -> str:
    if value and not provenance.is_web_url(value):
        raise ValueError("must be an absolute http:// or https:// URL")
    return value


NO_NUL = r"^[^\x00]*$"


def Text(max_length: int, min_length: int = 0):  # noqa: N802  a type, used like one
    return Annotated[
        str,
        StringConstraints(max_length=max_length, min_length=min_length, pattern=NO_NUL),
        AfterValidator(_no_nul),
    ]


# The schema says what the validators check, so that a client (and schemathesis)
# can tell a valid request from the document alone.
WEB_URL = r"^(https?://[^\s/?#\x00]+[^\s\x00]*)?$"
Url = Annotated[
    str,
    StringConstraints(max_length=provenance.URL_MAX, pattern=WEB_URL),
    AfterValidator(_web_url),
]
GateTarget = Literal["go-live", "complete"]
# Ids in paths: what a database id can be (a bigger number would reach the
# database and fail there).
Id = Path[int, {"ge": 1, "le": 2**63 - 1}]
Position = Path[int, {"ge": 1, "le": 2**31 - 1}]
ItemRef = Path[str, {"max_length": 80, "pattern": r"^[A-Za-z0-9_-]+$"}]


class In(BaseModel):
    """A request body: plain pydantic (ninja's Schema also reads attributes of
    any object, so a list where an object belongs would pass), unknown fields
    refused."""

    model_config = ConfigDict(extra="forbid")


class CIContext(In):
    """The CI run making the change (all optional); the CLI fills it from GitHub
    Actions' and GitLab CI's environment."""

    provider: Text(40) = Field("", description="github-actions, gitlab-ci, jenkins…")
    run_id: Text(100) = ""
    run_url: Url = ""
    commit_sha: Annotated[str, StringConstraints(max_length=64, pattern=r"^[0-9a-fA-F]*$")] = ""
    commit_url: Url = ""
    job: Text(provenance.TEXT_MAX) = ""


class Problem(Schema):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    unmet: list[dict[str, Any]] | None = None
    current: dict[str, Any] | None = None
    errors: list[dict[str, Any]] | None = None


# --- Templates ----------------------------------------------------------------------


class RevisionOut(Schema):
    id: int
    number: int
    created_at: datetime
    change_note: str


class TemplateOut(Schema):
    id: int
    name: str
    is_default: bool
    latest_revision: RevisionOut | None


class TemplateItemOut(Schema):
    key: str
    title: str
    summary: str
    required: bool
    owners: list[str]
    due: str
    subchecks: list[str]


class TemplatePhaseOut(Schema):
    title: str
    timing_label: str
    stage: str
    items: list[TemplateItemOut]


class TemplateDetailOut(TemplateOut):
    revision: RevisionOut
    revisions: list[RevisionOut]
    phases: list[TemplatePhaseOut]
    signoff_roles: list[str]


class ImportIn(In):
    markdown: Text(4_000_000, 1)
    dry_run: bool = True
    name: Text(200) = Field("", description="Title for a checklist that has none")
    template_id: int | None = Field(None, description="Save as a new revision of this template")
    change_note: Text(300) = ""


class ImportOut(Schema):
    saved: bool
    name: str
    counts: dict[str, Any]
    ignored: list[dict[str, Any]]
    template_id: int | None = None
    revision: int | None = None


# --- Deployments -----------------------------------------------------------------------


def _in_utc(value: datetime | None) -> datetime | None:
    """PostgreSQL refuses a UTC offset beyond ±15:59 (ISO 8601 allows ±23:59):
    a time is stored in UTC anyway, so it is converted on the way in."""
    if value is None or value.tzinfo is None:
        return value
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time is out of range") from None


UtcTime = Annotated[datetime, AfterValidator(_in_utc)]


def _near_today(value: datetime | None) -> datetime | None:
    """A planned start within PLANNED_START_YEARS of today (due times add to it)."""
    if value is not None:
        try:
            validate_planned_start(value if value.tzinfo else value.replace(tzinfo=UTC))
        except DjangoValidationError:
            raise ValueError(PLANNED_START_MESSAGE) from None
    return value


class ItemAssignmentIn(In):
    """An item's owners and due time, replacing the template's; a field left out
    keeps the template's."""

    owners: list[Text(150, 1)] | None = Field(
        None,
        max_length=10,
        description="Usernames, sign-off roles by slug (devops-lead) or lead; [] for none",
    )
    due: Text(60) | None = Field(
        None,
        description="e.g. “2h after go-live”, “30m after phase start”, "
        '“1d before window start”; "" for none',
    )


class DeploymentIn(In):
    template: Text(200, 1) = Field(..., description="The template's name or id")
    revision: int | None = Field(None, ge=1, description="Its revision; the latest by default")
    service: Text(120, 1)
    environment: Text(60, 1) = "production"
    version: Text(60, 1)
    previous_version: Text(60) = ""
    release_name: Text(200) = Field("", description="Default: “<service> <version>”")
    lead: Text(150) = Field("", description="Username; default the token's person")
    planned_start: Annotated[UtcTime, AfterValidator(_near_today)] | None = None
    ci: CIContext | None = None
    items: dict[Text(80, 1), ItemAssignmentIn] | None = Field(
        None,
        max_length=2000,
        description="Owners and due times by item key (GET /templates/{id} lists the keys); "
        "an unknown key refuses the whole deployment",
    )


class DeploymentSummary(Schema):
    id: int
    url: str
    release_name: str
    service: str
    environment: str
    version: str
    previous_version: str
    status: str
    lead: str | None
    template: str
    created_at: datetime
    started_at: datetime | None
    go_live_at: datetime | None
    ended_at: datetime | None


class DeploymentPage(Schema):
    count: int
    page: int
    pages: int
    results: list[DeploymentSummary]


class SubCheckOut(Schema):
    position: int
    title: str
    done: bool
    version: int
    changed_by: str | None
    changed_at: datetime | None


class NoteOut(Schema):
    kind: str
    author: str
    body: str
    created_at: datetime
    id: int
    reply_to: int | None = Field(None, description="the note this one replies to")
    edited_at: datetime | None = None
    deleted: bool = Field(False, description="a tombstone: its text is gone")


class EvidenceOut(Schema):
    id: int
    kind: Literal["link", "file"]
    title: str
    url: str = Field(description="The link (kind “link”), or where to download the file")
    filename: str = Field(description="A file's name, with the extension of its real type")
    content_type: str = Field(description="A file's type, read from its bytes")
    size: int
    sha256: str
    added_by: str
    created_at: datetime


class ItemOut(Schema):
    id: int
    key: str
    title: str
    summary: str
    required: bool
    section: str | None
    step: str | None
    state: str
    na_reason: str
    version: int
    changed_by: str | None
    changed_at: datetime | None
    changed_via: dict[str, Any] | None
    owners: list[str]
    due: str = Field(description="e.g. “2h after go-live”; empty without a due time")
    overdue_since: datetime | None
    subchecks: list[SubCheckOut]
    notes: list[NoteOut]
    evidence_required: bool = Field(description="A tick is refused until the item has evidence")
    evidence: list[EvidenceOut]


class PhaseOut(Schema):
    id: int
    title: str
    timing_label: str
    stage: str
    items: list[ItemOut]


class SignoffOut(Schema):
    role: str
    needed_before_go_live: bool
    state: str
    approvers: list[str]
    signer: str | None
    decision: str | None
    signed_at: datetime | None


class VerdictOut(Schema):
    level: str
    rule: str


class DeploymentOut(DeploymentSummary):
    seq: int
    phases: list[PhaseOut]
    signoffs: list[SignoffOut]
    verdict: VerdictOut


# --- Changes -----------------------------------------------------------------------------


class ItemStateIn(In):
    state: Literal["done", "open", "na"]
    expected_version: int = Field(..., ge=1, le=2_147_483_647)
    reason: Text(REASON_MAX) = Field("", description="Needed with state “na”")
    evidence_url: Url = Field("", description="A link shown with the tick (a CI run, a report)")
    ci: CIContext | None = None


class SubCheckStateIn(In):
    done: bool
    expected_version: int = Field(..., ge=1, le=2_147_483_647)
    ci: CIContext | None = None


class NoteIn(In):
    body: Text(NOTE_MAX, 1) = Field(
        ...,
        description="@name tells that person (the lead or a participant of the deployment); "
        "an @name of anyone else refuses the note with 422 (problem type mention-refused, "
        "`refused` lists the names)",
    )
    kind: Literal["note", "deviation"] = "note"
    reply_to: int | None = Field(
        None, ge=1, le=2**63 - 1, description="id of a note of the same item this one answers"
    )
    ci: CIContext | None = None


class EvidenceLinkIn(In):
    url: Url = Field(..., min_length=1, description="http(s) only; never fetched by the server")
    title: Text(200) = Field("", description="Shown instead of the URL; the URL without one")
    ci: CIContext | None = None


class StatusIn(In):
    to: Literal["in_progress", "monitoring", "completed", "rolled_back", "aborted"]
    reason: Text(REASON_MAX) = ""
    acknowledgement: Text(300) = Field(
        "", description="Typed to go live on a YELLOW verdict, as on the page"
    )
    ci: CIContext | None = None


class ChangeOut(Schema):
    changed: bool
    seq: int | None


class ItemChangeOut(ChangeOut):
    item: ItemOut


class StatusChangeOut(ChangeOut):
    status: str


class NoteChangeOut(ChangeOut):
    note: NoteOut


class EvidenceChangeOut(ChangeOut):
    evidence: EvidenceOut


class GateOut(Schema):
    deployment: int
    target: GateTarget = Field(..., alias="for")
    status: Literal["open", "closed"]
    final: bool = Field(..., description="true when the answer can no longer change")
    deployment_status: str
    message: str
    unmet: list[dict[str, Any]]
    waited_seconds: float = 0

    model_config = ConfigDict(populate_by_name=True)


# --- Readings, audit ------------------------------------------------------------------


class ReadingIn(In):
    signal: Text(80, 1)
    value: float = Field(..., allow_inf_nan=False)
    observed_at: datetime | None = None
    note: Text(NOTE_MAX) = ""
    ci: CIContext | None = None


class ReadingOut(Schema):
    id: int
    signal: str
    value: float
    observed_at: datetime
    grade: str | None


class AuditEventOut(Schema):
    id: int
    seq: int | None
    created_at: datetime
    actor: str | None
    action: str
    target_type: str
    target_id: str
    target: str
    before: Any
    after: Any
    via: dict[str, Any] | None


class AuditPage(Schema):
    count: int
    page: int
    pages: int
    results: list[AuditEventOut]
