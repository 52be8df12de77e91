"""Inbound hooks: what SMS and e-mail providers tell the center that people said through them.

A provider is one small module under ``providers/`` that registers, for a
(kind, provider) pair, how to make a hook's secret, how to verify a
request, how to read its messages and what to answer (``registry.py``).
``pipeline.py`` is the one path every request takes: find the hook, verify,
read, keep each new message once as evidence, act, answer.
"""
