"""Saved conversations: the page's chats and Slack's threads, kept in one SQLite file
(`web.conversations_db`, `.kb/conversations.sqlite3` under kb's home) so they outlive a
restart.

`store` opens the file and reads and writes conversations (each belongs to one owner: a login
user, a browser, a Slack thread); `schema` holds the versioned schema and its migrations;
`restore` turns a saved answer back into an `Answer`; `export` writes a conversation as
Markdown. Nothing here knows about Gradio or Slack, and the OpenAI-compatible API stores
nothing.
"""
