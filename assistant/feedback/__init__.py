"""👍/👎 on answers, from the page and from Slack, kept in one SQLite file (`feedback.db`,
`.kb/feedback.sqlite3` under kb's home).

`store` keeps each answer that can be rated (question, answer, passages, backend, history)
and the ratings people give it; `export` writes the 👎 answers as eval rows (EVAL.md's
format, `answer_must` left for a person to fill in), closing the loop from users to the
eval sets. Nothing here knows about Gradio or Slack.
"""
