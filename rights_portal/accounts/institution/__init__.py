"""Logging in with the institution's account (SURFconext, OpenID Connect).

``claims`` reads what the provider says, ``services`` decides who may enter, ``client`` speaks
the protocol through Authlib, ``views`` are the pages (and ``init_app``), ``models`` the link to
the account.
"""
