import pytest

from tickets.models import Inbox

from .checks import assert_error

pytestmark = pytest.mark.django_db


def test_inboxes_are_listed_without_secrets(api, inbox, email_inbox, sms_inbox):
    response = api.get("/api/v1/inboxes/")

    assert response.status_code == 200
    assert b"secret" not in response.content
    for secret in (*inbox.secrets.values(), *sms_inbox.secrets.values()):
        assert secret.encode() not in response.content
    by_id = {i["id"]: i for i in response.json()["results"]}
    assert by_id[sms_inbox.pk]["webhook_url"] == f"/inbound/sms/{sms_inbox.key}/"
    assert by_id[sms_inbox.pk]["team"]["name"] == "Support"


def test_an_inbox_is_shown_without_secrets(api, sms_inbox):
    response = api.get(f"/api/v1/inboxes/{sms_inbox.pk}/")

    assert response.json()["channel"] == "sms"
    assert "secrets" not in response.json()
    assert sms_inbox.secrets["auth_token"].encode() not in response.content
    assert_error(api.get("/api/v1/inboxes/9999/"), 404, "not_found")


def test_an_admin_creates_an_inbox_and_sees_its_secrets_once(admin_api, team):
    response = admin_api.post(
        "/api/v1/inboxes/",
        {"channel": "messenger", "name": "Facebook page", "language": "pl", "team": team.pk},
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    inbox = Inbox.objects.get(pk=body["id"])
    assert body["secrets"] == inbox.secrets
    assert set(body["secrets"]) == {"app_secret", "verify_token"}
    assert body["webhook_url"] == f"/inbound/messenger/{inbox.key}/"
    assert body["language"] == "pl" and body["team"]["id"] == team.pk
    assert "secrets" not in admin_api.get(f"/api/v1/inboxes/{inbox.pk}/").json()


def test_an_admin_can_give_the_providers_own_secret(admin_api):
    response = admin_api.post(
        "/api/v1/inboxes/",
        {"channel": "sms", "name": "Twilio", "secrets": {"auth_token": "from-twilio"}},
        format="json",
    )

    assert response.status_code == 201, response.content
    assert Inbox.objects.get(pk=response.json()["id"]).secrets == {"auth_token": "from-twilio"}


def test_only_admins_create_inboxes(api, manager_api):
    for client in (api, manager_api):
        body = assert_error(
            client.post("/api/v1/inboxes/", {"channel": "sms", "name": "x"}, format="json"),
            403,
            "permission_denied",
        )
        assert body["detail"] == "Only admins can create inboxes."
    assert not Inbox.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"channel": "fax", "name": "x"}, "channel"),
        ({"channel": "sms"}, "name"),
        ({"channel": "sms", "name": "x", "team": 999}, "team"),
        ({"channel": "sms", "name": "x", "secrets": {"app_secret": "y"}}, "secrets"),
    ],
)
def test_a_bad_inbox_is_refused(admin_api, payload, field):
    body = assert_error(admin_api.post("/api/v1/inboxes/", payload, format="json"), 400, "invalid")

    assert list(body["fields"]) == [field]
    assert not Inbox.objects.exists()


def test_a_blank_inbox_name_is_refused(admin_api):
    assert_error(
        admin_api.post("/api/v1/inboxes/", {"channel": "sms", "name": "  "}, format="json"), 400
    )
    assert not Inbox.objects.exists()


def test_an_imap_password_given_at_creation_is_kept_but_never_echoed(admin_api):
    response = admin_api.post(
        "/api/v1/inboxes/",
        {
            "channel": "email",
            "name": "Mailbox",
            "config": {"address": "help@shop.example", "imap": {"host": "127.0.0.1"}},
            "secrets": {"imap_password": "hunter2-imap"},
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert "imap_password" not in response.json()["secrets"]
    assert response.json()["secrets"]["token"]
    assert Inbox.objects.get(pk=response.json()["id"]).secrets["imap_password"] == "hunter2-imap"
