#!/usr/bin/python3
"""A port-forward client for crid's streaming server built on Debian's
python3-websocket, speaking kubelet's WebSocket port-forward protocol
(v4.channel.k8s.io: data channel 2*i and error channel 2*i+1 per port, each
opened by the server with the port as a little-endian uint16).

    ws_port_forward_client.py URL --port N [--send TEXT] [--protocol P]

Sends TEXT on the port's data channel and prints one JSON object with what
came back: protocol, port_prefixes (as the server announced them), data and
error (text received on the two channels) once the server closes.
"""

import argparse
import base64
import json
import struct
import sys

import websocket


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("url")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--send", default="")
    p.add_argument("--protocol", default="v4.channel.k8s.io")
    p.add_argument("--timeout", type=float, default=30.0)
    args = p.parse_args()

    sep = "&" if "?" in args.url else "?"
    url = "%s%sport=%d" % (args.url, sep, args.port)
    ws = websocket.create_connection(url, subprotocols=[args.protocol], timeout=args.timeout)
    b64 = "base64" in (ws.subprotocol or "")

    def decode(payload):
        if isinstance(payload, str):
            payload = payload.encode()
        if b64:
            return payload[0] - ord("0"), base64.b64decode(payload[1:])
        return payload[0], payload[1:]

    if args.send:
        data = args.send.encode()
        if b64:
            ws.send("0" + base64.b64encode(data).decode())
        else:
            ws.send_binary(b"\x00" + data)

    prefixes, data, error = {}, b"", b""
    while True:
        try:
            opcode, payload = ws.recv_data()
        except websocket.WebSocketConnectionClosedException:
            break
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            break
        if not payload:
            continue
        channel, body = decode(payload)
        if channel not in prefixes:
            prefixes[channel] = struct.unpack("<H", body[:2])[0] if len(body) >= 2 else None
            body = body[2:]
        if channel == 0:
            data += body
        elif channel == 1:
            error += body
    ws.close()
    print(json.dumps({
        "protocol": ws.subprotocol or "",
        "port_prefixes": {str(k): v for k, v in prefixes.items()},
        "data": data.decode(errors="replace"),
        "error": error.decode(errors="replace"),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
