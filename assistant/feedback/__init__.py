"""Feedback: the 👍 and 👎 people give answers on the page and in Slack, kept in one SQLite file
(`feedback.db`, `.kb/feedback.sqlite3` under kb's home) with what was rated: the question, the
answer, the passages kb gave the model, the backend.

`store` records answers and ratings; `schema` holds the versioned schema; `export` turns the
👎 answers into rows of an evaluation file for a person to complete. Nothing here knows about
Gradio or Slack.
"""
