"""One IPAM worker process: wait for the start signal, allocate N ports, print their addresses as JSON."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from tripleo.network import allocate_port
from tripleo.storage import Database


def main() -> None:
    url, network, worker, count, go = (
        sys.argv[1],
        sys.argv[2],
        sys.argv[3],
        int(sys.argv[4]),
        Path(sys.argv[5]),
    )
    db = Database(url)
    while not go.exists():
        time.sleep(0.01)
    out = [allocate_port(db, network, owner=f"w{worker}", name=f"p{i}").ip for i in range(count)]
    db.dispose()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
