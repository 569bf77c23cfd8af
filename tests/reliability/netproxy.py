"""A TCP proxy on loopback we control, for the network-cut scenario.

    python -m tests.reliability.netproxy LISTEN_PORT UPSTREAM_PORT

Runs as its own process (plain asyncio, no eventlet). SIGUSR1 cuts the
network: bytes stop flowing both ways and new connections hang (a black hole,
as a dead link looks to TCP). SIGUSR2 ends the cut the way a real outage ends
after the heartbeat expired: every connection that lived through the cut is
reset, and new connections flow again.
"""
import asyncio
import signal
import sys

cut = False
live = set()


async def pump(reader, writer, conn):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            while cut and conn in live:
                await asyncio.sleep(0.05)  # black hole: hold the bytes, never deliver
            if conn not in live:
                break
            writer.write(data)
            await writer.drain()
    except (OSError, asyncio.CancelledError):
        pass
    finally:
        close(conn)


def close(conn):
    if conn in live:
        live.discard(conn)
    for w in conn:
        try:
            w.transport.abort()
        except Exception:  # noqa: BLE001 - already closed
            pass


async def handle(client_r, client_w, upstream_port):
    while cut:
        await asyncio.sleep(0.05)
    try:
        up_r, up_w = await asyncio.open_connection("127.0.0.1", upstream_port)
    except OSError:
        client_w.transport.abort()
        return
    conn = (client_w, up_w)
    live.add(conn)
    await asyncio.gather(pump(client_r, up_w, conn), pump(up_r, client_w, conn))


def start_cut():
    global cut
    cut = True
    print("cut", flush=True)


def end_cut():
    global cut
    for conn in list(live):
        close(conn)  # connections that lived through the cut are reset
    cut = False
    print("restored", flush=True)


async def main(listen, upstream):
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGUSR1, start_cut)
    loop.add_signal_handler(signal.SIGUSR2, end_cut)
    server = await asyncio.start_server(lambda r, w: handle(r, w, upstream), "127.0.0.1", listen)
    print("listening", listen, flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
