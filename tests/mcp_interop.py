#!/usr/bin/env python3
"""Interop: drive `skillrun mcp` with the official MCP Python SDK (a client nobody here wrote).

Usage: tests/mcp_interop.py [PATH_TO_SKILLRUN]   (default: $SKILLRUN_BIN, else target/debug/skillrun)

Builds its own fixture git repository in a temp dir, with an AWS key planted in a committed
file, then:
- over `mcp.client.stdio.stdio_client` + `ClientSession` with the `initialize` handshake:
  lists the tools, prompts and resources, gets the postmortem prompt, reads a skill resource,
  calls `read_file` (the planted key comes back redacted), calls it with `/etc/passwd` (an
  `isError` result), calls `git_blame` with a wrong argument (an error), calls an unknown
  tool (a JSON-RPC error) and `check_document`, and traces a fix with `trace_regression`
  (with a first-report date before and after its cause, and one that is not a date);
- over the SDK's `Client` in `auto` mode: `server/discover`, protocol 2026-07-28, and the same
  redacted `read_file`.
Exits non-zero on any failed expectation; the last line is `N passed, N failed`.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

from mcp import ClientSession, StdioServerParameters
from mcp.client.client import Client
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError

KEY = "AKIAZ3MHQ4TN7XK2P5WQ"
TOOLS = {
    "git_log",
    "git_show",
    "git_blame",
    "search_files",
    "read_file",
    "scan_postmortems",
    "git_releases",
    "trace_regression",
    "check_document",
}


class Tally:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def check(self, name: str, ok: bool, detail: object = "") -> bool:
        if ok:
            self.passed += 1
            print(f"ok   {name}")
        else:
            self.failed += 1
            print(f"FAIL {name}: {str(detail)[:600]}")
        return ok


def git(repo: Path, *args: str, date: str = "2024-11-01T12:00:00Z") -> str:
    env = dict(
        os.environ,
        GIT_CONFIG_GLOBAL="/dev/null",
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="Alice Example",
        GIT_AUTHOR_EMAIL="alice@example.com",
        GIT_COMMITTER_NAME="Alice Example",
        GIT_COMMITTER_EMAIL="alice@example.com",
        GIT_AUTHOR_DATE=date,
        GIT_COMMITTER_DATE=date,
    )
    done = subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)
    return done.stdout.decode().strip()


def make_repo(root: Path) -> Path:
    repo = root / "repo"
    (repo / "config").mkdir(parents=True)
    (repo / "src").mkdir()
    (repo / "config" / "settings.py").write_text(
        f'REGION = "eu-west-1"\nAWS_ACCESS_KEY_ID = "{KEY}"\n'
    )
    (repo / "src" / "app.py").write_text("def answer():\n    return 42\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "Add settings and app")
    # A bug and its fix, for trace_regression.
    (repo / "src" / "app.py").write_text("def answer():\n    return 41\n")
    git(repo, "commit", "-q", "-am", "Tune the answer", date="2024-11-02T12:00:00Z")
    (repo / "src" / "app.py").write_text("def answer():\n    return 42\n")
    git(repo, "commit", "-q", "-am", "Fix the wrong answer", date="2024-11-05T12:00:00Z")
    return repo


def texts(result) -> list[str]:
    return [c.text for c in result.content if getattr(c, "type", None) == "text"]


async def handshake_session(t: Tally, params: StdioServerParameters) -> None:
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            t.check(
                "initialize negotiates a handshake version",
                init.protocol_version in ("2025-06-18", "2025-11-25"),
                init.protocol_version,
            )
            t.check("server name is skillrun", init.server_info.name == "skillrun", init.server_info)

            tools = await session.list_tools()
            names = {tool.name for tool in tools.tools}
            t.check("tools/list has the repository tools and check_document", TOOLS <= names, names)
            t.check(
                "every tool has an object schema",
                all(tool.input_schema.get("type") == "object" for tool in tools.tools),
                [tool.input_schema for tool in tools.tools][:1],
            )

            prompts = await session.list_prompts()
            pm = next((p for p in prompts.prompts if p.name == "postmortem"), None)
            t.check("prompts/list has the postmortem skill", pm is not None, prompts)
            t.check(
                "the prompt takes an incident argument",
                pm is not None and any(a.name == "incident" for a in (pm.arguments or [])),
                pm,
            )
            got = await session.get_prompt(
                "postmortem", {"incident": "checkout failed after release v2.3"}
            )
            body = got.messages[0].content.text if got.messages else ""
            t.check(
                "prompts/get carries the incident, the instructions and the template",
                "checkout failed after release v2.3" in body
                and "## Template" in body
                and "# Postmortem: [Brief Title]" in body,
                body[:300],
            )

            resources = await session.list_resources()
            uris = {str(r.uri) for r in resources.resources}
            t.check(
                "resources/list has SKILL.md and the template",
                {"skill://postmortem/SKILL.md", "skill://postmortem/template.md"} <= uris,
                uris,
            )
            skill_md = await session.read_resource("skill://postmortem/SKILL.md")
            t.check(
                "resources/read returns SKILL.md",
                skill_md.contents[0].text.startswith("---\n")
                and "name: postmortem" in skill_md.contents[0].text,
                skill_md.contents[0].text[:200],
            )

            res = await session.call_tool("read_file", {"path": "config/settings.py"})
            dump = res.model_dump_json()
            t.check("read_file succeeds", not res.is_error, dump)
            t.check("the planted key does not come back", KEY not in dump, dump)
            items = texts(res)
            t.check(
                "the key comes back redacted, inside the envelope",
                bool(items)
                and "[REDACTED" in items[0]
                and items[0].startswith("<<<REPOSITORY DATA"),
                items[:1],
            )
            structured = res.structured_content or {}
            t.check(
                "structuredContent is the structured result",
                structured.get("path") == "config/settings.py",
                structured,
            )
            t.check(
                "the same JSON comes as text",
                any(_json_or_none(x) == structured for x in items),
                items[1:],
            )

            res = await session.call_tool("read_file", {"path": "/etc/passwd"})
            t.check(
                "read_file /etc/passwd is an isError result",
                res.is_error and any("refused" in x for x in texts(res)),
                res.model_dump_json(),
            )
            t.check("/etc/passwd content does not come back", "root:" not in res.model_dump_json())

            try:
                res = await session.call_tool("git_blame", {"file": "src/app.py"})
                t.check(
                    "git_blame with a wrong argument is an error the model can read",
                    res.is_error and any("invalid arguments for `git_blame`" in x for x in texts(res)),
                    res.model_dump_json(),
                )
            except MCPError as e:
                t.check("git_blame with a wrong argument is an error", True, e)

            try:
                await session.call_tool("no_such_tool", {})
                t.check("an unknown tool is a JSON-RPC error", False, "no error raised")
            except MCPError as e:
                t.check(
                    "an unknown tool is a JSON-RPC error",
                    e.error.code == -32602 and "unknown tool" in e.error.message,
                    e.error,
                )

            res = await session.call_tool(
                "check_document",
                {"markdown": "# Postmortem: Outage\n\n## Summary\n\nIt broke.\n", "skill": "postmortem"},
            )
            sc = res.structured_content or {}
            t.check(
                "check_document returns findings",
                not res.is_error and sc.get("errors", 0) > 0 and sc.get("findings"),
                res.model_dump_json()[:400],
            )

            bug = git(Path(params.args[2]), "rev-parse", "HEAD~1")
            res = await session.call_tool(
                "trace_regression", {"fix": "HEAD", "reported": "2024-11-03"}
            )
            sc = res.structured_content or {}
            t.check(
                "trace_regression finds the commit that introduced the bug",
                not res.is_error and sc.get("candidates", [{}])[0].get("commit") == bug,
                res.model_dump_json()[:600],
            )
            res = await session.call_tool(
                "trace_regression", {"fix": "HEAD", "reported": "2024-11-01T18:00:00Z"}
            )
            sc = res.structured_content or {}
            t.check(
                "a first report before it leaves it out, and says so",
                not res.is_error
                and all(c.get("commit") != bug for c in sc.get("candidates", []))
                and sc.get("after_report") == [bug[:12]],
                res.model_dump_json()[:600],
            )
            res = await session.call_tool("trace_regression", {"fix": "HEAD", "reported": "soon"})
            t.check(
                "a report date that is not one is an error naming the field",
                res.is_error and any("field `reported`" in x for x in texts(res)),
                res.model_dump_json()[:400],
            )

            # Still answering after the errors.
            pong = await session.send_ping()
            t.check("the server answers after errors", pong is not None)


def _json_or_none(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return None


async def discover_session(t: Tally, params: StdioServerParameters) -> None:
    async with Client(params, mode="auto") as client:
        t.check(
            "auto mode negotiates 2026-07-28 via server/discover",
            client.protocol_version == "2026-07-28" and client.session.discover_result is not None,
            client.protocol_version,
        )
        tools = await client.list_tools()
        t.check("2026-07-28 tools/list", TOOLS <= {tool.name for tool in tools.tools}, tools)
        res = await client.call_tool("read_file", {"path": "config/settings.py"})
        dump = res.model_dump_json()
        t.check(
            "2026-07-28 read_file is redacted",
            not res.is_error and KEY not in dump and "[REDACTED" in dump,
            dump[:400],
        )


async def main() -> int:
    binary = Path(
        sys.argv[1] if len(sys.argv) > 1 else os.environ.get("SKILLRUN_BIN", "target/debug/skillrun")
    ).resolve()
    if not binary.is_file():
        print(f"no skillrun binary at {binary}; build it first (cargo build)")
        print("0 passed, 1 failed")
        return 1
    t = Tally()
    with tempfile.TemporaryDirectory() as tmp:
        repo = make_repo(Path(tmp))
        params = StdioServerParameters(
            command=str(binary),
            args=["mcp", "--repo", str(repo)],
            env={"SKILLRUN_SKILLS_DIR": str(Path(tmp) / "no-user-skills")},
        )
        for name, run in (("initialize", handshake_session), ("server/discover", discover_session)):
            try:
                await asyncio.wait_for(run(t, params), timeout=120)
            except Exception as e:  # a crash is a failure, reported, not a traceback-only exit
                traceback.print_exc()
                t.check(f"{name} session ran to the end", False, repr(e))
    print(f"{t.passed} passed, {t.failed} failed")
    return 0 if t.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
