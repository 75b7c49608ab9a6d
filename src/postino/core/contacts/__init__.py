"""The address book and what is sent to it.

``lists`` (SG24 tags, NusaSMS groups) and ``contacts`` in them; ``sheets`` and
``imports`` read address books from CSV and XLSX; ``optouts`` the numbers not to
message and the keywords that change them; ``campaigns`` the service of a campaign,
``expansion`` and ``release`` how its lists become messages and reach the queue;
``placeholders`` the ``{{name}}`` rules of a campaign body.
"""
