"""The email channel: parsing, threading, sending and loop safety, one concern per module.

- parse.py      raw RFC 5322 bytes -> ParsedEmail (no database)
- quotes.py     where quoted history and signatures start, to fold them
- threads.py    signed Message-IDs and markers, subject tokens, Thread-Index
- loops.py      RFC 3834: what is automatic, and whether we may answer it
- receive.py    every inbound path (webhook, IMAP, Anymail) commits raw mail here
- compose.py    an outbound Message -> a Django EmailMessage with our headers
- imap.py       polling IMAP mailboxes
- anymail_hooks.py  Anymail's inbound and tracking signals
The adapter that ties them to the one ingest path is channels_in/adapters/email.py.
"""
