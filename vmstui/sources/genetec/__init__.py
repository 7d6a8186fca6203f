"""Genetec Security Center Web SDK: REST client, event stream, alarm desk."""
