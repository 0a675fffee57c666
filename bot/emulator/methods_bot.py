"""Bot-level methods: identity, updates (long polling), webhooks and the command menu."""
from __future__ import annotations

import json
import re
from typing import Any, Awaitable, Callable

from bot.emulator.limits import MAX_GET_UPDATES_TIMEOUT, ApiError, bad_request
from bot.emulator.params import Params
from bot.emulator.state import EmulatorState, WebhookConfig

Method = Callable[[EmulatorState, Params], Awaitable[Any]]

_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


async def get_me(state: EmulatorState, params: Params) -> dict[str, Any]:
    """getMe: PTB refuses to start without ``is_bot``."""
    return {**state.bot_user, "can_join_groups": True, "can_read_all_group_messages": False,
            "supports_inline_queries": False, "can_connect_to_business": False, "has_main_web_app": False}


async def get_updates(state: EmulatorState, params: Params) -> list[dict[str, Any]]:
    """getUpdates: confirm by offset, then hold the request until an update arrives or timeout."""
    if state.webhook_url:
        raise ApiError("Conflict: can't use getUpdates method while webhook is active; "
                       "use deleteWebhook to delete the webhook first", 409)
    offset = params.int("offset")
    limit = min(max(params.int("limit", 100) or 100, 1), 100)
    timeout = min(max(params.int("timeout", 0) or 0, 0), MAX_GET_UPDATES_TIMEOUT)
    allowed = params.json("allowed_updates") or None

    def deliverable() -> list[dict[str, Any]]:
        # An update type the bot did not ask for is skipped, as Telegram does.
        return [u for u in state.updates if allowed is None or set(u) & set(allowed)]

    state.confirm_updates(offset)
    if not deliverable() and timeout > 0:
        await state.wait_until(lambda: bool(deliverable()), timeout)
    return deliverable()[:limit]


async def set_webhook(state: EmulatorState, params: Params) -> bool:
    """setWebhook: updates are POSTed to ``url`` from now on (bot/emulator/webhook.py)."""
    url = params.str("url") or ""
    if not url:
        return await delete_webhook(state, params)
    if not url.startswith(("http://", "https://")):
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    secret = params.str("secret_token")
    if secret is not None and not _SECRET_RE.match(secret):
        raise bad_request("bad webhook: secret token contains unallowed characters")
    max_connections = params.int("max_connections", 40) or 40
    if not 1 <= max_connections <= 100:
        raise bad_request("bad webhook: max_connections must be between 1 and 100")
    if params.bool("drop_pending_updates"):
        state.updates.clear()
    state.webhook = WebhookConfig(url, secret, max_connections, params.json("allowed_updates") or None)
    return True


async def delete_webhook(state: EmulatorState, params: Params) -> bool:
    """deleteWebhook: ``drop_pending_updates`` empties the queue."""
    state.webhook = None
    if params.bool("drop_pending_updates"):
        state.updates.clear()
    return True


async def get_webhook_info(state: EmulatorState, params: Params) -> dict[str, Any]:
    """getWebhookInfo: the URL (empty when polling), the queue length and the last error."""
    info: dict[str, Any] = {"url": state.webhook_url, "has_custom_certificate": False,
                            "pending_update_count": len(state.updates)}
    config = state.webhook
    if config is not None:
        info["max_connections"] = config.max_connections
        if config.allowed_updates:
            info["allowed_updates"] = config.allowed_updates
        if config.last_error_date is not None:
            info["last_error_date"] = config.last_error_date
            info["last_error_message"] = config.last_error_message
    return info


def _commands_key(params: Params) -> str:
    scope = params.json("scope") or {"type": "default"}
    return json.dumps([scope, params.str("language_code") or ""], sort_keys=True)


async def set_my_commands(state: EmulatorState, params: Params) -> bool:
    """setMyCommands: validated like Telegram (lower-case names, 1-256 char descriptions)."""
    commands = params.json("commands")
    if not isinstance(commands, list) or len(commands) > 100:
        raise bad_request("commands must be an array of at most 100 BotCommand")
    for command in commands:
        name = str(command.get("command", "")).lstrip("/")
        description = str(command.get("description", ""))
        if not _COMMAND_RE.match(name):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(description) <= 256:
            raise bad_request("command description must be 1-256 characters")
    state.commands[_commands_key(params)] = [
        {"command": str(c["command"]).lstrip("/"), "description": str(c["description"])} for c in commands]
    return True


async def get_my_commands(state: EmulatorState, params: Params) -> list[dict[str, str]]:
    return state.commands.get(_commands_key(params), [])


async def delete_my_commands(state: EmulatorState, params: Params) -> bool:
    state.commands.pop(_commands_key(params), None)
    return True


async def log_out_or_close(state: EmulatorState, params: Params) -> bool:
    return True


METHODS: dict[str, Method] = {
    "getme": get_me, "getupdates": get_updates, "setwebhook": set_webhook,
    "deletewebhook": delete_webhook, "getwebhookinfo": get_webhook_info,
    "setmycommands": set_my_commands, "getmycommands": get_my_commands,
    "deletemycommands": delete_my_commands, "logout": log_out_or_close, "close": log_out_or_close,
}
