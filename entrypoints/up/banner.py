"""The start banner of `drive-alerts up`: what runs, where, and where its files are (never a secret)."""
from __future__ import annotations

from entrypoints.failures import masked_url
from entrypoints.up.readiness import Readiness
from entrypoints.up.supervisor import Supervisor

DEV_KEYS_HINT = ("development agencies (connectors/http/agencies.dev.yaml): police.demo, court.demo, em.demo, drive.casemgmt;"
                 " their dev API keys are listed in that file's header")


def banner(supervisor: Supervisor, states: dict[str, Readiness]) -> str:
    """The multi-line banner printed once the components are up (or the wait for them is over)."""
    s = supervisor.settings
    broker = "Tansu (embedded, in memory)" if supervisor.broker is not None else "external Kafka"
    waiting = [name for name, state in states.items() if not state.ready]
    head = ("drive-alerts up: the whole pipeline on this machine, every component ready" if not waiting else
            f"drive-alerts up: running, but NOT READY: {', '.join(waiting)} (reasons below)")
    lines = [head, f"  broker     {supervisor.bootstrap}  {broker}; restored {supervisor.restored[0]} record(s) from its"
                   f" durable copy and re-seeded {supervisor.restored[1]} from the journal"]
    for child in supervisor.children.values():
        c = child.component
        pid = child.process.pid if child.process else "-"
        state = states[c.name].label if c.name in states else "unknown"
        lines.append(f"  {c.name:<10} pid {pid:<7} metrics {c.metrics_url or 'off':<28} {state}")
    base_intake = f"http://{s.intake_host}:{s.intake_port}"
    lines += [f"  intake     POST {base_intake}/v1/topics/{{topic}}/events",
              f"  webhooks   {s.public_base_url}/twilio/status, /twilio/inbound, /ack/<token>",
              f"  web app    {s.resolved_web_base_url}/  staff sign in "
              + ("with the organisation's identity provider" if s.uses_oidc else
                 "with a one-time code sent to their registered phone or e-mail (here: the outbox)"),
              f"  outbox     {s.data_dir / 'outbox.jsonl'}  (SMS and e-mail without Twilio/SMTP settings)",
              f"  database   {masked_url(s.resolved_database_url)}",
              f"  file drop  {s.filedrop_dir or s.data_dir / 'filedrop'}/<agency>/incoming/",
              f"  logs       {supervisor.logs_dir}/<component>.log",
              f"  agencies   {DEV_KEYS_HINT if s.agencies_file is None else s.agencies_file}",
              "Ctrl-C stops everything in order; nothing accepted is lost."]
    return "\n".join(lines)
