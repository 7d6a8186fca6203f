"""Every place vmstui keeps something on the machine, in one module (XDG, via platformdirs).

- the config file: `$VMSTUI_CONFIG`, else `$XDG_CONFIG_HOME/vmstui/config.toml`;
- the operator's own themes: `$XDG_CONFIG_HOME/vmstui/themes/`;
- the cache: `$XDG_DATA_HOME/vmstui/cache.db`;
- the log and the simulator's generated password: `$XDG_STATE_HOME/vmstui/`.

Functions, not constants: the environment is read when a path is needed (tests and the
`--config` option change it after import). Part of the core: no Textual here.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "vmstui"
CONFIG_ENV = "VMSTUI_CONFIG"


def default_config_path() -> Path:
    override = os.environ.get(CONFIG_ENV)
    if override:
        return Path(override)
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def user_theme_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME)) / "themes"


def default_cache_path() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME)) / "cache.db"


def default_log_path() -> Path:
    return Path(platformdirs.user_state_dir(APP_NAME)) / "vmstui.log"


def simulator_password_path() -> Path:
    return Path(platformdirs.user_state_dir(APP_NAME)) / "simulator.password"
