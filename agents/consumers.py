"""The agent UI's live socket: notices about tickets the agent may see.

Every agent socket joins the inbox group; a ticket page also sends
{"type": "watch", "ticket": id} to join that ticket's group (delivery states).
Notices carry ids only: the page fetches what changed through permission-checked views.
"""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from tickets.access import role_of, visible_tickets

from .live import INBOX_GROUP, ticket_group

MAX_WATCHED = 20


class AgentConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        if not await self._is_agent():
            await self.close(code=4403)
            return
        self.watching: set[int] = set()
        await self.channel_layer.group_add(INBOX_GROUP, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        if not hasattr(self, "watching"):
            return
        await self.channel_layer.group_discard(INBOX_GROUP, self.channel_name)
        for ticket_id in self.watching:
            await self.channel_layer.group_discard(ticket_group(ticket_id), self.channel_name)

    async def receive_json(self, content, **kwargs):
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "watch":
            try:
                ticket_id = int(content.get("ticket"))
            except (TypeError, ValueError):
                await self.send_json({"type": "error", "detail": "ticket must be an id"})
                return
            if len(self.watching) >= MAX_WATCHED:
                await self.send_json({"type": "error", "detail": "watching too many tickets"})
            elif await self._may_see(ticket_id):
                self.watching.add(ticket_id)
                await self.channel_layer.group_add(ticket_group(ticket_id), self.channel_name)
                await self.send_json({"type": "watching", "ticket": ticket_id})
            else:
                await self.send_json({"type": "error", "detail": "no such ticket"})
        elif kind == "typing":
            # The agent is typing a reply on a watched ticket: the chat visitor sees it.
            try:
                ticket_id = int(content.get("ticket"))
            except (TypeError, ValueError):
                return
            if ticket_id in self.watching:
                await self._tell_typing(ticket_id, bool(content.get("state")))
        elif kind == "unwatch":
            try:
                ticket_id = int(content.get("ticket"))
            except (TypeError, ValueError):
                return
            if ticket_id in self.watching:
                self.watching.discard(ticket_id)
                await self.channel_layer.group_discard(ticket_group(ticket_id), self.channel_name)

    @database_sync_to_async
    def _tell_typing(self, ticket_id: int, state: bool) -> None:
        from channels_in.widgets import publish_agent_typing

        ticket = visible_tickets(self.scope["user"]).select_related("inbox").filter(pk=ticket_id)
        for found in ticket[:1]:
            publish_agent_typing(found, self.scope["user"], state)

    @database_sync_to_async
    def _is_agent(self) -> bool:
        return role_of(self.scope["user"]) is not None

    @database_sync_to_async
    def _may_see(self, ticket_id: int) -> bool:
        return visible_tickets(self.scope["user"]).filter(pk=ticket_id).exists()

    async def ticket_notice(self, event):
        if event.get("scope") == "inbox" and event.get("ticket") in self.watching:
            return  # the ticket group brings the same notice
        notice = {k: v for k, v in event.items() if k not in ("type", "scope")}
        await self.send_json(notice | {"type": "notice"})
