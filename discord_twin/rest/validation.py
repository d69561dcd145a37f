"""Discord's limits on what the bot sends: message content, embeds and files, and application commands.

Each limit names the section of Discord's API documentation (discord/discord-api-docs, developers/...) it follows.
Errors are Discord's 400 / 50035 "Invalid Form Body" with the offending field's path, as Discord nests it.
"""

from __future__ import annotations

import re
from typing import Any

from .http import DiscordError, form_error

# resources/message › Create Message: content up to 2000 characters, up to 10 embeds.
MAX_CONTENT = 2000
MAX_EMBEDS = 10
# resources/message › Embed Limits.
MAX_EMBED_TOTAL = 6000
EMBED_LIMITS = {"title": 256, "description": 4096}
MAX_FIELDS = 25
MAX_FIELD_NAME = 256
MAX_FIELD_VALUE = 1024
MAX_FOOTER_TEXT = 2048
MAX_AUTHOR_NAME = 256
# reference › Uploading Files: "The default limit is 10 MiB" per file. Ten files per message is Discord's long-standing
# limit (not restated in the current docs; discord.py enforces it on its side too).
MAX_FILES = 10
MAX_FILE_BYTES = 10 * 1024 * 1024

# interactions/application-commands › Application Command Naming: ^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$,
# lower case where a letter has a lower-case variant. (Python's \w also admits "_" and digits, as the pattern does.)
SLASH_NAME = re.compile(r"^[-_'\w]{1,32}$")
MAX_OPTIONS = 25  # Application Command Structure › options: "max of 25" (also per subcommand and group)
MAX_CHOICES = 25  # Application Command Option Structure › choices: "max 25"
MAX_COMMAND_CHARACTERS = 8000  # Slash Commands: combined name, description and value properties of a command
SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
CHAT_INPUT = 1


def validate_message(content: str, embeds: list[dict[str, Any]], has_other: bool) -> None:
    """A message needs content, an embed or something else (`has_other`: files, components, stickers)."""
    if not content and not embeds and not has_other:
        raise DiscordError(400, 50006, "Cannot send an empty message")
    if len(content) > MAX_CONTENT:
        raise form_error("content", "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_CONTENT} or fewer in length.")
    if len(embeds) > MAX_EMBEDS:
        raise form_error("embeds", "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_EMBEDS} or fewer in length.")
    total = 0
    for index, embed in enumerate(embeds):
        total += _validate_embed(f"embeds.{index}", embed)
    if total > MAX_EMBED_TOTAL:
        raise form_error("embeds", "MAX_EMBED_SIZE_EXCEEDED", f"Embed size exceeds maximum size of {MAX_EMBED_TOTAL}")


def _embed_length(path: str, value: Any, limit: int) -> int:
    # Embed Limits: "Leading and trailing whitespace characters are not included (they are trimmed automatically)".
    return _max_length(path, str(value or "").strip(), limit)


def _max_length(path: str, value: Any, limit: int) -> int:
    text = str(value or "")
    if len(text) > limit:
        raise form_error(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")
    return len(text)


def _validate_embed(path: str, embed: dict[str, Any]) -> int:
    """Embed Limits: each field's own limit; returns the characters counted towards the 6000 of all embeds."""
    size = sum(_embed_length(f"{path}.{key}", embed.get(key), limit) for key, limit in EMBED_LIMITS.items())
    fields = embed.get("fields") or []
    if len(fields) > MAX_FIELDS:
        raise form_error(f"{path}.fields", "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_FIELDS} or fewer in length.")
    for index, embed_field in enumerate(fields):
        for key, limit in (("name", MAX_FIELD_NAME), ("value", MAX_FIELD_VALUE)):
            if not str(embed_field.get(key) or "").strip():
                raise form_error(f"{path}.fields.{index}.{key}", "BASE_TYPE_REQUIRED", "This field is required")
            size += _embed_length(f"{path}.fields.{index}.{key}", embed_field.get(key), limit)
    size += _embed_length(f"{path}.footer.text", (embed.get("footer") or {}).get("text"), MAX_FOOTER_TEXT)
    size += _embed_length(f"{path}.author.name", (embed.get("author") or {}).get("name"), MAX_AUTHOR_NAME)
    return size


def validate_files(files: list[tuple[str, int]]) -> None:
    """Uploads as (filename, size): at most 10, none over the upload limit (40005, "Request entity too large")."""
    if len(files) > MAX_FILES:
        raise form_error("attachments", "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_FILES} or fewer in length.")
    for _, size in files:
        if size > MAX_FILE_BYTES:
            raise DiscordError(413, 40005, "Request entity too large")


def validate_command(command: dict[str, Any], path: str = "") -> None:
    """A command as the bot registers it, checked in full: names, descriptions, options (nested), choices, sizes.

    `path` prefixes the error's field path: "0." for the first command of a bulk overwrite.
    """
    kind = int(command.get("type", CHAT_INPUT))
    name = str(command.get("name", ""))
    description = str(command.get("description") or "")
    if kind == CHAT_INPUT:
        _check_name(f"{path}name", name)
        _check_description(f"{path}description", description)
        options = command.get("options") or []
        _check_options(f"{path}options", options, depth=0)
        size = len(name) + len(description) + _options_size(options)
        if size > MAX_COMMAND_CHARACTERS:
            raise form_error(f"{path}_", "APPLICATION_COMMAND_TOO_LARGE",
                             f"Command exceeds maximum size ({MAX_COMMAND_CHARACTERS})")
        return
    # USER and MESSAGE commands: 1-32 characters, mixed case and spaces allowed, no description, no options.
    if not 1 <= len(name) <= 32:
        raise form_error(f"{path}name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length.")
    if description:
        raise form_error(f"{path}description", "APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION",
                         "Context menu commands cannot have description")
    if command.get("options"):
        raise form_error(f"{path}options", "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                         "Context menu commands cannot have options")


def validate_command_list(commands: list[dict[str, Any]]) -> None:
    """Bulk Overwrite: every command valid, and no two with the same name and type (the whole list is refused)."""
    seen: set[tuple[str, int]] = set()
    for index, command in enumerate(commands):
        validate_command(command, f"{index}.")
        key = (str(command.get("name")), int(command.get("type", CHAT_INPUT)))
        if key in seen:
            raise form_error(f"{index}.name", "APPLICATION_COMMANDS_DUPLICATE_NAME",
                             f"Application command names must be unique: {key[0]}")
        seen.add(key)


def _check_name(path: str, name: str) -> None:
    if not SLASH_NAME.match(name) or name != name.lower():
        raise form_error(path, "APPLICATION_COMMAND_INVALID_NAME", f"Command name is invalid: {name!r}")


def _check_description(path: str, description: str) -> None:
    if not 1 <= len(description) <= 100:
        raise form_error(path, "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")


def _check_options(path: str, options: list[dict[str, Any]], depth: int) -> None:
    """Application Command Option Structure: at most 25, unique names, required ones before optional ones;
    subcommand groups hold only subcommands, subcommands hold no subcommands."""
    if len(options) > MAX_OPTIONS:
        raise form_error(path, "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_OPTIONS} or fewer in length.")
    names: set[str] = set()
    seen_optional = False
    nested = [int(option.get("type", 0)) in (SUB_COMMAND, SUB_COMMAND_GROUP) for option in options]
    if any(nested) and not all(nested):
        raise form_error(path, "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                         "Subcommands cannot be mixed with other option types")
    for index, option in enumerate(options):
        at = f"{path}.{index}"
        kind = int(option.get("type", 0))
        name = str(option.get("name", ""))
        _check_name(f"{at}.name", name)
        _check_description(f"{at}.description", str(option.get("description") or ""))
        if name in names:
            raise form_error(f"{at}.name", "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS",
                             "Option names must be unique")
        names.add(name)
        if kind == SUB_COMMAND_GROUP:
            inner = option.get("options") or []
            if depth > 0 or any(int(o.get("type", 0)) != SUB_COMMAND for o in inner):
                raise form_error(f"{at}.type", "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                                 "Subcommand groups may only hold subcommands, and only at the top level")
            _check_options(f"{at}.options", inner, depth + 1)
            continue
        if kind == SUB_COMMAND:
            _check_options(f"{at}.options", option.get("options") or [], depth + 2)
            if any(int(o.get("type", 0)) in (SUB_COMMAND, SUB_COMMAND_GROUP) for o in option.get("options") or []):
                raise form_error(f"{at}.options", "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                                 "Subcommands cannot hold subcommands")
            continue
        if option.get("required"):
            if seen_optional:
                raise form_error(f"{at}.required", "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                                 "Required options must be placed before non-required options")
        else:
            seen_optional = True
        choices = option.get("choices") or []
        if len(choices) > MAX_CHOICES:
            raise form_error(f"{at}.choices", "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_CHOICES} or fewer in length.")
        for number, choice in enumerate(choices):
            if not 1 <= len(str(choice.get("name", ""))) <= 100:
                raise form_error(f"{at}.choices.{number}.name", "BASE_TYPE_BAD_LENGTH",
                                 "Must be between 1 and 100 in length.")
            if isinstance(choice.get("value"), str) and len(choice["value"]) > 100:
                raise form_error(f"{at}.choices.{number}.value", "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.")
        if choices and option.get("autocomplete"):
            raise form_error(f"{at}.autocomplete", "APPLICATION_COMMAND_AUTOCOMPLETE_CHOICES",
                             "Autocomplete cannot be set with choices")


def _options_size(options: list[dict[str, Any]]) -> int:
    size = 0
    for option in options:
        size += len(str(option.get("name", ""))) + len(str(option.get("description") or ""))
        size += sum(len(str(c.get("name", ""))) + len(str(c.get("value", ""))) for c in option.get("choices") or [])
        size += _options_size(option.get("options") or [])
    return size


# components/reference (the legacy layout: action rows at the top level).
ACTION_ROW, BUTTON, STRING_SELECT = 1, 2, 3
# User, Role, Mentionable and Channel Selects: "Options are automatically populated" (no `options`).
AUTO_SELECTS = {5: "user", 6: "role", 7: "mentionable", 8: "channel"}
SELECTS = {STRING_SELECT, *AUTO_SELECTS}
LINK_STYLE = 5
MAX_URL = 512  # Button Structure › url: "max 512 characters"
BUTTON_STYLES = range(1, 6)  # primary, secondary, success, danger, link (6, premium, needs a SKU: not modelled)
MAX_ROWS = 5  # Action Rows: "up to 5 action rows" per message
MAX_BUTTONS_PER_ROW = 5  # "an Action Row can contain up to 5 buttons" ... "or a single select component"
MAX_CUSTOM_ID = 100
MAX_BUTTON_LABEL = 80
MAX_SELECT_OPTIONS = 25
MAX_OPTION_TEXT = 100  # a select option's label, value and description
MAX_PLACEHOLDER = 150


def validate_components(components: list[dict[str, Any]]) -> None:
    """Message Components: action rows of up to 5 buttons or one select (string, user, role, mentionable, channel),
    at most 5 rows, unique custom_ids."""
    if len(components) > MAX_ROWS:
        raise form_error("components", "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_ROWS} or fewer in length.")
    custom_ids: set[str] = set()
    for row_index, row in enumerate(components):
        path = f"components.{row_index}"
        if int(row.get("type", 0)) != ACTION_ROW:
            raise form_error(f"{path}.type", "UNION_TYPE_CHOICES", "Top-level components must be action rows")
        children = row.get("components") or []
        if not children:
            raise form_error(f"{path}.components", "BASE_TYPE_MIN_LENGTH", "Must be 1 or more in length.")
        kinds = [int(child.get("type", 0)) for child in children]
        if SELECTS & set(kinds) and len(children) > 1:
            raise form_error(f"{path}.components", "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                             "The specified component exceeds the maximum width")
        if len(children) > MAX_BUTTONS_PER_ROW:
            raise form_error(f"{path}.components", "BASE_TYPE_MAX_LENGTH",
                             f"Must be {MAX_BUTTONS_PER_ROW} or fewer in length.")
        for index, child in enumerate(children):
            at = f"{path}.components.{index}"
            if kinds[index] == BUTTON:
                _check_button(at, child)
            elif kinds[index] == STRING_SELECT:
                _check_select(at, child)
            elif kinds[index] in AUTO_SELECTS:
                _check_auto_select(at, child)
            else:
                raise form_error(f"{at}.type", "UNION_TYPE_CHOICES",
                                 f"Value must be one of {{{BUTTON}, {', '.join(map(str, sorted(SELECTS)))}}} in an "
                                 "action row.")
            custom_id = child.get("custom_id")
            if custom_id is not None:
                if custom_id in custom_ids:
                    raise form_error(f"{at}.custom_id", "COMPONENT_CUSTOM_ID_DUPLICATED",
                                     "Component custom id cannot be duplicated")
                custom_ids.add(custom_id)


def _check_custom_id(path: str, component: dict[str, Any]) -> None:
    custom_id = component.get("custom_id")
    if not isinstance(custom_id, str) or not 1 <= len(custom_id) <= MAX_CUSTOM_ID:
        raise form_error(f"{path}.custom_id", "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {MAX_CUSTOM_ID} in length.")


def _check_button(path: str, button: dict[str, Any]) -> None:
    """Button Object: a style 1-5; link buttons have a url and no custom_id, the others a custom_id and no url."""
    style = int(button.get("style", 0))
    if style not in BUTTON_STYLES:
        raise form_error(f"{path}.style", "BASE_TYPE_CHOICES", f"Value must be one of {set(BUTTON_STYLES)}.")
    if style == LINK_STYLE:
        if not button.get("url"):
            raise form_error(f"{path}.url", "BUTTON_LINK_URL_REQUIRED", "A link button requires a url")
        _max_length(f"{path}.url", button["url"], MAX_URL)
        if "custom_id" in button:
            raise form_error(f"{path}.custom_id", "BUTTON_LINK_CUSTOM_ID_INVALID", "A link button cannot have a custom id")
    else:
        _check_custom_id(path, button)
        if "url" in button:
            raise form_error(f"{path}.url", "BUTTON_NON_LINK_URL_INVALID", "Only link buttons can have a url")
    if not button.get("label") and not button.get("emoji"):
        raise form_error(f"{path}.label", "BUTTON_LABEL_OR_EMOJI_REQUIRED", "A button requires a label or an emoji")
    _max_length(f"{path}.label", button.get("label"), MAX_BUTTON_LABEL)


def _check_select(path: str, select: dict[str, Any]) -> None:
    """String Select: 1-25 options with unique values, 0 ≤ min_values ≤ max_values ≤ 25 and ≤ the number of options."""
    _check_custom_id(path, select)
    options = select.get("options") or []
    if not 1 <= len(options) <= MAX_SELECT_OPTIONS:
        raise form_error(f"{path}.options", "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {MAX_SELECT_OPTIONS} in length.")
    values: set[str] = set()
    for index, option in enumerate(options):
        for key in ("label", "value"):
            if not str(option.get(key) or ""):
                raise form_error(f"{path}.options.{index}.{key}", "BASE_TYPE_REQUIRED", "This field is required")
        for key in ("label", "value", "description"):
            _max_length(f"{path}.options.{index}.{key}", option.get(key), MAX_OPTION_TEXT)
        if option["value"] in values:
            raise form_error(f"{path}.options.{index}.value", "SELECT_COMPONENT_OPTION_VALUE_DUPLICATED",
                             "Select component option values must be unique")
        values.add(option["value"])
    minimum, maximum = int(select.get("min_values", 1)), int(select.get("max_values", 1))
    if not 0 <= minimum <= MAX_SELECT_OPTIONS:
        raise form_error(f"{path}.min_values", "NUMBER_TYPE_MAX", f"Must be between 0 and {MAX_SELECT_OPTIONS}.")
    if not 1 <= maximum <= MAX_SELECT_OPTIONS or maximum < minimum or maximum > len(options):
        raise form_error(f"{path}.max_values", "NUMBER_TYPE_MAX",
                         "Must be at least min_values and at most the number of options.")
    _max_length(f"{path}.placeholder", select.get("placeholder"), MAX_PLACEHOLDER)


def _check_auto_select(path: str, select: dict[str, Any]) -> None:
    """User / Role / Mentionable / Channel Select: a custom_id, no options, 0 ≤ min_values ≤ max_values ≤ 25, at most
    150 characters of placeholder, default values within min and max, of the kinds the select offers."""
    _check_custom_id(path, select)
    if "options" in select:
        raise form_error(f"{path}.options", "SELECT_COMPONENT_OPTIONS_INVALID", "Only string selects have options")
    minimum, maximum = int(select.get("min_values", 1)), int(select.get("max_values", 1))
    if not 0 <= minimum <= MAX_SELECT_OPTIONS:
        raise form_error(f"{path}.min_values", "NUMBER_TYPE_MAX", f"Must be between 0 and {MAX_SELECT_OPTIONS}.")
    if not 1 <= maximum <= MAX_SELECT_OPTIONS or maximum < minimum:
        raise form_error(f"{path}.max_values", "NUMBER_TYPE_MAX", "Must be at least min_values and at most 25.")
    defaults = select.get("default_values") or []
    kind = AUTO_SELECTS[int(select["type"])]
    offered = {"user", "role"} if kind == "mentionable" else {kind}
    if defaults and not minimum <= len(defaults) <= maximum:
        raise form_error(f"{path}.default_values", "BASE_TYPE_BAD_LENGTH", "Must be between min_values and max_values.")
    for index, default in enumerate(defaults):
        if default.get("type") not in offered:
            raise form_error(f"{path}.default_values.{index}.type", "BASE_TYPE_CHOICES",
                             f"Value must be one of {sorted(offered)}.")
    _max_length(f"{path}.placeholder", select.get("placeholder"), MAX_PLACEHOLDER)


MAX_MODAL_TITLE = 45
MAX_MODAL_COMPONENTS = 5


def validate_modal(modal: dict[str, Any]) -> None:
    """receiving-and-responding › Modal: a custom_id of 1-100 characters, a title of at most 45, 1 to 5 components."""
    _check_custom_id("data", modal)
    title = modal.get("title")
    if not isinstance(title, str) or not 1 <= len(title) <= MAX_MODAL_TITLE:
        raise form_error("data.title", "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {MAX_MODAL_TITLE} in length.")
    components = modal.get("components")
    if not isinstance(components, list) or not 1 <= len(components) <= MAX_MODAL_COMPONENTS:
        raise form_error("data.components", "BASE_TYPE_BAD_LENGTH",
                         f"Must be between 1 and {MAX_MODAL_COMPONENTS} in length.")
