import pytest

from tickets.merge import link_identity
from tickets.models import Customer, EventKind, Identity, IdentityKind, TimelineEvent
from tickets.replies import add_note, record_reply

from .checks import assert_error

pytestmark = pytest.mark.django_db


def test_it_lists_customers_newest_first_with_cursor_pages(api, inbox, receive):
    for n in range(5):
        receive(inbox, sender=f"c{n}@example.com", name=f"Customer {n}")

    first = api.get("/api/v1/customers/", {"page_size": 2}).json()
    second = api.get(first["next"]).json()
    third = api.get(second["next"]).json()

    names = [c["name"] for page in (first, second, third) for c in page["results"]]
    assert names == [f"Customer {n}" for n in (4, 3, 2, 1, 0)]
    assert third["next"] is None
    assert first["previous"] is None and second["previous"]


def test_it_searches_name_company_and_identity(api, inbox, receive):
    anna = receive(inbox, sender="anna@firma.pl", name="Anna Nowak").ticket.customer
    piotr = receive(inbox, sender="piotr@example.com", name="Piotr Zieliński").ticket.customer
    Customer.objects.filter(pk=piotr.pk).update(company="Firma Sp. z o.o.")
    receive(inbox, sender="eve@example.com", name="Eve")

    def found(q):
        return sorted(c["id"] for c in api.get("/api/v1/customers/", {"q": q}).json()["results"])

    assert found("nowak") == [anna.pk]
    assert found("FIRMA") == sorted([anna.pk, piotr.pk])  # identity value, company
    assert found("zieliń") == [piotr.pk]
    assert found("nobody") == []


def test_it_shows_a_customer_with_identities_attributes_tags_and_locale(api, jan):
    customer, _, _ = jan

    body = api.get(f"/api/v1/customers/{customer.pk}/").json()

    assert body["name"] == "Jan Kowalski"
    assert body["locale"] == "en"
    assert body["attributes"] == {} and body["tags"] == []
    assert [(i["kind"], i["value"]) for i in body["identities"]] == [
        ("email", "jan@example.com"),
        ("phone", "+48600100200"),
    ]
    assert body["merged_into"] is None


def test_the_timeline_spans_channels_and_tickets_newest_first(api, agent, jan):
    customer, mail_ticket, sms_ticket = jan
    record_reply(ticket=mail_ticket, author=agent, text="It ships tomorrow.")
    add_note(ticket=sms_ticket, author=agent, text="Same person as the email.")

    body = api.get(f"/api/v1/customers/{customer.pk}/timeline/").json()

    events = body["results"]
    ids = [e["id"] for e in events]
    assert ids == sorted(ids, reverse=True)
    messages = [e for e in events if e["kind"] in ("message", "note")]
    assert [(e["message"]["channel"], e["message"]["text"]) for e in messages] == [
        ("sms", "Same person as the email."),
        ("email", "It ships tomorrow."),
        ("sms", "Any news?"),
        ("email", "Order 1234 is late"),
    ]
    assert {e["ticket"]["id"] for e in messages} == {mail_ticket.pk, sms_ticket.pk}
    note = messages[0]
    assert note["kind"] == "note" and note["message"]["is_note"]
    assert note["actor"]["name"] == "Agnieszka Nowak"
    reply = messages[1]
    assert reply["message"]["direction"] == "out"
    assert reply["message"]["delivery_state"] == "pending"
    assert reply["ticket"]["subject"] == "Order 1234"
    linked = next(e for e in events if e["kind"] == "identity_linked")
    assert linked["ticket"] is None and linked["data"]["identity"] == "phone:+48600100200"
    assert body["next"] is None and body["next_before"] is None


def test_the_timeline_pages_back_with_before(api, jan):
    customer, _, _ = jan
    all_ids = list(
        TimelineEvent.objects.filter(customer=customer).order_by("-id").values_list("id", flat=True)
    )

    first = api.get(f"/api/v1/customers/{customer.pk}/timeline/", {"page_size": 2}).json()
    assert [e["id"] for e in first["results"]] == all_ids[:2]
    assert first["next_before"] == all_ids[1]
    assert f"before={all_ids[1]}" in first["next"]

    seen = [e["id"] for e in first["results"]]
    page = first
    while page["next"]:
        page = api.get(page["next"]).json()
        seen += [e["id"] for e in page["results"]]
    assert seen == all_ids

    assert_error(api.get(f"/api/v1/customers/{customer.pk}/timeline/", {"before": "x"}), 400)
    assert_error(api.get(f"/api/v1/customers/{customer.pk}/timeline/", {"page_size": 0}), 400)


def test_it_merges_customers(api, agent, email_inbox, jan, receive):
    customer, _, _ = jan
    twin = receive(
        email_inbox, sender="jan.kowalski@work.example", kind=IdentityKind.EMAIL, name=""
    ).ticket.customer

    response = api.post(
        f"/api/v1/customers/{customer.pk}/merge/", {"source": twin.pk}, format="json"
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == customer.pk
    assert "jan.kowalski@work.example" in [i["value"] for i in body["identities"]]
    twin.refresh_from_db()
    assert twin.merged_into_id == customer.pk
    event = TimelineEvent.objects.get(customer=customer, kind=EventKind.CUSTOMER_MERGED)
    assert event.actor == agent and event.data["source_id"] == twin.pk
    listed = [c["id"] for c in api.get("/api/v1/customers/").json()["results"]]
    assert twin.pk not in listed


def test_it_refuses_a_bad_merge_and_changes_nothing(api, jan):
    customer, _, _ = jan

    body = assert_error(
        api.post(f"/api/v1/customers/{customer.pk}/merge/", {"source": customer.pk}, format="json"),
        400,
        "merge_error",
    )
    assert body["detail"] == "A customer cannot be merged into itself."
    body = assert_error(
        api.post(f"/api/v1/customers/{customer.pk}/merge/", {"source": 999}, format="json"),
        400,
        "invalid",
    )
    assert body["fields"]["source"] == ["There is no customer #999 that you can see."]
    assert not Customer.objects.filter(merged_into__isnull=False).exists()


def test_it_links_an_identity_once(api, agent, jan):
    customer, _, _ = jan
    url = f"/api/v1/customers/{customer.pk}/identities/"

    created = api.post(url, {"kind": "email", "value": " Jan@Home.Example "}, format="json")
    again = api.post(url, {"kind": "email", "value": "jan@home.example"}, format="json")

    assert created.status_code == 201 and again.status_code == 200
    assert created.json()["value"] == "jan@home.example"
    assert created.json()["id"] == again.json()["id"]
    assert Identity.objects.filter(customer=customer).count() == 3
    event = TimelineEvent.objects.filter(kind=EventKind.IDENTITY_LINKED, actor=agent).get()
    assert event.data["identity"] == "email:jan@home.example"


def test_it_stores_phone_numbers_in_international_form(api, jan):
    customer, _, _ = jan
    url = f"/api/v1/customers/{customer.pk}/identities/"

    response = api.post(url, {"kind": "phone", "value": "+420 601 123 456"}, format="json")

    assert response.status_code == 201
    assert response.json()["value"] == "+420601123456"
    body = assert_error(api.post(url, {"kind": "phone", "value": "601 123"}, format="json"), 400)
    assert "international" in body["fields"]["value"][0]


def test_it_refuses_identities_that_are_bad_or_taken(api, inbox, jan, receive):
    customer, _, _ = jan
    other = receive(inbox, sender="someone@example.com").ticket.customer
    link_identity(customer=other, kind=IdentityKind.EMAIL, value="taken@example.com")
    url = f"/api/v1/customers/{customer.pk}/identities/"

    body = assert_error(
        api.post(url, {"kind": "email", "value": "not an address"}, format="json"), 400
    )
    assert body["fields"] == {"value": ["Enter a valid email address."]}
    body = assert_error(api.post(url, {"kind": "fax", "value": "123"}, format="json"), 400)
    assert "kind" in body["fields"]
    body = assert_error(
        api.post(url, {"kind": "email", "value": "taken@example.com"}, format="json"),
        400,
        "merge_error",
    )
    assert "merge the customers instead" in body["detail"]
    assert Identity.objects.filter(customer=customer).count() == 2


def test_agents_see_only_customers_of_their_teams(
    api, other_api, manager_api, jan, other_inbox, receive
):
    customer, _, _ = jan
    billing_only = receive(other_inbox, sender="billing@example.com").ticket.customer

    assert [c["id"] for c in api.get("/api/v1/customers/").json()["results"]] == [customer.pk]
    assert [c["id"] for c in other_api.get("/api/v1/customers/").json()["results"]] == [
        billing_only.pk
    ]
    assert len(manager_api.get("/api/v1/customers/").json()["results"]) == 2
    for url in (
        f"/api/v1/customers/{billing_only.pk}/",
        f"/api/v1/customers/{billing_only.pk}/timeline/",
    ):
        body = assert_error(api.get(url), 404, "not_found")
        assert body["detail"] == f"There is no customer #{billing_only.pk} that you can see."
    assert_error(
        api.post(
            f"/api/v1/customers/{billing_only.pk}/identities/",
            {"kind": "email", "value": "x@example.com"},
            format="json",
        ),
        404,
    )
    body = assert_error(
        api.post(
            f"/api/v1/customers/{customer.pk}/merge/", {"source": billing_only.pk}, format="json"
        ),
        400,
    )
    assert "source" in body["fields"]
    billing_only.refresh_from_db()
    assert billing_only.merged_into_id is None


def test_the_timeline_leaves_out_other_teams_tickets(api, jan, other_inbox, receive):
    customer, _, _ = jan
    link_identity(customer=customer, kind=IdentityKind.TEST, value="jan-test")
    billing = receive(other_inbox, sender="jan-test", text="A billing question").ticket
    assert billing.customer_id == customer.pk

    events = api.get(f"/api/v1/customers/{customer.pk}/timeline/").json()["results"]

    assert billing.pk not in {e["ticket"]["id"] for e in events if e["ticket"]}
