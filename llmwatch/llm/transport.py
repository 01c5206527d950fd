"""An httpx transport that spreads connections over several small pools.

httpcore's connection pool re-examines every connection, for every connection, each
time a request is queued or finishes (O(connections²) work per request, with a socket
readability syscall per connection). At 64 concurrent calls that costs ~25 ms of CPU
per request and caps a client near 40 calls/s however fast the endpoint is. Keeping
each pool at a handful of connections and spreading requests over the pools (least
busy first) keeps the bookkeeping small; the client is still ONE ``httpx.AsyncClient``.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable

import httpx

# Largest pool size whose bookkeeping stays negligible next to a network round trip.
CONNECTIONS_PER_SHARD = 8


class ShardedTransport(httpx.AsyncBaseTransport):
    def __init__(self, max_connections: int, per_shard: int = CONNECTIONS_PER_SHARD) -> None:
        shards = max(1, math.ceil(max_connections / per_shard))
        size = math.ceil(max_connections / shards)
        limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
        self._shards = [httpx.AsyncHTTPTransport(limits=limits) for _ in range(shards)]
        self._in_flight = [0] * shards

    @property
    def shards(self) -> int:
        return len(self._shards)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        index = min(range(len(self._shards)), key=self._in_flight.__getitem__)
        self._in_flight[index] += 1
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self._in_flight[index] -= 1

        try:
            response = await self._shards[index].handle_async_request(request)
        except BaseException:
            release()
            raise
        # The connection stays busy until the client has read (or closed) the body.
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_ReleasingStream(response.stream, release),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        for shard in self._shards:
            await shard.aclose()


class _ReleasingStream(httpx.AsyncByteStream):
    def __init__(
        self, stream: httpx.AsyncByteStream | httpx.SyncByteStream, release: Callable[[], None]
    ) -> None:
        self._stream = stream
        self._release = release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        assert isinstance(self._stream, httpx.AsyncByteStream)
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            if isinstance(self._stream, httpx.AsyncByteStream):
                await self._stream.aclose()
        finally:
            self._release()
