import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tickets.models import Message, Ticket

from .checks import assert_error

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    ("get", "/api/v1/customers/"),
    ("get", "/api/v1/customers/1/"),
    ("get", "/api/v1/customers/1/timeline/"),
    ("post", "/api/v1/customers/1/merge/"),
    ("post", "/api/v1/customers/1/identities/"),
    ("get", "/api/v1/tickets/"),
    ("post", "/api/v1/tickets/"),
    ("get", "/api/v1/tickets/1/"),
    ("patch", "/api/v1/tickets/1/"),
    ("post", "/api/v1/tickets/1/replies/"),
    ("post", "/api/v1/tickets/1/notes/"),
    ("post", "/api/v1/tickets/1/merge/"),
    ("post", "/api/v1/tickets/1/split/"),
    ("get", "/api/v1/tickets/1/messages/"),
    ("get", "/api/v1/inboxes/"),
    ("post", "/api/v1/inboxes/"),
    ("get", "/api/v1/inboxes/1/"),
]


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_it_requires_a_token(anonymous, method, url):
    response = getattr(anonymous, method)(url, {}, format="json")

    body = assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Token"
    assert "credentials" in body["detail"]


def test_it_refuses_a_wrong_token(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    assert_error(client.get("/api/v1/tickets/"), 401, "authentication_failed")


def test_it_refuses_an_account_without_a_helpdesk_role(db):
    user = get_user_model().objects.create_user("visitor@example.com", password="x" * 12)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")

    body = assert_error(client.get("/api/v1/customers/"), 403, "permission_denied")
    assert "helpdesk role" in body["detail"]


def test_it_answers_unknown_endpoints_with_json(api):
    assert_error(api.get("/api/v1/nothing-here/"), 404, "not_found")
    body = assert_error(api.get("/api/v1/tickets"), 404, "not_found")
    assert "Did you mean /api/v1/tickets/ ?" in body["detail"]


def test_it_answers_a_wrong_method_with_json(api):
    assert_error(api.delete("/api/v1/tickets/"), 405, "method_not_allowed")


def test_it_answers_malformed_json_with_400_and_stores_nothing(api, inbox, receive):
    ticket = receive(inbox).ticket

    response = api.post(
        f"/api/v1/tickets/{ticket.pk}/replies/", "{not json", content_type="application/json"
    )

    assert_error(response, 400, "parse_error")
    assert Message.objects.count() == 1


def test_it_wants_a_json_object_not_a_list(api, inbox, receive):
    ticket = receive(inbox).ticket

    response = api.post(f"/api/v1/tickets/{ticket.pk}/notes/", ["hello"], format="json")

    body = assert_error(response, 400, "invalid")
    assert body["detail"] == "The request body must be a JSON object."


def test_it_lists_field_errors_with_a_readable_sentence(api, inbox):
    response = api.post(
        "/api/v1/tickets/", {"inbox": "x", "subject": 5, "colour": "red"}, format="json"
    )

    body = assert_error(response, 400, "invalid")
    assert set(body["fields"]) == {"colour"}
    assert body["detail"].startswith("colour: Unknown field; this request takes: ")

    response = api.post(
        "/api/v1/tickets/", {"inbox": "x", "identity": {"kind": "email"}}, format="json"
    )

    body = assert_error(response, 400, "invalid")
    assert body["fields"] == {
        "identity.value": ["This field is required."],
        "inbox": ["A valid integer is required."],
    }
    assert body["detail"] == "identity.value: This field is required. (1 more problem in fields.)"
    assert Ticket.objects.count() == 0


def test_the_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/tickets/{id}/replies/" in schema.content
    assert client.get("/api/docs/").status_code == 200


def test_errors_are_json_even_for_a_browser(api, anonymous):
    browser = "text/html,application/xhtml+xml,*/*;q=0.8"

    assert_error(api.get("/api/v1/tickets/999/", HTTP_ACCEPT=browser), 404, "not_found")
    assert_error(anonymous.get("/api/v1/tickets/", HTTP_ACCEPT=browser), 401)
    assert_error(api.get("/api/v1/tickets/", HTTP_ACCEPT="text/html"), 406, "not_acceptable")
