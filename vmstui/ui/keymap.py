"""Every key binding of the console, each with an id the config can rebind (`[ui.keymap]`).

Dangerous actions (force-acknowledge, force-acknowledge all) always ask for confirmation.
"""

from __future__ import annotations

from textual.binding import Binding

from vmstui.errors import ConfigError

BINDINGS: list[Binding] = [
    Binding("a", "ack", "Ack", id="alarm.ack"),
    Binding("n", "nack", "Nack", id="alarm.nack"),
    Binding("i", "investigate", "Investigate", id="alarm.investigate"),
    Binding("f", "forward", "Forward", id="alarm.forward"),
    Binding("e", "edit_context", "Context", id="alarm.context"),
    Binding("t", "trigger", "Trigger", id="alarm.trigger"),
    Binding("F", "force_ack", "Force ack", id="alarm.force_ack", show=False),
    Binding("ctrl+a", "force_ack_all", "Force ack all", id="alarm.force_ack_all", show=False),
    Binding("space", "toggle_select", "Select", id="alarm.select", show=False),
    Binding("u", "next_unacked", "Next unacked", id="alarm.next_unacked", show=False),
    Binding("slash", "filter", "Filter", id="feed.filter"),
    Binding("backslash", "clear_filter", "Clear filter", id="feed.clear_filter", show=False),
    Binding("p", "toggle_follow", "Pause", id="feed.follow"),
    Binding("plus", "add_subscription", "Subscribe", id="subscriptions.add", show=False),
    Binding("minus", "remove_subscription", "Unsubscribe", id="subscriptions.remove", show=False),
    Binding("r", "refresh", "Refresh", id="app.refresh", show=False),
    Binding("tab", "focus_next", "Next pane", id="app.next_pane", show=False),
    Binding("shift+tab", "focus_previous", "Previous pane", id="app.previous_pane", show=False),
    Binding("q", "quit", "Quit", id="app.quit"),
]

BINDING_IDS = frozenset(b.id for b in BINDINGS if b.id)


def check_keymap(keymap: dict[str, str]) -> dict[str, str]:
    """Refuse unknown binding ids in the config, naming them (a typo would silently do nothing)."""
    unknown = sorted(set(keymap) - BINDING_IDS)
    if unknown:
        known = ", ".join(sorted(BINDING_IDS))
        raise ConfigError(f"[ui.keymap] has unknown binding ids {unknown}; known ids: {known}")
    return keymap
