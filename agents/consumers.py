"""The agent UI's live socket: notices about tickets the agent may see."""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from tickets.access import visible_tickets

from .live import INBOX_GROUP, ticket_group


class AgentConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
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
        if content.get("type") == "watch":
            try:
                ticket_id = int(content.get("ticket"))
            except (TypeError, ValueError):
                await self.send_json({"type": "error", "detail": "ticket must be an id"})
                return
            if await self._may_see(ticket_id):
                self.watching.add(ticket_id)
                await self.channel_layer.group_add(ticket_group(ticket_id), self.channel_name)
                await self.send_json({"type": "watching", "ticket": ticket_id})
            else:
                await self.send_json({"type": "error", "detail": "no such ticket"})

    @database_sync_to_async
    def _may_see(self, ticket_id: int) -> bool:
        return visible_tickets(self.scope["user"]).filter(pk=ticket_id).exists()

    async def ticket_notice(self, event):
        await self.send_json({k: v for k, v in event.items() if k != "type"} | {"type": "notice"})
