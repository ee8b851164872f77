"""Benchmark (not a pytest test): publish -> alert latency of one streams worker on the embedded broker.

Run:  .venv/bin/python -m tests.perf.stream_latency --rate 200 --seconds 20
Starts Tansu, provisions topics, registers --subjects cases, runs `drive-alerts worker` as a child process, offers
BAIL_GRANTED releases for registered subjects at --rate per second for --seconds, and reports the latency from the
producer's send to (a) the alert record's create time (set by the worker) and (b) the alert being read back.
"""
from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from tempfile import TemporaryDirectory

from kafka import KafkaConsumer, TopicPartition

from entrypoints.bootstrap import provision
from runtime.embedded_broker import EmbeddedBroker
from runtime.kafka import make_producer
from runtime.settings import Settings
from schemas.codec import AvroCodec
from schemas.jsonform import from_json
from tests.samples.events import sample

ROOT = Path(__file__).resolve().parents[2]


def _case(i: int) -> dict:
    subject = f"DRV-P{i:05d}"
    return sample("case", "CASE_OPENED", details__subject_id=subject, person_ids=[{"scheme": "DRIVE_SUBJECT",
                  "value": subject}], details__identifiers=[{"scheme": "PNC", "value": f"2020/{i:07d}P"}])


def _release(i: int) -> dict:
    record = sample("bail", "BAIL_GRANTED", person_ids=[{"scheme": "PNC", "value": f"2020/{i:07d}P"}])
    record.pop("name_hash", None)
    return record


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


class AlertReader(threading.Thread):
    """Reads the alert topic; keeps (trigger event id, record create time, time read) per alert."""

    def __init__(self, bootstrap: str, topic: str, codec: AvroCodec, fetch_wait_ms: int) -> None:
        super().__init__(daemon=True)
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                      fetch_max_wait_ms=fetch_wait_ms)
        self.topic, self.codec, self.seen, self.stop_flag = topic, codec, {}, threading.Event()

    def run(self) -> None:
        parts = [TopicPartition(self.topic, p) for p in sorted(self.consumer.partitions_for_topic(self.topic))]
        self.consumer.assign(parts)
        self.consumer.seek_to_beginning(*parts)
        while not self.stop_flag.is_set():
            for batch in self.consumer.poll(timeout_ms=100).values():
                now = time.time()
                for r in batch:
                    alert = self.codec.decode(r.value, "alert")
                    for trigger in alert["trigger_event_ids"]:
                        self.seen.setdefault(trigger, (r.timestamp / 1000, now))
        self.consumer.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=200, help="events per second offered")
    parser.add_argument("--seconds", type=int, default=20, help="how long to offer them")
    parser.add_argument("--subjects", type=int, default=200, help="registered subjects the events are about")
    parser.add_argument("--reader-fetch-wait-ms", type=int, default=50, help="fetch wait of the measuring consumer")
    args = parser.parse_args()
    with TemporaryDirectory() as tmp, EmbeddedBroker() as broker:
        settings = Settings(kafka_bootstrap=broker.bootstrap, embedded_profile=True, data_dir=Path(tmp),
                            topic_prefix=f"perf{uuid.uuid4().hex[:6]}.")
        provision(settings)
        codec = AvroCodec(prefix=settings.topic_prefix)
        producer = make_producer(settings)
        for i in range(args.subjects):
            producer.send(settings.topic("case"), key=f"DRV-P{i:05d}".encode(),
                          value=codec.encode("case", from_json("case", _case(i))))
        producer.flush()
        env = {**os.environ, "DRIVE_KAFKA_BOOTSTRAP": broker.bootstrap, "DRIVE_TOPIC_PREFIX": settings.topic_prefix,
               "DRIVE_DATA_DIR": tmp, "DRIVE_EMBEDDED_PROFILE": "true", "DRIVE_LOG_FORMAT": "json"}
        worker = subprocess.Popen([sys.executable, "-m", "entrypoints.cli", "--log-level", "INFO", "worker"], cwd=ROOT,
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            for line in worker.stdout:  # type: ignore[union-attr]
                if "streams_worker_ready" in line:
                    break
            threading.Thread(target=lambda: [None for _ in worker.stdout], daemon=True).start()  # type: ignore
            reader = AlertReader(broker.bootstrap, settings.topic("alert"), codec, args.reader_fetch_wait_ms)
            reader.start()
            sent: dict[str, float] = {}
            total = args.rate * args.seconds
            start = time.time()
            for n in range(total):
                due = start + n / args.rate
                time.sleep(max(0.0, due - time.time()))
                record = _release(n % args.subjects)
                value = codec.encode("bail", from_json("bail", record))
                sent[record["event_id"]] = time.time()
                producer.send(settings.topic("bail"), key=f"PNC:{record['person_ids'][0]['value']}".encode(),
                              value=value)
            producer.flush()
            offered_for = time.time() - start
            deadline = time.time() + 60
            while len(reader.seen) < total and time.time() < deadline:
                time.sleep(0.2)
            reader.stop_flag.set()
            reader.join(5)
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(30)
        _report(sent, dict(reader.seen), offered_for)
    return 0


def _report(sent: dict[str, float], seen: dict[str, tuple[float, float]], offered_for: float) -> None:
    to_record = [(seen[e][0] - t) * 1000 for e, t in sent.items() if e in seen]
    to_reader = [(seen[e][1] - t) * 1000 for e, t in sent.items() if e in seen]
    print(f"offered {len(sent)} events in {offered_for:.1f} s ({len(sent) / offered_for:.0f}/s); "
          f"alerts received for {len(to_reader)} ({len(sent) - len(to_reader)} missing)")
    for label, values in (("send -> alert record created", to_record), ("send -> alert read back", to_reader)):
        if values:
            print(f"{label:<30} p50 {_percentile(values, 50):7.1f} ms  p95 {_percentile(values, 95):7.1f} ms  "
                  f"p99 {_percentile(values, 99):7.1f} ms  max {max(values):7.1f} ms")
    start = min(sent.values())
    by_second: dict[int, list[float]] = {}
    for e, t in sent.items():
        if e in seen:
            by_second.setdefault(int(t - start), []).append((seen[e][1] - t) * 1000)
    print("max latency by second of the run (ms):",
          " ".join(f"{max(v):.0f}" for _, v in sorted(by_second.items())))


if __name__ == "__main__":
    sys.exit(main())
