"""Facebook Messenger (Meta's Messenger Platform) for one Facebook page per inbox.

events.py reads webhook payloads, graph.py talks to the Graph API (Send API,
user profiles), window.py holds Messenger's reply rules, profile.py fetches a
new customer's name once. channels_in/adapters/messenger.py ties them together.
"""
