"""Camio callback payloads for the tests: the spec's two examples verbatim (copied from
specs/camio-callback-endpoints.txt, the PACS one with the document's trailing comma inside
`user`), the PACS one with only that comma removed, and one payload per other event type
(the spec shows none for them: these follow its envelope, `{id, type, data: {object}}`).
"""

# ruff: noqa: E501 - the spec's examples are kept verbatim, long lines included

from __future__ import annotations

from typing import Any

import orjson

# Verbatim from the spec: a raw string, so `\\u003e` stays exactly as the document has it.
INCIDENT_CREATED = rb"""{
    "data": {
        "object": {
            "incident": {
                "camera_name": "Front Entrance",
                "counter_events": {
                    "segmentation_process_restart_count": {
                        "counter": "segmentation_process_restart_count",
                        "description": "47 \\u003e 0 means the network connection to the video stream is unstable have restarted 47 times in 15 minutes.",
                        "value": 47
                    }
                },
                "date": "2021-04-30T19:13:42.317-0000",
                "type": "incident"
            },
            "user": {
                "email": "hq-cams@acme.com",
                "user_id": "56X126755830642533906524"
            }
        }
    },
    "id": "f58a5ef2-fbc7-407b-bdeb-536bfde767da",
    "type": "incident.created"
}"""

# Verbatim, typo included: not valid JSON.
PACS_EVENTS_CREATED_VERBATIM = rb"""{
  "id": "4d547b24-cac3-4ade-850b-3e69197016f3",
  "type": "pacs.events.created",
  "data": {
    "object": {
      "user": {
        "user_id": "u123",
        "email": "test@acme.com",
      },
      "domain": "acme.com",
      "events": [
        {
          "badge_id": 0,
          "controller_id": 1,
          "cardholder_key": 0,
          "event_type": 4,
          "event_subtype": 10,
          "device_id": 1,
          "device_name": "Rooftop Reader 1",
          "serial_number": 1611881197,
          "timestamp": "2021-01-29T01:14:33.000000",
          "camio_metadata": {
            "entry_id": "1_1",
            "date": "2021-01-29T01:14:33.000-0000",
            "labels": [
              "onguard:entry.ajar.started:2021-01-29T01:14:33.000-0000",
              "entry.ajar.started",
              "integration:onguard"
            ]
          }
        }
      ],
      "source_server": "apac.int.acme.com:443"
    }
  }
}"""

# The same document with only the trailing comma inside `user` removed.
PACS_EVENTS_CREATED = PACS_EVENTS_CREATED_VERBATIM.replace(
    b'"email": "test@acme.com",\n      }', b'"email": "test@acme.com"\n      }'
)
assert PACS_EVENTS_CREATED != PACS_EVENTS_CREATED_VERBATIM

INCIDENT_ID = "f58a5ef2-fbc7-407b-bdeb-536bfde767da"
PACS_ID = "4d547b24-cac3-4ade-850b-3e69197016f3"

EVENT_TYPES = (
    "camera.created",
    "camera.updated",
    "camera.deleted",
    "device.deleted",
    "hook.created",
    "hook.deleted",
    "incident.created",
    "pacs.events.created",
    "zone.created",
    "zone.updated",
    "zone.deleted",
)


def callback(callback_id: str, kind: str, obj: dict[str, Any]) -> bytes:
    return orjson.dumps({"id": callback_id, "type": kind, "data": {"object": obj}})


def pacs_with(events: list[dict[str, Any]], callback_id: str = "pacs-2") -> bytes:
    """The spec's (fixed) PACS callback carrying these PACS events instead of its one."""
    data = orjson.loads(PACS_EVENTS_CREATED)
    data["id"] = callback_id
    data["data"]["object"]["events"] = events
    return orjson.dumps(data)


def one_of_each() -> dict[str, bytes]:
    """A callback of every documented type, keyed by type (ids `each-{n}`)."""
    payloads: dict[str, bytes] = {}
    for n, kind in enumerate(EVENT_TYPES):
        callback_id = f"each-{n}"
        if kind == "incident.created":
            data = orjson.loads(INCIDENT_CREATED)
            data["id"] = callback_id
            payloads[kind] = orjson.dumps(data)
        elif kind == "pacs.events.created":
            payloads[kind] = pacs_with(
                orjson.loads(PACS_EVENTS_CREATED)["data"]["object"]["events"], callback_id
            )
        else:
            noun = kind.split(".")[0]
            subject = {"camera_name": "Lobby"} if noun == "camera" else {"name": f"{noun} 7"}
            payloads[kind] = callback(callback_id, kind, {noun: subject})
    return payloads
