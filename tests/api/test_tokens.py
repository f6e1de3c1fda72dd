"""Token pages and rules: shown once, stored hashed, expiry, last use, revocation,
service tokens for admins only, and the rate limit."""

import hashlib
import uuid

import pytest
from django.test import Client
from django.utils import timezone

from deploychecks.api import ratelimit, tokens
from deploychecks.api.models import ApiToken
from deploychecks.audit.models import AuditEvent
from tests.api.conftest import Api


def test_a_personal_token_is_shown_once_and_stored_hashed(engineer_client, engineer):
    response = engineer_client.post(
        "/account/tokens/", {"name": "laptop", "scopes": ["read", "tick"], "expires_in_days": "30"}
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    secret = response.context["new_secret"]
    assert secret.startswith("dct_") and secret.encode() in response.content
    token = ApiToken.objects.get(user=engineer)
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(ApiToken.objects.filter(pk=token.pk).values().get())
    assert token.scopes == ["read", "tick"]
    assert 29 <= (token.expires_at - timezone.now()).days <= 30
    again = engineer_client.get("/account/tokens/")
    assert secret.encode() not in again.content and b"laptop" in again.content
    assert AuditEvent.objects.filter(action="api_token.created", target_id=str(token.pk)).exists()


def test_use_is_recorded_and_a_revoked_token_stops_at_once(client, engineer, deployment):
    token, secret = tokens.create_personal_token(user=engineer, name="t", scopes=["read"])
    api = Api(client, secret)
    assert api.get(f"/deployments/{deployment.pk}").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None and token.last_used_ip == "127.0.0.1"
    assert tokens.revoke_token(user=engineer, token_id=token.pk)
    assert api.get(f"/deployments/{deployment.pk}").status_code == 401


def test_nobody_revokes_someone_elses_personal_token(engineer, lead):
    token, _ = tokens.create_personal_token(user=engineer, name="t", scopes=["read"])
    with pytest.raises(tokens.RunError):
        tokens.revoke_token(user=lead, token_id=token.pk)
    token.refresh_from_db()
    assert token.revoked_at is None


def test_service_tokens_are_the_admins(engineer, admin_client, admin_user):
    someone = Client()
    someone.force_login(engineer)
    assert someone.get("/admin-tokens/").status_code == 403
    response = admin_client.post(
        "/admin-tokens/",
        {
            "name": "ci checkout",
            "scopes": ["read", "tick"],
            "services": "checkout-api\nbilling",
            "environments": "production",
            "expires_in_days": "90",
        },
    )
    assert response.status_code == 200, response.content
    token = ApiToken.objects.get(kind="service")
    assert token.services == ["billing", "checkout-api"]
    assert token.environments == ["production"]
    assert token.user.username == "svc-ci-checkout"
    assert not token.user.has_usable_password()
    old_hash = token.token_hash
    admin_client.post("/admin-tokens/", {"rotate": str(token.pk)})
    token.refresh_from_db()
    assert token.token_hash != old_hash and token.user.username == "svc-ci-checkout"


def test_the_rate_limit_answers_429_with_retry_after(client, engineer, deployment):
    token, secret = tokens.create_personal_token(user=engineer, name="t", scopes=["read"])
    ApiToken.objects.filter(pk=token.pk).update(rate_limit=3)
    api = Api(client, secret)
    answers = [api.get(f"/deployments/{deployment.pk}") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[0]["RateLimit-Remaining"] == "2"
    assert 1 <= int(answers[3]["Retry-After"]) <= 60
    assert answers[3].json()["type"].endswith("rate-limited")


def test_the_window_resets_the_count():
    key = f"test-window-{uuid.uuid4()}"
    first = [ratelimit.take(key, 2, now=1_000_020.0).allowed for _ in range(3)]
    later = ratelimit.take(key, 2, now=1_000_080.0)
    assert first == [True, True, False] and later.allowed
