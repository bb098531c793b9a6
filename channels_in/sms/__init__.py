"""SMS through Twilio: opt-out keywords, segment counting and the REST client.

The adapter itself is channels_in/adapters/sms.py; these are its parts that
need no request or inbox to be understood (and are tested without a database).
"""
