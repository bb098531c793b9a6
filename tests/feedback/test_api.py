"""GET /api/v1/surveys/ (feedback.api.surveys): read-only, filtered by who may see the ticket."""

from __future__ import annotations

import pytest
from rest_framework.test import APIRequestFactory, force_authenticate

from feedback.api import surveys
from feedback.models import Survey

pytestmark = pytest.mark.django_db


def get(user, **params):
    request = APIRequestFactory().get("/api/v1/surveys/", params)
    force_authenticate(request, user=user)
    return surveys(request)


def test_it_lists_the_surveys_of_tickets_the_agent_may_open(
    inbox, other_inbox, receive, solve, agent, other_agent, manager
):
    ours = Survey.objects.get(ticket=solve(receive(inbox, sender="a@example.com").ticket))
    theirs = Survey.objects.get(ticket=solve(receive(other_inbox, sender="b@example.com").ticket))

    assert [s["id"] for s in get(agent).data["results"]] == [ours.pk]
    assert [s["id"] for s in get(other_agent).data["results"]] == [theirs.pk]
    listed = get(manager).data["results"]
    assert [s["id"] for s in listed] == [theirs.pk, ours.pk]
    assert listed[1]["kind"] == "csat" and listed[1]["scale"] == [1, 5]
    assert listed[1]["score"] is None and listed[1]["ticket"] == ours.ticket_id


def test_it_filters_and_refuses_bad_filters(inbox, receive, solve, manager):
    survey = Survey.objects.get(ticket=solve(receive(inbox).ticket))

    assert [s["id"] for s in get(manager, kind="csat", answered="false").data["results"]] == [
        survey.pk
    ]
    assert get(manager, kind="nps").data["results"] == []
    assert get(manager, answered="true").data["results"] == []
    assert get(manager, kind="stars").status_code == 400
    assert get(manager, ticket="x").status_code == 400


def test_its_query_count_does_not_grow_with_the_page(
    inbox, receive, solve, manager, django_assert_max_num_queries
):
    for n in range(6):
        solve(receive(inbox, sender=f"c{n}@example.com").ticket)

    with django_assert_max_num_queries(4):
        response = get(manager, page_size=6)

    assert len(response.data["results"]) == 6
