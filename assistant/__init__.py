"""Question to cited answer. Read it by folder, from the top down (import-linter keeps the order):

- `frontends/`: the entry points: `kb` (cli), the web page, the Slack bot, `make model`;
- `wiring`, `doctor`, `evaluation`: settings in, parts out; health; `kb eval`;
- `documents/`: list, match and remove documents; the running page's; folders kept in sync;
- `answering/`: the pipeline: condense, retrieve, evidence, context, prompt, stream, cite;
- `guards/`: what may be shown: citations (attribution), grounding, refusal, links;
- `backends/`: chat models (`llms/`), profiles, model files, the pool, routing and fallback;
- `telemetry/`: Prometheus metrics (kb's own registry) and JSON log lines;
- `settings`, `home`, `errors`, `log_redaction`: the typed settings tree and the folder its
  paths are read against, the error tree, secret-free logs.
"""
