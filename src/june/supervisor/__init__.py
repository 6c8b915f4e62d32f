"""``june up``: start the embedded infrastructure and every service, keep them up, stop them."""
