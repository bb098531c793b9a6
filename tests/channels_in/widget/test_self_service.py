"""Self-service first, a person on request, email when nobody is in: the chat's way to an
answer over the real socket (channels_in/self_service.py, docs/widget-protocol.md).

Each test has an inbox of its own with self-service on; the server's help centre
holds the demo articles (knowledge/demo.py) in English, Polish and Czech. Nobody
is ever online on the test server, so every routed chat is "away".
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import uuid

import pytest

from tests.servers import manage

from .conftest import SITE, Visitor, WidgetServer, new_ip, open_visitor


def run(scenario) -> None:
    asyncio.run(scenario)


@pytest.fixture(scope="module")
def articles(widget_server: WidgetServer) -> dict[str, int]:
    """The demo help centre on the test server: slug -> article id."""
    code = (
        "import json; from knowledge.demo import seed_articles; from knowledge.models import "
        "Article; seed_articles(); "
        "print(json.dumps({a.slug: a.pk for a in Article.objects.all()}))"
    )
    return json.loads(manage(widget_server.env, "shell", "-c", code).strip().splitlines()[-1])


def new_inbox(server: WidgetServer, **config) -> dict:
    return server.api(
        "POST",
        "inboxes/",
        {
            "channel": "widget",
            "name": f"Chat {uuid.uuid4().hex[:6]}",
            "language": "pl",
            "config": {"allowed_origins": [SITE], "self_service": True, **config},
        },
    )


async def frames(visitor: Visitor, *types: str, timeout: float = 10) -> dict[str, dict]:
    """Read frames until one of each type came (in whatever order the server sends them)."""
    seen: dict[str, dict] = {}
    while not set(types) <= set(seen):
        frame = await visitor.receive(timeout)
        seen.setdefault(frame["type"], frame)
    return seen


def only_ticket(server: WidgetServer, inbox: dict) -> dict:
    [ticket] = server.api("GET", f"tickets/?inbox={inbox['id']}&status=any")["results"]
    return ticket


def self_service_events(server: WidgetServer, ticket: dict) -> list[dict]:
    customer = ticket["customer"]["id"]
    events = server.api("GET", f"customers/{customer}/timeline/?page_size=100")["results"]
    # The timeline is newest first; these read in the order they happened.
    return [e["data"] for e in reversed(events) if e["kind"] == "self_service"]


def test_articles_are_suggested_as_the_visitor_types(widget_server, articles):
    inbox = new_inbox(widget_server)

    async def scenario():
        async with open_visitor(widget_server, ip=new_ip(), key=inbox["key"]) as visitor:
            session = await visitor.receive()
            assert session["self_service"] is True
            # Inflected and without diacritics, as people type on a phone.
            answer = await visitor.exchange(
                {"type": "suggest", "q": "chce zwrocic towar", "language": "pl"}
            )
            assert answer["type"] == "articles"
            assert answer["q"] == "chce zwrocic towar"
            assert answer["articles"][0]["id"] == articles["zwrot-towaru"]
            assert answer["articles"][0]["title"] == "Zwrot towaru"
            assert answer["articles"][0]["excerpt"]
            czech = await visitor.exchange(
                {"type": "suggest", "q": "reklamaci zbozi", "language": "cs"}
            )
            assert czech["articles"][0]["id"] == articles["reklamace"]
            nothing = await visitor.exchange({"type": "suggest", "q": "a i", "language": "pl"})
            assert nothing["articles"] == []

    run(scenario())


def test_an_article_opens_in_the_chat(widget_server, articles):
    inbox = new_inbox(widget_server)

    async def scenario():
        async with open_visitor(widget_server, ip=new_ip(), key=inbox["key"]) as visitor:
            await visitor.receive()
            answer = await visitor.exchange({"type": "article", "id": articles["zwrot-towaru"]})
            assert answer["article"]["title"] == "Zwrot towaru"
            assert answer["article"]["paragraphs"][0]["kind"] == "p"
            missing = await visitor.exchange({"type": "article", "id": 999_999})
            assert missing == {"type": "article", "id": 999_999, "article": None}
            refused = await visitor.exchange({"type": "article", "id": "1"})
            assert refused["type"] == "error" and refused["code"] == "bad_frame"

    run(scenario())


def test_an_inbox_without_self_service_suggests_nothing(widget_server, articles):
    async def scenario():
        async with open_visitor(widget_server, ip=new_ip()) as visitor:
            session = await visitor.receive()
            assert session["self_service"] is False
            answer = await visitor.exchange({"type": "suggest", "q": "zwrot towaru"})
            assert answer["articles"] == []

    run(scenario())


def test_a_matching_question_is_held_and_answered_by_an_article(widget_server, articles):
    inbox = new_inbox(widget_server)

    async def scenario():
        async with open_visitor(widget_server, ip=new_ip(), key=inbox["key"]) as visitor:
            await visitor.receive()
            await visitor.send(
                {"type": "message", "body": "Jak zwrócić towar?", "client_id": "q-1"}
            )
            got = await frames(visitor, "ack", "suggestions")
            offer = got["suggestions"]
            assert offer["message"] == got["ack"]["id"]
            assert articles["zwrot-towaru"] in [a["id"] for a in offer["articles"]]
            ticket = only_ticket(widget_server, inbox)
            assert ticket["assignee"] is None
            assert ticket["status"] == "new"
            answer = await visitor.exchange(
                {"type": "answered", "articles": [], "opened": [articles["zwrot-towaru"]]}
            )
            assert answer == {"type": "answered", "solved": True}
            # Only a held chat is solved by the visitor: again changes nothing.
            again = await visitor.exchange({"type": "answered"})
            assert again == {"type": "answered", "solved": False}

    run(scenario())
    ticket = only_ticket(widget_server, inbox)
    assert ticket["status"] == "solved"
    suggested, answered = self_service_events(widget_server, ticket)
    assert suggested["action"] == "suggested"
    assert answered == {
        "action": "answered",
        "articles": [{"id": articles["zwrot-towaru"], "title": "Zwrot towaru", "opened": True}],
    }


def test_talk_to_a_person_hands_the_chat_over_with_what_the_visitor_read(widget_server, articles):
    inbox = new_inbox(widget_server, reply_within_hours=2)

    async def scenario():
        async with open_visitor(widget_server, ip=new_ip(), key=inbox["key"]) as visitor:
            await visitor.receive()
            await visitor.send(
                {"type": "message", "body": "Reklamacja uszkodzonego towaru", "client_id": "q-1"}
            )
            await frames(visitor, "ack", "suggestions")
            visitor.skip = set()  # the away notice is what this test is about
            await visitor.send(
                {
                    "type": "handoff",
                    "articles": [articles["reklamacja"], articles["zwrot-towaru"], 987_654],
                    "opened": [articles["reklamacja"]],
                }
            )
            got = await frames(visitor, "handoff", "away")
            assert got["handoff"] == {"type": "handoff", "state": "routed"}
            away = got["away"]
            assert away["within_hours"] == 2 and away["reply_by"] is None
            assert away["email"] == ""

    run(scenario())
    ticket = only_ticket(widget_server, inbox)
    handoff = self_service_events(widget_server, ticket)[-1]
    # Titles are ours, not the widget's; an id that is no article is dropped.
    assert handoff == {
        "action": "handoff",
        "reason": "button",
        "articles": [
            {
                "id": articles["reklamacja"],
                "title": "Reklamacja wadliwego lub uszkodzonego towaru",
                "opened": True,
            },
            {"id": articles["zwrot-towaru"], "title": "Zwrot towaru", "opened": False},
        ],
    }


def test_writing_again_while_held_hands_the_chat_over(widget_server, articles):
    inbox = new_inbox(widget_server)

    async def scenario():
        async with open_visitor(widget_server, ip=new_ip(), key=inbox["key"]) as visitor:
            await visitor.receive()
            await visitor.send({"type": "message", "body": "Zwrot towaru", "client_id": "q-1"})
            await frames(visitor, "ack", "suggestions")
            await visitor.send(
                {"type": "message", "body": "To nie pomaga, paczka wróciła", "client_id": "q-2"}
            )
            got = await frames(visitor, "ack", "handoff")
            assert got["handoff"]["state"] == "routed"

    run(scenario())
    events = self_service_events(widget_server, only_ticket(widget_server, inbox))
    assert [e["action"] for e in events] == ["suggested", "handoff"]
    assert events[-1]["reason"] == "message"


def test_asking_for_a_person_before_writing_routes_the_first_message(widget_server, articles):
    inbox = new_inbox(widget_server)

    async def scenario():
        async with open_visitor(widget_server, ip=new_ip(), key=inbox["key"]) as visitor:
            await visitor.receive()
            early = await visitor.exchange({"type": "handoff", "articles": [], "opened": []})
            assert early == {"type": "handoff", "state": "no_conversation"}
            # The widget sends the question with the request: it is not held, even matching.
            await visitor.send(
                {
                    "type": "message",
                    "body": "Zwrot towaru",
                    "client_id": "q-1",
                    "handoff": True,
                    "articles": [articles["zwrot-towaru"]],
                    "opened": [],
                }
            )
            got = await frames(visitor, "ack", "handoff")
            assert "suggestions" not in got

    run(scenario())
    [handoff] = self_service_events(widget_server, only_ticket(widget_server, inbox))
    assert handoff["reason"] == "button"
    assert handoff["articles"] == [
        {"id": articles["zwrot-towaru"], "title": "Zwrot towaru", "opened": False}
    ]


def test_a_question_nothing_matches_goes_straight_to_the_team(widget_server, articles):
    inbox = new_inbox(widget_server)

    async def scenario():
        async with open_visitor(widget_server, ip=new_ip(), key=inbox["key"]) as visitor:
            await visitor.receive()
            await visitor.send(
                {"type": "message", "body": "Dzień dobry, mam pytanie", "client_id": "q-1"}
            )
            got = await frames(visitor, "ack", "handoff")
            assert "suggestions" not in got

    run(scenario())
    assert self_service_events(widget_server, only_ticket(widget_server, inbox)) == []


def test_outside_business_hours_the_visitor_hears_when_the_team_is_back(widget_server, articles):
    # A calendar that is open one minute a week: it is closed now, whenever the test runs.
    closed = {"timezone": "Europe/Warsaw", "week": {"sun": [["03:00", "03:01"]]}}
    inbox = new_inbox(widget_server, business_hours=closed)

    async def scenario():
        async with open_visitor(widget_server, ip=new_ip(), key=inbox["key"]) as visitor:
            session = await visitor.receive()
            assert session["away"]["reply_by"].endswith(("+01:00", "+02:00"))
            assert "T03:00:00" in session["away"]["reply_by"]
            visitor.skip = set()
            await visitor.send({"type": "message", "body": "Halo?", "client_id": "q-1"})
            away = (await frames(visitor, "ack", "away"))["away"]
            assert away["reply_by"] == session["away"]["reply_by"]

    run(scenario())


def test_an_offline_visitor_is_answered_by_email_in_the_same_ticket(widget_server, articles):
    inbox = new_inbox(widget_server, self_service=False)
    address = f"jana.{uuid.uuid4().hex[:8]}@example.cz"

    async def scenario():
        async with open_visitor(widget_server, ip=new_ip(), key=inbox["key"]) as visitor:
            await visitor.receive()
            visitor.skip = set()
            await visitor.send(
                {"type": "message", "body": "Dobrý den, mám dotaz", "client_id": "q-1"}
            )
            await frames(visitor, "ack", "away")
            await visitor.send(
                {"type": "identify", "email": address, "name": "Jana", "reply_by_email": True}
            )
            got = await frames(visitor, "session", "reply_by_email")
            assert got["reply_by_email"] == {"type": "reply_by_email", "email": address, "ok": True}

    run(scenario())
    ticket = only_ticket(widget_server, inbox)
    # The conversation moved to email: the agent's reply goes there by default.
    assert ticket["last_channel"] == "email"
    customer = widget_server.api("GET", f"customers/{ticket['customer']['id']}/")
    emails = [i for i in customer["identities"] if i["kind"] == "email"]
    assert [(i["value"], i["verified"]) for i in emails] == [(address, False)]


def test_an_address_someone_else_has_is_only_a_claim(widget_server, articles):
    inbox = new_inbox(widget_server, self_service=False)
    address = f"owner.{uuid.uuid4().hex[:8]}@example.pl"
    code = (
        "from tickets.models import Customer; c = Customer.objects.create(name='The owner'); "
        f"c.identities.create(kind='email', value='{address}'); print(c.pk)"
    )
    owner_id = int(manage(widget_server.env, "shell", "-c", code).strip().splitlines()[-1])

    async def scenario():
        async with open_visitor(widget_server, ip=new_ip(), key=inbox["key"]) as visitor:
            await visitor.receive()
            await visitor.send({"type": "message", "body": "Hej", "client_id": "q-1"})
            await frames(visitor, "ack")
            await visitor.send({"type": "identify", "email": address, "reply_by_email": True})
            got = await frames(visitor, "session", "reply_by_email")
            assert got["reply_by_email"]["ok"] is False

    run(scenario())
    ticket = only_ticket(widget_server, inbox)
    assert ticket["customer"]["id"] != owner_id
    assert ticket["last_channel"] == "widget"
    customer = widget_server.api("GET", f"customers/{ticket['customer']['id']}/")
    assert not [i for i in customer["identities"] if i["kind"] == "email"]


def test_a_signed_in_owner_takes_back_an_address_someone_only_typed(widget_server, articles):
    """Visitor A types B's address to be answered by email; B later signs in on the site.
    B gets a customer of their own with the address, verified, and never sees A's chat."""
    inbox = new_inbox(widget_server, self_service=False)
    address = f"real.owner.{uuid.uuid4().hex[:8]}@example.cz"
    signature = hmac.new(
        inbox["secrets"]["identity_secret"].encode(), address.encode(), hashlib.sha256
    ).hexdigest()

    async def scenario():
        async with open_visitor(widget_server, ip=new_ip(), key=inbox["key"]) as typist:
            await typist.receive()
            await typist.send({"type": "message", "body": "Hej, chat A", "client_id": "a-1"})
            await frames(typist, "ack")
            await typist.send({"type": "identify", "email": address, "reply_by_email": True})
            assert (await frames(typist, "reply_by_email"))["reply_by_email"]["ok"] is True
        async with open_visitor(widget_server, ip=new_ip(), key=inbox["key"]) as owner:
            await owner.receive()
            await owner.send({"type": "identify", "email": address, "hmac": signature})
            await frames(owner, "session")
            history = await owner.exchange({"type": "history"})
            assert history["messages"] == []

    run(scenario())
    ticket = only_ticket(widget_server, inbox)
    typist = widget_server.api("GET", f"customers/{ticket['customer']['id']}/")
    assert not [i for i in typist["identities"] if i["kind"] == "email"]
    found = widget_server.api("GET", f"customers/?q={address}")["results"]
    [owner] = [c for c in found if c["id"] != typist["id"]]
    owner = widget_server.api("GET", f"customers/{owner['id']}/")
    assert [(i["value"], i["verified"]) for i in owner["identities"] if i["kind"] == "email"] == [
        (address, True)
    ]


def test_articles_over_plain_http_when_websockets_are_blocked(widget_server, articles):
    inbox = new_inbox(widget_server)
    key = inbox["key"]
    found = widget_server.request(
        "GET", f"/widget/{key}/articles?q=zwrot%20towaru&language=pl", headers={"Origin": SITE}
    )
    assert found.status == 200
    assert found.headers["access-control-allow-origin"] == SITE
    assert found.body["articles"][0]["id"] == articles["zwrot-towaru"]
    one = widget_server.request(
        "GET", f"/widget/{key}/articles/{articles['zwrot-towaru']}", headers={"Origin": SITE}
    )
    assert one.status == 200 and one.body["article"]["title"] == "Zwrot towaru"
    missing = widget_server.request(
        "GET", f"/widget/{key}/articles/999999", headers={"Origin": SITE}
    )
    assert (missing.status, missing.body["error"]) == (404, "unknown_article")
    stranger = widget_server.request(
        "GET", f"/widget/{key}/articles?q=zwrot", headers={"Origin": "https://evil.example"}
    )
    assert (stranger.status, stranger.body["error"]) == (403, "forbidden_origin")


def test_a_visitor_back_after_an_article_solved_it_is_answered_by_a_person(widget_server, articles):
    inbox = new_inbox(widget_server)

    async def scenario():
        async with open_visitor(widget_server, ip=new_ip(), key=inbox["key"]) as visitor:
            session = await visitor.receive()
            assert session["conversation_open"] is False
            await visitor.send({"type": "message", "body": "Zwrot towaru", "client_id": "q-1"})
            await frames(visitor, "ack", "suggestions")
            assert (await visitor.exchange({"type": "answered"}))["solved"] is True
            token = session["visitor_token"]
        async with open_visitor(widget_server, token=token, ip=new_ip(), key=inbox["key"]) as back:
            # The solved chat is over: the widget starts afresh, articles first.
            assert (await back.receive())["conversation_open"] is False
            await back.send(
                {"type": "message", "body": "Jednak mam jeszcze pytanie", "client_id": "q-2"}
            )
            # Reopened, it goes to the team at once: no second round of articles.
            got = await frames(back, "ack", "handoff")
            assert got["handoff"]["state"] == "routed"

    run(scenario())
    ticket = only_ticket(widget_server, inbox)
    assert ticket["status"] != "solved"
