"""Pre-signed webhook requests for the load client: Twilio SMS, Meta Messenger (and test).

    .venv/bin/python bench/webhooks/payloads.py --inboxes var/bench-webhooks/inboxes.json \
        --channel sms --count 40000 --base-url http://127.0.0.1:8393 \
        --returning var/bench-webhooks/returning.json --out var/bench-webhooks/sms.pickle

Every request is unique (its own MessageSid / mid / id) and signed here, before any timing,
so the client only sends bytes. Signatures are made the way the providers make them:

- Twilio: `twilio.request_validator.RequestValidator(auth_token).compute_signature(url, params)`
  over url = PUBLIC_BASE_URL + the webhook path, sent as X-Twilio-Signature; the body is the
  form-encoded params.
- Meta: X-Hub-Signature-256 = "sha256=" + HMAC-SHA256(app_secret, raw body).
- test: `Authorization: Bearer <token>` (no signature; used to try the harness).

Senders: a pool of `--senders` (default 5,000) per channel, each request from one drawn at
random (seeded), so a sender's first request is a new customer (or, for the share taken from
the load data, a returning one) and later ones are follow-ups. The output is a pickle:
{"channel", "base_url", "requests": [(path, headers, body, sender_index)], "senders": [...],
"returning": n} where the first n senders are customers already in the database.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import pickle
import random
import time
from pathlib import Path
from urllib.parse import urlencode

TEXTS = [
    "Dzień dobry, paczka nie dotarła. Numer zamówienia {n}.",
    "Hello, my order {n} still says processing. Any news?",
    "Czy mogę zmienić adres dostawy dla zamówienia {n}?",
    "Thanks, that worked!",
    "Zamówienie {n}: przyszło uszkodzone, co teraz? Załączę zdjęcie później.",
    "Can I get an invoice for order {n} please? Company: Bench Ltd, VAT PL5260001246.",
    "Dobrý den, kdy dorazí objednávka {n}?",
    "ok",
    "Hi! I was charged twice for {n}. Please refund one of the payments as soon as possible, "
    "this is the second time this happens and I am getting a bit frustrated with it.",
    "Kiedy będzie dostępny rozmiar M? Pytam o produkt z zamówienia {n}.",
    "STOP? no wait, I mean: please don't cancel {n} 🙂",
    "Děkuji za rychlou odpověď.",
]


def text(rnd: random.Random) -> str:
    return rnd.choice(TEXTS).format(n=rnd.randrange(100000, 999999))


def sms_senders(count: int, returning: list[str]) -> list[str]:
    """Valid Polish mobile numbers nobody in the load data has (+48 51x xxx xxx)."""
    new = [f"+4851{i:07d}" for i in range(count - len(returning))]
    return returning + new


def messenger_senders(count: int, returning: list[str]) -> list[str]:
    new = [str(8_100_000_000_000_000 + i) for i in range(count - len(returning))]
    return returning + new


def build_sms(inbox: dict, base_url: str, n: int, sender: str, rnd: random.Random, validator):
    path = inbox["webhook_url"]
    sid = "SM" + rnd.randbytes(16).hex()
    params = {
        "ToCountry": "PL",
        "ToState": "",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "",
        "SmsSid": sid,
        "FromState": "",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": text(rnd),
        "FromCountry": "PL",
        "To": inbox["from_number"],
        "ToZip": "",
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": inbox["account_sid"],
        "From": sender,
        "ApiVersion": "2010-04-01",
    }
    signature = validator.compute_signature(base_url + path, params)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": signature,
        "I-Twilio-Idempotency-Token": rnd.randbytes(16).hex(),
        "User-Agent": "TwilioProxy/1.1",
    }
    return path, headers, urlencode(params).encode(), sid


def build_messenger(inbox: dict, n: int, sender: str, rnd: random.Random, now_ms: int):
    path = inbox["webhook_url"]
    page = inbox["page_id"]
    mid = "m_" + rnd.randbytes(24).hex()
    ts = now_ms + n
    payload = {
        "object": "page",
        "entry": [
            {
                "id": page,
                "time": ts,
                "messaging": [
                    {
                        "sender": {"id": sender},
                        "recipient": {"id": page},
                        "timestamp": ts,
                        "message": {"mid": mid, "text": text(rnd)},
                    }
                ],
            }
        ],
    }
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    digest = hmac.new(inbox["app_secret"].encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-Hub-Signature-256": "sha256=" + digest,
        "User-Agent": "facebookexternalua",
    }
    return path, headers, body, mid


def build_test(inbox: dict, n: int, sender: str, rnd: random.Random):
    key = f"bench-{n}-{rnd.randbytes(8).hex()}"
    body = json.dumps({"id": key, "from": sender, "text": text(rnd)}).encode()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {inbox['token']}"}
    return inbox["webhook_url"], headers, body, key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--inboxes", type=Path, required=True)
    parser.add_argument("--channel", choices=["sms", "messenger", "test"], required=True)
    parser.add_argument("--count", type=int, default=40000)
    parser.add_argument("--senders", type=int, default=5000)
    parser.add_argument("--base-url", required=True)
    parser.add_argument(
        "--returning", type=Path, help="JSON {channel: [identity values already in the database]}"
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    inbox = json.loads(args.inboxes.read_text())[args.channel]
    returning = []
    if args.returning and args.returning.exists():
        returning = json.loads(args.returning.read_text()).get(args.channel, [])
    returning = returning[: args.senders // 5]
    rnd = random.Random(f"{args.seed}-{args.channel}")
    if args.channel == "sms":
        from twilio.request_validator import RequestValidator

        senders = sms_senders(args.senders, returning)
        validator = RequestValidator(inbox["auth_token"])
    elif args.channel == "messenger":
        senders = messenger_senders(args.senders, returning)
    else:
        senders = [f"bench{i}@load.example" for i in range(args.senders)]
        returning = []
    now_ms = int(time.time() * 1000)
    started = time.perf_counter()
    requests = []
    for n in range(args.count):
        index = rnd.randrange(len(senders))
        sender = senders[index]
        if args.channel == "sms":
            path, headers, body, key = build_sms(inbox, args.base_url, n, sender, rnd, validator)
        elif args.channel == "messenger":
            path, headers, body, key = build_messenger(inbox, n, sender, rnd, now_ms)
        else:
            path, headers, body, key = build_test(inbox, n, sender, rnd)
        requests.append((path, headers, body, index, key))
    signing = time.perf_counter() - started
    keys = {r[4] for r in requests}
    if len(keys) != len(requests):
        raise SystemExit("provider ids must be unique")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("wb") as f:
        pickle.dump(
            {
                "channel": args.channel,
                "base_url": args.base_url,
                "requests": requests,
                "senders": senders,
                "returning": len(returning),
                "signing_seconds": round(signing, 3),
            },
            f,
            protocol=pickle.HIGHEST_PROTOCOL,
        )
    sizes = [len(r[2]) for r in requests]
    print(
        f"bench: webhooks: {len(requests)} {args.channel} requests, {len(senders)} senders "
        f"({len(returning)} already customers), body {min(sizes)}-{max(sizes)} bytes, "
        f"built and signed in {signing:.1f} s"
    )


if __name__ == "__main__":
    main()
