"""A real SMTP server for Vigil's email connector tests: aiosmtpd (from PyPI) on loopback,
offering STARTTLS with the certificate it is given and, when asked, requiring it and
authentication. Every message it accepts is written to --out as one JSON file (envelope and
the message as received). It prints the port it listens on, then serves until killed."""

import argparse
import asyncio
import json
import os
import socket
import ssl

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Keep:
    def __init__(self, out):
        self.out = out
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        name = os.path.join(self.out, f"{self.count:04}.json")
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": session.ssl is not None,
            "authenticated_as": session.auth_data.login.decode() if session.authenticated else None,
            "content": envelope.content.decode("utf-8", "replace"),
        }
        with open(name + ".tmp", "w") as f:
            json.dump(record, f)
        os.rename(name + ".tmp", name)
        return f"250 OK queued as vigil-test-{self.count}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--user")
    parser.add_argument("--password-env")
    parser.add_argument("--no-starttls", action="store_true")
    args = parser.parse_args()

    context = None
    if not args.no_starttls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)
    password = os.environ.get(args.password_env, "") if args.password_env else None

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and args.user is not None
            and auth_data.login.decode() == args.user
            and auth_data.password.decode() == password
        )
        # handled=False: aiosmtpd answers 535 itself; its default for a failure is to answer
        # nothing, which leaves a client waiting.
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    handler = Keep(args.out)

    def factory():
        return SMTP(
            handler,
            hostname="localhost",
            tls_context=context,
            require_starttls=context is not None,
            authenticator=authenticate if args.user else None,
            auth_required=args.user is not None,
            auth_require_tls=True,
        )

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(loop.create_server(factory, sock=sock))
    print(sock.getsockname()[1], flush=True)
    loop.run_until_complete(server.serve_forever())


if __name__ == "__main__":
    main()
