"""Eagle Eye CameraManager Message Broker (STOMP over WebSockets)."""
