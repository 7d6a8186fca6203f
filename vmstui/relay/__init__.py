"""`vmstui relay` (issue 16): the site's VMS sessions once, published on RabbitMQ for every
console, and the consoles' alarm commands run once through the alarm desk."""
