"""The README's picture of the console: `python -m vmstui.cli.screenshot docs/console.svg`.

Starts the demo's simulator in this process with the demo's board (`simulator/scenes.py`:
alarms of mixed priorities waiting, one under investigation, then the panic alarm), lets
the feed fill for a few seconds, and saves what the console shows as an SVG (Textual's own
screenshot). Run it again after changing the console to refresh the picture.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from pydantic import SecretStr

from vmstui.cli.demo_setup import demo_settings
from vmstui.runtime import Runtime
from vmstui.simulator import SimConfig, Simulator, scenes
from vmstui.ui.app import VmstuiApp

USER, APP_ID = "operator", "vmstui-screenshot"


async def take(out: Path, size: tuple[int, int], seconds: float) -> None:
    password = "screenshot-only"  # noqa: S105 - a throwaway simulator on loopback
    sim = Simulator(
        SimConfig(
            seed=7,
            username=USER,
            app_id=APP_ID,
            password=password,
            rate=15,
            extra_alarms=scenes.DEMO_ALARMS,
        )
    )
    await sim.start(host="127.0.0.1", rest_port=0, stream_port=0)
    await scenes.stage_board(sim)
    try:
        with tempfile.TemporaryDirectory(prefix="vmstui-shot-") as tmp:
            settings = demo_settings(sim, Path(tmp) / "cache.db")
            secrets = {"sources.sim.password": SecretStr(password)}
            async with Runtime(settings, secrets=secrets) as runtime:
                app = VmstuiApp(runtime)
                async with app.run_test(size=size) as pilot:
                    await scenes.panic_soon(sim, after_s=seconds / 2)
                    await asyncio.sleep(seconds / 2)
                    await pilot.pause()
                    out.parent.mkdir(parents=True, exist_ok=True)
                    app.save_screenshot(out.name, str(out.parent))
    finally:
        await sim.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m vmstui.cli.screenshot", description=__doc__)
    parser.add_argument("out", type=Path, help="The SVG file to write.")
    parser.add_argument("--size", default="160x50", help="Terminal columns x rows.")
    parser.add_argument("--seconds", type=float, default=4.0, help="How long the feed fills.")
    args = parser.parse_args()
    columns, rows = (int(part) for part in args.size.lower().split("x"))
    asyncio.run(take(args.out, (columns, rows), args.seconds))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
