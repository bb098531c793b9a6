"""feedback listens to tickets' events: a solved ticket's survey is scheduled, merged customers
keep their surveys, and a survey answered by message is recognised on its way in."""

from tickets.events import CustomersMerged, ReplyRecorded, TicketChanged, subscribe
from tickets.models import Status, Ticket

from .surveys import move_surveys, schedule_survey


@subscribe(TicketChanged)
def survey_solved_ticket(event: TicketChanged) -> None:
    if event.changes.get("status") == Status.SOLVED:
        schedule_survey(ticket_id=event.ticket_id, customer_id=event.customer_id)


@subscribe(ReplyRecorded)
def survey_ticket_solved_by_reply(event: ReplyRecorded) -> None:
    # record_reply(status="solved") tells ReplyRecorded only, not TicketChanged.
    # Our own survey message comes this way too: the survey exists by then.
    if Ticket.objects.filter(
        pk=event.ticket_id, status=Status.SOLVED, survey__isnull=True
    ).exists():
        schedule_survey(ticket_id=event.ticket_id, customer_id=event.customer_id)


@subscribe(CustomersMerged)
def keep_surveys_of_merged_customer(event: CustomersMerged) -> None:
    move_surveys(source_id=event.source_id, target_id=event.target_id)
