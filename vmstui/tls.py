"""The one place a TLS client context is built from a config's `verify_tls` and `ca_file`.

Every client that dials a server (the Genetec Web SDK, the Eagle Eye broker on either
transport, the MQTT broker, the Ocularis proxy) takes its context from here, so the rules
cannot drift: verification on by default, the system's trust store unless the site names
its own CA bundle, and a bundle that cannot be loaded refused when the process starts.
"""

from __future__ import annotations

import ssl

from vmstui.config_base import ConfigError, Tls


def client_context(tls: Tls, what: str) -> ssl.SSLContext:
    """A context that verifies the server's certificate and name (unless `verify_tls` is
    off), trusting `ca_file` when set; ConfigError naming `what` if that file is unusable."""
    context = ssl.create_default_context()
    if tls.ca_file is not None:
        try:
            context.load_verify_locations(cafile=str(tls.ca_file))
        except (OSError, ssl.SSLError) as exc:
            reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or exc
            raise ConfigError(f"{what}: cannot load ca_file {tls.ca_file}: {reason}") from None
    if not tls.verify_tls:
        context.check_hostname = False  # before verify_mode: the order ssl requires
        context.verify_mode = ssl.CERT_NONE
    return context
