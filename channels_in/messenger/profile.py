"""A new Messenger customer's name, asked of the Graph API once.

Meta's webhook names a person only by their page-scoped id (PSID). The first
message of a customer without a name marks them as asked (in the ingest
transaction, under the customer's row lock, so two first messages ask once)
and queues fetch_profile. The outcome stays in
Customer.attributes["messenger_profile"]: fetched, or the error that stopped
it. Either way it is never asked again; only a temporary error is retried
(and a request whose task was lost is made again a day later).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from tickets.ingest import IngestResult
from tickets.models import Customer, Identity, IdentityKind, Message

from .graph import GraphError, get_profile

log = logging.getLogger(__name__)

PROFILE_KEY = "messenger_profile"
MAX_ATTEMPTS = 5
# A request that never came back (its task lost with a queue) is made again after this.
ASK_AGAIN_AFTER = timedelta(days=1)


def request_profile(result: IngestResult) -> bool:
    """In the ingest transaction: queue the sender's profile unless asked before.

    Returns whether it was queued.
    """
    message = result.message
    # The sender: a participant writing on someone else's ticket is named apart.
    customer_id = message.meta.get("participant") or result.ticket.customer_id
    row = Customer.objects.filter(pk=customer_id).values_list("name", "attributes").first()
    if row is None:
        return False
    name, attributes = row
    state = (attributes or {}).get(PROFILE_KEY) or {}
    if name or "fetched_at" in state or "failed_at" in state:
        return False
    now = timezone.now()
    requested = parse_datetime(str(state.get("requested_at") or ""))
    if requested is not None and now - requested < ASK_AGAIN_AFTER:
        return False  # asked, the answer is on its way
    _mark(customer_id, {"requested_at": now.isoformat()})
    message_id = message.pk
    # robust: the message is stored either way; a queue that is down only delays the name.
    transaction.on_commit(lambda: fetch_profile.delay(message_id), robust=True)
    return True


@shared_task(bind=True, acks_late=True, max_retries=MAX_ATTEMPTS)
def fetch_profile(self, message_id: int) -> str:
    """Fetch the name of the person who sent a Messenger message; safe to run twice."""
    try:
        return fetch_sender_profile(message_id, last_attempt=self.request.retries >= MAX_ATTEMPTS)
    except GraphError as exc:
        raise self.retry(exc=exc, countdown=2**self.request.retries * 5) from exc


def fetch_sender_profile(message_id: int, *, last_attempt: bool = True) -> str:
    """Ask Meta for the sender's name and store it if the customer still has none.

    Returns "fetched", "failed" (recorded, never asked again) or "skipped"
    (done before, or nothing to ask). Raises GraphError on a temporary failure
    unless this is the last attempt.
    """
    found = Message.objects.filter(pk=message_id).select_related("inbox").first()
    psid = str(((found.meta if found else {}).get("messenger") or {}).get("psid") or "")
    if found is None or not psid:
        return "skipped"
    customer_id = (
        Identity.objects.filter(kind=IdentityKind.MESSENGER, value=psid)
        .values_list("customer_id", flat=True)
        .first()
    )
    if customer_id is None or _settled(customer_id):
        return "skipped"
    token = found.inbox.secrets.get("page_access_token", "")
    if not token:
        _finish(customer_id, error="the inbox has no page access token")
        return "failed"
    try:
        profile = get_profile(token=token, psid=psid)
    except GraphError as exc:
        if exc.permanent or last_attempt:
            log.warning("Messenger profile of customer %s not fetched: %s", customer_id, exc)
            _finish(customer_id, error=exc.reason)
            return "failed"
        raise
    name = (
        str(profile.get("name") or "").strip()
        or " ".join(
            str(profile.get(part) or "").strip() for part in ("first_name", "last_name")
        ).strip()
    )
    _finish(customer_id, name=name)
    return "fetched"


def _settled(customer_id: int) -> bool:
    row = Customer.objects.filter(pk=customer_id).values_list("name", "attributes").first()
    if row is None:
        return True
    state = (row[1] or {}).get(PROFILE_KEY) or {}
    return bool(row[0]) or "fetched_at" in state or "failed_at" in state


def _finish(customer_id: int, *, name: str = "", error: str = "") -> None:
    now = timezone.now().isoformat()
    with transaction.atomic():
        if name:
            # Only a customer still without a name: an agent's own entry wins.
            Customer.objects.filter(pk=customer_id, name="").update(name=name[:200])
        state = {"failed_at": now, "error": error[:300]} if error else {"fetched_at": now}
        _mark(customer_id, state)


def _mark(customer_id: int, state: dict) -> None:
    """Merge `state` into attributes["messenger_profile"], under the customer's row lock."""
    with transaction.atomic():
        customer = Customer.objects.select_for_update().only("attributes").get(pk=customer_id)
        attributes = dict(customer.attributes or {})
        attributes[PROFILE_KEY] = {**(attributes.get(PROFILE_KEY) or {}), **state}
        Customer.objects.filter(pk=customer_id).update(attributes=attributes)
