"""Runs localstripe (PyPI, a third-party stateful fake of Stripe's API) for the tests.

Started by scripts/localstripe.sh, bound to 127.0.0.1 only (localstripe's own command
line listens on every interface). Two adjustments, both to behave as Stripe documents:
- no pickle file: state lives in memory only (localstripe writes the whole store to
  /tmp/localstripe.pickle after every request, shared by every instance on the machine);
- after a declined card, a PaymentIntent takes another payment method and can be
  confirmed again (Stripe: "requires_payment_method" after a failed attempt, then
  "requires_confirmation" once a new method is attached); localstripe kept the failed
  charge and refused the second confirmation.
Usage: python localstripe_server.py PORT
"""

import socket
import sys

from aiohttp import web
import localstripe.resources as resources
import localstripe.server as server

resources.store.dump_to_disk = lambda *args, **kwargs: None

_update = resources.PaymentIntent._update


def _update_and_forget_failed_charge(self, **data):
    _update(self, **data)
    charge = self.latest_charge
    if "payment_method" in data and charge is not None and charge.status == "failed":
        self.latest_charge = None


resources.PaymentIntent._update = _update_and_forget_failed_charge


def main():
    port = int(sys.argv[1])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    web.run_app(server.app, sock=sock, print=None, access_log=None)


if __name__ == "__main__":
    main()
