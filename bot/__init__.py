"""The Discord bot: discord.py on top of the digit core (`digits`), never the other way round.

    client.py       DigitBot (an AutoShardedBot): the settings, the store, the inference service, downloads and the
                    corrections flow
    cogs/           the commands and the image listener, thin: recognition, info, admin, corrections
    checks.py       who may do what: servers only, the bot's admins
    attachments.py  which attachments are pictures, their bounded downloads, "is typing…"
    replies.py      replies within the channel's permissions (planned once), and the one error handler
    embeds.py       every reply's wording, embeds and pictures
    corrections.py  the correction flow of every reply ("Wrong?", which digit, which label): what a reply answered
                    (the button's custom_id, digit places, recent replies) and the components
    config.py       the settings (pydantic-settings)
    endpoint.py     the one place that points discord.py at another Discord (a REST proxy, the local twin)
    shards.py       shard ranges: read (0-7, 0,2,4), shown, split over processes
    identify.py     session starts in Discord's order across processes: a lock per identify bucket (a file here)
    registration.py the application commands synced only when Discord's differ from the code's
    metrics.py      /healthz and Prometheus /metrics of a bot process
    cluster.py      `python -m bot cluster`: the shards over N processes, the REST proxy (rest_proxy/), supervision
    app.py          `python -m bot`: settings, logging, run until a signal; `python -m bot sync-commands`
    run.py          `make run`: the bot on Discord with a token, the playground without; first_start.py: the
                    first model of an empty store
"""
