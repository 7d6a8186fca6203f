"""A Genetec Security Center Web SDK simulator (events, alarms, custom events) on loopback.

Used by `vmstui demo`, the tests and the benchmarks. It speaks the vendor document
(specs/genetec-websdk-events-alarms.txt) and never imports the vmstui client it tests: only
the table of EventType numbers (`sources/genetec/eventtypes.py`), one place for both.

    sim = Simulator(SimConfig(seed=1, password="demo"))
    await sim.start()                 # host="127.0.0.1", rest_port=0, stream_port=0 (0 = free)
    sim.base_url                      # "http://127.0.0.1:{rest_port}/WebSdk"
    sim.entities["Camera"][0].guid    # entities by type, see Simulator.entities
    await sim.stop()

Fault knobs (also POST /WebSdk/_sim/..., see `admin`): drop_streams_after(n), restart(),
drip(chunk, delay_s) / drip(None), inject_garbage(n), expire_sessions(), hang(seconds).
Helpers: emit_event, trigger_alarm, burst, stats, raised_custom_events.
"""

from vmstui.simulator.config import SimConfig, SimStats
from vmstui.simulator.core import RaisedCustomEvent, Simulator, run_simulator
from vmstui.simulator.directory import Entity

__all__ = ["Entity", "RaisedCustomEvent", "SimConfig", "SimStats", "Simulator", "run_simulator"]
