"""No network access: synthesis, copy synthesis and training open no socket. An audit hook (which
cannot be removed, hence a subprocess) records every socket connect, bind and DNS lookup while the
engine works; conversion joins the list once its default model is installed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from engine.bundle import installed

SCRIPT = textwrap.dedent('''
    import json, sys
    events = []

    def hook(event, args):
        if event in ("socket.connect", "socket.bind", "socket.getaddrinfo", "socket.gethostbyname",
                     "socket.sendto", "urllib.Request"):
            events.append([event, repr(args)[:200]])

    sys.addaudithook(hook)
    from engine.cli import main
    out, corpus, run, convert = sys.argv[1:5]
    codes = [main(["say", "No network is needed to speak.", "-o", out + "/say.wav"]),
             main(["vocode", out + "/say.wav", "-o", out + "/vocoded.wav"]),
             main(["train", "tacotron", "--data", corpus, "--preset", "tiny", "--max-steps", "2", "--out", run,
                   "--device", "cpu"])]
    if convert == "1":
        codes.append(main(["convert", out + "/say.wav", "-o", out + "/converted.wav"]))
    print(json.dumps({"codes": codes, "events": events}))
''')


def test_synthesis_conversion_and_training_open_no_socket(multispeaker_corpus, tmp_path):
    env = dict(os.environ, PRUFROCK_CACHE_DIR=str(tmp_path / "cache"), PRUFROCK_TENSORBOARD="0",
               OMP_NUM_THREADS="1")
    convert = "1" if any(name == "default-vc" for name, _ in installed(role="converter")) else "0"
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path), str(multispeaker_corpus),
                           str(tmp_path / "run"), convert], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert all(code == 0 for code in report["codes"]), proc.stderr[-2000:]
    assert report["events"] == []
    assert (tmp_path / "say.wav").exists() and (tmp_path / "run" / "events.jsonl").exists()
