#!/usr/bin/python3
"""An exec/attach client for crid's streaming server built on Debian's
python3-websocket (websocket-client), so the WebSocket protocol is checked by
code crid did not write.

    ws_exec_client.py URL [--protocol P]... [--stdin TEXT] [--close-stdin]
                          [--resize WxH]... [--json]

Writes what arrives on the stdout and stderr channels to its own stdout and
stderr and exits with the remote command's exit code, as kubectl exec does
(2 when the status is an error other than an exit code). With --json it
prints one JSON object instead: protocol, stdout, stderr, status, exit_code.
"""

import argparse
import base64
import json
import sys

import websocket

STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("url")
    p.add_argument("--protocol", action="append", default=[],
                   help="subprotocol to offer, in order (default: v5, v4)")
    p.add_argument("--stdin", help="text sent on the stdin channel")
    p.add_argument("--close-stdin", action="store_true",
                   help="after --stdin, send the v5 close signal for stdin")
    p.add_argument("--resize", action="append", default=[],
                   help="WIDTHxHEIGHT sent on the resize channel before stdin")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.add_argument("--timeout", type=float, default=30.0)
    return p.parse_args()


class Channels:
    """Encodes and decodes channel messages for the negotiated protocol."""

    def __init__(self, ws):
        self.ws = ws
        self.base64 = "base64" in (ws.subprotocol or "")

    def send(self, channel, data):
        if self.base64:
            self.ws.send(chr(ord("0") + channel) + base64.b64encode(data).decode())
        else:
            self.ws.send_binary(bytes([channel]) + data)

    def decode(self, opcode, payload):
        if not payload:
            return None, b""
        if isinstance(payload, str):
            payload = payload.encode()
        if self.base64:
            return payload[0] - ord("0"), base64.b64decode(payload[1:])
        return payload[0], payload[1:]


def exit_code_of(status_text, protocol):
    """The exit code the error channel reports, and whether it was an error
    other than a command exit."""
    if not status_text:
        return 0, False
    if protocol.startswith("v4.") or protocol.startswith("v5."):
        status = json.loads(status_text)
        if status.get("status") == "Success":
            return 0, False
        if status.get("reason") == "NonZeroExitCode":
            for cause in status.get("details", {}).get("causes", []):
                if cause.get("reason") == "ExitCode":
                    return int(cause["message"]), False
        return 2, True
    return 2, True


def main():
    args = parse_args()
    protocols = args.protocol or ["v5.channel.k8s.io", "v4.channel.k8s.io"]
    ws = websocket.create_connection(args.url, subprotocols=protocols, timeout=args.timeout)
    protocol = ws.subprotocol or ""
    channels = Channels(ws)

    for size in args.resize:
        width, height = (int(x) for x in size.split("x"))
        channels.send(RESIZE, json.dumps({"Width": width, "Height": height}).encode())
    if args.stdin is not None:
        channels.send(STDIN, args.stdin.encode())
    if args.close_stdin:
        if protocol != "v5.channel.k8s.io":
            sys.exit("--close-stdin needs v5.channel.k8s.io, got %r" % protocol)
        ws.send_binary(bytes([CLOSE, STDIN]))

    out, err, status = b"", b"", b""
    while True:
        try:
            opcode, payload = ws.recv_data()
        except websocket.WebSocketConnectionClosedException:
            break
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            break
        channel, data = channels.decode(opcode, payload)
        if channel == STDOUT:
            out += data
        elif channel == STDERR:
            err += data
        elif channel == ERROR:
            status += data
    ws.close()

    code, failed = exit_code_of(status.decode(), protocol)
    if args.json:
        print(json.dumps({
            "protocol": protocol,
            "stdout": out.decode(errors="replace"),
            "stderr": err.decode(errors="replace"),
            "status": status.decode(errors="replace"),
            "exit_code": code,
        }))
        return 0
    sys.stdout.buffer.write(out)
    sys.stderr.buffer.write(err)
    if failed:
        sys.stderr.write("error: %s\n" % status.decode(errors="replace"))
    return code


if __name__ == "__main__":
    sys.exit(main())
