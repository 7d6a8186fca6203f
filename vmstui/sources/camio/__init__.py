"""Camio domain callbacks (HTTP webhooks Camio POSTs or PUTs to vmstui)."""
