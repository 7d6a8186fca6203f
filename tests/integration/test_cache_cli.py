"""Bad cache files and the commands, as a user runs them (real `vmstui` processes):

- every command that opens a cache refuses a damaged one, a foreign file or a newer vmstui's
  in one line naming the file, with exit status 65 (for systemd's RestartPreventExitStatus);
- damage found only when writing ends `tail` and the bridge the same way, at once;
- reading never deletes: `export` opens the cache read-only and keeps all 1,000 events of a
  cache whose config keeps them for ten years (it used to purge with a 30-day default);
- `vmstui cache check` and `vmstui cache recover`.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from vmstui.config import Settings
from vmstui.errors import EXIT_CACHE_UNUSABLE
from vmstui.simulator import Simulator

from ..damage import children, damaged, garble, page_size, real_cache, root_page
from .test_bridge import free_port
from .test_cache_disk_full import Feeder
from .test_cli import one_clean_line, vmstui, write_config

TOKEN = "sensor-token-for-tests"


def full_config(tmp_path: Path, settings: Settings, cache: Path, **cache_keys: str) -> Path:
    """tail's config (the simulator), plus a log file for the console and a sensor for the
    bridge, on `cache`."""
    config = write_config(tmp_path, settings)
    text = config.read_text().replace(str(settings.cache.path), str(cache))
    text = text.replace(
        "[cache]\n", "[cache]\n" + "".join(f"{k} = {v}\n" for k, v in cache_keys.items())
    )
    text = (
        f'[log]\nfile = "{tmp_path / "console.log"}"\n\n'
        f'[bridge]\nlisten = "127.0.0.1:{free_port()}"\n\n' + text
    )
    text += '\n[[sensors]]\nname = "door"\nkind = "access_control"\ntoken_env = "VMSTUI_T"\n'
    config.write_text(text)
    return config


COMMANDS: dict[str, Callable[[Path, Path], list[str]]] = {
    "tail": lambda config, cache: ["tail", "--config", str(config), "--count", "1"],
    "export": lambda config, cache: ["export", "--config", str(config)],
    "report": lambda config, cache: ["report", "--config", str(config)],
    "alarms list": lambda config, cache: ["alarms", "--config", str(config), "list"],
    "console": lambda config, cache: ["run", "--config", str(config)],
    "demo": lambda config, cache: ["demo", "--cache", str(cache), "--headless", "--count", "1"],
    "bridge": lambda config, cache: ["bridge", "--config", str(config)],
}


@pytest.mark.parametrize("kind", ["text", "first-page", "every-page", "newer"])
async def test_every_command_refuses_a_bad_cache_in_one_line(
    kind: str, settings_for: Callable[..., Settings], tmp_path: Path
) -> None:
    cache = damaged(await real_cache(tmp_path / "bad.db", 300), kind)
    config = full_config(tmp_path, settings_for(), cache)
    for name, command in COMMANDS.items():
        code, _, err = await vmstui(*command(config, cache), env={"VMSTUI_T": TOKEN})
        line = one_clean_line(err)
        assert code == EXIT_CACHE_UNUSABLE, (name, err)
        assert str(cache) in line, (name, line)
    code, out, err = await vmstui("cache", "check", "--config", str(config))
    assert code == EXIT_CACHE_UNUSABLE and err == "", err
    assert str(cache) in out and len(out.splitlines()) == 1, out


def cache_with_a_broken_id_index(path: Path) -> Path:
    """Opens (what open reads is whole), but every insert goes through the broken page."""
    garble(path, [root_page(path, "sqlite_autoindex_events_1")])
    return path


async def test_damage_found_while_writing_ends_tail_in_one_line(
    sim: Simulator, settings_for: Callable[..., Settings], tmp_path: Path
) -> None:
    cache = cache_with_a_broken_id_index(await real_cache(tmp_path / "cache.db", 1000))
    config = full_config(tmp_path, settings_for(), cache)
    feeder = Feeder(sim)
    feeder.start(per_second=20)
    try:
        code, _, err = await vmstui("tail", "--config", str(config), "--count", "100")
    finally:
        await feeder.stop()
    line = one_clean_line(err)
    assert code == EXIT_CACHE_UNUSABLE and str(cache) in line and "damaged" in line, err


async def test_damage_found_while_writing_ends_the_bridge_at_once(
    settings_for: Callable[..., Settings], tmp_path: Path
) -> None:
    cache = cache_with_a_broken_id_index(await real_cache(tmp_path / "cache.db", 1000))
    config = full_config(tmp_path, settings_for(), cache)
    listen = next(
        line.split('"')[1] for line in config.read_text().splitlines() if line.startswith("listen")
    )
    process = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "vmstui", "bridge", "--config", str(config)],
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "VMSTUI_T": TOKEN},
    )
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            for _ in range(100):  # until the listener is up and a reading reaches the cache
                try:
                    await client.post(
                        f"http://{listen}/sensors/door",
                        json={"event": "forced", "id": "r1"},
                        headers={"Authorization": TOKEN},
                    )
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
        _, err_bytes = await asyncio.wait_for(process.communicate(), 15)  # not the 60 s tick
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    err = err_bytes.decode()
    assert process.returncode == EXIT_CACHE_UNUSABLE, err
    assert "Traceback" not in err, err
    # (Before it, the listener's own line: that reading was not stored, and why.)
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"Error: cache {cache} is damaged"), err


# --- reading never deletes -----------------------------------------------------------------


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def test_export_keeps_every_event_and_changes_nothing(
    settings_for: Callable[..., Settings], tmp_path: Path
) -> None:
    # The scenario of the report: 1,000 events, three of them 40 days old, kept for 10 years.
    cache = await real_cache(tmp_path / "cache.db", 1000, old=3)
    config = full_config(tmp_path, settings_for(), cache, retention_days="3650")
    before = digest(cache)
    code, out, err = await vmstui("export", "--config", str(config))
    assert code == 0, err
    assert len(out.splitlines()) == 1000 and err.strip() == "1000 events exported"
    assert digest(cache) == before
    with sqlite3.connect(cache) as db:
        assert db.execute("SELECT count(*) FROM events").fetchone()[0] == 1000


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder nothing can be written to: a read-only bind mount as root (root writes
    anywhere else), a 0500 folder otherwise."""
    source, folder = tmp_path / "source", tmp_path / "read-only"
    source.mkdir()
    folder.mkdir()
    if os.geteuid() != 0:
        yield source
        source.chmod(0o700)
        return
    subprocess.run(["mount", "--bind", str(source), str(folder)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(folder)], check=True)
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


async def test_export_reads_a_0400_cache_nothing_can_write_beside(
    read_only_folder: Path, tmp_path: Path
) -> None:
    source = tmp_path / "source"
    cache = await real_cache(source / "cache.db", 1000)
    cache.chmod(0o400)
    if os.geteuid() != 0:
        source.chmod(0o500)
    seen = read_only_folder / "cache.db"
    code, out, err = await vmstui("export", "--cache", str(seen))
    assert code == 0, err
    assert len(out.splitlines()) == 1000 and err.strip() == "1000 events exported"
    assert sorted(p.name for p in read_only_folder.iterdir()) == ["cache.db"]
    code, out, err = await vmstui("cache", "check", "--cache", str(seen))
    assert code == 0 and "ok (integrity_check" in out, out + err


# --- cache check and cache recover ----------------------------------------------------------


def leaf_rows(path: Path, pages: list[int]) -> int:
    """Rows on these table leaf pages (a leaf's header holds its cell count)."""
    size, data = page_size(path), path.read_bytes()
    total = 0
    for page in pages:
        start = (page - 1) * size
        assert data[start] == 0x0D, f"page {page} is not a table leaf"
        total += int.from_bytes(data[start + 3 : start + 5], "big")
    return total


async def test_cache_check_and_recover(tmp_path: Path) -> None:
    cache = await real_cache(tmp_path / "cache.db", 1000)
    code, out, _ = await vmstui("cache", "check", "--cache", str(cache))
    assert code == 0 and out.startswith(f"cache {cache}: ok (integrity_check, "), out
    code, out, _ = await vmstui("cache", "check", "--cache", str(cache), "--quick")
    assert code == 0 and "ok (quick_check, " in out, out

    leaves = children(cache, root_page(cache, "events"))
    broken = leaves[3:6]  # three stretches of rows in the middle
    lost = leaf_rows(cache, broken)
    garble(cache, broken)
    code, out, _ = await vmstui("cache", "check", "--cache", str(cache))
    assert code == EXIT_CACHE_UNUSABLE and "damaged" in out and "cache recover" in out, out

    new = tmp_path / "recovered.db"
    code, out, err = await vmstui("cache", "recover", "--cache", str(cache), "--to", str(new))
    assert code == 0, err
    assert f"events {1000 - lost}," in out and "damaged stretch" in out, out
    code, out, _ = await vmstui("cache", "check", "--cache", str(new))
    assert code == 0, out
    code, out, err = await vmstui("export", "--cache", str(new))
    ids = [orjson.loads(line)["id"] for line in out.splitlines()]
    assert len(ids) == 1000 - lost and len(set(ids)) == len(ids), err
    assert {"ev-00000", "ev-00999"} <= set(ids)  # the rows on either side of the damage
    code, out, err = await vmstui("export", "--cache", str(new), "--filter", "genetec.Door.#")
    assert len(out.splitlines()) == 1000 - lost, err  # topics rebuilt: filters work

    code, _, err = await vmstui("cache", "recover", "--cache", str(cache), "--to", str(new))
    assert code == 1 and "exists" in one_clean_line(err)
    text = damaged(tmp_path / "text.db", "text")
    code, _, err = await vmstui(
        "cache", "recover", "--cache", str(text), "--to", str(tmp_path / "x.db")
    )
    assert code == EXIT_CACHE_UNUSABLE and "nothing to recover" in one_clean_line(err)
    assert not (tmp_path / "x.db").exists()
