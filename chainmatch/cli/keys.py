"""``chainmatch keys create|revoke|list``: API keys, created and revoked by the operator."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from chainmatch.cli.common import console, err_console, fail, operator

keys_app = typer.Typer(help="API keys", no_args_is_help=True)


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="admin | bureau | leader")],
    province: Annotated[str | None, typer.Option(help="bureau: its province, e.g. 广东省")] = None,
    city: Annotated[str | None, typer.Option(help="bureau: optionally its city")] = None,
    firm: Annotated[str | None, typer.Option(help="leader: its firm id")] = None,
    label: Annotated[str | None, typer.Option(help="who holds it")] = None,
) -> None:
    """Create a key. It is printed once, as the last line; only a salted hash is stored."""
    from chainmatch.errors import KeyScopeError
    from chainmatch.services import keys
    from models.apikey import Role

    try:
        role_value = Role(role)
    except ValueError as exc:
        err_console.print(f"[red]未知角色 {role}[/red]：admin | bureau | leader")
        raise typer.Exit(2) from exc
    try:
        key, plaintext = keys.create(
            operator(), role_value, province=province, city=city, firm_id=firm, label=label
        )
    except KeyScopeError as exc:
        raise fail(str(exc), 2) from exc
    err_console.print(f"已创建密钥 key {key.id} ({role_value.value})；请妥善保存，之后不再显示 (shown once):")
    print(plaintext)


@keys_app.command("revoke")
def keys_revoke(key: Annotated[str, typer.Argument(help="key id or prefix")]) -> None:
    """Revoke a key at once."""
    from chainmatch.errors import NotFound
    from chainmatch.services import keys

    try:
        keys.revoke(operator(), key)
    except NotFound as exc:
        raise fail(str(exc)) from exc
    console.print(f"已吊销 revoked key {key}")


@keys_app.command("list")
def keys_list() -> None:
    """Keys with role, scope and last use (never the secrets)."""
    from chainmatch.services import keys

    table = Table("id", "role", "scope", "label", "created", "last used", "revoked")
    # The prefix is what `keys revoke` takes: never cut it, whatever the terminal's width.
    table.add_column("prefix", no_wrap=True, min_width=12)
    for key in keys.list_keys(operator()):
        scope = key.firm_id or " ".join(x for x in (key.province, key.city) if x) or "—"
        table.add_row(
            str(key.id),
            key.role,
            scope,
            key.label or "",
            f"{key.created_at:%Y-%m-%d %H:%M}",
            f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "—",
            f"{key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "",
            key.prefix,
        )
    console.print(table)
