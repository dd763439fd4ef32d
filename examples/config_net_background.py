"""A config-built net running in the background on your event loop (0.5.0 API):
``start_background()``, ``pause()`` / ``resume()``, ``wait_until_blocked()``, plus
``disable_node`` / ``enable_node``.

Run: ``python examples/config_net_background.py``
"""

from __future__ import annotations

import asyncio

from netrun.config import NetConfig
from netrun.net import Net


def shout(text: str) -> str:
    return text.upper()


def build() -> NetConfig:
    return NetConfig.model_validate({"graph": {"nodes": [
        {"name": "shout", "factory": "netrun.node_factories.from_function", "factory_args": {"func": shout}},
    ]}})


async def run() -> dict:
    async with Net(build()) as net:
        await net.start_background()
        net.inject_data("shout", "text", ["hello"])
        first = await net.async_get_output("shout::out", timeout=2)      # picked up at once
        net.pause()                                                       # nothing new starts
        await net.wait_until_stopped()
        net.inject_data("shout", "text", ["while paused"])
        await asyncio.sleep(0.05)
        waited = net.try_get_output("shout::out")                         # None: paused
        net.disable_node("shout")
        net.resume()
        await asyncio.sleep(0.05)
        still = net.try_get_output("shout::out")                          # None: disabled
        net.enable_node("shout")
        await net.wait_until_blocked()                                    # runs, then ends
        return {"first": first, "while_paused": waited, "while_disabled": still,
                "after": net.flush_output_queue("shout::out"), "blocked": net.is_blocked()}


def main() -> dict:
    result = asyncio.run(run())
    print(result)
    return result


if __name__ == "__main__":
    main()
