"""The agent UI's live socket: notices about tickets the agent may see.

Every agent socket joins the inbox group; a ticket page also sends
{"type": "watch", "ticket": id} to join that ticket's group (delivery states).
Notices carry ids only: the page fetches what changed through permission-checked views.

The socket is also the agent's presence (agents/presence.py): it stamps the
heartbeat on connect and on every {"type": "ping"}, and clears it on close; the
agent's other open sockets (their user group) then stamp again at once, so
closing one tab does not make an agent with another tab look away. Each socket
joins its user's and teams' groups for "chat" notices (a new chat for them).
"""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from tickets.access import role_of, team_ids, visible_tickets

from .live import INBOX_GROUP, team_group, ticket_group, user_group
from .presence import clear_heartbeat, record_heartbeat

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
        self.groups_joined = [
            INBOX_GROUP,
            user_group(user.pk),
            *(team_group(team_id) for team_id in await self._team_ids()),
        ]
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await database_sync_to_async(record_heartbeat)(user.pk)

    async def disconnect(self, code):
        if not hasattr(self, "watching"):
            return
        user_id = self.scope["user"].pk
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        for ticket_id in self.watching:
            await self.channel_layer.group_discard(ticket_group(ticket_id), self.channel_name)
        await database_sync_to_async(clear_heartbeat)(user_id)
        await self.channel_layer.group_send(user_group(user_id), {"type": "presence.check"})

    async def presence_check(self, event):
        """Another socket of this agent closed and cleared the heartbeat: this one is open."""
        await database_sync_to_async(record_heartbeat)(self.scope["user"].pk)

    async def receive_json(self, content, **kwargs):
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "ping":
            await database_sync_to_async(record_heartbeat)(self.scope["user"].pk)
            await self.send_json({"type": "pong"})
        elif kind == "watch":
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
    def _team_ids(self) -> list[int]:
        return team_ids(self.scope["user"])

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
