"""Node functions shared by the runtime tests."""

from __future__ import annotations

import time


def passthrough(ctx, packets):
    for packet in packets.get("in", []):
        value = ctx.consume_packet(packet)
        ctx.load_output_port("out", ctx.create_packet(value))
    ctx.send_output_salvo("send")


def double(ctx, packets):
    for packet in packets["in"]:
        value = ctx.consume_packet(packet)
        ctx.load_output_port("out", ctx.create_packet(2 * value))
    ctx.send_output_salvo("send")


async def async_double(ctx, packets):
    for packet in packets["in"]:
        value = await ctx.consume_packet(packet)
        await ctx.load_output_port("out", await ctx.create_packet(2 * value))
    await ctx.send_output_salvo("send")


def consume_all(ctx, packets):
    for plist in packets.values():
        for packet in plist:
            ctx.consume_packet(packet)


def make_sleeper(seconds, record=None):
    """A passthrough that sleeps, recording (start, end) times."""

    def sleeper(ctx, packets):
        start = time.monotonic()
        time.sleep(seconds)
        for packet in packets["in"]:
            value = ctx.consume_packet(packet)
            ctx.load_output_port("out", ctx.create_packet(value))
        ctx.send_output_salvo("send")
        if record is not None:
            record.append((start, time.monotonic()))

    return sleeper


def max_overlap(intervals):
    """Largest number of intervals running at the same moment."""
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    best = cur = 0
    for _, delta in events:
        cur += delta
        best = max(best, cur)
    return best
