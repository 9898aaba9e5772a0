"""Litestar's channels plugin, with an unsubscribe that costs the subscriber's own channels.

Litestar 2's ``ChannelsPlugin.unsubscribe(subscriber)`` copies the names of every channel the
process has ever had (``_channels`` keeps a channel's empty set after its last subscriber
leaves) and then asks every channel's set whether the subscriber is still in it: O(channels) per
call, even when the channels are given. A socket has several subscribers and each process holds
thousands of channels (one per conversation, user and hint scope), so closing 10,000 sockets, or
their mass reconnect after a process died, stalled a process's event loop for 2–41 s
(docs/performance.md, "Issue 18, the collector's young generation").

:class:`SocketChannels` remembers each subscriber's channels when it subscribes, so leaving
touches only those, and forgets a channel once its last subscriber left (the map no longer grows
with every conversation ever joined). What it does is what Litestar's does: the subscriber
leaves the given channels (all of its own when none are given); once it is in none, its stream
ends (``put(None)``, then ``stop()``); channels nobody listens to any more are unsubscribed at
the backend — unless someone subscribed to them again meanwhile (a socket reconnecting while its
old one closes), which Litestar's would have unsubscribed from under them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from litestar.channels import ChannelsPlugin, Subscriber


class SocketChannels(ChannelsPlugin):
    """See the module docstring; construct it as :class:`~litestar.channels.ChannelsPlugin`
    with ``arbitrary_channels_allowed=True`` (channels come and go with conversations)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self._arbitrary_channels_allowed:
            raise ValueError("SocketChannels forgets unused channels: pass arbitrary_channels_allowed=True")
        self._subscribed: dict[Subscriber, set[str]] = {}

    async def subscribe(self, channels: str | Iterable[str], history: int | None = None) -> Subscriber:
        names = [channels] if isinstance(channels, str) else list(channels)
        subscriber = await super().subscribe(names, history)
        self._subscribed.setdefault(subscriber, set()).update(names)
        return subscriber

    async def unsubscribe(self, subscriber: Subscriber, channels: str | Iterable[str] | None = None) -> None:
        own = self._subscribed.get(subscriber)
        if own is None:  # already gone (a second unsubscribe), or never subscribed here
            return
        if channels is None:
            leaving = set(own)
        else:
            leaving = own & ({channels} if isinstance(channels, str) else set(channels))
        emptied = []
        for channel in leaving:
            listeners = self._channels.get(channel)
            if listeners is None:
                continue
            listeners.discard(subscriber)
            if not listeners:
                del self._channels[channel]
                emptied.append(channel)
        own -= leaving
        if not own:
            del self._subscribed[subscriber]
            await subscriber.put(None)  # ends a running stream or generator
            if subscriber.is_running:
                await subscriber.stop()
        # The awaits above let others subscribe: keep what they now listen to.
        emptied = [channel for channel in emptied if channel not in self._channels]
        if emptied:
            await self._backend.unsubscribe(emptied)

    def channels_of(self, subscriber: Subscriber) -> frozenset[str]:
        """The channels ``subscriber`` listens to here (empty once it left them all)."""
        return frozenset(self._subscribed.get(subscriber, ()))
